/**
 * HTTP Negotiate under load: autocannon against node:http with the negotiate() middleware, a new
 * Kerberos handshake (a fresh AP-REQ) on every request, for the pure and the native acceptor, next
 * to the same server without authentication. Prints req/s, p99 latency and the ratio to the
 * unauthenticated server (goal: >= 50%, issue 11).
 *
 *   node --import tsx bench/http.ts            (or BENCH_ONLY=http npm run bench once bench/index.ts runs it)
 *
 * The server runs in a child process (the same file with --serve) so that autocannon and the server
 * do not share one event loop. The AP-REQs are made beforehand by pure initiators on one cached
 * credential (no KDC request per token), so the load generator does no Kerberos work.
 * BENCH_HTTP_REQUESTS (default 20000) requests per cell, BENCH_HTTP_CONNECTIONS (default 16).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireCredentials, createInitiator } from '../lib/api.js';
import { negotiate } from '../lib/http/server.js';
import { startKdc } from '../lib/kdc/index.js';
import { nativeInfo } from '../lib/native/index.js';
import { recordGoal } from './goals.js';

type Mode = 'none' | 'pure' | 'native';
const REALM = 'HTTPBENCH.TEST';
const REQUESTS = Number(process.env.BENCH_HTTP_REQUESTS ?? 20000);
const CONNECTIONS = Number(process.env.BENCH_HTTP_CONNECTIONS ?? 16);

/** Child: the server. Answers "ok" after authentication (or at once with mode none). */
async function serve(mode: Mode, keytab: string, krb5Config: string): Promise<void> {
  let handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;
  if (mode === 'none') {
    handler = (_req, res) => res.end('ok');
  } else {
    // One credential for every request, as negotiate() acquires it (the native one when this build has them).
    const mw = negotiate({ backend: mode, keytab, krb5Config: mode === 'pure' ? krb5Config : undefined });
    handler = (req, res) => mw(req, res, () => res.end('ok'));
  }
  const server = createServer({ keepAlive: true }, handler);
  server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as { port: number }).port }));
}

async function startServer(mode: Mode, env: NodeJS.ProcessEnv, keytab: string, krb5Config: string): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(fileURLToPath(import.meta.url), ['--serve', mode, keytab, krb5Config], { execArgv: ['--import', 'tsx'], env, stdio: 'inherit' });
  const [msg] = (await once(child, 'message')) as [{ port: number }];
  return { child, port: msg.port };
}

interface Cell {
  mode: Mode;
  rps: number;
  p99: number;
  non2xx: number;
}

async function load(autocannon: AutocannonFn, port: number, tokens: string[] | undefined, amount = REQUESTS): Promise<{ rps: number; p99: number; non2xx: number }> {
  let next = 0;
  const t0 = performance.now();
  let last = t0;
  const r = await autocannon({
    url: `http://127.0.0.1:${port}/`,
    connections: CONNECTIONS,
    amount: tokens ? tokens.length : amount,
    requests: [{
      setupRequest: (req: { headers?: Record<string, string> }) => {
        if (tokens) req.headers = { ...req.headers, authorization: `Negotiate ${tokens[next++ % tokens.length]}` };
        return req;
      },
      onResponse: () => {
        last = performance.now();
      },
    }],
  });
  // autocannon's requests.average moves in steps of whole seconds (2857 = 20000/7), and with `amount`
  // the run ends on its next 1 s tick: the rate is the total over first request to last response.
  return { rps: r.requests.total / ((last - t0) / 1000), p99: r.latency.p99, non2xx: r.non2xx };
}

type AutocannonFn = (o: Record<string, unknown>) => Promise<{ requests: { total: number }; latency: { p99: number }; non2xx: number }>;

export async function benchHttp(): Promise<void> {
  let autocannon: AutocannonFn;
  try {
    const name = 'autocannon';
    autocannon = ((await import(name)) as { default: AutocannonFn }).default;
  } catch {
    console.log('\nHTTP: autocannon is not installed (a devDependency): run `npm install`, then `node --import tsx bench/http.ts`');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'spnego-bench-http-'));
  const krb5Config = join(dir, 'krb5.conf');
  const keytab = join(dir, 'http.keytab');
  const kdc = await startKdc({ realm: REALM, principals: [{ name: 'alice', password: 'bench-pw', enctypes: [18] }, { name: 'HTTP/localhost', enctypes: [18] }] });
  try {
    kdc.writeKrb5Conf(krb5Config);
    kdc.writeKeytab(keytab, ['HTTP/localhost']);
    const env = { ...process.env, KRB5_CONFIG: krb5Config, KRB5_KTNAME: `FILE:${keytab}`, KRB5RCACHEDIR: dir };

    // The AP-REQs, each from a new initiator on one cached credential: one AS and one TGS for all.
    const cred = await acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config, credentials: { principal: 'alice', password: 'bench-pw' } });
    const apReqs = async (n: number): Promise<string[]> => {
      const out: string[] = [];
      for (let k = 0; k < n; k++) out.push(Buffer.from((await createInitiator({ credentials: cred, target: 'HTTP@localhost' }).step())!).toString('base64'));
      return out;
    };
    const t0 = performance.now();
    const warm = await apReqs(1000);
    const perSec = 1000 / ((performance.now() - t0) / 1000);
    console.log(`\nHTTP Negotiate under load (autocannon, ${CONNECTIONS} connections, ${REQUESTS} requests per cell, a new handshake per request)`);
    console.log(`  AP-REQs made beforehand by pure initiators on one cached credential: ${perSec.toFixed(0)}/s; ${kdc.stats.tgs} TGS request in all`);

    const modes: Mode[] = ['none', 'pure'];
    if (nativeInfo().loaded) modes.push('native');
    else console.log(`  native: skipped (${nativeInfo().error})`);
    const cells: Cell[] = [];
    for (const mode of modes) {
      const { child, port } = await startServer(mode, env, keytab, krb5Config);
      try {
        // Warm-up, then the measured run with AP-REQs the server has never seen (its replay cache would refuse a second use).
        await load(autocannon, port, mode === 'none' ? undefined : warm.splice(0, 500), 500);
        const measured = mode === 'none' ? undefined : await apReqs(REQUESTS);
        cells.push({ mode, ...(await load(autocannon, port, measured)) });
      } finally {
        child.kill();
      }
    }
    cred.dispose();
    const base = cells.find((c) => c.mode === 'none')!;
    console.log('  server                     req/s    p99 ms   vs no auth   goal');
    for (const c of cells) {
      const ratio = c.rps / base.rps;
      const goal = c.mode === 'none' ? '' : `>= 50% ${ratio >= 0.5 ? 'met' : 'NOT met'}`;
      // In the goals table the "native" column holds the reference: the same server without authentication.
      if (c.mode !== 'none') recordGoal({ work: `HTTP req/s, negotiate() ${c.mode} acceptor (reference column: no authentication)`, pure: c.rps, native: base.rps, ratio: 0.5 });
      console.log(`  ${(c.mode === 'none' ? 'no authentication' : `negotiate() ${c.mode}`).padEnd(24)} ${c.rps.toFixed(0).padStart(8)} ${c.p99.toFixed(1).padStart(9)} ${(c.mode === 'none' ? '' : `${(ratio * 100).toFixed(0)}%`).padStart(11)}   ${goal}${c.non2xx ? `  (${c.non2xx} non-2xx!)` : ''}`);
    }
  } finally {
    await kdc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--serve') {
  await serve(process.argv[3] as Mode, process.argv[4]!, process.argv[5]!);
} else if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  await benchHttp();
}
