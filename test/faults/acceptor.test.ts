// Issue 15, faults on the acceptor's side, through the negotiate() middleware (pure backend):
// the keytab rotated while serving (new kvno added, the KDC switched, the old kvno removed: no
// request fails); a client clock skewed to the limit (accepted, its replay entry kept until
// ctime + skew) and past it (KRB_AP_ERR_SKEW); the acceptor credential disposed while handshakes
// are in flight (those finish, later ones are refused with UsageError, nothing else happens).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { acquireCredentials, createInitiator } from '../../lib/api.js';
import type { Credential } from '../../lib/credentials.js';
import type { InitiatorOptions } from '../../lib/context.js';
import { KerberosError, UsageError } from '../../lib/errors.js';
import { negotiate, type NegotiateOptions } from '../../lib/http/index.js';
import { ErrorCode } from '../../lib/krb5/constants.js';
import { Keytab, readKeytab } from '../../lib/krb5/keytab.js';
import { MemoryReplayCache, type ReplayCache } from '../../lib/krb5/replay-cache.js';
import { send } from '../cluster/cluster.js';
import { realmForFile } from '../kdc/realm-for-file.js';

const REALM = 'ACCEPTOR-FAULTS.TEST';
const r = realmForFile(REALM);

const alice = () => acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config: r.krb5Config, credentials: { principal: 'alice', password: 'alice-pw' } as never });

async function serve(o: NegotiateOptions, errors: unknown[]): Promise<{ url: string; server: Server }> {
  const mw = negotiate({ ...o, onError: (e) => errors.push(e) });
  // next(err) (a failure outside the token's checks, e.g. a disposed credential): 500, recorded.
  const server = createServer((req, res) => mw(req, res, (err?: unknown) => {
    if (err) {
      errors.push(err);
      res.statusCode = 500;
      res.end();
      return;
    }
    res.end(req.negotiate!.user);
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, server };
}

/** One full handshake (AP-REQ, 200, AP-REP verified) with a new context of `cred`; the status or the failure. */
async function handshake(url: string, ctx: ReturnType<typeof createInitiator>): Promise<string> {
  try {
    const token = await ctx.step();
    const a = await send(url, `Negotiate ${Buffer.from(token!).toString('base64')}`);
    if (a.status !== 200) return `HTTP ${a.status}`;
    await ctx.step(Buffer.from(a.wwwAuthenticate!.replace(/^Negotiate /, ''), 'base64'));
    return ctx.complete ? 'ok' : 'incomplete';
  } catch (e) {
    return `client: ${(e as Error).message}`;
  } finally {
    ctx.dispose();
  }
}

test('keytab rotated while serving: kvno 2 added, the KDC switched, old clients drained, kvno 1 removed: no request fails', async (t) => {
  const kt = join(r.dir, 'rot.keytab');
  r.kdc.writeKeytab(kt, ['HTTP/localhost']);
  const ac = await acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config: r.krb5Config, keytab: kt });
  const errors: unknown[] = [];
  const { url, server } = await serve({ credentials: ac }, errors);
  const oldClient = await alice();
  let newClient: Credential | undefined;
  const results: string[] = [];
  let phase = 'old';
  let stop = false;
  // 4 loops of back-to-back handshakes; each takes the newest client credential there is.
  const loop = async () => {
    while (!stop) {
      const cred = phase === 'old' || !newClient ? oldClient : newClient;
      results.push(`${phase}:${await handshake(url, createInitiator({ credentials: cred, target: 'HTTP@localhost' }))}`);
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  try {
    await sleep(500);
    // 1. The new key goes into the keytab next to the old one (the service learns it first).
    const oldEntries = readKeytab(readFileSync(kt));
    r.kdc.addPrincipal({ name: 'HTTP/localhost', password: 'rotated-secret', kvno: 2 });
    new Keytab([...oldEntries, ...r.kdc.keytab(['HTTP/localhost'])], kt).save();
    phase = 'both';
    await sleep(1300); // the credential looks at the file at most once a second
    // 2. The KDC now issues kvno 2 tickets: new clients get them; the old client keeps its kvno 1 ticket.
    newClient = await alice();
    phase = 'new';
    await sleep(800);
    // 3. Old clients gone (every loop has moved to the new credential): kvno 1 is removed.
    new Keytab(r.kdc.keytab(['HTTP/localhost']), kt).save();
    phase = 'removed';
    await sleep(1500);
  } finally {
    stop = true;
    await Promise.all(loops);
    server.close();
    oldClient.dispose();
    newClient?.dispose();
    ac.dispose();
  }
  const failed = results.filter((r) => !r.endsWith(':ok'));
  const count = (p: string) => results.filter((r) => r.startsWith(`${p}:`)).length;
  t.diagnostic(`${results.length} handshakes: ${['old', 'both', 'new', 'removed'].map((p) => `${p} ${count(p)}`).join(', ')}; failed ${failed.length}`);
  assert.deepEqual(failed, [], `errors: ${errors.slice(0, 3).map(String).join(' | ')}`);
  assert.deepEqual(errors, []);
  for (const p of ['old', 'both', 'new', 'removed']) assert.ok(count(p) > 0, `handshakes during phase ${p}`);
  // And the rotation did happen: kvno 1 is gone from the file, kvno 2 is there.
  assert.deepEqual([...new Set(readKeytab(readFileSync(kt)).map((e) => e.kvno))], [2]);
});

test('client clock skewed to the limit: accepted, the replay entry kept until max(now, ctime) + skew; past it: KRB_AP_ERR_SKEW (37)', async (t) => {
  r.kdc.writeKeytab(join(r.dir, 'skew.keytab'), ['HTTP/localhost']);
  const expiries: { expiresAt: Date; at: number }[] = [];
  const mem = new MemoryReplayCache();
  const recording: ReplayCache = { checkAndStore: (id, expiresAt) => { expiries.push({ expiresAt, at: Date.now() }); return mem.checkAndStore(id, expiresAt); } };
  const ac = await acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config: r.krb5Config, keytab: join(r.dir, 'skew.keytab'), replayCache: recording });
  const cred = await alice();
  const SKEW = 300; // krb5.conf clockskew default
  try {
    // The skew between the two clocks is what counts (RFC 4120 1.6): a client `s` seconds ahead,
    // with the acceptor's clock moved `s` seconds back, then with the client's moved `s` seconds on
    // (the pure initiator's `now` sets the authenticator's ctime).
    for (const moved of ['acceptor', 'client'] as const) for (const s of [SKEW - 5, -(SKEW - 5), SKEW + 5, -(SKEW + 5)]) {
      const errors: unknown[] = [];
      const behind = moved === 'acceptor' ? s : 0; // the acceptor's clock: real - behind
      const { url, server } = await serve({ credentials: ac, now: () => new Date(Date.now() - behind * 1000) } as NegotiateOptions, errors);
      const clientNow = moved === 'client' ? { now: () => new Date(Date.now() + s * 1000) } : {};
      try {
        const n = expiries.length;
        const r = await handshake(url, createInitiator({ credentials: cred, target: 'HTTP@localhost', ...clientNow } as InitiatorOptions));
        if (Math.abs(s) < SKEW) {
          assert.equal(r, 'ok', `a client ${s} s off (${moved} clock moved) is within the skew: ${errors.map(String).join(' | ')}`);
          const e = expiries[n]!;
          // RFC 4120 3.2.3: kept until max(now, ctime) + skew, on the acceptor's clock (now = real - behind).
          const expect = e.at - behind * 1000 + Math.max(0, s * 1000) + SKEW * 1000;
          assert.ok(Math.abs(e.expiresAt.getTime() - expect) < 2000, `${s} s (${moved} clock moved): kept ${((e.expiresAt.getTime() - (e.at - behind * 1000)) / 1000).toFixed(0)} s on the acceptor's clock`);
        } else {
          assert.equal(r, 'HTTP 401', `a client ${s} s off (${moved} clock moved) is refused`);
          assert.equal(expiries.length, n, 'nothing stored for a refused authenticator');
          assert.ok(errors[0] instanceof KerberosError && errors[0].errorCode === ErrorCode.KRB_AP_ERR_SKEW, String(errors[0]));
        }
      } finally {
        server.close();
      }
    }
    t.diagnostic(`either clock moved: ±${SKEW - 5} s accepted (entry kept ${SKEW - 5 + SKEW} s for a client ahead), ±${SKEW + 5} s refused with KRB_AP_ERR_SKEW`);
  } finally {
    cred.dispose();
    ac.dispose();
  }
});

test('the acceptor credential disposed while handshakes are in flight: those finish (200), later ones fail with UsageError (next(err))', async () => {
  r.kdc.writeKeytab(join(r.dir, 'disp.keytab'), ['HTTP/localhost']);
  // A replay cache that holds every check until released: the handshakes are mid-step when the credential goes.
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let held = 0;
  const mem = new MemoryReplayCache();
  const slow: ReplayCache = { checkAndStore: async (id, exp) => { held++; await gate; return mem.checkAndStore(id, exp); } };
  const ac = await acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config: r.krb5Config, keytab: join(r.dir, 'disp.keytab'), replayCache: slow });
  const errors: unknown[] = [];
  const { url, server } = await serve({ credentials: ac }, errors);
  const cred = await alice();
  try {
    const inFlight = Array.from({ length: 10 }, () => handshake(url, createInitiator({ credentials: cred, target: 'HTTP@localhost' })));
    const deadline = Date.now() + 20_000;
    while (held < 10 && Date.now() < deadline) await sleep(20);
    assert.equal(held, 10, 'all 10 handshakes are inside the acceptor');
    ac.dispose();
    assert.equal(ac.disposed, true);
    release();
    assert.deepEqual(await Promise.all(inFlight), Array(10).fill('ok'), 'contexts made before dispose() finish');
    const later = await Promise.all(Array.from({ length: 5 }, () => handshake(url, createInitiator({ credentials: cred, target: 'HTTP@localhost' }))));
    // A context cannot be made from a disposed credential: the middleware passes the UsageError to next(err).
    assert.deepEqual(later, Array(5).fill('HTTP 500'));
  } finally {
    server.close();
    cred.dispose();
  }
  assert.equal(errors.length, 5);
  assert.ok(errors.every((e) => e instanceof UsageError), errors.map(String).join(' | '));
});
