/**
 * One worker of the test cluster: node:http with the negotiate() middleware on a pure acceptor
 * credential whose replay cache is the shared Redis (RedisReplayCache). Each answer names the
 * worker (X-Worker: its PID); every onError goes to the test as { type: 'error', name, code }.
 * On { type: 'stats' } it reports requests served, the event-loop delay (perf_hooks) and memory.
 *
 * The delay is also split, by a 10 ms timer reading the main thread's /proc schedstat (Linux: ns
 * on a CPU, ns runnable but waiting in the kernel's run queue): of the latest tick, how long the
 * loop's thread ran (its own work holding the loop: our code, HTTP, Redis, the part of GC on that
 * thread) and how long it waited for a core the machine's other processes held.
 * TURN_BUDGET sets the credential's turnBudgetMs (unset: the library's default).
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { acquireCredentials } from '../../lib/api.js';
import { negotiate } from '../../lib/http/index.js';
import { RedisReplayCache } from '../../lib/redis/index.js';

const env = process.env;
const send = (m: object) => process.send?.({ pid: process.pid, ...m });
const loop = monitorEventLoopDelay({ resolution: 10 });
loop.enable();
/** The latest tick of a 10 ms timer: wall ms since the previous one, the main thread's ms on a CPU and waiting for one in them. */
let worstTick = { wallMs: 0, cpuMs: 0, runQueueMs: 0 };
/** The most ms the main thread ran between two ticks. */
let cpuMaxMs = 0;
const schedstat = `/proc/self/task/${process.pid}/schedstat`;
// Without schedstat (not Linux, or a kernel without CONFIG_SCHED_INFO): only the wall time is known.
const readSchedstat = (): [number, number] => {
  try {
    const [run, wait] = readFileSync(schedstat, 'latin1').split(' ').map(Number);
    return [run ?? NaN, wait ?? NaN];
  } catch {
    return [NaN, NaN];
  }
};
{
  let last = performance.now();
  let [lastRun, lastWait] = readSchedstat();
  setInterval(() => {
    const now = performance.now();
    const [run, wait] = readSchedstat();
    const tick = { wallMs: now - last, cpuMs: (run - lastRun) / 1e6, runQueueMs: (wait - lastWait) / 1e6 };
    if (tick.wallMs > worstTick.wallMs) worstTick = tick;
    if (tick.cpuMs > cpuMaxMs) cpuMaxMs = tick.cpuMs;
    last = now;
    lastRun = run;
    lastWait = wait;
  }, 10).unref();
}
let ok = 0;
let refused = 0;

const replayCache = new RedisReplayCache({ url: env.REDIS_URL!, namespace: env.REDIS_NAMESPACE, timeoutMs: Number(env.REDIS_TIMEOUT_MS ?? 500) });
// Connected before listening (startup on a loaded machine: a generous bound).
await replayCache.connect(30_000);
const credentials = await acquireCredentials({ usage: 'accept', backend: 'pure', keytab: env.KEYTAB!, krb5Config: env.KRB5_CONFIG!, replayCache, ...(env.TURN_BUDGET ? { turnBudgetMs: Number(env.TURN_BUDGET) } : {}) });
const mw = negotiate({
  credentials,
  onError: (e) => {
    refused++;
    const err = e as { name?: string; code?: string; errorCode?: number; message?: string };
    send({ type: 'error', name: err.name, code: err.code, errorCode: err.errorCode, message: String(err.message).slice(0, 300) });
  },
});
const server = createServer((req, res) => {
  res.setHeader('X-Worker', String(process.pid));
  mw(req, res, () => {
    ok++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ user: req.negotiate!.user, pid: process.pid }));
  });
});
server.keepAliveTimeout = 1000;
server.listen(Number(env.PORT ?? 0), env.HOST, () => send({ type: 'listening', port: (server.address() as { port: number }).port }));

process.on('message', (m: { type: string }) => {
  if (m.type === 'stats') {
    const mem = process.memoryUsage();
    const cpu = process.cpuUsage();
    send({ type: 'stats', ok, refused, loopMaxMs: loop.max / 1e6, loopP99Ms: loop.percentile(99) / 1e6, loopMeanMs: loop.mean / 1e6, worstTick, tickCpuMaxMs: cpuMaxMs, cpuMs: (cpu.user + cpu.system) / 1000, heapUsed: mem.heapUsed, rss: mem.rss });
  } else if (m.type === 'stats-reset') {
    loop.reset();
    worstTick = { wallMs: 0, cpuMs: 0, runQueueMs: 0 };
    cpuMaxMs = 0;
    send({ type: 'stats-reset' });
  } else if (m.type === 'gc') {
    (globalThis as { gc?: () => void }).gc?.();
    send({ type: 'gc' });
  }
});
