/**
 * A node:cluster primary for the cluster tests (test/cluster/cluster.ts forks it): WORKERS workers
 * of worker.ts share one port on HOST (the primary accepts and hands connections round-robin).
 * Every worker message goes up to the test over IPC; the test's messages go down to every worker.
 * Nothing here restarts a worker: the tests check that the same PIDs serve before and after a
 * Redis outage.
 */
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';

const n = Number(process.env.WORKERS ?? 4);
cluster.setupPrimary({ exec: fileURLToPath(new URL('./worker.ts', import.meta.url)), execArgv: ['--import', 'tsx', '--expose-gc'] });
const ready = new Set<number>();
for (let i = 0; i < n; i++) cluster.fork();
for (const w of Object.values(cluster.workers ?? {})) {
  w!.on('message', (m: { type: string; pid: number; port?: number }) => {
    process.send?.(m);
    if (m.type === 'listening') {
      ready.add(m.pid);
      if (ready.size === n) process.send?.({ type: 'ready', pids: [...ready], port: m.port });
    }
  });
}
cluster.on('exit', (w, code, signal) => process.send?.({ type: 'worker-exit', pid: w.process.pid, code, signal }));
process.on('message', (m: { type: string }) => {
  if (m.type === 'stop') {
    for (const w of Object.values(cluster.workers ?? {})) w!.kill();
    setTimeout(() => process.exit(0), 200).unref();
    return;
  }
  for (const w of Object.values(cluster.workers ?? {})) w!.send(m);
});
// The test gone: take the workers down with us.
process.on('disconnect', () => {
  for (const w of Object.values(cluster.workers ?? {})) w!.kill();
  process.exit(0);
});
