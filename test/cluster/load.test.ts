// Issue 15, load (the short CI version; `npm run soak` runs the long one): concurrent pure
// initiators, each a new Kerberos handshake with mutual authentication, and curl --negotiate
// processes, against two 4-worker clusters sharing one Redis replay cache. Asserted: correctness
// only (every handshake ok, 0 errors, no worker restarted). Printed: p50/p99 latency, handshakes/s,
// the event-loop delay max in the workers and here, memory before/after (no timed assertions:
// the machine is shared).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { missingPeer, needPeer, requirePeers } from '../peers/harness.js';
import { redisForFile } from '../peers/redis.js';
import { startCluster, type Cluster } from './cluster.js';
import { report, runLoad } from './load.js';
import { startClusterRealm, stopClusterRealm, type ClusterRealm } from './realm.js';

const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 100);
const HANDSHAKES = Number(process.env.LOAD_HANDSHAKES ?? 1000);
const redis = redisForFile();
const realm: { current?: ClusterRealm } = {};
let hosts: Cluster[] = [];
let ioredis = true;

before(async () => {
  try {
    await import('ioredis' as string);
  } catch {
    ioredis = false;
    if (requirePeers) throw new Error('SPNEGO_REQUIRE_PEERS=1 but the ioredis dev dependency is not installed (npm ci)');
    return;
  }
  if (!redis.current) return;
  realm.current = await startClusterRealm('LOAD.TEST');
  const o = { redisUrl: redis.current.url, namespace: 'HTTP/localhost@LOAD.TEST', keytab: realm.current.keytab, krb5Config: realm.current.krb5Config };
  hosts = await Promise.all([startCluster({ ...o, host: '127.0.0.1' }), startCluster({ ...o, host: '127.0.0.3' })]);
});
after(async () => {
  await Promise.all(hosts.map((c) => c.stop()));
  await stopClusterRealm(realm.current);
});

test(`${HANDSHAKES} handshakes from ${CONCURRENCY} concurrent pure initiators (+ curl --negotiate) against 2 x 4 workers: 0 errors`, async (t) => {
  if (!needPeer(t, 'redis')) return;
  if (!ioredis) return t.skip('ioredis not installed');
  // curl with MIT's libgssapi: without it (and without SPNEGO_REQUIRE_PEERS) the pure initiators run alone.
  const noCurl = missingPeer('curl');
  if (noCurl && requirePeers) throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${noCurl}`);
  if (noCurl) t.diagnostic(`without curl: ${noCurl}`);
  const curl = noCurl ? 0 : 4;
  const r = await runLoad({ clusters: hosts, realm: realm.current!, concurrency: CONCURRENCY, handshakes: HANDSHAKES, curlProcesses: curl, curlHandshakes: 10, curlEnv: realm.current!.clientEnv });
  for (const line of report(r, { concurrency: CONCURRENCY, handshakes: HANDSHAKES })) t.diagnostic(line);
  const workerErrors = hosts.flatMap((c) => c.errors);
  assert.deepEqual(r.errors.slice(0, 5), [], `${r.errors.length} errors; the workers said: ${JSON.stringify(workerErrors.slice(0, 5))}`);
  assert.equal(r.ok, HANDSHAKES);
  assert.deepEqual(r.curlErrors, []);
  assert.equal(r.curlOk, curl * 10);
  assert.deepEqual(hosts.flatMap((c) => c.exits), [], 'no worker exited');
  // Every accepted handshake was counted by exactly one worker.
  const served = r.after.reduce((n, s) => n + s.ok, 0) - r.before.reduce((n, s) => n + s.ok, 0);
  assert.equal(served, HANDSHAKES + r.curlOk);
});
