// Issue 15, "the KDC down (the next configured KDC is used, with a bounded total timeout)": the pure
// client's KDC timeouts, configurable and bounded. krb5.conf's kdc_timeout (Heimdal: one attempt)
// and request_timeout (MIT 1.22: the whole request), the options kdcTimeoutMs / requestTimeoutMs
// that override them, bad values refused by name, and the total deadline enforced for real: the
// attempt in flight abandoned, nothing (socket, timer) left behind. Silent KDCs are faulty KDCs
// (proxy.ts) that drop every request, in front of the embedded KDC on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireCredentials, createInitiator } from '../../lib/api.js';
import type { InitiateCredentialOptions } from '../../lib/credentials.js';
import { KerberosError, UsageError } from '../../lib/errors.js';
import { loadKrb5Config } from '../../lib/krb5/config.js';
import { withNativeLoaded } from '../credentials/native-stand-in.js';
import { type FaultyKdc, faultsForFile } from './proxy.js';

const REALM = 'TIMEOUTS.TEST';
const { r, proxy, conf } = faultsForFile(REALM);
/** A KDC that never answers, over UDP or TCP (a host that is up, its KDC hung). */
const silent = () => proxy({ udp: 'drop', tcp: 'drop' });
const hostPort = (p: FaultyKdc, transport?: 'udp' | 'tcp') => `${transport ? `${transport}/` : ''}127.0.0.1:${p.port}`;

const alice = { principal: 'alice', password: 'alice-pw' } as never;
/** acquireCredentials for alice (one AS exchange: PREAUTH_REQUIRED, then the AS-REP), timed. */
async function acquire(krb5Config: string, extra: Partial<InitiateCredentialOptions> = {}) {
  const t0 = performance.now();
  try {
    const cred = await acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config, credentials: alice, ...extra });
    return { ms: performance.now() - t0, cred };
  } catch (err) {
    return { ms: performance.now() - t0, err };
  }
}

/** Sockets and timers alive in this process (process.getActiveResourcesInfo). */
function handles(): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'UDPWrap' || r === 'TCPSocketWrap' || r === 'Timeout').length;
}
/** Waits (up to 1 s, without a timer of its own) for the live handles to fall back to `baseline`. */
async function settledTo(baseline: number): Promise<number> {
  const t0 = performance.now();
  while (handles() > baseline && performance.now() - t0 < 1000) await new Promise((r) => setImmediate(r));
  return handles();
}

test('kdc_timeout in krb5.conf: a silent KDC first, the next one answers after ~kdc_timeout, not the default 3 s', async (t) => {
  const dead = await silent();
  const good = await proxy();
  // The silent KDC restricted to UDP: one attempt per request, then the working KDC.
  const path = conf([hostPort(dead, 'udp'), hostPort(good)], { kdc_timeout: '1s' });
  const r = await acquire(path);
  assert.ok(r.cred, String(r.err));
  r.cred.dispose();
  assert.ok(dead.seen.udp >= 1 && good.seen.udp >= 1, `both KDCs asked: ${JSON.stringify({ dead: dead.seen, good: good.seen })}`);
  // Each of the AS exchange's requests waits one kdc_timeout (1 s) on the silent KDC; with the
  // default 3 s that is 3 s each.
  assert.ok(r.ms >= 1000 - 50, `the silent KDC was waited for: ${r.ms.toFixed(0)} ms`);
  assert.ok(r.ms < dead.seen.udp * 1000 + 1500, `kdc_timeout = 1s honoured (${dead.seen.udp} wait(s) on the silent KDC): ${r.ms.toFixed(0)} ms`);
  assert.ok(r.ms < 3000, `below one default 3 s timeout: ${r.ms.toFixed(0)} ms`);
  t.diagnostic(`kdc_timeout = 1s, silent KDC then a good one: TGT in ${r.ms.toFixed(0)} ms (${dead.seen.udp} timeouts)`);
});

test('kdcTimeoutMs overrides krb5.conf kdc_timeout, for the AS exchange and the TGS exchanges of contexts', async (t) => {
  const dead = await silent();
  const good = await proxy();
  const path = conf([hostPort(dead, 'udp'), hostPort(good)], { kdc_timeout: '10' });
  const r = await acquire(path, { kdcTimeoutMs: 300 });
  assert.ok(r.cred, String(r.err));
  try {
    assert.ok(r.ms >= 300 - 50, `the silent KDC was waited for: ${r.ms.toFixed(0)} ms`);
    assert.ok(r.ms < dead.seen.udp * 300 + 1500, `300 ms per attempt, not the file's 10 s nor the default 3 s: ${r.ms.toFixed(0)} ms`);
    const before = dead.seen.udp;
    const t0 = performance.now();
    const token = await createInitiator({ credentials: r.cred, target: 'HTTP@localhost' }).step();
    const ms = performance.now() - t0;
    assert.ok(token && token.length > 100);
    assert.equal(dead.seen.udp, before + 1, 'the TGS request walked the list too');
    assert.ok(ms < 300 + 1500, `the TGS exchange used the credential's 300 ms: ${ms.toFixed(0)} ms`);
    t.diagnostic(`kdcTimeoutMs 300 over kdc_timeout = 10: TGT in ${r.ms.toFixed(0)} ms, service ticket in ${ms.toFixed(0)} ms`);
  } finally {
    r.cred.dispose();
  }
});

test('request_timeout in krb5.conf: every KDC silent, KDC_UNREACHABLE at the total deadline, the attempt in flight abandoned, nothing left open', async (t) => {
  const kdcs = [await silent(), await silent(), await silent()];
  // kdc_timeout left at its default (3 s): 3 KDCs x 2 transports x 3 s = 18 s without the total.
  const path = conf(kdcs.map((k) => hostPort(k)), { request_timeout: '1' });
  const baseline = handles();
  const r = await acquire(path);
  assert.ok(r.err instanceof KerberosError && r.err.errorName === 'KDC_UNREACHABLE', String(r.err ?? 'a credential'));
  assert.match(r.err.message, /total request timeout of 1000 ms/);
  assert.match(r.err.message, new RegExp(`127\\.0\\.0\\.1:${kdcs[0]!.port}/udp: abandoned after \\d+ ms`), 'the attempt made is listed, cut at the deadline');
  assert.ok(r.ms >= 1000 - 50 && r.ms < 1000 + 1500, `within request_timeout (1 s) plus slack: ${r.ms.toFixed(0)} ms`);
  assert.ok((await settledTo(baseline)) <= baseline, `no socket or timer left: ${process.getActiveResourcesInfo().join(', ')}`);
  t.diagnostic(`3 silent KDCs, request_timeout = 1: ${r.ms.toFixed(0)} ms; ${r.err.message}`);
});

test('requestTimeoutMs overrides request_timeout; the TCP attempt in flight at the deadline is abandoned too', async (t) => {
  const kdcs = [await silent(), await silent()];
  const path = conf(kdcs.map((k) => hostPort(k)), { request_timeout: '1m' });
  const baseline = handles();
  const r = await acquire(path, { kdcTimeoutMs: 400, requestTimeoutMs: 700 });
  assert.ok(r.err instanceof KerberosError && r.err.errorName === 'KDC_UNREACHABLE', String(r.err ?? 'a credential'));
  // UDP waits its 400 ms; TCP gets the 300 ms left, then the request ends: the second KDC is never asked.
  const p = kdcs[0]!.port;
  assert.match(r.err.message, new RegExp(`127\\.0\\.0\\.1:${p}/udp: no answer over UDP within 400 ms; 127\\.0\\.0\\.1:${p}/tcp: abandoned after \\d+ ms`), r.err.message);
  assert.match(r.err.message, /total request timeout of 700 ms/);
  assert.equal(kdcs[1]!.seen.udp + kdcs[1]!.seen.tcp, 0, 'no attempt after the deadline');
  assert.ok(r.ms >= 700 - 50 && r.ms < 700 + 1500, `within requestTimeoutMs plus slack (the file says 1m): ${r.ms.toFixed(0)} ms`);
  assert.ok((await settledTo(baseline)) <= baseline, `no socket or timer left: ${process.getActiveResourcesInfo().join(', ')}`);
  t.diagnostic(`requestTimeoutMs 700, kdcTimeoutMs 400: KDC_UNREACHABLE after ${r.ms.toFixed(0)} ms`);
});

test('krb5.conf time values: MIT durations and Heimdal times are read for kdc_timeout and request_timeout', () => {
  const seconds = (v: string) => loadKrb5Config({ path: conf([], { kdc_timeout: v, request_timeout: v }) });
  const cases: [string, number][] = [
    ['3', 3], ['10s', 10], ['1m', 60], ['1h30m', 5400], ['1:30', 5400], ['0:00:45', 45], ['10d 0h 0m 0s', 864000],
    ['10 seconds', 10], ['1 min 30 sec', 90], ['2 days', 172800], ['1 week', 604800], ['1 month 2 days 30 min', 30 * 86400 + 2 * 86400 + 1800], ['1 min 5', 65],
  ];
  for (const [v, n] of cases) {
    const c = seconds(v);
    assert.equal(c.kdcTimeout, n, `kdc_timeout = ${v}`);
    assert.equal(c.requestTimeout, n, `request_timeout = ${v}`);
  }
  const unset = loadKrb5Config({ path: conf([]) });
  assert.equal(unset.kdcTimeout, 3, 'kdc_timeout default: 3 s (Heimdal)');
  assert.equal(unset.requestTimeout, 0, 'request_timeout default: 0, no total (MIT)');
  assert.equal(seconds('0').requestTimeout, 0);
});

test('bad kdc_timeout / request_timeout values, and bad options: UsageError naming the setting', async () => {
  const good = await proxy();
  const kdcs = [hostPort(good)];
  for (const [name, v] of [['kdc_timeout', 'soon'], ['kdc_timeout', '500ms'], ['kdc_timeout', '0'], ['kdc_timeout', '1.5'], ['request_timeout', '-1'], ['request_timeout', '1x'], ['request_timeout', '99999999999']]) {
    const path = conf(kdcs, { [name!]: v! });
    const r = await acquire(path);
    assert.ok(r.err instanceof UsageError, `${name} = ${v}: ${String(r.err ?? 'accepted')}`);
    assert.match(r.err.message, new RegExp(`\\[libdefaults\\] ${name} = "${v!.replace('.', '\\.')}"`));
    assert.ok(!/alice-pw/.test(r.err.message));
    // The option forms of createInitiator read the same krb5.conf: refused there too.
    assert.throws(() => createInitiator({ backend: 'pure', target: 'HTTP@localhost', credentials: alice, krb5Config: path }), (e: unknown) => e instanceof UsageError && e.message.includes(name!));
  }
  const path = conf(kdcs);
  for (const [name, v] of [['kdcTimeoutMs', -1], ['kdcTimeoutMs', 0], ['kdcTimeoutMs', Number.NaN], ['kdcTimeoutMs', '3000'], ['requestTimeoutMs', -5], ['requestTimeoutMs', Infinity]] as const) {
    const r = await acquire(path, { [name]: v } as never);
    assert.ok(r.err instanceof UsageError, `${name}: ${String(v)}: ${String(r.err ?? 'accepted')}`);
    assert.match(r.err.message, new RegExp(`^${name} must be`));
  }
  // requestTimeoutMs 0 means no total bound (as request_timeout = 0): accepted.
  const ok = await acquire(path, { requestTimeoutMs: 0 });
  assert.ok(ok.cred, String(ok.err));
  ok.cred.dispose();
});

test('native backend: kdcTimeoutMs / requestTimeoutMs refused (libkrb5 reads its timeouts from krb5.conf only); backend auto picks pure', async () => {
  const good = await proxy();
  const path = conf([hostPort(good)]);
  const saved = process.env.KRB5_CONFIG;
  process.env.KRB5_CONFIG = path;
  try {
    await withNativeLoaded(async () => {
      // 'auto' with an option only the pure backend honours: pure, as with the ntlm option.
      const cred = await acquireCredentials({ usage: 'initiate', credentials: alice, kdcTimeoutMs: 500 });
      assert.equal(cred.backend, 'pure');
      cred.dispose();
      for (const k of ['kdcTimeoutMs', 'requestTimeoutMs'] as const) {
        await assert.rejects(
          acquireCredentials({ usage: 'initiate', backend: 'native', credentials: alice, [k]: 500 }),
          (e: unknown) => e instanceof UsageError && e.message.startsWith(`${k} applies to the pure backend only`),
        );
      }
    });
  } finally {
    if (saved === undefined) delete process.env.KRB5_CONFIG;
    else process.env.KRB5_CONFIG = saved;
  }
});
