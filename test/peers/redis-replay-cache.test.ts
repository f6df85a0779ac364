// RedisReplayCache (lib/redis) against a real redis-server (test/peers/redis.sh): one atomic SET NX
// per authenticator with the acceptor's expiry, shared by separate clients; Redis down or mute ->
// ReplayCacheUnavailableError (fail closed), back -> accepted again without a new cache; the
// memory fallback only when asked for; and a pure acceptor wired to it refuses a replay that a
// second acceptor (another credential, another client) sees.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireCredentials, createAcceptor, createInitiator } from '../../lib/api.js';
import { GssError, KerberosError, ReplayCacheUnavailableError, UsageError } from '../../lib/errors.js';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { ErrorCode } from '../../lib/krb5/constants.js';
import { RedisReplayCache } from '../../lib/redis/index.js';
import { needPeer, notHere } from './harness.js';
import { redisForFile } from './redis.js';

const redis = redisForFile();
const tag = () => randomBytes(16).toString('hex');
const inSeconds = (s: number) => new Date(Date.now() + s * 1000);

/** Reads a key's remaining life (ms) with redis-cli, outside the library. */
function pttl(key: string): number {
  return Number(execFileSync('redis-cli', ['-h', redis.current!.host, '-p', String(redis.current!.port), 'PTTL', key], { encoding: 'utf8' }).trim());
}

async function ioredisAvailable(t: import('node:test').TestContext): Promise<boolean> {
  try {
    await import('ioredis' as string);
    return true;
  } catch {
    return notHere(t, 'the ioredis dev dependency is not installed (npm ci)');
  }
}

const caches: RedisReplayCache[] = [];
function cache(o: Partial<ConstructorParameters<typeof RedisReplayCache>[0]> = {}): RedisReplayCache {
  const c = new RedisReplayCache({ url: redis.current!.url, ...o } as ConstructorParameters<typeof RedisReplayCache>[0]);
  caches.push(c);
  return c;
}
after(async () => {
  await Promise.all(caches.map((c) => c.close()));
});

test('new tag -> true, the same tag again -> false, from a second client too; the key is prefix + namespace + tag and lives until expiresAt', async (t) => {
  if (!needPeer(t, 'redis') || !(await ioredisAvailable(t))) return;
  const a = cache({ namespace: 'HTTP/localhost@REDIS.TEST' });
  const b = cache({ namespace: 'HTTP/localhost@REDIS.TEST' });
  const id = tag();
  assert.equal(await a.checkAndStore(id, inSeconds(300)), true);
  assert.equal(await a.checkAndStore(id, inSeconds(300)), false, 'the same client sees the replay');
  assert.equal(await b.checkAndStore(id, inSeconds(300)), false, 'another client (process, host) sees it');
  assert.equal(a.key(id), `spnego:rc:HTTP/localhost@REDIS.TEST:${id}`);
  const left = pttl(a.key(id));
  assert.ok(left > 295_000 && left <= 300_000, `PX from now: ${left} ms left of 300 s`);
  // Another namespace is another service's space.
  assert.equal(await cache({ namespace: 'HTTP/other@REDIS.TEST' }).checkAndStore(id, inSeconds(300)), true);
  // PXAT: the absolute expiry.
  const c = cache({ expiry: 'pxat', prefix: 'test:pxat:' });
  const id2 = tag();
  assert.equal(await c.checkAndStore(id2, inSeconds(120)), true);
  const left2 = pttl(c.key(id2));
  assert.ok(left2 > 115_000 && left2 <= 121_000, `PXAT: ${left2} ms left of 120 s`);
  assert.equal(await c.checkAndStore(id2, inSeconds(120)), false);
});

test('an entry is forgotten once expired, not before', async (t) => {
  if (!needPeer(t, 'redis') || !(await ioredisAvailable(t))) return;
  const a = cache();
  const id = tag();
  // 1.5 s: room for a loaded machine between the first two calls; then past the expiry by 300 ms.
  const expiresAt = new Date(Date.now() + 1500);
  assert.equal(await a.checkAndStore(id, expiresAt), true);
  assert.equal(await a.checkAndStore(id, expiresAt), false);
  await new Promise((r) => setTimeout(r, expiresAt.getTime() - Date.now() + 300));
  assert.equal(await a.checkAndStore(id, inSeconds(10)), true, 'expired: a new entry');
});

test('atomic: 8 clients racing 50 times on the same tag -> exactly one true per tag', async (t) => {
  if (!needPeer(t, 'redis') || !(await ioredisAvailable(t))) return;
  const clients = Array.from({ length: 8 }, () => cache());
  for (let round = 0; round < 50; round++) {
    const id = tag();
    const r = await Promise.all(clients.map((c) => c.checkAndStore(id, inSeconds(60))));
    assert.equal(r.filter((x) => x).length, 1, `round ${round}: ${JSON.stringify(r)}`);
  }
});

test('Redis stopped -> ReplayCacheUnavailableError (a GssError) within the timeout, onUnavailable told; restarted -> the same cache works again', async (t) => {
  if (!needPeer(t, 'redis') || !(await ioredisAvailable(t))) return;
  const seen: unknown[] = [];
  const a = cache({ timeoutMs: 500, onUnavailable: (e) => seen.push(e) });
  assert.equal(await a.checkAndStore(tag(), inSeconds(60)), true);
  redis.current!.stop();
  try {
    for (let i = 0; i < 5; i++) {
      const t0 = Date.now();
      const err = await a.checkAndStore(tag(), inSeconds(60)).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ReplayCacheUnavailableError, `refused while down: ${String(err)}`);
      assert.ok(err instanceof GssError && err.major === 'GSS_S_FAILURE');
      assert.match(err.message, /replay cache unavailable \(redis redis:\/\/127\.0\.0\.1:\d+/);
      assert.ok(Date.now() - t0 < 2000, 'bounded');
    }
    assert.equal(seen.length, 5);
  } finally {
    redis.current!.start();
  }
  // The client reconnects by itself (retry at most every second).
  const deadline = Date.now() + 10_000;
  let ok: boolean | undefined;
  while (Date.now() < deadline) {
    ok = await a.checkAndStore(tag(), inSeconds(60)).catch(() => undefined);
    if (ok !== undefined) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(ok, true, 'the same cache accepts again once Redis is back');
});

test('a Redis that accepts the connection but never answers -> ReplayCacheUnavailableError after timeoutMs', async (t) => {
  if (!(await ioredisAvailable(t))) return;
  const sockets: Socket[] = [];
  const mute: Server = createServer((s) => { sockets.push(s); s.on('error', () => {}); });
  await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
  const port = (mute.address() as { port: number }).port;
  const a = new RedisReplayCache({ url: `redis://127.0.0.1:${port}`, timeoutMs: 300 });
  try {
    const t0 = Date.now();
    const err = await a.checkAndStore(tag(), inSeconds(60)).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ReplayCacheUnavailableError, String(err));
    assert.match(err.message, /no answer within 300 ms/);
    assert.ok(Date.now() - t0 < 1500);
  } finally {
    await a.close();
    for (const s of sockets) s.destroy();
    mute.close();
  }
});

test("fallback: 'memory' only when asked: while Redis is down the process's own cache decides (and onUnavailable is told)", async (t) => {
  if (!needPeer(t, 'redis') || !(await ioredisAvailable(t))) return;
  const seen: unknown[] = [];
  const a = cache({ timeoutMs: 500, fallback: 'memory', onUnavailable: (e) => seen.push(e) });
  redis.current!.stop();
  try {
    const id = tag();
    assert.equal(await a.checkAndStore(id, inSeconds(60)), true);
    assert.equal(await a.checkAndStore(id, inSeconds(60)), false, 'the local fallback still refuses a replay in this process');
    assert.equal(seen.length, 2);
    assert.ok(seen.every((e) => e instanceof ReplayCacheUnavailableError));
  } finally {
    redis.current!.start();
  }
});

test('configuration errors are UsageError: neither or both of url/client, a bad timeout, a client of an unknown kind', async () => {
  assert.throws(() => new RedisReplayCache({} as never), UsageError);
  assert.throws(() => new RedisReplayCache({ url: 'redis://127.0.0.1:1', client: { call: async () => 'OK' } }), UsageError);
  assert.throws(() => new RedisReplayCache({ url: 'redis://127.0.0.1:1', timeoutMs: 0 }), UsageError);
  const odd = new RedisReplayCache({ client: {} as never });
  await assert.rejects(odd.checkAndStore(tag(), inSeconds(1)), UsageError);
});

test('an application client: ioredis call() or node-redis sendCommand([...]) shapes, the same SET NX command', async () => {
  const sent: unknown[] = [];
  const store = new Set<string>();
  const set = (args: (string | number)[]) => {
    sent.push(args);
    const key = String(args[1]);
    if (store.has(key)) return null;
    store.add(key);
    return 'OK';
  };
  const io = new RedisReplayCache({ client: { call: async (cmd: string, ...a: (string | number)[]) => set([cmd, ...a]) }, now: () => 1_000_000 });
  const nr = new RedisReplayCache({ client: { sendCommand: async (a: string[]) => set(a) }, now: () => 1_000_000 });
  const id = tag();
  assert.equal(await io.checkAndStore(id, new Date(1_300_000)), true);
  assert.equal(await nr.checkAndStore(id, new Date(1_300_000)), false);
  assert.deepEqual(sent[0], ['SET', `spnego:rc:${id}`, '1', 'PX', 300_000, 'NX']);
  assert.deepEqual(sent[1], ['SET', `spnego:rc:${id}`, '1', 'PX', '300000', 'NX']);
  // A Redis error reply (e.g. OOM, READONLY) is "unavailable", never "new".
  const failing = new RedisReplayCache({ client: { call: async () => { throw new Error('READONLY You can\'t write against a read only replica.'); } } });
  await assert.rejects(failing.checkAndStore(id, inSeconds(1)), (e: unknown) => e instanceof ReplayCacheUnavailableError && /READONLY/.test((e as Error).message));
});

// The acceptor: two credentials (two processes' worth: separate Redis clients) on one Redis.
let kdc: Kdc;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-redis-'));
  kdc = await startKdc({ realm: 'REDIS.TEST', principals: [{ name: 'alice', password: 'alice-pw' }, { name: 'HTTP/localhost' }] });
  kdc.writeKrb5Conf(join(dir, 'krb5.conf'));
  kdc.writeKeytab(join(dir, 'http.keytab'), ['HTTP/localhost']);
});
after(async () => {
  await kdc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('pure acceptors on one Redis: an AP-REQ accepted by one is refused by the other (KRB_AP_ERR_REPEAT); Redis down -> ReplayCacheUnavailableError, not accepted', async (t) => {
  if (!needPeer(t, 'redis') || !(await ioredisAvailable(t))) return;
  const krb5Config = join(dir, 'krb5.conf');
  const keytab = join(dir, 'http.keytab');
  const ic = await acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config, credentials: { principal: 'alice', password: 'alice-pw' } as never });
  const acceptors = [0, 1].map(() => acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config, keytab, replayCache: cache({ namespace: 'HTTP/localhost@REDIS.TEST', timeoutMs: 500 }) }));
  const [a1, a2] = await Promise.all(acceptors);
  const token = await createInitiator({ credentials: ic, target: 'HTTP@localhost' }).step();
  const first = createAcceptor({ credentials: a1 });
  await first.step(token);
  assert.ok(first.complete, 'the first acceptor accepts');
  assert.equal(first.info.initiatorName, 'alice@REDIS.TEST');
  const second = createAcceptor({ credentials: a2 });
  await assert.rejects(second.step(token), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_REPEAT, 'the replay is refused by the other acceptor');
  // Down: a fresh token is refused with the typed error.
  const fresh = await createInitiator({ credentials: ic, target: 'HTTP@localhost' }).step();
  redis.current!.stop();
  try {
    const down = createAcceptor({ credentials: a2 });
    await assert.rejects(down.step(fresh), (e: unknown) => e instanceof ReplayCacheUnavailableError);
    assert.equal(down.complete, false);
  } finally {
    redis.current!.start();
  }
});

test("'spnego/redis' loads from CommonJS and ESM (dist) without loading ioredis", () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const code = "console.log(typeof m.RedisReplayCache, typeof m.ReplayCacheUnavailableError, Object.keys(require.cache).some((k) => k.includes('/ioredis/')))";
  const cjs = execFileSync(process.execPath, ['-e', `const m = require('spnego/redis'); ${code}`], { cwd: root, encoding: 'utf8' }).trim();
  assert.equal(cjs, 'function function false');
  const esm = execFileSync(process.execPath, ['--input-type=module', '-e', "const m = await import('spnego/redis'); const e = new m.ReplayCacheUnavailableError('redis x', 'down'); console.log(typeof m.RedisReplayCache, e.name, e.major)"], { cwd: root, encoding: 'utf8' }).trim();
  assert.equal(esm, 'function ReplayCacheUnavailableError GSS_S_FAILURE');
});
