// The harness with a peer whose binaries are there but which fails to start (its daemon exits 1 at
// once): the tests using it skip with the recipe's reason, or fail under SPNEGO_REQUIRE_PEERS=1;
// they never pass. Run through node:test in a child process, so the outcome is what the runner reports.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runChild } from './child.js';

let dir: string;
let fixture: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-harness-'));
  const daemon = join(dir, 'fake-krb5kdc');
  writeFileSync(daemon, '#!/bin/sh\necho "fake-krb5kdc: cannot bind 127.0.0.1:88" >&2\nexit 1\n');
  chmodSync(daemon, 0o755);
  // Shaped like test/peers/*.sh: `up STATE` starts the daemon and verifies it, `clean STATE` stops.
  const recipe = join(dir, 'broken-kdc.sh');
  writeFileSync(recipe, `#!/usr/bin/env bash
set -euo pipefail
case "$1" in
  up) "${daemon}" || { echo "broken-kdc.sh: the KDC exited at once (status $?)" >&2; exit 1; }; echo "export BROKEN_OK=1";;
  clean) exit 0;;
esac
`);
  const harness = new URL('harness.ts', import.meta.url).href;
  fixture = join(dir, 'fixture.test.ts');
  writeFileSync(fixture, `import { test } from 'node:test';
import { needPeer, peerForFile, startPeer } from ${JSON.stringify(harness)};
const peer = peerForFile('broken-kdc', [], { recipe: ${JSON.stringify(recipe)} });
// The pattern of the interop tests: return early when the peer is not usable.
test('file-wide peer', (t) => {
  if (!needPeer(t, 'broken-kdc', [${JSON.stringify(daemon)}]) || !peer.current) return;
  throw new Error('ran with a started peer');
});
// The pattern of tests that start their own copy.
test('per-test peer', (t) => {
  if (!needPeer(t, 'broken-kdc-2', [${JSON.stringify(daemon)}])) return;
  const p = startPeer('broken-kdc-2', {}, { recipe: ${JSON.stringify(recipe)} });
  p.stop();
  throw new Error('ran with a started peer');
});
`);
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function runFixture(require: boolean) {
  const env: NodeJS.ProcessEnv = { ...process.env, SPNEGO_REQUIRE_PEERS: require ? '1' : '0' };
  delete env.NODE_TEST_CONTEXT; // a fresh runner, not a subtest stream of ours
  const r = await runChild(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', fixture], { env, cwd: process.cwd() });
  const count = (k: string) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(r.stdout)?.[1]);
  return { ...r, pass: count('pass'), fail: count('fail'), skipped: count('skipped') };
}

test('a peer that fails to start: its tests skip with the reason printed, none passes', async () => {
  const r = await runFixture(false);
  assert.equal(r.pass, 0, r.stdout);
  assert.equal(r.skipped, 1, r.stdout); // the file-wide peer skips
  assert.equal(r.fail, 1, r.stdout); // the per-test start throws: a failure with the reason, not a pass
  assert.match(r.stdout, /ok 1 - file-wide peer # SKIP broken-kdc is installed but failed to start \(exit 1\):.*fake-krb5kdc: cannot bind.*the KDC exited at once/);
  assert.match(r.stdout, /# skip: broken-kdc is installed but failed to start/);
  assert.match(r.stdout, /not ok 2 - per-test peer[\s\S]*broken-kdc-2 is installed but failed to start/);
  assert.equal(r.status, 1);
});

test('a peer that fails to start under SPNEGO_REQUIRE_PEERS=1: every test of the file fails, with the reason', async () => {
  const r = await runFixture(true);
  assert.equal(r.pass, 0, r.stdout);
  assert.equal(r.skipped, 0, r.stdout);
  assert.equal(r.fail, 2, r.stdout);
  assert.match(r.stdout, /not ok 1 - file-wide peer[\s\S]*broken-kdc is installed but failed to start \(exit 1\)/);
  assert.match(r.stdout, /fake-krb5kdc: cannot bind/);
  assert.notEqual(r.status, 0);
});

test('recipes starting at once get distinct ports (claim_ports in _common.sh), and a dead owner\'s claim is reused', async () => {
  const claims = mkdtempSync(join(tmpdir(), 'spnego-claims-'));
  try {
    const common = new URL('_common.sh', import.meta.url).pathname;
    // Eight recipes choose 3 ports each at the same moment (node --test runs files concurrently).
    const script = `. '${common}'
for i in 1 2 3 4 5 6 7 8; do mkdir -p "${claims}/owner$i"; (claim_ports 61500 3 "${claims}/owner$i") & done; wait`;
    const r = await runChild('bash', ['-c', script], { env: { ...process.env, SPNEGO_PORT_CLAIMS: claims } });
    assert.equal(r.status, 0, r.stderr);
    const firsts = r.stdout.trim().split('\n').map(Number);
    assert.equal(firsts.length, 8);
    const all = firsts.flatMap((p) => [p, p + 1, p + 2]);
    assert.equal(new Set(all).size, all.length, `overlapping port ranges: ${firsts.join(' ')}`);
    // The owner of the lowest range goes away: its ports are free for the next recipe.
    const lowest = Math.min(...firsts);
    const owner = readFileSync(join(claims, String(lowest)), 'utf8').trim();
    rmSync(owner, { recursive: true });
    const again = await runChild('bash', ['-c', `. '${common}'; mkdir -p "${claims}/next"; claim_ports 61500 3 "${claims}/next"`], { env: { ...process.env, SPNEGO_PORT_CLAIMS: claims } });
    assert.equal(again.stdout.trim(), String(lowest), again.stderr);
  } finally {
    rmSync(claims, { recursive: true, force: true });
  }
});
