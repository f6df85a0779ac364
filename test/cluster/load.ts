/**
 * Load against clustered negotiate() middleware (test/cluster/load.test.ts for CI, bench/soak.ts
 * for the long run): `concurrency` clients, each doing new Kerberos handshakes back to back (a new
 * pure initiator context: a new AP-REQ, checked against the shared Redis replay cache, answered
 * 200 with the AP-REP, which the client verifies: mutual authentication), optionally with curl
 * --negotiate processes alongside (MIT's libgssapi as the client). Reports errors, latency
 * percentiles, handshakes/s, event-loop delay (perf_hooks) in the workers and here, and memory.
 *
 * The load runs at a lower CPU priority than the service (`nice`, default 10, set on this process
 * once the clusters are forked): it stands for clients on other machines, and at equal priority
 * it would take most of the cores the workers are measured on (the curl processes inherit it).
 */
import { execFile } from 'node:child_process';
import { setPriority } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { send, type Cluster, type WorkerStats } from './cluster.js';
import type { ClusterRealm } from './realm.js';

export interface LoadOptions {
  clusters: Cluster[];
  realm: ClusterRealm;
  concurrency: number;
  handshakes: number;
  /** curl --negotiate processes run during the load (0: none), each doing `curlHandshakes` requests. */
  curlProcesses?: number;
  curlHandshakes?: number;
  /** For curl: env with KRB5_CONFIG and KRB5CCNAME (alice's TGT). */
  curlEnv?: NodeJS.ProcessEnv;
  /** Progress lines (the soak), every this many handshakes. */
  progressEvery?: number;
  /** The niceness this process (the clients) takes before the load (default 10; 0: as the service). */
  nice?: number;
}

export interface LoadResult {
  ok: number;
  errors: string[];
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  handshakesPerSec: number;
  seconds: number;
  clientLoopMaxMs: number;
  workerLoopMaxMs: number;
  /** The worst worker's 99th percentile of event-loop delay. */
  workerLoopP99Ms: number;
  /** The latest 10 ms tick of any worker: wall ms since the previous tick, its main thread's ms on a CPU and in the run queue. */
  workerWorstTick: { wallMs: number; cpuMs: number; runQueueMs: number };
  /** The most ms any worker's main thread ran between two ticks (its own work holding the loop). */
  workerTickCpuMaxMs: number;
  nice: number;
  /** CPU ms per handshake over the run: all workers together, and this process (the clients). */
  workerCpuMsPerHandshake: number;
  clientCpuMsPerHandshake: number;
  curlOk: number;
  curlErrors: string[];
  before: WorkerStats[];
  /** After the first `warmAfter` handshakes (JIT, pools and caches filled): the baseline for "flat". */
  warm?: WorkerStats[];
  warmAfter: number;
  after: WorkerStats[];
}

const pct = (sorted: number[], p: number) => sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]! : NaN;
const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`;

async function oneHandshake(o: LoadOptions, i: number): Promise<number> {
  const c = o.clusters[i % o.clusters.length]!;
  const t0 = performance.now();
  const { header, ctx } = await o.realm.negotiate();
  try {
    const a = await send(c.url, header);
    if (a.status !== 200) throw new Error(`HTTP ${a.status} from worker ${a.worker}`);
    const m = /^Negotiate\s+(\S+)$/.exec(a.wwwAuthenticate ?? '');
    if (!m) throw new Error('200 without the mutual-authentication token');
    await ctx.step(Buffer.from(m[1]!, 'base64'));
    if (!ctx.complete) throw new Error('the AP-REP did not complete the initiator');
    if (JSON.parse(a.body).user !== `alice@${o.realm.realm}`) throw new Error(`wrong user ${a.body}`);
    return performance.now() - t0;
  } finally {
    ctx.dispose();
  }
}

function curlRun(o: LoadOptions, n: number): Promise<{ ok: number; errors: string[] }> {
  const c = o.clusters[0]!;
  // Named localhost (so MIT asks for HTTP/localhost), connected to the cluster's address.
  const url = `http://localhost:${c.port}/`;
  const one = ['--negotiate', '-u', ':', '--connect-to', `localhost:${c.port}:${c.host}:${c.port}`, '-o', '/dev/null', '-w', '%{http_code}\\n', url];
  const args = ['-sS', ...one];
  for (let i = 1; i < n; i++) args.push('--next', ...one);
  return new Promise((resolve) => {
    execFile('curl', args, { env: o.curlEnv, timeout: 120_000 }, (err, stdout, stderr) => {
      const codes = stdout.trim().split('\n').filter(Boolean);
      const ok = codes.filter((x) => x === '200').length;
      const errors = codes.filter((x) => x !== '200').map((x) => `curl HTTP ${x}`);
      if (err) errors.push(`curl: ${err.message} ${stderr.slice(0, 200)}`);
      resolve({ ok, errors });
    });
  });
}

export async function runLoad(o: LoadOptions, log: (s: string) => void = () => {}): Promise<LoadResult> {
  const nice = o.nice ?? 10;
  if (nice) setPriority(0, nice);
  for (const c of o.clusters) await c.gc();
  const before = (await Promise.all(o.clusters.map((c) => c.stats()))).flat();
  for (const c of o.clusters) await c.resetStats();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const latencies: number[] = [];
  const errors: string[] = [];
  let next = 0;
  const t0 = performance.now();
  const clientCpu0 = process.cpuUsage();
  // A cold worker has compiled nothing and filled no pool: memory is compared from a warm point.
  const warmAfter = Math.min(10_000, Math.floor(o.handshakes / 10));
  let warm: Promise<WorkerStats[]> | undefined;
  const client = async () => {
    while (next < o.handshakes) {
      const i = next++;
      if (i === warmAfter && warmAfter > 0) {
        warm = (async () => {
          for (const c of o.clusters) await c.gc();
          const w = (await Promise.all(o.clusters.map((c) => c.stats()))).flat();
          // The workers' event-loop figures then cover the warm part only (not the first requests'
          // compilation, nor the full gc this snapshot just forced).
          for (const c of o.clusters) await c.resetStats();
          return w;
        })();
      }
      try {
        latencies.push(await oneHandshake(o, i));
      } catch (e) {
        errors.push(`#${i}: ${(e as Error).message}`);
      }
      if (o.progressEvery && (i + 1) % o.progressEvery === 0) {
        const m = process.memoryUsage();
        log(`${i + 1} handshakes, ${errors.length} errors, ${((i + 1) / ((performance.now() - t0) / 1000)).toFixed(0)}/s, this process rss ${mb(m.rss)}`);
      }
    }
  };
  const curls = Array.from({ length: o.curlProcesses ?? 0 }, () => curlRun(o, o.curlHandshakes ?? 5));
  await Promise.all([...Array.from({ length: o.concurrency }, client), ...curls]);
  const seconds = (performance.now() - t0) / 1000;
  const clientCpu = process.cpuUsage(clientCpu0);
  loop.disable();
  const curlResults = await Promise.all(curls);
  const stats = (await Promise.all(o.clusters.map((c) => c.stats()))).flat();
  for (const c of o.clusters) await c.gc();
  const after = (await Promise.all(o.clusters.map((c) => c.stats()))).flat();
  latencies.sort((a, b) => a - b);
  return {
    ok: latencies.length,
    errors,
    p50Ms: pct(latencies, 50),
    p99Ms: pct(latencies, 99),
    maxMs: latencies[latencies.length - 1] ?? NaN,
    handshakesPerSec: latencies.length / seconds,
    seconds,
    clientLoopMaxMs: loop.max / 1e6,
    workerLoopMaxMs: Math.max(...stats.map((s) => s.loopMaxMs)),
    workerLoopP99Ms: Math.max(...stats.map((s) => s.loopP99Ms)),
    workerWorstTick: stats.reduce((w, s) => (s.worstTick.wallMs > w.wallMs ? s.worstTick : w), { wallMs: 0, cpuMs: 0, runQueueMs: 0 }),
    workerTickCpuMaxMs: Math.max(...stats.map((s) => s.tickCpuMaxMs)),
    nice,
    workerCpuMsPerHandshake: (stats.reduce((n, s) => n + s.cpuMs, 0) - before.reduce((n, s) => n + s.cpuMs, 0)) / Math.max(1, latencies.length + curlResults.reduce((n, r) => n + r.ok, 0)),
    clientCpuMsPerHandshake: (clientCpu.user + clientCpu.system) / 1000 / Math.max(1, latencies.length),
    curlOk: curlResults.reduce((n, r) => n + r.ok, 0),
    curlErrors: curlResults.flatMap((r) => r.errors),
    before,
    warm: await warm,
    warmAfter,
    after,
  };
}

/** The figures, one per line. */
export function report(r: LoadResult, o: { concurrency: number; handshakes: number }): string[] {
  const sum = (s: WorkerStats[], k: 'heapUsed' | 'rss') => s.reduce((n, x) => n + x[k], 0);
  return [
    `${r.ok}/${o.handshakes} handshakes ok with ${o.concurrency} concurrent pure initiators, ${r.errors.length} errors; curl --negotiate: ${r.curlOk} ok, ${r.curlErrors.length} errors`,
    `latency p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, max ${r.maxMs.toFixed(1)} ms; ${r.handshakesPerSec.toFixed(0)} handshakes/s over ${r.seconds.toFixed(1)} s; CPU per handshake: ${r.workerCpuMsPerHandshake.toFixed(2)} ms in the workers, ${r.clientCpuMsPerHandshake.toFixed(2)} ms in the load process`,
    `event-loop delay${r.warm ? ` (workers: after the first ${r.warmAfter} handshakes)` : ''}: workers max ${r.workerLoopMaxMs.toFixed(1)} ms, p99 ${r.workerLoopP99Ms.toFixed(1)} ms (worst worker); load process (nice ${r.nice}) max ${r.clientLoopMaxMs.toFixed(1)} ms`,
    Number.isFinite(r.workerWorstTick.cpuMs)
      ? `workers' 10 ms timer (main thread's schedstat): latest tick ${r.workerWorstTick.wallMs.toFixed(1)} ms after the one before, the loop ran ${r.workerWorstTick.cpuMs.toFixed(1)} ms of it and waited ${r.workerWorstTick.runQueueMs.toFixed(1)} ms for a core; the longest the loop ran between two ticks: ${r.workerTickCpuMaxMs.toFixed(1)} ms`
      : `workers' 10 ms timer: latest tick ${r.workerWorstTick.wallMs.toFixed(1)} ms after the one before (no /proc schedstat here: not split into running and waiting for a core)`,
    `workers (after gc) heapUsed ${mb(sum(r.before, 'heapUsed'))} cold -> ${r.warm ? `${mb(sum(r.warm, 'heapUsed'))} after ${r.warmAfter} handshakes -> ` : ''}${mb(sum(r.after, 'heapUsed'))} at the end; ` +
      `rss ${mb(sum(r.before, 'rss'))} -> ${r.warm ? `${mb(sum(r.warm, 'rss'))} -> ` : ''}${mb(sum(r.after, 'rss'))} (${r.before.length} workers)`,
  ];
}
