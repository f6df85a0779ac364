/**
 * MS-NLMP NTLMv2 cryptography: NTOWFv2 and the responses (3.3.2), KXKEY / SIGNKEY / SEALKEY
 * (3.4.5), the key exchange (3.1.5.1.2), the MIC (3.1.5.1.2, 3.2.5.1.2). LM and NTLMv1 are not
 * implemented. MD4 and RC4 are our own code (OpenSSL 3 moved them to the legacy provider);
 * MD5 and HMAC-MD5 come from the crypto provider (node:crypto's default provider keeps MD5).
 */
import { UsageError } from '../errors.js';
import { md4 } from '../krb5/crypto/md4.js';
import { rc4 } from '../krb5/crypto/rc4.js';
import { getCryptoProvider } from '../krb5/crypto/index.js';
import { concatBytes, utf8 } from '../util/bytes.js';
import { NegotiateFlags } from './constants.js';
import { utf16le } from './messages.js';

export const hmacMd5 = (key: Uint8Array, data: Uint8Array): Uint8Array => getCryptoProvider().hmac('md5', key, data);
export const md5 = (data: Uint8Array): Uint8Array => getCryptoProvider().hash('md5', data);

/** The NT hash, MD4(UNICODE(Passwd)) (3.3.1 NTOWFv1, the key every NTLMv2 key derives from). */
export function ntHash(password: string): Uint8Array {
  return md4(utf16le(password));
}

/** NTOWFv2 (3.3.2): HMAC_MD5(MD4(UNICODE(Passwd)), UNICODE(Uppercase(User) || UserDom)); LMOWFv2 is the same. */
export function ntowfv2(ntHashValue: Uint8Array, user: string, domain: string): Uint8Array {
  if (ntHashValue.length !== 16) throw new UsageError('an NT hash is 16 bytes');
  return hmacMd5(ntHashValue, utf16le(user.toUpperCase() + domain));
}

/** LMv2 response (3.3.2): HMAC_MD5(ResponseKeyLM, ServerChallenge || ClientChallenge) || ClientChallenge. */
export function lmv2Response(responseKey: Uint8Array, serverChallenge: Uint8Array, clientChallenge: Uint8Array): Uint8Array {
  return concatBytes(hmacMd5(responseKey, concatBytes(serverChallenge, clientChallenge)), clientChallenge);
}

/**
 * NTLMv2 response (3.3.2): NTProofStr = HMAC_MD5(ResponseKeyNT, ServerChallenge || temp);
 * NtChallengeResponse = NTProofStr || temp; SessionBaseKey = HMAC_MD5(ResponseKeyNT, NTProofStr).
 */
export function ntlmv2Response(responseKeyNT: Uint8Array, serverChallenge: Uint8Array, temp: Uint8Array) {
  const ntProofStr = hmacMd5(responseKeyNT, concatBytes(serverChallenge, temp));
  return { ntProofStr, ntChallengeResponse: concatBytes(ntProofStr, temp), sessionBaseKey: hmacMd5(responseKeyNT, ntProofStr) };
}

/** KXKEY (3.4.5.1) for NTLMv2: the session base key itself. */
export const kxkey = (sessionBaseKey: Uint8Array): Uint8Array => sessionBaseKey;

/** 3.1.5.1.2: with NTLMSSP_NEGOTIATE_KEY_EXCH, EncryptedRandomSessionKey = RC4K(KeyExchangeKey, ExportedSessionKey). */
export function encryptRandomSessionKey(keyExchangeKey: Uint8Array, exportedSessionKey: Uint8Array): Uint8Array {
  return rc4(keyExchangeKey, exportedSessionKey);
}
/** 3.2.5.1.2: the acceptor recovers ExportedSessionKey = RC4K(KeyExchangeKey, EncryptedRandomSessionKey). */
export const decryptRandomSessionKey = encryptRandomSessionKey;

const magic = (s: string) => utf8.encode(`session key to ${s} key magic constant\0`);
const C2S_SIGN = magic('client-to-server signing');
const S2C_SIGN = magic('server-to-client signing');
const C2S_SEAL = magic('client-to-server sealing');
const S2C_SEAL = magic('server-to-client sealing');

/** SIGNKEY (3.4.5.2), extended session security only. `client`: the key for messages the client sends. */
export function signKey(exportedSessionKey: Uint8Array, client: boolean): Uint8Array {
  return md5(concatBytes(exportedSessionKey, client ? C2S_SIGN : S2C_SIGN));
}

/** SEALKEY (3.4.5.3) with extended session security: 128, 56 or 40 bits of the key, then MD5 with the magic. */
export function sealKey(exportedSessionKey: Uint8Array, flags: number, client: boolean): Uint8Array {
  const k = flags & NegotiateFlags.NTLMSSP_NEGOTIATE_128 ? exportedSessionKey
    : flags & NegotiateFlags.NTLMSSP_NEGOTIATE_56 ? exportedSessionKey.subarray(0, 7) : exportedSessionKey.subarray(0, 5);
  return md5(concatBytes(k, client ? C2S_SEAL : S2C_SEAL));
}

/** MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE || CHALLENGE || AUTHENTICATE with a zero MIC field). */
export function computeMic(exportedSessionKey: Uint8Array, negotiate: Uint8Array, challenge: Uint8Array, authenticateZeroMic: Uint8Array): Uint8Array {
  return hmacMd5(exportedSessionKey, concatBytes(negotiate, challenge, authenticateZeroMic));
}

/** NTLM's sealing handles: RC4 keeping its state between messages (MS-NLMP 3.4.3), shared with RFC 4757. */
export { Rc4Stream } from '../krb5/crypto/rc4.js';
