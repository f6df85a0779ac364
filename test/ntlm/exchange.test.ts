// NTLMv2 initiator <-> acceptor in process: round trips (session security both ways), and each
// refusal the acceptor (or initiator) must make with its own typed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { DecodeError, GssError } from '../../lib/errors.js';
import { utf8, fromHex, toHex } from '../../lib/util/bytes.js';
import {
  AvId, decodeAuthenticate, decodeChallenge, decodeNtlmV2Response, encodeAuthenticate, encodeChallenge, MIC_OFFSET, NegotiateFlags as F,
  NtlmAcceptor, NtlmBadCredentialsError, NtlmChannelBindingsError, NtlmDowngradeError, NtlmInitiator, NtlmMicError,
  NtlmMissingMicError, NtlmReplayError, NtlmSkewError, NtlmTargetNameError, NtlmUnknownUserError, ntHash,
  parseNtlmUserFile, userStoreFromFile, type NtlmAcceptorOptions, type NtlmInitiatorOptions,
} from '../../lib/ntlm/index.js';

const store = userStoreFromFile('EXAMPLE:alice:s3cret:pw\n');
const SPN = 'HTTP/www.example.com';
const cb = { applicationData: utf8.encode('tls-server-end-point:0123') };

function pair(i: Partial<NtlmInitiatorOptions> = {}, a: Partial<NtlmAcceptorOptions> = {}) {
  const ini = new NtlmInitiator({ credentials: { principal: 'alice@EXAMPLE', password: 's3cret:pw' }, targetName: SPN, ...i });
  const acc = new NtlmAcceptor({ userStore: store, targetName: SPN, replayCache: new MemoryReplayCache(), ...a });
  return { ini, acc };
}

async function run(i: Partial<NtlmInitiatorOptions> = {}, a: Partial<NtlmAcceptorOptions> = {}, edit?: (auth: Uint8Array) => Uint8Array) {
  const { ini, acc } = pair(i, a);
  const chal = await acc.step(ini.step());
  const auth = ini.step(chal);
  await acc.step(edit ? edit(auth) : auth);
  return { ini, acc, auth };
}

test('round trip: user and domain exposed, keys agree, MIC/wrap both ways, channel bindings and SPN checked', async () => {
  const { ini, acc } = await run({ channelBindings: cb }, { channelBindings: cb, requireMic: true, requireTargetName: true });
  assert.ok(ini.complete && acc.complete);
  assert.deepEqual({ user: acc.info!.user, domain: acc.info!.domain }, { user: 'alice', domain: 'EXAMPLE' });
  const msg = utf8.encode('hello');
  for (let n = 0; n < 3; n++) {
    acc.session!.verifyMIC(msg, ini.session!.getMIC(msg));
    ini.session!.verifyMIC(msg, acc.session!.getMIC(msg));
    assert.equal(toHex(acc.session!.unwrap(ini.session!.wrap(msg)).message), toHex(msg));
    assert.equal(toHex(ini.session!.unwrap(acc.session!.wrap(msg)).message), toHex(msg));
  }
  // a changed byte in a sealed message is refused and the context stays usable
  const t = ini.session!.wrap(msg);
  t[t.length - 1]! ^= 1;
  assert.throws(() => acc.session!.unwrap(t), (e: any) => e instanceof GssError && e.major === 'GSS_S_BAD_MIC');
  t[t.length - 1]! ^= 1;
  assert.equal(toHex(acc.session!.unwrap(t).message), toHex(msg));
  // replayed MIC token
  const mic = ini.session!.getMIC(msg);
  acc.session!.verifyMIC(msg, mic);
  assert.throws(() => acc.session!.verifyMIC(msg, mic), (e: any) => e instanceof GssError && e.major === 'GSS_S_DUPLICATE_TOKEN');
});

test('credentials: DOMAIN\\user, NT hash, and the NT hash of a file entry', async () => {
  const { acc } = await run({ credentials: { principal: 'example\\ALICE', ntHash: ntHash('s3cret:pw') } });
  assert.equal(acc.info!.user, 'ALICE');
  assert.equal(acc.info!.domain, 'example');
});

test('wrong password: NtlmBadCredentialsError; unknown user: NtlmUnknownUserError', async () => {
  await assert.rejects(run({ credentials: { principal: 'alice@EXAMPLE', password: 'nope' } }), NtlmBadCredentialsError);
  await assert.rejects(run({ credentials: { principal: 'bob@EXAMPLE', password: 's3cret:pw' } }), NtlmUnknownUserError);
});

test('tampered MIC: NtlmMicError', async () => {
  await assert.rejects(run({}, {}, (a) => { const b = a.slice(); b[MIC_OFFSET + 3]! ^= 0x40; return b; }), NtlmMicError);
});

test('tampered NEGOTIATE flags (MIC covers all three messages): NtlmMicError', async () => {
  const { ini, acc } = pair();
  const neg = ini.step();
  const evil = neg.slice();
  evil[12]! &= ~F.NTLMSSP_NEGOTIATE_SEAL; // a man in the middle drops sealing
  const auth = ini.step(await acc.step(evil));
  await assert.rejects(acc.step(auth), NtlmMicError);
});

test('missing MIC while MsvAvFlags says present: NtlmMissingMicError', async () => {
  await assert.rejects(run({}, {}, (a) => {
    const m = decodeAuthenticate(a);
    const { mic: _m, ...rest } = m;
    return encodeAuthenticate(rest); // same response (MsvAvFlags still says MIC present), no MIC field
  }), NtlmMissingMicError);
});

test('wrong channel bindings, or none when required: NtlmChannelBindingsError', async () => {
  await assert.rejects(run({ channelBindings: { applicationData: utf8.encode('tls-server-end-point:other') } }, { channelBindings: cb }), NtlmChannelBindingsError);
  await assert.rejects(run({}, { channelBindings: cb }), NtlmChannelBindingsError);
  await run({}, { channelBindings: cb, allowMissingChannelBindings: true });
});

test('altered target name (the client meant another service): NtlmTargetNameError', async () => {
  await assert.rejects(run({ targetName: 'HTTP/evil.example.com' }), NtlmTargetNameError);
  await assert.rejects(run({ targetName: undefined }, { requireTargetName: true }), NtlmTargetNameError);
  await run({ targetName: 'http/WWW.example.com@EXAMPLE' });
});

test('target name changed in transit breaks the NTLMv2 proof: NtlmBadCredentialsError', async () => {
  await assert.rejects(run({}, {}, (a) => {
    const b = a.slice();
    const spn = Buffer.from(SPN, 'utf16le');
    const at = Buffer.from(b).indexOf(spn);
    assert.ok(at > 0);
    b[at + 2 * 5] = 'X'.charCodeAt(0);
    return b;
  }), NtlmBadCredentialsError);
});

test('replayed AUTHENTICATE: same acceptor or same challenge on another acceptor: NtlmReplayError', async () => {
  const cache = new MemoryReplayCache();
  const fixed = fromHex('0102030405060708');
  const { acc, auth } = await run({}, { replayCache: cache, serverChallenge: fixed });
  await assert.rejects(acc.step(auth), NtlmReplayError);
  // another acceptor issuing the same challenge (one-shot across the shared cache)
  const { ini: i2, acc: a2 } = pair({}, { replayCache: cache, serverChallenge: fixed });
  await a2.step(i2.step());
  await assert.rejects(a2.step(auth), NtlmReplayError);
  // to a fresh challenge the old NTProofStr cannot verify (it covers the server challenge)
  const { ini: i3, acc: a3 } = pair({}, { replayCache: cache });
  await a3.step(i3.step());
  await assert.rejects(a3.step(auth), NtlmBadCredentialsError);
});

test('timestamp outside the skew: NtlmSkewError (client clock used when the server sends no timestamp)', async () => {
  // The acceptor's clock moves 10 minutes between CHALLENGE and AUTHENTICATE: the echoed timestamp is old.
  let t = Date.now();
  const { ini, acc } = pair({}, { now: () => t });
  const chal = await acc.step(ini.step());
  t += 600_000;
  await assert.rejects(acc.step(ini.step(chal)), NtlmSkewError);
});

test('a server without extended session security (NTLMv1 / LM): NtlmDowngradeError at the initiator', async () => {
  const { ini, acc } = pair();
  const chal = decodeChallenge((await acc.step(ini.step()))!);
  const lmOnly = encodeChallenge({ flags: (chal.flags & ~F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) | F.NTLMSSP_NEGOTIATE_LM_KEY, targetName: 'X', serverChallenge: chal.serverChallenge, avPairs: chal.avPairs });
  assert.throws(() => ini.step(lmOnly), NtlmDowngradeError);
  assert.throws(() => ini.step(lmOnly), (e: any) => e instanceof GssError && e.major === 'GSS_S_NO_CONTEXT');
});

test('a client without extended session security, or with an NTLMv1 response: NtlmDowngradeError at the acceptor', async () => {
  const { ini, acc } = pair();
  const neg = ini.step().slice();
  neg[14]! &= ~(F.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY >>> 16);
  await assert.rejects(acc.step(neg), NtlmDowngradeError);
  await assert.rejects(run({}, {}, (a) => {
    const m = decodeAuthenticate(a);
    return encodeAuthenticate({ ...m, ntChallengeResponse: new Uint8Array(24), mic: m.mic! });
  }), NtlmDowngradeError);
});

test('the NTLMv2 response carries MsvAvTargetName, MsvAvChannelBindings and the MIC bit', async () => {
  const { auth } = await run({ channelBindings: cb }, { channelBindings: cb });
  const r = decodeNtlmV2Response(decodeAuthenticate(auth).ntChallengeResponse);
  const ids = r.avPairs.map((p) => p.id);
  for (const id of [AvId.MsvAvTimestamp, AvId.MsvAvFlags, AvId.MsvAvTargetName, AvId.MsvAvChannelBindings]) assert.ok(ids.includes(id), `AvId ${id}`);
});

test('NTLM_USER_FILE: DOMAIN:USER:PASSWORD and smbpasswd lines', () => {
  const text = [
    '# comment', '', 'EXAMPLE:alice:pa:ss', ':carol:any-domain',
    `dave:1001:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:${toHex(ntHash('davepw')).toUpperCase()}:[U          ]:LCT-5F000000:`,
    `erin:1002:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:${toHex(ntHash('erinpw'))}:[DU         ]:LCT-5F000000:`,
  ].join('\n');
  const e = parseNtlmUserFile(text);
  assert.deepEqual(e.map((x) => [x.domain, x.user]), [['EXAMPLE', 'alice'], ['', 'carol'], ['', 'dave']]);
  const s = userStoreFromFile(text);
  assert.equal(toHex(s('ALICE', 'example') as Uint8Array), toHex(ntHash('pa:ss')));
  assert.equal(s('alice', 'OTHER'), undefined);
  assert.equal(toHex(s('carol', 'ANY') as Uint8Array), toHex(ntHash('any-domain')));
  assert.equal(toHex(s('Dave', 'X') as Uint8Array), toHex(ntHash('davepw')));
  assert.equal(s('erin', ''), undefined, 'disabled [D] account');
  assert.throws(() => parseNtlmUserFile('no-colons-here'), DecodeError);
});

test('messages given as pooled Buffers (HTTP headers decoded with Buffer.from) are kept as copies: the MIC still verifies', async () => {
  // Buffer.from(base64) of a small message is a view of Node's shared pool, and Buffer#slice is a
  // view too: the acceptor must neither keep the caller's bytes nor zero the MIC field in place.
  const { ini, acc } = pair({ channelBindings: cb }, { channelBindings: cb, requireMic: true });
  const pooled = (b: Uint8Array) => Buffer.from(Buffer.from(b).toString('base64'), 'base64');
  const neg = pooled(ini.step());
  const chal = await acc.step(neg);
  neg.fill(0xaa); // the caller reuses its buffer (the pool does)
  const auth = pooled(ini.step(pooled(chal!)));
  const sent = Buffer.from(auth);
  await acc.step(auth);
  assert.ok(acc.complete);
  assert.ok(sent.equals(auth), 'the AUTHENTICATE_MESSAGE given is left as it was');
});
