// The Kerberos GSS mechanism in process: our initiator against our acceptor over hand-made tickets,
// for every enctype, and each failure an acceptor must catch with its typed error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Krb5Initiator } from '../../lib/krb5/initiator.js';
import { Krb5Acceptor } from '../../lib/krb5/acceptor.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { GssFlags } from '../../lib/krb5/gss/checksum.js';
import { generateKey } from '../../lib/krb5/crypto/index.js';
import { GssError, KerberosError } from '../../lib/errors.js';
import { ErrorCode } from '../../lib/krb5/constants.js';
import { utf8 } from '../../lib/util/bytes.js';
import { client, makeServiceTicket } from './ticket-fixture.js';
import type { Key } from '../../lib/krb5/types.js';

const FLAGS = GssFlags.mutual | GssFlags.replay | GssFlags.sequence | GssFlags.conf | GssFlags.integ;

function pair(serviceKey: Key, o: { flags?: number; etypeNegotiation?: number[]; initiatorCb?: Uint8Array; acceptorCb?: Uint8Array; clockSkew?: number; now?: () => Date; sessionEnctype?: number } = {}) {
  const { ticket, sessionKey } = makeServiceTicket({ serviceKey, sessionEnctype: o.sessionEnctype });
  const init = new Krb5Initiator({
    client, ticket, sessionKey, flags: o.flags ?? FLAGS, allowWeak: true, etypeNegotiation: o.etypeNegotiation,
    channelBindings: o.initiatorCb && { applicationData: o.initiatorCb }, now: o.now,
  });
  const acc = new Krb5Acceptor({
    keyFor: () => serviceKey, replayCache: new MemoryReplayCache(), allowWeak: true, clockSkew: o.clockSkew,
    channelBindings: o.acceptorCb && { applicationData: o.acceptorCb },
  });
  return { init, acc, ticket, sessionKey };
}

for (const enctype of [17, 18, 19, 20, 23]) {
  test(`AP-REQ / AP-REP and per-message tokens, enctype ${enctype}`, async () => {
    const { init, acc } = pair(generateKey(enctype, { allowWeak: true }));
    const apReq = init.step().token!;
    assert.equal(init.complete, false);
    const accepted = await acc.accept(apReq);
    assert.ok(accepted.token, 'mutual: an AP-REP');
    assert.equal(accepted.client.name.nameString.join('/'), 'alice');
    const r = init.step(accepted.token);
    assert.equal(r.complete, true);
    const a = accepted.session;
    const i = init.session!;
    // RFC 4121 2: both sides use the acceptor subkey (MIT: none for rc4).
    assert.deepEqual(i.key, a.key);
    assert.equal(i.acceptorSubkey, enctype !== 23);
    for (let n = 0; n < 3; n++) {
      const m = utf8.encode(`message ${n}`);
      a.verifyMIC(m, i.getMIC(m));
      i.verifyMIC(m, a.getMIC(m));
      assert.deepEqual(a.unwrap(i.wrap(m, true)), { message: m, encrypted: true });
      assert.deepEqual(i.unwrap(a.wrap(m, false)), { message: m, encrypted: false });
    }
  });
}

test('RFC 4537: the acceptor subkey takes the first enctype of the initiator\'s list', async () => {
  const { init, acc } = pair(generateKey(23, { allowWeak: true }), { etypeNegotiation: [20, 18] });
  const accepted = await acc.accept(init.step().token!);
  init.step(accepted.token);
  assert.equal(init.session!.key.enctype, 20);
  assert.equal(accepted.session.key.enctype, 20);
});

test('without mutual authentication the initiator completes at once and no AP-REP is sent', async () => {
  const { init, acc } = pair(generateKey(18), { flags: GssFlags.integ | GssFlags.conf });
  const r = init.step();
  assert.equal(r.complete, true);
  const accepted = await acc.accept(r.token!);
  assert.equal(accepted.token, undefined);
  const m = utf8.encode('hi');
  accepted.session.verifyMIC(m, init.session!.getMIC(m));
});

test('a replayed AP-REQ is rejected with KRB_AP_ERR_REPEAT', async () => {
  const { init, acc } = pair(generateKey(18));
  const apReq = init.step().token!;
  await acc.accept(apReq);
  await assert.rejects(acc.accept(apReq), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_REPEAT);
});

test('a tampered ticket or authenticator is rejected with KRB_AP_ERR_BAD_INTEGRITY', async () => {
  const key = generateKey(18);
  const { init, acc } = pair(key);
  const apReq = init.step().token!;
  // Flip one byte near the end (inside the authenticator cipher) and one in the middle (ticket cipher).
  for (const at of [apReq.length - 5, Math.floor(apReq.length / 2)]) {
    const bad = apReq.slice();
    bad[at]! ^= 0x01;
    await assert.rejects(acc.accept(bad), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, `byte ${at}`);
  }
});

test('a wrong service key (stale keytab) names the kvno and enctype', async () => {
  const { init } = pair(generateKey(18));
  const acc = new Krb5Acceptor({ keyFor: () => generateKey(18), replayCache: new MemoryReplayCache() });
  await assert.rejects(acc.accept(init.step().token!), (e: unknown) => e instanceof KerberosError && /kvno 2, enctype 18/.test(e.message));
});

test('clock skew beyond the limit gives KRB_AP_ERR_SKEW', async () => {
  const { init, acc } = pair(generateKey(18), { now: () => new Date(Date.now() - 600_000) });
  await assert.rejects(acc.accept(init.step().token!), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_SKEW && /clock skew/.test(e.message));
});

test('channel bindings: equal ones pass, different or missing ones give GSS_S_BAD_BINDINGS', async () => {
  const cb = utf8.encode('tls-server-end-point:abc');
  const ok = pair(generateKey(18), { initiatorCb: cb, acceptorCb: cb });
  await ok.acc.accept(ok.init.step().token!);
  const other = pair(generateKey(18), { initiatorCb: utf8.encode('tls-server-end-point:xyz'), acceptorCb: cb });
  await assert.rejects(other.acc.accept(other.init.step().token!), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_BINDINGS');
  const none = pair(generateKey(18), { acceptorCb: cb });
  await assert.rejects(none.acc.accept(none.init.step().token!), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_BINDINGS');
});

test('the initiator rejects an AP-REP that does not echo its authenticator', async () => {
  const key = generateKey(18);
  const a = pair(key);
  const b = pair(key);
  a.init.step();
  const accB = await b.acc.accept(b.init.step().token!);
  // b's AP-REP is under b's session key: a cannot decrypt it.
  assert.throws(() => a.init.step(accB.token), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_MUT_FAIL);
});

test('replayed and reordered per-message tokens give the GSS sequence statuses', async () => {
  const { init, acc } = pair(generateKey(18));
  const accepted = await acc.accept(init.step().token!);
  init.step(accepted.token);
  const i = init.session!;
  const a = accepted.session;
  const m = utf8.encode('x');
  const t1 = i.getMIC(m);
  const t2 = i.getMIC(m);
  a.verifyMIC(m, t2);
  assert.throws(() => a.verifyMIC(m, t2), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_DUPLICATE_TOKEN');
  assert.throws(() => a.verifyMIC(m, t1), (e: unknown) => e instanceof GssError && ['GSS_S_UNSEQ_TOKEN', 'GSS_S_OLD_TOKEN'].includes(e.major));
});
