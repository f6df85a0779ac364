// MS-NLMP section 4.2.4 (NTLMv2) published test vectors, from test/fixtures/ntlm-vectors.json.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../lib/util/bytes.js';
import { rc4 } from '../../lib/krb5/crypto/rc4.js';
import {
  AvId, decodeChallenge, encodeAvPairs, encodeChallenge, encodeNtlmV2ClientChallenge, encryptRandomSessionKey, flagNames,
  hmacMd5, kxkey, lmv2Response, ntHash, ntlmv2Response, ntowfv2, NtlmSession, Rc4Stream, sealKey, signKey, utf16le,
} from '../../lib/ntlm/index.js';

const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/ntlm-vectors.json', import.meta.url)), 'utf8'));
const c = fx.common_4_2_1;
const v = fx.ntlmv2_4_2_4;
const flags = new DataView(fromHex(v.challengeFlags).buffer).getUint32(0, true);
const serverChallenge = fromHex(c.serverChallenge);
const clientChallenge = fromHex(c.clientChallenge);
const responseKey = () => ntowfv2(ntHash(c.password), c.user, c.domain);
// 4.2.4: the NTLMv2 "ServerName" is the CHALLENGE's TargetInfo: MsvAvNbDomainName, MsvAvNbComputerName, MsvAvEOL.
const targetInfo = encodeAvPairs([
  { id: AvId.MsvAvNbDomainName, value: utf16le(c.domain) },
  { id: AvId.MsvAvNbComputerName, value: utf16le(c.serverName) },
]);
const temp = () => encodeNtlmV2ClientChallenge(0n, clientChallenge, targetInfo);

test('4.2.4 challenge flags decode to the names the spec lists', () => {
  assert.deepEqual(new Set(flagNames(flags)), new Set(v.challengeFlagNames));
  assert.equal(toHex(utf16le(c.domain)), v.avPairNbDomainName);
  assert.equal(toHex(utf16le(c.serverName)), v.avPairNbComputerName);
});

test('4.2.4.1.1 NTOWFv2 (MD4 and HMAC-MD5 without the OpenSSL legacy provider)', () => {
  assert.equal(toHex(responseKey()), v.ntowfv2_4_2_4_1_1);
});

test('4.2.4.1.2 session base key and 4.2.4.2.2 NTProofStr', () => {
  const r = ntlmv2Response(responseKey(), serverChallenge, temp());
  assert.equal(toHex(r.ntProofStr), v.ntProofStr_4_2_4_2_2);
  assert.equal(toHex(r.sessionBaseKey), v.sessionBaseKey_4_2_4_1_2);
  assert.equal(toHex(r.ntChallengeResponse.subarray(16)), toHex(temp()));
});

test('4.2.4.2.1 LMv2 response', () => {
  assert.equal(toHex(lmv2Response(responseKey(), serverChallenge, clientChallenge)), v.lmv2Response_4_2_4_2_1);
});

test('4.2.4.2.3 encrypted session key (KXKEY = session base key, RC4)', () => {
  const { sessionBaseKey } = ntlmv2Response(responseKey(), serverChallenge, temp());
  assert.equal(toHex(encryptRandomSessionKey(kxkey(sessionBaseKey), fromHex(c.randomSessionKey))), v.encryptedSessionKey_4_2_4_2_3);
});

test('4.2.4.3 CHALLENGE_MESSAGE decodes and re-encodes byte for byte', () => {
  const bytes = fromHex(v.challengeMessage_4_2_4_3);
  const m = decodeChallenge(bytes);
  assert.equal(m.flags, flags);
  assert.equal(m.targetName, c.serverName);
  assert.equal(toHex(m.serverChallenge), c.serverChallenge);
  assert.equal(toHex(m.targetInfo), toHex(targetInfo));
  assert.deepEqual(m.version, { major: 6, minor: 0, build: 6000, revision: 15 });
  const again = encodeChallenge({ flags: m.flags, targetName: m.targetName, serverChallenge: m.serverChallenge, avPairs: m.avPairs, version: m.version });
  assert.equal(toHex(again), v.challengeMessage_4_2_4_3);
});

test('4.2.4.4 SIGNKEY / SEALKEY and the sealed message with its signature', () => {
  const esk = fromHex(c.randomSessionKey);
  const w = v.wrapEx_4_2_4_4;
  assert.equal(toHex(sealKey(esk, flags, true)), w.sealKey);
  assert.equal(toHex(signKey(esk, true)), w.signKey);
  assert.equal(toHex(hmacMd5(signKey(esk, true), fromHex(w.seqNum + w.plaintext)).subarray(0, 8)), w.checksumBeforeRc4);
  const client = new NtlmSession({ exportedSessionKey: esk, flags, isInitiator: true });
  const token = client.wrap(fromHex(w.plaintext));
  assert.equal(toHex(token.subarray(16)), w.sealedData);
  assert.equal(toHex(token.subarray(0, 16)), w.signature);
  assert.equal(toHex(token.subarray(4, 12)), w.checksumAfterRc4);
  const server = new NtlmSession({ exportedSessionKey: esk, flags, isInitiator: false });
  assert.equal(toHex(server.unwrap(token).message), w.plaintext);
});

test('Rc4Stream continues the keystream of lib/krb5/crypto/rc4.ts across calls', () => {
  const key = fromHex('0102030405');
  const data = new Uint8Array(300).map((_, i) => i);
  const s = new Rc4Stream(key);
  const joined = new Uint8Array([...s.update(data.subarray(0, 7)), ...s.update(data.subarray(7, 200)), ...s.update(data.subarray(200))]);
  assert.equal(toHex(joined), toHex(rc4(key, data)));
});
