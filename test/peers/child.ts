/**
 * Runs a child process asynchronously (a KDC may live in the test's own process, so the event loop
 * must stay free), feeds it `input` on stdin and resolves with its exit status and output.
 *
 * A child may exit before it reads its stdin (kinit refusing a principal, a crash): writing to the
 * closed pipe then fails with EPIPE. That error belongs to the child's result, not to the test
 * process: it is recorded in `stdinError`, never thrown, and the caller asserts on `status`/`stderr`.
 */
import { spawn } from 'node:child_process';

export interface ChildResult {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Set when the child could not be started (e.g. ENOENT); status is then null. */
  spawnError?: Error;
  /** Set when writing stdin failed (EPIPE: the child exited without reading all of it). */
  stdinError?: NodeJS.ErrnoException;
}

export function runChild(cmd: string, args: string[], o: { input?: string | Uint8Array; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<ChildResult> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env: o.env ?? process.env, cwd: o.cwd });
    const r: ChildResult = { status: null, signal: null, stdout: '', stderr: '' };
    const timer = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 60_000);
    const done = () => {
      clearTimeout(timer);
      resolve(r);
    };
    p.stdout.on('data', (d) => (r.stdout += d));
    p.stderr.on('data', (d) => (r.stderr += d));
    p.stdin.on('error', (e: NodeJS.ErrnoException) => (r.stdinError ??= e));
    p.on('error', (e) => {
      // Not started (ENOENT, EACCES): there is no exit status to wait for.
      if (p.pid === undefined) {
        r.spawnError = e;
        done();
      }
    });
    p.on('close', (status, signal) => {
      if (r.spawnError) return;
      r.status = status;
      r.signal = signal;
      done();
    });
    p.stdin.end(o.input ?? '');
  });
}
