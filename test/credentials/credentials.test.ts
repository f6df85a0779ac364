// Credentials acquired once (issue 11), pure backend, against the embedded KDC: initiators reuse
// their TGT and service tickets (counted at the KDC), acceptors share the keytab's replay cache
// whatever credential they come from, a keytab rotation is picked up without a restart, and a
// credential of the wrong usage, backend or state is refused with UsageError.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireCredentials, createAcceptor, createInitiator } from '../../lib/api.js';
import { isCredential, type Credential } from '../../lib/credentials.js';
import { KerberosError, UsageError } from '../../lib/errors.js';
import { exchange } from '../../lib/exchange.js';
import { startKdc } from '../../lib/kdc/index.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { FileCcache } from '../../lib/krb5/ccache.js';
import { Keytab, readKeytab } from '../../lib/krb5/keytab.js';
import { readFileSync } from 'node:fs';
import { ErrorCode } from '../../lib/krb5/constants.js';
import { PureInitiateCredential } from '../../lib/pure/credentials.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { realmForFile } from '../kdc/realm-for-file.js';
import { withNativeLoaded } from './native-stand-in.js';

const REALM = 'CREDS.TEST';
const r = realmForFile(REALM, {
  principals: [{ name: 'alice', password: 'alice-pw' }, { name: 'bob', password: 'bob-pw' }, { name: 'HTTP/localhost' }, { name: 'HTTP/other' }, { name: 'HTTP/rot' }],
  keytab: ['HTTP/localhost', 'HTTP/other'],
});

const alice = { principal: 'alice', password: 'alice-pw' };
const initCred = (credentials: object = alice) => acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config: r.krb5Config, credentials: credentials as never });
const acceptCred = (o: { keytab?: string; principal?: string } = {}) => acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config: r.krb5Config, keytab: o.keytab ?? r.keytab, principal: o.principal });

async function handshake(ic: Credential, ac: Credential, target = 'HTTP@localhost') {
  const i = createInitiator({ credentials: ic, target });
  const a = createAcceptor({ credentials: ac });
  await exchange(i, a);
  assert.ok(i.complete && a.complete, 'both sides complete');
  return { i, a };
}

test('acquireCredentials: a pure initiate and accept credential; contexts made from them authenticate alice; info says who and until when', async () => {
  const ic = await initCred();
  const ac = await acceptCred();
  try {
    assert.ok(isCredential(ic) && isCredential(ac));
    assert.deepEqual([ic.usage, ic.backend, ac.usage, ac.backend], ['initiate', 'pure', 'accept', 'pure']);
    assert.equal(ic.info.principal, `alice@${REALM}`);
    assert.ok(ic.info.expiresAt instanceof Date && ic.info.expiresAt.getTime() > Date.now(), 'the TGT end time');
    assert.equal(ac.info.principal, undefined, 'any principal of the keytab');
    const { i, a } = await handshake(ic, ac);
    assert.equal(a.info.initiatorName, `alice@${REALM}`);
    assert.equal(i.info.acceptorName, `HTTP/localhost@${REALM}`);
    assert.equal(a.info.backend, 'pure');
    const m = i.wrap(new TextEncoder().encode('hello'));
    assert.equal(new TextDecoder().decode(a.unwrap(m).message), 'hello');
  } finally {
    ic.dispose();
    ac.dispose();
  }
});

test('a pure initiator on a cached credential sends no KDC request for a target it already has a ticket for', async () => {
  const as0 = r.kdc.stats.as;
  const ic = await initCred();
  const ac = await acceptCred();
  try {
    assert.ok(r.kdc.stats.as - as0 >= 1, 'the AS exchange (with its pre-authentication round) at acquire time');
    const tgs0 = r.kdc.stats.tgs;
    await handshake(ic, ac);
    assert.equal(r.kdc.stats.tgs - tgs0, 1, 'the first context asks for the service ticket');
    const before = { as: r.kdc.stats.as, tgs: r.kdc.stats.tgs };
    for (let n = 0; n < 5; n++) await handshake(ic, ac);
    assert.deepEqual({ as: r.kdc.stats.as, tgs: r.kdc.stats.tgs }, before, 'five more contexts: no KDC request at all');
    // Concurrent first contexts for a new target share one TGS exchange.
    await Promise.all([1, 2, 3].map(() => handshake(ic, ac, 'HTTP/other')));
    assert.equal(r.kdc.stats.tgs - before.tgs, 1, 'one TGS for three concurrent contexts to a new target');
    assert.equal((ic as PureInitiateCredential).cachedTickets, 2);
    // The option forms still work, and get their own ticket each time (no credential to keep it in).
    const tgs1 = r.kdc.stats.tgs;
    const i = createInitiator({ backend: 'pure', target: 'HTTP@localhost', krb5Config: r.krb5Config, credentials: alice });
    await exchange(i, createAcceptor({ credentials: ac }));
    assert.ok(i.complete);
    assert.equal(r.kdc.stats.tgs - tgs1, 1);
  } finally {
    ic.dispose();
    ac.dispose();
  }
});

test('two credentials for the same user never share tickets: each gets its own TGT and service ticket', async () => {
  const ac = await acceptCred();
  const c1 = await initCred();
  await handshake(c1, ac);
  const before = { as: r.kdc.stats.as, tgs: r.kdc.stats.tgs };
  const c2 = await initCred();
  await handshake(c2, ac);
  assert.ok(r.kdc.stats.as > before.as, 'its own AS exchange');
  assert.equal(r.kdc.stats.tgs - before.tgs, 1, 'its own service ticket');
  // A wrong password is not let through by someone else's cached TGT: the KDC refuses it.
  await assert.rejects(initCred({ principal: 'alice', password: 'wrong' }), KerberosError);
  for (const c of [ac, c1, c2]) c.dispose();
});

test('a ticket within a minute of its end time is not used: the credential asks the KDC again', async () => {
  const short = await startKdc({ realm: 'SHORT.TEST', maxTicketLifetime: 61, principals: [{ name: 'carol', password: 'carol-pw' }, { name: 'HTTP/localhost' }] });
  const conf = join(r.dir, 'short.conf');
  const kt = join(r.dir, 'short.keytab');
  short.writeKrb5Conf(conf);
  short.writeKeytab(kt, ['HTTP/localhost']);
  try {
    const ic = await acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config: conf, credentials: { principal: 'carol', password: 'carol-pw' } });
    const ac = await acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config: conf, keytab: kt });
    await handshake(ic, ac);
    const before = { as: short.stats.as, tgs: short.stats.tgs };
    await sleep(1100); // 61 s tickets now have less than 60 s left
    await handshake(ic, ac);
    assert.ok(short.stats.as > before.as, 'a new TGT');
    assert.equal(short.stats.tgs - before.tgs, 1, 'a new service ticket');
    ic.dispose();
    ac.dispose();
  } finally {
    await short.stop();
  }
});

test('replay: the same AP-REQ to acceptors from two different credentials (and an old-style createAcceptor) for one keytab is refused the second time', async () => {
  const ic = await initCred();
  const ac1 = await acceptCred();
  const ac2 = await acceptCred({ principal: 'HTTP/localhost' });
  try {
    const apReq = (await createInitiator({ credentials: ic, target: 'HTTP@localhost', mech: 'kerberos' }).step())!;
    const first = createAcceptor({ credentials: ac1, mech: 'kerberos' });
    await first.step(apReq);
    assert.ok(first.complete);
    const replayed = createAcceptor({ credentials: ac2, mech: 'kerberos' });
    await assert.rejects(replayed.step(apReq), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_REPEAT);
    const oldStyle = createAcceptor({ backend: 'pure', keytab: r.keytab, krb5Config: r.krb5Config, mech: 'kerberos' } as never);
    await assert.rejects(oldStyle.step(apReq), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_REPEAT);
  } finally {
    for (const c of [ic, ac1, ac2]) c.dispose();
  }
});

test('principal restriction: an accept credential for HTTP/other refuses a ticket for HTTP/localhost (KRB_AP_ERR_NOT_US)', async () => {
  const ic = await initCred();
  const ac = await acceptCred({ principal: 'HTTP/other' });
  try {
    assert.equal(ac.info.principal, `HTTP/other@${REALM}`);
    const i = createInitiator({ credentials: ic, target: 'HTTP@localhost' });
    await assert.rejects(exchange(i, createAcceptor({ credentials: ac })), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_NOT_US);
  } finally {
    ic.dispose();
    ac.dispose();
  }
});

test('keytab rotation: a new kvno written to the file is used without a restart; tickets under the old kvno keep working while it is there', async () => {
  const kt = join(r.dir, 'rot.keytab');
  r.kdc.writeKeytab(kt, ['HTTP/rot']);
  const ac = await acceptCred({ keytab: kt });
  const oldCred = await initCred();
  try {
    await handshake(oldCred, ac, 'HTTP/rot');
    const oldEntries = readKeytab(readFileSync(kt));
    assert.ok(oldEntries.every((e) => e.kvno === 1));
    // The KDC's key changes (kvno 2) and the new keys are added next to the old ones.
    r.kdc.addPrincipal({ name: 'HTTP/rot', password: 'rotated-secret', kvno: 2 });
    new Keytab([...oldEntries, ...r.kdc.keytab(['HTTP/rot'])], kt).save();
    await sleep(1100); // the credential looks at the file at most once a second
    const newCred = await initCred();
    await handshake(newCred, ac, 'HTTP/rot');
    // The first credential still holds its kvno 1 ticket: still accepted.
    await handshake(oldCred, ac, 'HTTP/rot');
    // The old kvno removed from the file: its tickets are refused, the new ones still work.
    new Keytab(r.kdc.keytab(['HTTP/rot']), kt).save();
    await sleep(1100);
    const i = createInitiator({ credentials: oldCred, target: 'HTTP/rot' });
    await assert.rejects(exchange(i, createAcceptor({ credentials: ac })), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_BADKEYVER);
    await handshake(newCred, ac, 'HTTP/rot');
    newCred.dispose();
  } finally {
    ac.dispose();
    oldCred.dispose();
  }
});

test('a client keytab and a ccache as initiate credentials', async () => {
  const ac = await acceptCred();
  const ckt = join(r.dir, 'bob.keytab');
  new Keytab(r.kdc.keytab(['bob']), ckt).save();
  const kc = await initCred({ principal: 'bob', keytab: ckt });
  assert.equal(kc.info.principal, `bob@${REALM}`);
  const { a } = await handshake(kc, ac);
  assert.equal(a.info.initiatorName, `bob@${REALM}`);
  const client = { realm: REALM, name: { nameType: 1, nameString: ['alice'] } };
  const tgt = await requestInitialTicket({ kdcs: [{ host: r.kdc.host, port: r.kdc.port }], client, secret: { password: 'alice-pw' }, etypes: [18] });
  const cc = join(r.dir, 'ccache');
  FileCcache.create(cc, client, [tgt]);
  const cc1 = await initCred({ ccache: `FILE:${cc}` });
  assert.equal(cc1.info.principal, `alice@${REALM}`);
  assert.equal(cc1.info.expiresAt?.getTime(), tgt.endtime.getTime());
  const { a: a2 } = await handshake(cc1, ac);
  assert.equal(a2.info.initiatorName, `alice@${REALM}`);
  for (const c of [ac, kc, cc1]) c.dispose();
});

test('dispose: new contexts are refused with UsageError; a context made before keeps working', async () => {
  const ic = await initCred();
  const ac = await acceptCred();
  const i = createInitiator({ credentials: ic, target: 'HTTP@localhost' });
  const a = createAcceptor({ credentials: ac });
  ic.dispose();
  ac.dispose();
  ic.dispose(); // idempotent
  assert.equal(ic.disposed, true);
  assert.throws(() => createInitiator({ credentials: ic, target: 'HTTP@localhost' }), UsageError);
  assert.throws(() => createAcceptor({ credentials: ac }), UsageError);
  await exchange(i, a);
  assert.ok(i.complete && a.complete);
  assert.equal(a.info.initiatorName, `alice@${REALM}`);
});

test('the wrong usage or backend is a UsageError; backend auto with a credential runs on the credential backend', async () => {
  const ic = await initCred();
  const ac = await acceptCred();
  try {
    assert.throws(() => createInitiator({ credentials: ac, target: 'HTTP@localhost' }), (e: unknown) => e instanceof UsageError && /usage 'initiate'/.test(e.message));
    assert.throws(() => createAcceptor({ credentials: ic }), (e: unknown) => e instanceof UsageError && /usage 'accept'/.test(e.message));
    assert.throws(() => createInitiator({ credentials: ic, target: 'HTTP@localhost', backend: 'native' }), (e: unknown) => e instanceof UsageError && /pure credential/.test(e.message));
    assert.throws(() => createAcceptor({ credentials: ac, backend: 'native' }), UsageError);
    assert.throws(() => createAcceptor({ credentials: { principal: 'x', password: 'y' } as never }), UsageError);
    // A credential that only looks like a pure one is refused by the pure factory.
    const fake: Credential = { usage: 'accept', backend: 'pure', info: { usage: 'accept', backend: 'pure' }, disposed: false, dispose() {} };
    assert.throws(() => createAcceptor({ credentials: fake }), UsageError);
    const { i, a } = await handshake(ic, ac);
    assert.equal(i.info.backend, 'pure');
    assert.equal(a.info.backend, 'pure');
    await assert.rejects(acquireCredentials({ usage: 'both' } as never), UsageError);
  } finally {
    ic.dispose();
    ac.dispose();
  }
});

test('backend auto takes pure for an accept credential given replayCache or turnBudgetMs, native without them; backend native refuses both', async () => {
  await withNativeLoaded(async () => {
    // The control: with neither option, 'auto' goes to the native library (the stand-in's, when the addon is not built here).
    const plain = await acquireCredentials({ usage: 'accept', keytab: r.keytab }).then(
      (c) => { c.dispose(); return c.backend; },
      (e: Error) => (/the fake GSSAPI library was reached/.test(e.message) ? 'native' : `failed: ${e.message}`),
    );
    assert.equal(plain, 'native');
    const given = { replayCache: new MemoryReplayCache(), turnBudgetMs: 5 };
    for (const [k, v] of Object.entries(given)) {
      const c = await acquireCredentials({ usage: 'accept', keytab: r.keytab, [k]: v });
      assert.equal(c.backend, 'pure', k);
      c.dispose();
      await assert.rejects(acquireCredentials({ usage: 'accept', backend: 'native', keytab: r.keytab, [k]: v }),
        (e: unknown) => e instanceof UsageError && e.message.startsWith(`${k} applies to the pure backend only`), k);
    }
  });
});

test("acquireCredentials with backend 'native' and a library that does not load: UsageError saying why", async () => {
  await assert.rejects(acquireCredentials({ usage: 'accept', backend: 'native', gssapiLibrary: '/nonexistent/libgssapi_krb5.so.2', keytab: r.keytab }), (e: unknown) =>
    e instanceof UsageError && /backend 'native' is not available/.test(e.message));
});
