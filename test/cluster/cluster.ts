/**
 * Starts a node:cluster of pure-acceptor workers (primary.ts, worker.ts) behind one port on a
 * loopback address, for the cluster, load and soak runs. The test talks to it over IPC: worker
 * errors arrive in `errors`, stats on request; stop() kills the primary's workers then the primary
 * (by the ChildProcess we forked, never by name).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';

export interface WorkerError { pid: number; name?: string; code?: string; errorCode?: number; message?: string }
export interface WorkerStats { pid: number; ok: number; refused: number; loopMaxMs: number; loopP99Ms: number; loopMeanMs: number; worstTick: { wallMs: number; cpuMs: number; runQueueMs: number }; tickCpuMaxMs: number; cpuMs: number; heapUsed: number; rss: number }

export interface Cluster {
  host: string;
  port: number;
  url: string;
  pids: number[];
  errors: WorkerError[];
  exits: unknown[];
  stats(): Promise<WorkerStats[]>;
  resetStats(): Promise<void>;
  gc(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  host: string;
  workers?: number;
  redisUrl: string;
  namespace?: string;
  keytab: string;
  krb5Config: string;
  redisTimeoutMs?: number;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const n = o.workers ?? 4;
  const child: ChildProcess = fork(fileURLToPath(new URL('./primary.ts', import.meta.url)), [], {
    execArgv: ['--import', 'tsx'],
    env: {
      ...process.env, WORKERS: String(n), HOST: o.host, PORT: '0', REDIS_URL: o.redisUrl, REDIS_NAMESPACE: o.namespace ?? '',
      KEYTAB: o.keytab, KRB5_CONFIG: o.krb5Config, REDIS_TIMEOUT_MS: String(o.redisTimeoutMs ?? 500),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const errors: WorkerError[] = [];
  const exits: unknown[] = [];
  const waiting: { type: string; want: number; got: unknown[]; resolve: (v: unknown[]) => void }[] = [];
  child.on('message', (m: { type: string } & Record<string, unknown>) => {
    if (m.type === 'error') errors.push(m as unknown as WorkerError);
    if (m.type === 'worker-exit') {
      exits.push(m);
      if (!started) fail(new Error(`a worker exited before listening: ${JSON.stringify(m)}`));
    }
    for (const w of [...waiting]) {
      if (w.type !== m.type) continue;
      w.got.push(m);
      if (w.got.length === w.want) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(w.got);
      }
    }
  });
  const collect = (type: string, want: number, ms = 60_000) => new Promise<unknown[]>((resolve, reject) => {
    const w = { type, want, got: [] as unknown[], resolve: (v: unknown[]) => { clearTimeout(timer); resolve(v); } };
    const timer = setTimeout(() => reject(new Error(`cluster on ${o.host}: no ${type} from ${want - w.got.length} worker(s) in ${ms} ms`)), ms);
    waiting.push(w);
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  // Before every worker listens: the primary or a worker exiting fails the start at once.
  let started = false;
  let fail: (e: Error) => void = () => {};
  const failed = new Promise<never>((_, reject) => { fail = reject; });
  failed.catch(() => {});
  void exited.then(() => fail(new Error('the cluster primary exited before its workers listened')));
  let ready: { pids: number[]; port: number };
  try {
    ready = (await Promise.race([collect('ready', 1, 120_000), failed]))[0] as typeof ready;
    started = true;
  } catch (e) {
    child.kill();
    throw e;
  }
  return {
    host: o.host,
    port: ready.port,
    url: `http://${o.host}:${ready.port}/`,
    pids: ready.pids,
    errors,
    exits,
    async stats() {
      const p = collect('stats', n);
      child.send({ type: 'stats' });
      return (await p) as WorkerStats[];
    },
    async resetStats() {
      const p = collect('stats-reset', n);
      child.send({ type: 'stats-reset' });
      await p;
    },
    async gc() {
      const p = collect('gc', n);
      child.send({ type: 'gc' });
      await p;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.send({ type: 'stop' });
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface Answer { status: number; worker: number; body: string; wwwAuthenticate: string | undefined }

/** One request on a new connection (so the primary hands it to the next worker), with `authorization`. */
export function send(url: string, authorization: string | undefined, timeoutMs = 30_000): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: authorization ? { authorization } : {}, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, worker: Number(res.headers['x-worker']), body, wwwAuthenticate: res.headers['www-authenticate'] as string | undefined }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
