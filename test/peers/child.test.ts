// runChild (test/peers/child.ts), the helper every test uses to feed a child's stdin: a child that
// exits without reading its input (kinit refusing before its password prompt) gives a result with
// its exit status, never an uncaught EPIPE that kills the test process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runChild } from './child.js';
import { GssPeer } from './gss-peer.js';

const BIG = 'x'.repeat(16 << 20); // far beyond a pipe's buffer: the write cannot complete without a reader

test('a child that exits without reading stdin: resolves with its exit status, the EPIPE recorded', async () => {
  const r = await runChild('/bin/sh', ['-c', 'echo refused >&2; exit 3'], { input: BIG });
  assert.equal(r.status, 3);
  assert.equal(r.stderr, 'refused\n');
  assert.equal(r.stdinError?.code, 'EPIPE');
  assert.equal(r.spawnError, undefined);
});

test('a child that reads all of stdin gets every byte', async () => {
  const r = await runChild('/usr/bin/wc', ['-c'], { input: BIG });
  assert.equal(r.status, 0);
  assert.equal(r.stdout.trim(), String(BIG.length));
  assert.equal(r.stdinError, undefined);
});

test('a binary that does not exist: resolves with the spawn error, status null', async () => {
  const r = await runChild('/nonexistent/spnego-no-such-binary', [], { input: 'pw\n' });
  assert.equal(r.status, null);
  assert.equal((r.spawnError as NodeJS.ErrnoException | undefined)?.code, 'ENOENT');
});

test('GssPeer whose python helper exits at once: the request fails with its exit status and stderr, no hang, no EPIPE crash', async (t) => {
  if (!existsSync('/usr/bin/python3')) return t.skip('/usr/bin/python3 not installed');
  // An invalid role: argparse exits 2 before reading any request.
  const peer = new GssPeer('no-such-role' as 'initiator', {});
  const started = Date.now();
  await assert.rejects(peer.step(), /gss_peer\.py exited \(status 2\).*invalid choice/s);
  await assert.rejects(peer.step(), /gss_peer\.py exited \(status 2\)/); // later requests too, without writing to the dead pipe
  assert.ok(Date.now() - started < 10_000, 'failed at once, not after the reply timeout');
  peer.close();
});
