// Issue 15, load (the short CI version; `npm run soak` runs the long one): concurrent pure
// initiators, each a new Kerberos handshake with mutual authentication, and curl --negotiate
// processes, against two 4-worker clusters sharing one Redis replay cache. Asserted: correctness
// only (every handshake ok, 0 errors, no worker restarted). Printed: p50/p99 latency, handshakes/s,
// the event-loop delay max in the workers and here, memory before/after (no timed assertions:
// the machine is shared).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { missingPeer, requirePeers } from '../peers/harness.js';
import { clustersForFile } from './for-file.js';
import { report, runLoad } from './load.js';

const CONCURRENCY = Number(process.env.LOAD_CONCURRENCY ?? 100);
const HANDSHAKES = Number(process.env.LOAD_HANDSHAKES ?? 1000);
const { realm, hosts, ready } = clustersForFile('LOAD.TEST', ['127.0.0.1', '127.0.0.3']);

test(`${HANDSHAKES} handshakes from ${CONCURRENCY} concurrent pure initiators (+ curl --negotiate) against 2 x 4 workers: 0 errors`, async (t) => {
  if (!ready(t)) return;
  // curl with MIT's libgssapi: without it (and without SPNEGO_REQUIRE_PEERS) the pure initiators run alone.
  const noCurl = missingPeer('curl');
  if (noCurl && requirePeers) throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${noCurl}`);
  if (noCurl) t.diagnostic(`without curl: ${noCurl}`);
  const curl = noCurl ? 0 : 4;
  const r = await runLoad({ clusters: hosts, realm: realm.current!, concurrency: CONCURRENCY, handshakes: HANDSHAKES, curlProcesses: curl, curlHandshakes: 10, curlEnv: realm.current!.clientEnv });
  for (const line of report(r, { concurrency: CONCURRENCY, handshakes: HANDSHAKES })) t.diagnostic(line);
  const workerErrors = hosts.flatMap((c) => c.errors);
  assert.deepEqual(r.errors.slice(0, 5), [], `${r.errors.length} errors; the workers said: ${JSON.stringify(workerErrors.slice(0, 5))}`);
  assert.equal(r.ok, HANDSHAKES);
  assert.deepEqual(r.curlErrors, []);
  assert.equal(r.curlOk, curl * 10);
  assert.deepEqual(hosts.flatMap((c) => c.exits), [], 'no worker exited');
  // Every accepted handshake was counted by exactly one worker.
  const served = r.after.reduce((n, s) => n + s.ok, 0) - r.before.reduce((n, s) => n + s.ok, 0);
  assert.equal(served, HANDSHAKES + r.curlOk);
});
