// Issue 15: a replayed AP-REQ against two node:cluster services (4 workers each, one port each, on
// 127.0.0.1 and 127.0.0.2 standing for two hosts) that share one Redis replay cache: accepted
// exactly once, refused (KRB_AP_ERR_REPEAT) by every worker of both; Redis stopped -> every request
// refused with ReplayCacheUnavailableError (reported by each worker's onError over IPC), none
// accepted; Redis back -> the same workers (same PIDs) accept again. Real processes, loopback only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { send } from './cluster.js';
import { clustersForFile } from './for-file.js';

const KRB_AP_ERR_REPEAT = 34;
const { redis, realm, hosts, ready } = clustersForFile('CLUSTER.TEST', ['127.0.0.1', '127.0.0.2']);

const allPids = () => hosts.flatMap((c) => c.pids);

/**
 * The onError reports since `before`, once `want` of them have arrived (bounded, 5 s): a worker
 * sends its report to the primary over IPC when it answers, so the last one may trail the HTTP 401.
 */
async function reportsSince(before: number[], want: number) {
  const collect = () => hosts.flatMap((c, i) => c.errors.slice(before[i]));
  for (let i = 0; i < 250 && collect().length < want; i++) await new Promise((r) => setTimeout(r, 20));
  return collect();
}

test('one AP-REQ sent to every worker of both clusters: accepted exactly once, every replay refused by every worker', async (t) => {
  if (!ready(t)) return;
  const { header } = await realm.current!.negotiate();
  const errorsBefore = hosts.map((c) => c.errors.length);
  const answers = [];
  const refusedBy = new Set<number>();
  // Round-robin: a new connection per request reaches the next worker; go on until every worker
  // of both clusters has refused the replay at least once (bounded).
  for (let i = 0; i < 200 && refusedBy.size < 8; i++) {
    const c = hosts[i % 2]!;
    const a = await send(c.url, header);
    answers.push(a);
    if (a.status === 401) refusedBy.add(a.worker);
  }
  const accepted = answers.filter((a) => a.status === 200);
  assert.equal(accepted.length, 1, `accepted exactly once: ${JSON.stringify(answers.map((a) => [a.worker, a.status]))}`);
  assert.equal(JSON.parse(accepted[0]!.body).user, 'alice@CLUSTER.TEST');
  assert.equal(answers.filter((a) => a.status !== 200 && a.status !== 401).length, 0);
  assert.deepEqual([...refusedBy].sort(), allPids().sort(), 'every worker of both clusters refused the replay');
  // Every refusal is a KRB_AP_ERR_REPEAT, as each worker's onError said.
  const errs = await reportsSince(errorsBefore, answers.length - 1);
  assert.equal(errs.length, answers.length - 1);
  assert.ok(errs.every((e) => e.name === 'KerberosError' && e.errorCode === KRB_AP_ERR_REPEAT), JSON.stringify(errs.slice(0, 3)));
  t.diagnostic(`${answers.length} requests, 1 accepted, ${answers.length - 1} replays refused by ${refusedBy.size} workers on 2 clusters`);
});

test('the same fresh AP-REQ sent at once to all 8 workers (16 concurrent requests): exactly one accepted', async (t) => {
  if (!ready(t)) return;
  for (let round = 0; round < 5; round++) {
    const { header } = await realm.current!.negotiate();
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => send(hosts[i % 2]!.url, header)));
    assert.equal(answers.filter((a) => a.status === 200).length, 1, `round ${round}: ${JSON.stringify(answers.map((a) => a.status))}`);
    assert.equal(answers.filter((a) => a.status === 401).length, 15);
  }
});

test('Redis stopped: every request refused (401, ReplayCacheUnavailableError from every worker), none accepted; restarted: the same workers accept again', async (t) => {
  if (!ready(t)) return;
  const pidsBefore = allPids().sort();
  // Up: a fresh token is accepted.
  assert.equal((await send(hosts[0]!.url, (await realm.current!.negotiate()).header)).status, 200);
  const errorsBefore = hosts.map((c) => c.errors.length);
  redis.current!.stop();
  const refusedBy = new Set<number>();
  let requests = 0;
  try {
    for (let i = 0; i < 100 && refusedBy.size < 8; i++, requests++) {
      const a = await send(hosts[i % 2]!.url, (await realm.current!.negotiate()).header);
      assert.equal(a.status, 401, `request ${i} while Redis is down was answered ${a.status}`);
      refusedBy.add(a.worker);
    }
  } finally {
    redis.current!.start();
  }
  assert.deepEqual([...refusedBy].sort(), pidsBefore, 'every worker refused while Redis was down');
  const errs = await reportsSince(errorsBefore, requests);
  assert.equal(errs.length, requests);
  assert.ok(errs.every((e) => e.name === 'ReplayCacheUnavailableError' && e.code === 'GSS_S_FAILURE'), JSON.stringify(errs.slice(0, 3)));
  assert.deepEqual([...new Set(errs.map((e) => e.pid))].sort(), pidsBefore, "each worker's onError reported the typed error");
  // Back: each worker accepts a fresh token again (its client reconnects by itself), bounded.
  const acceptedBy = new Set<number>();
  const deadline = Date.now() + 20_000;
  let afterRestart = 0;
  while (acceptedBy.size < 8 && Date.now() < deadline) {
    const a = await send(hosts[afterRestart++ % 2]!.url, (await realm.current!.negotiate()).header);
    if (a.status === 200) acceptedBy.add(a.worker);
    else await new Promise((r) => setTimeout(r, 50));
  }
  assert.deepEqual([...acceptedBy].sort(), pidsBefore, 'every worker accepts again after the restart');
  assert.deepEqual(allPids().sort(), pidsBefore);
  assert.deepEqual(hosts.flatMap((c) => c.exits), [], 'no worker exited or was restarted');
  t.diagnostic(`down: ${requests} requests refused by 8 workers; back: all 8 accepting after ${afterRestart} requests`);
});
