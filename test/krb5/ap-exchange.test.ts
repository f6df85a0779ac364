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
import { client, makeServiceTicket, service } from './ticket-fixture.js';
import type { Key } from '../../lib/krb5/types.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationDataType } from '../../lib/krb5/constants.js';
import { encodeAdIfRelevant } from '../../lib/krb5/asn1/authdata.js';
import { encodeKeytab } from '../../lib/krb5/keytab.js';
import { createPureAcceptor, createPureInitiator } from '../../lib/pure/index.js';
import { startKdc } from '../../lib/kdc/index.js';
import { exchange } from '../../lib/cli/pairings.js';

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

// ---- issue 10: ticket times, enctype policy, PACs and context expiry ----

function accept(serviceKey: Key, ticketOpts: { start?: Date; end?: Date; sessionEnctype?: number; authorizationData?: { adType: number; adData: Uint8Array }[] }, acceptor: Partial<ConstructorParameters<typeof Krb5Acceptor>[0]> = {}) {
  const { ticket, sessionKey } = makeServiceTicket({ serviceKey, ...ticketOpts });
  const init = new Krb5Initiator({ client, ticket, sessionKey, flags: FLAGS, allowWeak: true });
  const acc = new Krb5Acceptor({ keyFor: () => serviceKey, replayCache: new MemoryReplayCache(), ...acceptor });
  return acc.accept(init.step().token!);
}
const krbErr = (code: number, re?: RegExp) => (e: unknown) => e instanceof KerberosError && e.errorCode === code && (!re || re.test(e.message));
const noperm = (re: RegExp) => (e: unknown) => e instanceof KerberosError && e.errorName === 'KRB5_NOPERM_ETYPE' && re.test(e.message);

test('an expired ticket gives KRB_AP_ERR_TKT_EXPIRED once past its end time plus the skew, not before', async () => {
  const key = generateKey(18);
  const now = Date.now();
  const end = new Date(Math.floor(now / 1000) * 1000 - 400_000);
  await assert.rejects(accept(key, { end }), krbErr(ErrorCode.KRB_AP_ERR_TKT_EXPIRED, /expired at/));
  // 200 s past the end: within the 300 s skew, still accepted (RFC 4120 3.2.3).
  await accept(key, { end: new Date(Math.floor(now / 1000) * 1000 - 200_000) });
  await assert.rejects(accept(key, { end: new Date(Math.floor(now / 1000) * 1000 - 200_000) }, { clockSkew: 100 }), krbErr(ErrorCode.KRB_AP_ERR_TKT_EXPIRED));
});

test('a ticket not yet valid gives KRB_AP_ERR_TKT_NYV once its start time is beyond the skew, not before', async () => {
  const key = generateKey(18);
  const now = Math.floor(Date.now() / 1000) * 1000;
  await assert.rejects(accept(key, { start: new Date(now + 400_000), end: new Date(now + 4000_000) }), krbErr(ErrorCode.KRB_AP_ERR_TKT_NYV));
  await accept(key, { start: new Date(now + 200_000), end: new Date(now + 4000_000) });
  // The skew is the acceptor's: with 900 s, a start 1000 s ahead is still too early.
  await assert.rejects(accept(key, { start: new Date(now + 1000_000), end: new Date(now + 4000_000) }, { clockSkew: 900 }), krbErr(ErrorCode.KRB_AP_ERR_TKT_NYV));
});

test('the acceptor refuses rc4-hmac by default, saying rc4 is disabled and how to allow it (not "stale keytab")', async () => {
  const rc4 = generateKey(23, { allowWeak: true });
  const disabled = noperm(/rc4-hmac \(enctype 23\).*disabled.*allowWeakCrypto: true.*allow_weak_crypto/);
  await assert.rejects(accept(rc4, {}), disabled, 'an rc4 ticket');
  await assert.rejects(accept(generateKey(18), { sessionEnctype: 23 }), disabled, 'an AES ticket with an rc4 session key');
  // Allowed explicitly, it works.
  await accept(rc4, {}, { allowWeak: true });
});

test('permitted_enctypes is enforced for the ticket and its session key (MIT KRB5_NOPERM_ETYPE)', async () => {
  await assert.rejects(accept(generateKey(17), {}, { permittedEnctypes: [18] }), noperm(/Encryption type aes128-cts-hmac-sha1-96 \(enctype 17\) not permitted: the ticket for HTTP\/web.example.test/));
  await assert.rejects(accept(generateKey(18), { sessionEnctype: 17 }, { permittedEnctypes: [18] }), noperm(/not permitted: the ticket's session key/));
  const ok = await accept(generateKey(18), { sessionEnctype: 20 }, { permittedEnctypes: [20, 18] });
  assert.equal(ok.session.key.enctype, 20);
  // RFC 4537: the acceptor subkey skips offered enctypes that are not permitted.
  const serviceKey = generateKey(18);
  const { ticket, sessionKey } = makeServiceTicket({ serviceKey });
  const init = new Krb5Initiator({ client, ticket, sessionKey, flags: FLAGS, etypeNegotiation: [20, 17] });
  const acc = new Krb5Acceptor({ keyFor: () => serviceKey, replayCache: new MemoryReplayCache(), permittedEnctypes: [18, 17] });
  const negotiated = await acc.accept(init.step().token!);
  assert.equal(negotiated.session.key.enctype, 17);
});

test('createAcceptor (pure) reads permitted_enctypes and allow_weak_crypto from krb5.conf', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-permitted-'));
  try {
    const keys = [generateKey(17), generateKey(23, { allowWeak: true })];
    writeFileSync(join(dir, 'kt'), encodeKeytab(keys.map((key) => ({ realm: service.realm, name: service.name, timestamp: new Date(), kvno: 2, key }))));
    writeFileSync(join(dir, 'strict.conf'), '[libdefaults]\n  default_realm = EXAMPLE.TEST\n  permitted_enctypes = aes256-cts-hmac-sha1-96 aes256-cts-hmac-sha384-192\n');
    writeFileSync(join(dir, 'default.conf'), '[libdefaults]\n  default_realm = EXAMPLE.TEST\n');
    writeFileSync(join(dir, 'weak.conf'), '[libdefaults]\n  default_realm = EXAMPLE.TEST\n  allow_weak_crypto = true\n');
    const run = (key: Key, conf: string) => {
      const { ticket, sessionKey } = makeServiceTicket({ serviceKey: key });
      const init = new Krb5Initiator({ client, ticket, sessionKey, flags: FLAGS, allowWeak: true });
      const a = createPureAcceptor({ mech: 'kerberos', keytab: join(dir, 'kt'), krb5Config: join(dir, conf), replayCache: new MemoryReplayCache() });
      return a.step(init.step().token!);
    };
    await assert.rejects(run(keys[0]!, 'strict.conf'), noperm(/aes128-cts-hmac-sha1-96 \(enctype 17\) not permitted/));
    await run(keys[0]!, 'default.conf');
    await assert.rejects(run(keys[1]!, 'default.conf'), noperm(/rc4-hmac \(enctype 23\).*disabled/));
    await run(keys[1]!, 'weak.conf');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a ticket with two AD-WIN2K-PAC elements is refused with KRB_AP_ERR_MODIFIED, not the first one used', async () => {
  const pac = (n: number) => ({ adType: AuthorizationDataType.AD_WIN2K_PAC, adData: new Uint8Array([n]) });
  const relevant = (...e: { adType: number; adData: Uint8Array }[]) => ({ adType: AuthorizationDataType.AD_IF_RELEVANT, adData: encodeAdIfRelevant(e) });
  const key = generateKey(18);
  for (const ad of [[relevant(pac(1)), relevant(pac(2))], [relevant(pac(1), pac(2))], [pac(1), relevant(pac(2))]]) {
    await assert.rejects(accept(key, { authorizationData: ad }), krbErr(ErrorCode.KRB_AP_ERR_MODIFIED, /2 AD-WIN2K-PAC elements/));
  }
  const one = await accept(key, { authorizationData: [relevant(pac(7))] });
  assert.deepEqual(one.pac, new Uint8Array([7]));
});

test('an established pure context expires at the ticket end time plus the skew: GSS_S_CONTEXT_EXPIRED in both roles, info.expiresAt is that instant', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-expiry-'));
  const kdc = await startKdc({ realm: 'EXPIRY.TEST', principals: [{ name: 'alice', password: 'pw' }, { name: 'HTTP/web.expiry.test' }], maxTicketLifetime: 600 });
  try {
    kdc.writeKrb5Conf(join(dir, 'krb5.conf'));
    kdc.writeKeytab(join(dir, 'kt'), ['HTTP/web.expiry.test']);
    let at: Date | undefined;
    const now = () => at ?? new Date();
    const started = Date.now();
    const i = createPureInitiator({ target: 'HTTP/web.expiry.test@EXPIRY.TEST', krb5Config: join(dir, 'krb5.conf'), credentials: { principal: 'alice@EXPIRY.TEST', password: 'pw' }, now });
    const a = createPureAcceptor({ keytab: join(dir, 'kt'), krb5Config: join(dir, 'krb5.conf'), replayCache: new MemoryReplayCache(), now });
    await exchange(i, a);
    assert.ok(i.complete && a.complete);
    const exp = a.info.expiresAt!;
    assert.deepEqual(i.info.expiresAt, exp, 'both roles end at the same instant');
    // The KDC issued 600 s; the skew is 300 s.
    const left = (exp.getTime() - started) / 1000;
    assert.ok(left > 900 - 30 && left <= 901, `expires ${left} s after the start`);
    const m = utf8.encode('m');
    at = exp;
    a.verifyMIC(m, i.getMIC(m));
    i.unwrap(a.wrap(m));
    at = new Date(exp.getTime() + 1);
    const expired = (e: unknown) => e instanceof GssError && e.major === 'GSS_S_CONTEXT_EXPIRED' && e.message.includes(exp.toISOString());
    for (const ctx of [i, a]) {
      assert.throws(() => ctx.getMIC(m), expired);
      assert.throws(() => ctx.verifyMIC(m, new Uint8Array(28)), expired);
      assert.throws(() => ctx.wrap(m), expired);
      assert.throws(() => ctx.unwrap(new Uint8Array(60)), expired);
    }
  } finally {
    await kdc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
