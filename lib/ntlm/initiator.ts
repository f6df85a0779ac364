/**
 * The NTLMv2 initiator (MS-NLMP 3.1.5): NEGOTIATE, then, given the CHALLENGE, the AUTHENTICATE with
 * the NTLMv2 response, MsvAvTargetName (the SPN), MsvAvChannelBindings, MsvAvFlags with the MIC
 * bit, the key exchange and the MIC. A server that does not grant extended session security (so
 * would use NTLMv1 or LM) gets NtlmDowngradeError.
 */
import { GssError, UsageError } from '../errors.js';
import { getCryptoProvider } from '../krb5/crypto/index.js';
import { channelBindingsHash, type ChannelBindings } from '../krb5/gss/channel-bindings.js';
import { AvId, MsvAvFlagBits, NegotiateFlags as F } from './constants.js';
import {
  computeMic, encryptRandomSessionKey, kxkey, lmv2Response, ntHash, ntlmv2Response, ntowfv2,
} from './crypto.js';
import { NtlmDowngradeError, NtlmError } from './errors.js';
import {
  decodeChallenge, encodeAuthenticate, encodeAvPairs, encodeNegotiate, encodeNtlmV2ClientChallenge, fileTimeFromMs, findAv,
  MIC_OFFSET, OUR_VERSION, utf16le, type AvPair, type ChallengeMessage,
} from './messages.js';
import { NtlmSession } from './session.js';

export interface NtlmCredentials {
  /** 'user@REALM', 'DOMAIN\\user' or a bare 'user' (empty domain). */
  principal: string;
  password?: string;
  /** The 16-byte NT hash instead of the password. */
  ntHash?: Uint8Array;
}

export interface NtlmInitiatorOptions {
  credentials: NtlmCredentials;
  /** The SPN sent as MsvAvTargetName, e.g. 'HTTP/www.example.com'. */
  targetName?: string;
  channelBindings?: ChannelBindings;
  /** Our NetBIOS workstation name in the AUTHENTICATE_MESSAGE (default none). */
  workstation?: string;
  /** Tests only: fixed client challenge (8 bytes), exported session key (16), clock. */
  clientChallenge?: Uint8Array;
  exportedSessionKey?: Uint8Array;
  now?: () => number;
}

/** What the initiator asks for: NTLMv2 with extended session security, 128-bit keys, key exchange, sign and seal. */
export const INITIATOR_FLAGS = (F.NTLMSSP_NEGOTIATE_UNICODE | F.NTLMSSP_REQUEST_TARGET | F.NTLMSSP_NEGOTIATE_SIGN |
  F.NTLMSSP_NEGOTIATE_SEAL | F.NTLMSSP_NEGOTIATE_NTLM | F.NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
  F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY | F.NTLMSSP_NEGOTIATE_VERSION | F.NTLMSSP_NEGOTIATE_128 |
  F.NTLMSSP_NEGOTIATE_KEY_EXCH | F.NTLMSSP_NEGOTIATE_56) >>> 0;

/** 'DOMAIN\\user' -> (user, DOMAIN); 'user@REALM' -> (user, REALM); 'user' -> (user, ''). */
export function parseNtlmPrincipal(principal: string): { user: string; domain: string } {
  if (typeof principal !== 'string' || !principal) throw new UsageError("NTLM credentials need a principal: 'user@REALM' or 'DOMAIN\\\\user'");
  const bs = principal.indexOf('\\');
  if (bs >= 0) return { domain: principal.slice(0, bs), user: principal.slice(bs + 1) };
  const at = principal.lastIndexOf('@');
  if (at > 0) return { user: principal.slice(0, at), domain: principal.slice(at + 1) };
  return { user: principal, domain: '' };
}

/** Checks the server's flags: NTLMv2 needs extended session security and Unicode; LM-only is refused. */
export function checkServerFlags(flags: number, who: string): void {
  if (!(flags & F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
    throw new NtlmDowngradeError(`${who} did not grant NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY${flags & F.NTLMSSP_NEGOTIATE_LM_KEY ? ' and asked for the LM key' : ''}`);
  }
  if (!(flags & F.NTLMSSP_NEGOTIATE_UNICODE)) throw new NtlmError('protocol', 'GSS_S_DEFECTIVE_TOKEN', `${who} did not negotiate Unicode (OEM-only NTLM is not supported)`);
}

export class NtlmInitiator {
  readonly user: string;
  readonly domain: string;
  private readonly ntHashValue: Uint8Array;
  private state: 'start' | 'sent-negotiate' | 'done' | 'failed' = 'start';
  negotiateMessage?: Uint8Array;
  challengeMessage?: Uint8Array;
  authenticateMessage?: Uint8Array;
  /** The decoded CHALLENGE (target name, AV pairs) once received. */
  challenge?: ChallengeMessage;
  session?: NtlmSession;
  flags = 0;

  constructor(private readonly opts: NtlmInitiatorOptions) {
    const c = opts?.credentials;
    if (!c) throw new UsageError('NTLM initiator needs credentials { principal, password } or { principal, ntHash }');
    ({ user: this.user, domain: this.domain } = parseNtlmPrincipal(c.principal));
    if (c.ntHash !== undefined) {
      if (!(c.ntHash instanceof Uint8Array) || c.ntHash.length !== 16) throw new UsageError('credentials.ntHash must be 16 bytes');
      this.ntHashValue = new Uint8Array(c.ntHash);
    } else if (typeof c.password === 'string') {
      this.ntHashValue = ntHash(c.password);
    } else {
      throw new UsageError('NTLM credentials need a password or an ntHash');
    }
    if (opts.clientChallenge && opts.clientChallenge.length !== 8) throw new UsageError('clientChallenge must be 8 bytes');
    if (opts.exportedSessionKey && opts.exportedSessionKey.length !== 16) throw new UsageError('exportedSessionKey must be 16 bytes');
  }

  get complete(): boolean {
    return this.state === 'done';
  }

  /** No input: the NEGOTIATE_MESSAGE. Then the CHALLENGE_MESSAGE in, the AUTHENTICATE_MESSAGE out. */
  step(input?: Uint8Array): Uint8Array {
    try {
      if (this.state === 'start') {
        if (input && input.length) throw new UsageError('the NTLM initiator starts with no input token');
        this.negotiateMessage = encodeNegotiate({ flags: INITIATOR_FLAGS, version: OUR_VERSION });
        this.state = 'sent-negotiate';
        return this.negotiateMessage;
      }
      if (this.state !== 'sent-negotiate') throw new GssError('GSS_S_NO_CONTEXT', `NTLM initiator step after the context was ${this.state === 'done' ? 'established' : 'failed'}`);
      if (!input) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'the NTLM initiator needs the CHALLENGE_MESSAGE');
      const out = this.authenticate(input);
      this.state = 'done';
      return out;
    } catch (err) {
      if (this.state !== 'done') this.state = 'failed';
      throw err;
    }
  }

  private authenticate(input: Uint8Array): Uint8Array {
    const ch = decodeChallenge(input);
    this.challenge = ch;
    this.challengeMessage = new Uint8Array(input); // a copy: a Buffer's slice() is a view
    checkServerFlags(ch.flags, 'the server');
    const flags = (ch.flags & (INITIATOR_FLAGS | F.NTLMSSP_NEGOTIATE_TARGET_INFO)) >>> 0;
    this.flags = flags;

    const rnd = getCryptoProvider().randomBytes;
    const now = this.opts.now ?? Date.now;
    const serverTs = findAv(ch.avPairs, AvId.MsvAvTimestamp);
    const timestamp = serverTs ? new DataView(serverTs.buffer, serverTs.byteOffset, 8).getBigUint64(0, true) : fileTimeFromMs(now());
    const clientChallenge = this.opts.clientChallenge ?? rnd(8);

    // 3.1.5.1.2: the server's pairs, then ours: MsvAvFlags (MIC present), MsvAvTargetName, MsvAvChannelBindings.
    const keep = ch.avPairs.filter((p) => p.id !== AvId.MsvAvFlags && p.id !== AvId.MsvAvTargetName && p.id !== AvId.MsvAvChannelBindings);
    const srvFlags = findAv(ch.avPairs, AvId.MsvAvFlags);
    const avFlags = new Uint8Array(4);
    new DataView(avFlags.buffer).setUint32(0, ((srvFlags ? new DataView(srvFlags.buffer, srvFlags.byteOffset, 4).getUint32(0, true) : 0) | MsvAvFlagBits.MIC_PRESENT) >>> 0, true);
    const pairs: AvPair[] = [...keep, { id: AvId.MsvAvFlags, value: avFlags }];
    if (this.opts.targetName) pairs.push({ id: AvId.MsvAvTargetName, value: utf16le(this.opts.targetName) });
    pairs.push({ id: AvId.MsvAvChannelBindings, value: channelBindingsHash(this.opts.channelBindings) });

    const responseKey = ntowfv2(this.ntHashValue, this.user, this.domain);
    const temp = encodeNtlmV2ClientChallenge(timestamp, clientChallenge, encodeAvPairs(pairs));
    const { ntChallengeResponse, sessionBaseKey } = ntlmv2Response(responseKey, ch.serverChallenge, temp);
    // 3.1.5.1.2: with a server timestamp the LmChallengeResponse is Z(24); otherwise LMv2.
    const lm = serverTs ? new Uint8Array(24) : lmv2Response(responseKey, ch.serverChallenge, clientChallenge);

    const kx = kxkey(sessionBaseKey);
    let exported = kx;
    let encryptedKey: Uint8Array = new Uint8Array(0);
    if (flags & F.NTLMSSP_NEGOTIATE_KEY_EXCH) {
      exported = this.opts.exportedSessionKey ?? rnd(16);
      encryptedKey = encryptRandomSessionKey(kx, exported);
    }
    const auth = encodeAuthenticate({
      flags, lmChallengeResponse: lm, ntChallengeResponse, domain: this.domain, user: this.user,
      workstation: this.opts.workstation ?? '', encryptedRandomSessionKey: encryptedKey, version: OUR_VERSION, mic: new Uint8Array(16),
    });
    auth.set(computeMic(exported, this.negotiateMessage!, this.challengeMessage, auth), MIC_OFFSET);
    this.authenticateMessage = auth;
    this.session = new NtlmSession({ exportedSessionKey: exported, flags, isInitiator: true });
    return auth;
  }
}
