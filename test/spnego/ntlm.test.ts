// NTLM inside SPNEGO, pure backend both sides (issue 13): three legs (NEGOTIATE optimistic or after
// a counter-proposal, CHALLENGE, AUTHENTICATE + mechListMIC, the acceptor's mechListMIC), the MICs
// recomputed from the exported session key with sequence number 0, the MS-SPNG 3.3.5.1 RC4 reset
// before the first application message, the Kerberos-first rule and the fallback to NTLM when
// Kerberos cannot start, and the refusals (tampered or missing mechListMIC, an altered mech list,
// wrong channel bindings), each leaving the context failed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createAcceptor, createInitiator } from '../../lib/api.js';
import { exchange } from '../../lib/exchange.js';
import { GssError, UsageError } from '../../lib/errors.js';
import { decodeNegotiationToken, encodeNegTokenInit, encodeNegTokenResp } from '../../lib/spnego/codec.js';
import { MechOid } from '../../lib/spnego/oids.js';
import { decodeAuthenticate, MessageType, NtlmChannelBindingsError, NtlmSession, ntHash } from '../../lib/ntlm/index.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import type { AcceptorOptions, InitiatorOptions, SecurityContext } from '../../lib/context.js';
import { utf8 } from '../../lib/util/bytes.js';
import { realmForFile } from '../kdc/realm-for-file.js';

const REALM = 'NTLM.TEST';
const r = realmForFile(REALM);

const users = (u: string, d: string) => (u.toLowerCase() === 'alice' && d.toUpperCase() === REALM ? ntHash('alice-pw') : undefined);
const ntlmAcceptor = (o: Partial<AcceptorOptions> = {}) =>
  createAcceptor({ backend: 'pure', spnego: { mechs: ['ntlm'] }, ntlm: { users, replayCache: new MemoryReplayCache() }, ...o });
/** NTLM only: an NT hash (no password, so no Kerberos) against a host name. */
const ntlmInitiator = (o: Partial<InitiatorOptions> = {}) =>
  createInitiator({ backend: 'pure', target: 'HTTP@localhost', ntlm: { credentials: { principal: `${REALM}\\alice`, ntHash: ntHash('alice-pw') } }, krb5Config: r.krb5Config, ...o });

const resp = (t: Uint8Array) => {
  const d = decodeNegotiationToken(t);
  assert.equal(d.kind, 'resp');
  return d as Extract<typeof d, { kind: 'resp' }>;
};
const init = (t: Uint8Array) => {
  const d = decodeNegotiationToken(t);
  assert.equal(d.kind, 'init');
  return d as Extract<typeof d, { kind: 'init' }>;
};
const ntlmType = (b: Uint8Array | undefined) => b && new TextDecoder().decode(b.subarray(0, 7)) === 'NTLMSSP' ? b[8] : undefined;

/** The negotiated NegotiateFlags, read from the AUTHENTICATE_MESSAGE in the initiator's second token. */
function negotiatedFlags(tokens: Uint8Array[]): number {
  const auth = tokens.map((t) => decodeNegotiationToken(t)).map((t) => (t.kind === 'resp' ? t.responseToken : t.kind === 'init' ? t.mechToken : undefined))
    .find((b) => ntlmType(b) === MessageType.AUTHENTICATE);
  assert.ok(auth, 'an AUTHENTICATE_MESSAGE crossed');
  return decodeAuthenticate(auth).flags;
}

/** Both mechListMICs recomputed from the exported session key: NTLM signatures with sequence number 0. */
function checkMics(i: SecurityContext, a: SecurityContext, tokens: Uint8Array[]) {
  const key = a.info.sessionKey!.key;
  assert.deepEqual(i.info.sessionKey!.key, key, 'one exported session key');
  const flags = negotiatedFlags(tokens);
  const sp = a.info.spnego!;
  assert.ok(sp.micReceived && sp.micSent, 'mechListMIC both ways (the AUTHENTICATE carried its MIC)');
  const fromInitiator = new NtlmSession({ exportedSessionKey: key, flags, isInitiator: true }).getMIC(sp.mechTypes);
  const fromAcceptor = new NtlmSession({ exportedSessionKey: key, flags, isInitiator: false }).getMIC(sp.mechTypes);
  assert.deepEqual(sp.micReceived, fromInitiator, "the initiator's mechListMIC, byte for byte");
  assert.deepEqual(sp.micSent, fromAcceptor, "the acceptor's mechListMIC, byte for byte");
  assert.deepEqual(i.info.spnego!.micSent, fromInitiator);
  assert.deepEqual(i.info.spnego!.micReceived, fromAcceptor);
  return { key, flags };
}

test('NTLM alone under SPNEGO: NEGOTIATE optimistic, three legs, mechListMICs both ways, names in info', async () => {
  const i = ntlmInitiator();
  const a = ntlmAcceptor();
  const tokens = await exchange(i, a);
  assert.ok(i.complete && a.complete);
  assert.equal(tokens.length, 4, 'NegTokenInit+NEGOTIATE, CHALLENGE, AUTHENTICATE+MIC, accept-completed+MIC');
  const t0 = init(tokens[0]!);
  assert.deepEqual(t0.mechTypes, [MechOid.ntlm]);
  assert.equal(ntlmType(t0.mechToken), MessageType.NEGOTIATE);
  const t1 = resp(tokens[1]!);
  assert.equal(t1.negState, 1);
  assert.equal(t1.supportedMech, MechOid.ntlm);
  assert.equal(ntlmType(t1.responseToken), MessageType.CHALLENGE);
  const t2 = resp(tokens[2]!);
  assert.equal(ntlmType(t2.responseToken), MessageType.AUTHENTICATE);
  assert.ok(t2.mechListMIC);
  const t3 = resp(tokens[3]!);
  assert.equal(t3.negState, 0);
  assert.equal(t3.responseToken, undefined);
  assert.ok(t3.mechListMIC);
  checkMics(i, a, tokens);
  assert.equal(a.info.mech, MechOid.ntlm);
  assert.equal(a.info.initiatorName, `${REALM}\\alice`);
  assert.deepEqual(a.info.ntlm, { user: 'alice', domain: REALM, workstation: '' });
  assert.equal(i.info.initiatorName, `${REALM}\\alice`);
  assert.equal(a.info.flags.integrity, true);
  assert.equal(a.info.flags.confidentiality, true);
  assert.equal(a.info.flags.mutual, false);
});

test('MS-SPNG 3.3.5.1: after the mechListMIC each direction restarts its RC4 handle; sequence numbers go on (1)', async () => {
  const i = ntlmInitiator();
  const a = ntlmAcceptor();
  const tokens = await exchange(i, a);
  const { key, flags } = checkMics(i, a, tokens);
  const mechTypes = a.info.spnego!.mechTypes;
  const msg = utf8.encode('first application message');
  const sig = i.getMIC(msg);
  const expected = new NtlmSession({ exportedSessionKey: key, flags, isInitiator: true });
  expected.getMIC(mechTypes);
  const withoutReset = expected.getMIC(msg);
  const reset = new NtlmSession({ exportedSessionKey: key, flags, isInitiator: true });
  reset.getMIC(mechTypes);
  reset.resetCipherState('send');
  assert.deepEqual(sig, reset.getMIC(msg), 'sequence number 1, RC4 handle fresh');
  assert.notDeepEqual(sig, withoutReset, 'the reset changes the (RC4-encrypted) checksum');
  assert.equal(new DataView(sig.buffer, sig.byteOffset).getUint32(12, true), 1);
  a.verifyMIC(msg, sig);
  // Sealed messages both ways, each direction's handle having been reset.
  assert.equal(new TextDecoder().decode(a.unwrap(i.wrap(msg)).message), 'first application message');
  assert.equal(new TextDecoder().decode(i.unwrap(a.wrap(msg)).message), 'first application message');
});

test('Kerberos works: offered first, NTLM second, and Kerberos is chosen by an acceptor that has both', async () => {
  const i = createInitiator({ backend: 'pure', target: 'HTTP@localhost', credentials: { principal: 'alice', password: 'alice-pw' }, ntlm: true, krb5Config: r.krb5Config });
  const a = createAcceptor({ backend: 'pure', keytab: r.keytab, ntlm: { users, replayCache: new MemoryReplayCache() } });
  const tokens = await exchange(i, a);
  assert.ok(i.complete && a.complete);
  assert.deepEqual(init(tokens[0]!).mechTypes, [MechOid['ms-krb5'], MechOid.krb5, MechOid.ntlm]);
  assert.equal(a.info.mech, MechOid['ms-krb5']);
  assert.equal(a.info.initiatorName, `alice@${REALM}`);
  assert.equal(a.info.ntlm, undefined);
});

test('an acceptor with NTLM only counter-proposes it: request-mic, the three NTLM legs, MICs both ways', async () => {
  const i = createInitiator({ backend: 'pure', target: 'HTTP@localhost', credentials: { principal: `alice@${REALM}`, password: 'alice-pw' }, ntlm: true, krb5Config: r.krb5Config });
  const a = ntlmAcceptor();
  const tokens = await exchange(i, a);
  assert.ok(i.complete && a.complete);
  const t0 = init(tokens[0]!);
  assert.deepEqual(t0.mechTypes, [MechOid['ms-krb5'], MechOid.krb5, MechOid.ntlm], 'Kerberos first, NTLM second');
  assert.notEqual(ntlmType(t0.mechToken), MessageType.NEGOTIATE, 'the optimistic token is the AP-REQ');
  const t1 = resp(tokens[1]!);
  assert.equal(t1.negState, 3, 'request-mic');
  assert.equal(t1.supportedMech, MechOid.ntlm);
  assert.equal(ntlmType(resp(tokens[2]!).responseToken), MessageType.NEGOTIATE);
  checkMics(i, a, tokens);
  assert.deepEqual(a.info.ntlm, { user: 'alice', domain: REALM, workstation: '' });
  assert.equal(i.info.mech, MechOid.ntlm);
});

test('Kerberos cannot start: the initiator falls back to NTLM, listed alone with NEGOTIATE as the optimistic token', async (t) => {
  for (const [what, o] of [
    ['the target is an IP address (no SPN)', { target: 'HTTP@127.0.0.1' }],
    ['the KDC knows no such service (no ticket obtainable)', { target: 'HTTP@nosuchhost' }],
  ] as const) {
    await t.test(what, async () => {
      const before = r.kdc.stats.tgs;
      const i = createInitiator({ backend: 'pure', credentials: { principal: `alice@${REALM}`, password: 'alice-pw' }, ntlm: true, krb5Config: r.krb5Config, ...o });
      const a = ntlmAcceptor();
      const tokens = await exchange(i, a);
      assert.ok(i.complete && a.complete);
      const t0 = init(tokens[0]!);
      assert.deepEqual(t0.mechTypes, [MechOid.ntlm]);
      assert.equal(ntlmType(t0.mechToken), MessageType.NEGOTIATE);
      checkMics(i, a, tokens);
      assert.deepEqual(a.info.ntlm, { user: 'alice', domain: REALM, workstation: '' });
      if (o.target === 'HTTP@127.0.0.1') assert.equal(r.kdc.stats.tgs, before, 'no TGS request for an IP address');
      else {
        assert.ok(r.kdc.stats.tgs > before, 'the KDC was asked first');
        assert.match(i.info.spnego?.fallbackReason ?? '', /./, 'why Kerberos could not start');
      }
    });
  }
  await t.test('the KDC is unreachable (connection refused)', async () => {
    const conf = join(r.dir, 'unreachable.conf');
    writeFileSync(conf, `[libdefaults]\n default_realm = ${REALM}\n dns_lookup_kdc = false\n[realms]\n ${REALM} = {\n  kdc = tcp/127.0.0.1:1\n }\n`);
    const i = createInitiator({ backend: 'pure', target: 'HTTP@localhost', credentials: { principal: `alice@${REALM}`, password: 'alice-pw' }, ntlm: true, krb5Config: conf });
    const a = ntlmAcceptor();
    const tokens = await exchange(i, a);
    assert.ok(i.complete && a.complete);
    assert.deepEqual(init(tokens[0]!).mechTypes, [MechOid.ntlm]);
    assert.ok(i.info.spnego?.fallbackReason);
  });
  await t.test('without the ntlm option there is no fallback: the Kerberos error stands', async () => {
    const i = createInitiator({ backend: 'pure', target: 'HTTP@nosuchhost', credentials: { principal: `alice@${REALM}`, password: 'alice-pw' }, krb5Config: r.krb5Config });
    await assert.rejects(i.step());
  });
});

test('raw NTLM (mech ntlm): NTLMSSP messages without SPNEGO', async () => {
  const i = ntlmInitiator({ mech: 'ntlm' });
  const a = ntlmAcceptor({ mech: 'ntlm', spnego: undefined });
  const tokens = await exchange(i, a);
  assert.deepEqual(tokens.map(ntlmType), [MessageType.NEGOTIATE, MessageType.CHALLENGE, MessageType.AUTHENTICATE]);
  assert.ok(i.complete && a.complete);
  assert.equal(a.info.mech, MechOid.ntlm);
  assert.equal(a.info.spnego, undefined);
  const m = utf8.encode('raw');
  assert.deepEqual(a.unwrap(i.wrap(m)).message, m);
});

/** Runs the exchange, replacing the token at `index` with `edit(token)`; returns the error of the side that refused it. */
async function tampered(index: number, edit: (t: Uint8Array) => Uint8Array, o: { i?: Partial<InitiatorOptions>; a?: Partial<AcceptorOptions> } = {}) {
  const i = ntlmInitiator(o.i);
  const a = ntlmAcceptor(o.a);
  const sides = [i, a];
  let tok = await i.step();
  let n = 0;
  for (;;) {
    if (n === index) tok = edit(tok!);
    const to = sides[(n + 1) % 2]!;
    try {
      tok = await to.step(tok);
    } catch (err) {
      assert.equal(to.complete, false);
      assert.throws(() => to.getMIC(utf8.encode('x')), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_NO_CONTEXT', 'fail closed');
      return { err: err as GssError, by: to === i ? 'initiator' : 'acceptor' };
    }
    n++;
    if (!tok) assert.fail('the exchange completed despite the tampering');
  }
}

const flipMic = (t: Uint8Array) => {
  const r = resp(t);
  const mic = Uint8Array.from(r.mechListMIC!);
  mic[6]! ^= 1; // a checksum byte
  return encodeNegTokenResp({ negState: r.negState, supportedMech: r.supportedMech, responseToken: r.responseToken, mechListMIC: mic });
};
const dropMic = (t: Uint8Array) => {
  const r = resp(t);
  return encodeNegTokenResp({ negState: r.negState, supportedMech: r.supportedMech, responseToken: r.responseToken });
};

test("refusals through SPNEGO: tampered or missing mechListMIC either way, an altered mech list, wrong channel bindings", async (t) => {
  await t.test("the initiator's mechListMIC altered: the acceptor refuses", async () => {
    const { err, by } = await tampered(2, flipMic);
    assert.equal(by, 'acceptor');
    assert.equal(err.major, 'GSS_S_DEFECTIVE_TOKEN');
    assert.match(err.message, /initiator's mechListMIC does not verify/);
  });
  await t.test("the acceptor's mechListMIC altered: the initiator refuses", async () => {
    const { err, by } = await tampered(3, flipMic);
    assert.equal(by, 'initiator');
    assert.match(err.message, /acceptor's mechListMIC does not verify/);
  });
  await t.test("the initiator's mechListMIC removed: NTLM's MIC makes it required", async () => {
    const { err, by } = await tampered(2, dropMic);
    assert.equal(by, 'acceptor');
    assert.match(err.message, /without the mechListMIC/);
  });
  await t.test("the acceptor's mechListMIC removed: the initiator refuses (no legacy leniency for NTLM)", async () => {
    const { err, by } = await tampered(3, dropMic);
    assert.equal(by, 'initiator');
    assert.match(err.message, /without the mechListMIC/);
  });
  await t.test('the mech list altered in transit (negoex dropped): the mechListMIC catches it', async () => {
    const { err, by } = await tampered(0, (tok) => {
      const d = init(tok);
      return encodeNegTokenInit({ mechTypes: d.mechTypes.filter((m) => m !== MechOid.negoex), mechToken: d.mechToken }).token;
    }, { i: { spnego: { mechs: ['ntlm', 'negoex'] } } });
    assert.equal(by, 'acceptor');
    assert.match(err.message, /mechListMIC does not verify/);
  });
  await t.test('wrong channel bindings: NtlmChannelBindingsError from the acceptor, through SPNEGO', async () => {
    const { err, by } = await tampered(-1, (x) => x, { i: { channelBindings: utf8.encode('tls-server-end-point:A') }, a: { channelBindings: utf8.encode('tls-server-end-point:B') } });
    assert.equal(by, 'acceptor');
    assert.ok(err instanceof NtlmChannelBindingsError);
    assert.equal(err.major, 'GSS_S_BAD_BINDINGS');
  });
  await t.test('the same channel bindings on both sides: accepted', async () => {
    const cb = utf8.encode('tls-server-end-point:same');
    const i = ntlmInitiator({ channelBindings: cb });
    const a = ntlmAcceptor({ channelBindings: cb });
    await exchange(i, a);
    assert.ok(i.complete && a.complete);
  });
});

test('NTLM options: typed refusals', () => {
  assert.throws(() => createInitiator({ backend: 'pure', target: 'HTTP@localhost', ntlm: true, krb5Config: r.krb5Config }), UsageError);
  assert.throws(() => createAcceptor({ backend: 'pure', spnego: { mechs: ['ntlm'] }, ntlm: {} }), UsageError);
  assert.throws(() => createAcceptor({ backend: 'pure', spnego: { mechs: ['ntlm'] }, ntlm: { userFile: join(r.dir, 'absent') } }), UsageError);
  assert.throws(() => createInitiator({ backend: 'pure', target: 'HTTP@localhost', mech: 'kerberos', ntlm: true, credentials: { principal: 'a', password: 'b' }, krb5Config: r.krb5Config }), UsageError);
});

test('the acceptor reads an NTLM_USER_FILE (DOMAIN:USER:PASSWORD)', async () => {
  const f = join(r.dir, 'users');
  writeFileSync(f, `${REALM}:alice:alice-pw\n`);
  const i = ntlmInitiator();
  const a = createAcceptor({ backend: 'pure', spnego: { mechs: ['ntlm'] }, ntlm: { userFile: f, replayCache: new MemoryReplayCache() } });
  await exchange(i, a);
  assert.equal(a.info.initiatorName, `${REALM}\\alice`);
});
