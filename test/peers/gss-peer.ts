/**
 * Drives test/peers/gss_peer.py: one GSS context of the system's MIT libgssapi (python3-gssapi),
 * as initiator or acceptor, over JSON lines. Lets a test put our code face to face with MIT's.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../lib/util/bytes.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const PY_GSSAPI = '/usr/lib/python3/dist-packages/gssapi';

export interface PeerInfo {
  token?: string | null;
  complete?: boolean;
  session_key?: string;
  enctype?: number;
  mech?: string;
  initiator?: string;
  acceptor?: string;
  flags?: string[];
  error?: string;
  major?: number;
  minor?: number;
  [k: string]: unknown;
}

export class GssPeer {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly replies: PeerInfo[] = [];
  private waiters: { resolve: (r: PeerInfo) => void; reject: (e: Error) => void }[] = [];
  private stderr = '';
  /** Why the helper can no longer answer (it exited, or its stdin broke). */
  private dead?: string;

  constructor(role: 'initiator' | 'acceptor', env: Record<string, string>, o: { target?: string; mech?: 'spnego' | 'krb5'; flags?: string; cb?: Uint8Array } = {}) {
    const args = [join(HERE, 'gss_peer.py'), role, '--mech', o.mech ?? 'spnego'];
    if (o.target) args.push('--target', o.target);
    if (o.flags !== undefined) args.push('--flags', o.flags);
    if (o.cb) args.push('--cb', toHex(o.cb));
    this.proc = spawn('/usr/bin/python3', args, { env: { ...process.env, ...env } });
    this.proc.stderr.on('data', (d) => (this.stderr += d));
    // A helper that died before reading its requests makes writes fail with EPIPE: that is a
    // failed request (with python's stderr), never an uncaught error that kills the test process.
    this.proc.stdin.on('error', (e) => this.fail(`gss_peer.py stdin: ${e.message}`));
    this.proc.on('error', (e) => this.fail(`gss_peer.py: ${e.message}`));
    this.proc.on('close', (code, signal) => this.fail(`gss_peer.py exited (${signal ?? `status ${code}`})`));
    createInterface({ input: this.proc.stdout }).on('line', (l) => {
      const r = JSON.parse(l) as PeerInfo;
      const w = this.waiters.shift();
      if (w) w.resolve(r);
      else this.replies.push(r);
    });
  }

  private fail(why: string): void {
    this.dead ??= why;
    for (const w of this.waiters.splice(0)) w.reject(new Error(`${this.dead}: ${this.stderr.slice(-2000)}`));
  }

  private request(req: object): Promise<PeerInfo> {
    if (!this.dead) this.proc.stdin.write(JSON.stringify(req) + '\n');
    const queued = this.replies.shift();
    if (queued) return Promise.resolve(queued);
    if (this.dead) return Promise.reject(new Error(`${this.dead}: ${this.stderr.slice(-2000)}`));
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`gss_peer.py did not answer: ${this.stderr.slice(-2000)}`)), 30_000);
      this.waiters.push({
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
    });
  }

  /** One step; throws on a GSS error (message carries MIT's text). */
  async step(token?: Uint8Array): Promise<{ token?: Uint8Array; info: PeerInfo }> {
    const r = await this.request({ op: 'step', token: token ? toHex(token) : null });
    if (r.error) throw new Error(`MIT: ${r.error}`);
    return { token: r.token ? fromHex(r.token) : undefined, info: r };
  }
  async getMic(msg: Uint8Array): Promise<Uint8Array> {
    const r = await this.request({ op: 'get_mic', msg: toHex(msg) });
    if (r.error) throw new Error(`MIT: ${r.error}`);
    return fromHex(r.mic as string);
  }
  async verifyMic(msg: Uint8Array, mic: Uint8Array): Promise<PeerInfo> {
    return this.request({ op: 'verify_mic', msg: toHex(msg), mic: toHex(mic) });
  }
  async wrap(msg: Uint8Array, conf: boolean): Promise<Uint8Array> {
    const r = await this.request({ op: 'wrap', msg: toHex(msg), conf });
    if (r.error) throw new Error(`MIT: ${r.error}`);
    return fromHex(r.token as string);
  }
  async unwrap(token: Uint8Array): Promise<PeerInfo> {
    return this.request({ op: 'unwrap', token: toHex(token) });
  }
  close(): void {
    this.proc.stdin.end();
    this.proc.kill();
  }
}
