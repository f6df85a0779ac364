// NTLM inside SPNEGO across backends (issue 13): the native backend runs MIT's own SPNEGO with
// gss-ntlmssp loaded in this process (./ntlmssp-env.ts, imported first, points GSS_MECH_CONFIG at its
// mech.d file before the first GSSAPI call). All four pairings: pure|native initiator x pure|native
// acceptor; the exported session keys (gss-ntlmssp's GSS_C_INQ_SSPI_SESSION_KEY) agree, both
// mechListMICs are recomputed byte for byte by the pure code (NTLM signatures, sequence number 0), and
// the first messages after them (MS-SPNG 3.3.5.1 RC4 reset) verify both ways. Refusals across the
// backends: wrong channel bindings, a tampered mechListMIC. Skips without gss-ntlmssp or the addon.
import { NTLM_OID, envDir, ntlmsspMechConfig } from './ntlmssp-env.js';
import { after, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { createAcceptor, createInitiator } from '../../lib/api.js';
import { exchange } from '../../lib/exchange.js';
import { nativeInfo } from '../../lib/native/index.js';
import { GssError } from '../../lib/errors.js';
import type { Backend, SecurityContext } from '../../lib/context.js';
import { decodeNegotiationToken, encodeNegTokenResp } from '../../lib/spnego/codec.js';
import { decodeAuthenticate, MessageType, NtlmChannelBindingsError, NtlmSession } from '../../lib/ntlm/index.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { toHex, utf8 } from '../../lib/util/bytes.js';

const requirePeers = process.env.SPNEGO_REQUIRE_PEERS === '1';
after(() => rmSync(envDir, { recursive: true, force: true }));

function need(t: TestContext, backends: Backend[]): boolean {
  let why: string | undefined;
  if (!ntlmsspMechConfig) why = 'gss-ntlmssp is not installed (no NTLM mech in /etc/gss/mech.d; apt-get install gss-ntlmssp)';
  else if (backends.includes('native')) {
    const n = nativeInfo();
    if (!n.loaded) why = `the native addon is not available: ${n.error}`;
    else if (n.library !== 'MIT') why = `gss-ntlmssp is an MIT mechglue plugin; the native library is ${n.library}`;
  }
  if (!why) return true;
  if (requirePeers) throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${why}`);
  t.skip(why);
  return false;
}

const TARGET = 'HTTP@localhost';
const PRINCIPAL = 'EXAMPLE\\alice';

function initiator(b: Backend, cb?: Uint8Array): SecurityContext {
  return b === 'pure'
    // No ccache, no keytab: Kerberos cannot start and the pure initiator falls back to NTLM alone.
    ? createInitiator({ backend: 'pure', target: TARGET, ntlm: { credentials: { principal: PRINCIPAL, password: 's3cret' } }, channelBindings: cb })
    : createInitiator({ backend: 'native', target: TARGET, credentials: { principal: PRINCIPAL, password: 's3cret' }, channelBindings: cb });
}
function acceptor(b: Backend, cb?: Uint8Array): SecurityContext {
  return b === 'pure'
    ? createAcceptor({ backend: 'pure', spnego: { mechs: ['ntlm'] }, ntlm: { userFile: process.env.NTLM_USER_FILE, replayCache: new MemoryReplayCache() }, channelBindings: cb })
    : createAcceptor({ backend: 'native', channelBindings: cb });
}

const mechToken = (t: Uint8Array) => {
  const d = decodeNegotiationToken(t);
  return d.kind === 'resp' ? d.responseToken : d.kind === 'init' ? d.mechToken : undefined;
};
const isNtlm = (b: Uint8Array | undefined, type: number) => b !== undefined && new TextDecoder().decode(b.subarray(0, 7)) === 'NTLMSSP' && b[8] === type;

const pairings: [Backend, Backend][] = [['pure', 'pure'], ['pure', 'native'], ['native', 'pure'], ['native', 'native']];

for (const [ib, ab] of pairings) {
  test(`NTLM in SPNEGO, ${ib} initiator -> ${ab} acceptor: one session key, both mechListMICs recomputed byte for byte, messages both ways`, async (t) => {
    if (!need(t, [ib, ab])) return;
    const i = initiator(ib);
    const a = acceptor(ab);
    const tokens = await exchange(i, a);
    assert.ok(i.complete && a.complete, `complete (initiator ${i.complete}, acceptor ${a.complete})`);
    const t0 = decodeNegotiationToken(tokens[0]!);
    assert.equal(t0.kind, 'init');
    assert.deepEqual(t0.kind === 'init' && t0.mechTypes, [NTLM_OID], 'NTLM alone (Kerberos cannot start on either initiator)');
    assert.ok(isNtlm(mechToken(tokens[0]!), MessageType.NEGOTIATE), 'NEGOTIATE as the optimistic token');
    assert.equal(i.info.mech, NTLM_OID);
    assert.equal(a.info.mech, NTLM_OID);
    assert.match(a.info.initiatorName ?? '', /^EXAMPLE\\alice$/i);

    const key = a.info.sessionKey!.key;
    assert.equal(toHex(i.info.sessionKey!.key), toHex(key), 'the exported session key, the same on both sides');
    const auth = tokens.map(mechToken).find((m) => isNtlm(m, MessageType.AUTHENTICATE))!;
    const flags = decodeAuthenticate(auth).flags;
    const ai = a.info.spnego!;
    const ii = i.info.spnego!;
    assert.equal(toHex(ai.mechTypes), toHex(ii.mechTypes));
    assert.ok(ai.micSent && ai.micReceived && ii.micSent && ii.micReceived, 'mechListMIC both ways (NTLM carried its MIC)');
    const fromInitiator = new NtlmSession({ exportedSessionKey: key, flags, isInitiator: true }).getMIC(ai.mechTypes);
    const fromAcceptor = new NtlmSession({ exportedSessionKey: key, flags, isInitiator: false }).getMIC(ai.mechTypes);
    assert.equal(toHex(ii.micSent), toHex(fromInitiator), `the ${ib} initiator's mechListMIC = pure recomputation`);
    assert.equal(toHex(ai.micReceived), toHex(fromInitiator));
    assert.equal(toHex(ai.micSent), toHex(fromAcceptor), `the ${ab} acceptor's mechListMIC = pure recomputation`);
    assert.equal(toHex(ii.micReceived), toHex(fromAcceptor));

    // After the mechListMICs both sides restarted their RC4 handles the same way (MS-SPNG 3.3.5.1).
    const m = utf8.encode('GET /reports/q3 HTTP/1.1');
    assert.deepEqual(a.unwrap(i.wrap(m)).message, m);
    assert.deepEqual(i.unwrap(a.wrap(m)).message, m);
    a.verifyMIC(m, i.getMIC(m));
    i.verifyMIC(m, a.getMIC(m));
  });
}

for (const [ib, ab] of [['pure', 'native'], ['native', 'pure']] as [Backend, Backend][]) {
  test(`NTLM in SPNEGO, ${ib} -> ${ab}: channel bindings that differ are refused by the acceptor; equal ones accepted`, async (t) => {
    if (!need(t, [ib, ab])) return;
    const bad = exchange(initiator(ib, utf8.encode('tls-server-end-point:A')), acceptor(ab, utf8.encode('tls-server-end-point:B')));
    if (ab === 'pure') await assert.rejects(bad, NtlmChannelBindingsError);
    else await assert.rejects(bad, (e: unknown) => e instanceof GssError);
    const cb = utf8.encode('tls-server-end-point:same');
    const i = initiator(ib, cb);
    const a = acceptor(ab, cb);
    await exchange(i, a);
    assert.ok(i.complete && a.complete);
  });
}

/** The same NegTokenResp with one checksum byte of its mechListMIC flipped. */
function flipMic(t: Uint8Array): Uint8Array {
  const d = decodeNegotiationToken(t);
  assert.equal(d.kind, 'resp');
  if (d.kind !== 'resp' || !d.mechListMIC) throw new Error('no mechListMIC to tamper with');
  const mic = Uint8Array.from(d.mechListMIC);
  mic[6]! ^= 1;
  return encodeNegTokenResp({ negState: d.negState, supportedMech: d.supportedMech, responseToken: d.responseToken, mechListMIC: mic });
}

test("a tampered mechListMIC across backends: the native acceptor refuses the pure initiator's, the pure initiator the native acceptor's", async (t) => {
  if (!need(t, ['native'])) return;
  {
    const i = initiator('pure');
    const a = acceptor('native');
    const t1 = await a.step((await i.step())!);
    const t2 = await i.step(t1);
    await assert.rejects(a.step(flipMic(t2!)), (e: unknown) => e instanceof GssError);
    assert.equal(a.complete, false);
  }
  {
    const i = initiator('pure');
    const a = acceptor('native');
    const t1 = await a.step((await i.step())!);
    const t3 = await a.step((await i.step(t1))!);
    await assert.rejects(i.step(flipMic(t3!)), (e: unknown) => e instanceof GssError && /acceptor's mechListMIC does not verify/.test(e.message));
    assert.equal(i.complete, false);
    assert.throws(() => i.getMIC(utf8.encode('x')), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_NO_CONTEXT');
  }
});

test('the pure acceptor read the same NTLM_USER_FILE gss-ntlmssp reads', (t) => {
  if (!need(t, [])) return;
  assert.equal(process.env.NTLM_USER_FILE, join(envDir, 'users'));
});
