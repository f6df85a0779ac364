/**
 * `npm run soak`: the long load run of issue 15 (test/cluster/load.test.ts is its short CI version).
 * Two node:cluster services of 4 workers (127.0.0.1 and 127.0.0.3) with the negotiate() middleware,
 * a pure acceptor and one Redis replay cache (redis-server started here on loopback, stopped by
 * PID); SOAK_CONCURRENCY (1,000) concurrent pure initiators and SOAK_CURL (20) curl --negotiate
 * processes do SOAK_HANDSHAKES (100,000) new Kerberos handshakes with mutual authentication.
 * Prints errors, p50/p99 latency, handshakes/s, CPU per handshake, the event-loop delay (workers
 * and this process; the worst worker tick split into the loop running and waiting for a core),
 * heap and RSS of the workers before and after (each after a gc). Exits 1 on any error.
 * SOAK_CLUSTERS (2) clusters of SOAK_WORKERS (4) workers; SOAK_NICE (10): this process's niceness
 * during the load (the clients yield the cores to the service they measure).
 */
import { startRedis } from '../test/peers/redis.js';
import { startCluster } from '../test/cluster/cluster.js';
import { report, runLoad } from '../test/cluster/load.js';
import { startClusterRealm, stopClusterRealm } from '../test/cluster/realm.js';

const concurrency = Number(process.env.SOAK_CONCURRENCY ?? 1000);
const handshakes = Number(process.env.SOAK_HANDSHAKES ?? 100_000);
const curl = Number(process.env.SOAK_CURL ?? 20);
const nClusters = Number(process.env.SOAK_CLUSTERS ?? 2);
const workers = Number(process.env.SOAK_WORKERS ?? 4);
const nice = Number(process.env.SOAK_NICE ?? 10);
const log = (s: string) => console.log(`[soak ${new Date().toISOString().slice(11, 19)}] ${s}`);

const redis = startRedis();
const realm = await startClusterRealm('SOAK.TEST');
const o = { redisUrl: redis.url, namespace: 'HTTP/localhost@SOAK.TEST', keytab: realm.keytab, krb5Config: realm.krb5Config, redisTimeoutMs: 2000 };
const clusters = await Promise.all(['127.0.0.1', '127.0.0.3'].slice(0, nClusters).map((host) => startCluster({ ...o, host, workers })));
let failed = false;
try {
  log(`redis ${redis.url}; clusters ${clusters.map((c) => c.url).join(' ')}; ${concurrency} concurrent initiators, ${handshakes} handshakes, ${curl} curl processes`);
  const r = await runLoad({ clusters, realm, concurrency, handshakes, curlProcesses: curl, curlHandshakes: 50, curlEnv: realm.clientEnv, progressEvery: Math.max(1000, Math.floor(handshakes / 20)), nice }, log);
  for (const line of report(r, { concurrency, handshakes })) log(line);
  const workerErrors = clusters.flatMap((c) => c.errors);
  if (r.errors.length || r.curlErrors.length || workerErrors.length) {
    failed = true;
    log(`FAILED: ${[...r.errors, ...r.curlErrors].slice(0, 10).join('; ')} | workers: ${JSON.stringify(workerErrors.slice(0, 5))}`);
  }
} finally {
  await Promise.all(clusters.map((c) => c.stop()));
  await stopClusterRealm(realm);
  redis.peer.stop();
}
process.exit(failed ? 1 : 0);
