// Issue 15, faults of the KDC seen by the pure client (lib/krb5/client/transport.ts), with faulty
// KDCs (proxy.ts) on 127.0.0.1 in front of the embedded KDC: a KDC down (the next configured one is
// used, the total wait bounded by the per-attempt timeout), a slow KDC, truncated and garbage replies
// over UDP and TCP, RESPONSE_TOO_BIG -> TCP. Each ends in a ticket or a typed error, within its bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireCredentials, createInitiator } from '../../lib/api.js';
import { DecodeError, KerberosError, SpnegoError } from '../../lib/errors.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import type { KdcAddress } from '../../lib/krb5/client/transport.js';
import { deadPort, faultsForFile } from './proxy.js';

const REALM = 'FAULTS.TEST';
const { proxy, conf: confWith } = faultsForFile(REALM);

const client = { realm: REALM, name: { nameType: 1, nameString: ['alice'] } };
/** An AS exchange for alice against `kdcs`, timed. */
async function asReq(kdcs: KdcAddress[], timeoutMs: number): Promise<{ ms: number; ok?: true; err?: unknown }> {
  const t0 = performance.now();
  try {
    await requestInitialTicket({ kdcs, transport: { timeoutMs }, client, secret: { password: 'alice-pw' }, etypes: [18] });
    return { ms: performance.now() - t0, ok: true };
  } catch (err) {
    return { ms: performance.now() - t0, err };
  }
}
const at = (port: number, transport?: 'udp' | 'tcp'): KdcAddress => ({ host: '127.0.0.1', port, ...(transport ? { transport } : {}) });

test('KDC down: krb5.conf lists a dead KDC first; the next one is used; the wait is bounded by the 3 s per-attempt timeout', async (t) => {
  const good = await proxy();
  const dead = await deadPort();
  const conf = confWith([`127.0.0.1:${dead}`, `127.0.0.1:${good.port}`]);
  const alice = await acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config: conf, credentials: { principal: 'alice', password: 'alice-pw' } as never });
  try {
    const t0 = performance.now();
    const token = await createInitiator({ credentials: alice, target: 'HTTP@localhost' }).step();
    const ms = performance.now() - t0;
    assert.ok(token && token.length > 100, 'a token: AS and TGS went to the second KDC');
    assert.ok(good.seen.udp >= 2, `the second KDC served AS and TGS (${JSON.stringify(good.seen)})`);
    // The dead KDC costs one UDP timeout (no ICMP error reaches an unconnected UDP socket) and a
    // refused TCP connect, for the AS exchange (the TGS exchange too, as each request walks the list).
    assert.ok(ms < 2 * 2 * 3000 + 3000, `bounded: ${ms.toFixed(0)} ms`);
    t.diagnostic(`dead KDC then a good one: token in ${ms.toFixed(0)} ms`);
  } finally {
    alice.dispose();
  }
});

test('every KDC down: KerberosError KDC_UNREACHABLE naming each attempt, after at most KDCs x transports x timeout', async (t) => {
  const r = await asReq([at(await deadPort()), at(await deadPort())], 300);
  assert.ok(r.err instanceof KerberosError && r.err.errorName === 'KDC_UNREACHABLE', String(r.err));
  assert.equal((r.err.message.match(/127\.0\.0\.1:\d+\/(udp|tcp)/g) ?? []).length, 4, r.err.message);
  assert.ok(r.ms < 4 * 300 + 1500, `bounded: ${r.ms.toFixed(0)} ms`);
  t.diagnostic(`2 dead KDCs, 300 ms per attempt: KDC_UNREACHABLE after ${r.ms.toFixed(0)} ms`);
});

test('a slow KDC: an answer within the timeout is taken; past it, the next KDC answers', async (t) => {
  const slow = await proxy({ udp: { delayMs: 300 }, tcp: { delayMs: 300 } });
  const r1 = await asReq([at(slow.port)], 2000);
  assert.equal(r1.ok, true, String(r1.err));
  assert.ok(r1.ms >= 300 * 2 - 50, `waited for the slow answers (PREAUTH_REQUIRED then the AS-REP): ${r1.ms.toFixed(0)} ms`);
  const slower = await proxy({ udp: { delayMs: 1500 }, tcp: { delayMs: 1500 } });
  const good = await proxy();
  const r2 = await asReq([at(slower.port), at(good.port)], 400);
  assert.equal(r2.ok, true, String(r2.err));
  assert.ok(slower.seen.udp >= 1 && slower.seen.tcp >= 1, `the slow KDC was tried over UDP then TCP: ${JSON.stringify(slower.seen)}`);
  assert.ok(good.seen.udp >= 1);
  t.diagnostic(`slow (300 ms) KDC: ticket in ${r1.ms.toFixed(0)} ms; too slow (1.5 s > 400 ms timeout) then good: ${r2.ms.toFixed(0)} ms`);
});

for (const transport of ['udp', 'tcp'] as const) {
  test(`garbage KDC replies over ${transport.toUpperCase()}: a typed error, no ticket, nothing thrown elsewhere`, async () => {
    const bad = await proxy({ [transport]: 'garbage' });
    for (let i = 0; i < 20; i++) {
      const r = await asReq([at(bad.port, transport)], 1000);
      assert.equal(r.ok, undefined, 'random bytes never make a ticket');
      assert.ok(r.err instanceof SpnegoError, `typed: ${String(r.err)}`);
    }
  });

  test(`truncated KDC replies over ${transport.toUpperCase()}: a typed error; with a second KDC configured, over TCP the next one is used`, async () => {
    const cut = await proxy({ [transport]: 'truncate' });
    const r = await asReq([at(cut.port, transport)], 1000);
    assert.equal(r.ok, undefined);
    if (transport === 'udp') {
      // A datagram is a whole reply: the half one fails to decode.
      assert.ok(r.err instanceof DecodeError || r.err instanceof KerberosError, String(r.err));
    } else {
      // A TCP record shorter than its length prefix is no reply at all: the KDC counts as unreachable.
      assert.ok(r.err instanceof KerberosError && r.err.errorName === 'KDC_UNREACHABLE', String(r.err));
      assert.match(r.err.message, /closed the TCP connection before a full reply/);
      const good = await proxy();
      const r2 = await asReq([at(cut.port, 'tcp'), at(good.port, 'tcp')], 1000);
      assert.equal(r2.ok, true, String(r2.err));
    }
  });
}

test('RESPONSE_TOO_BIG over UDP: the same KDC is asked again over TCP (RFC 4120 7.2.1)', async () => {
  const p = await proxy({ udp: 'too-big', tcp: 'pass' });
  const r = await asReq([at(p.port)], 1000);
  assert.equal(r.ok, true, String(r.err));
  assert.ok(p.seen.udp >= 1 && p.seen.tcp >= 1, JSON.stringify(p.seen));
  assert.equal(p.seen.udp, p.seen.tcp, 'each UDP request was retried once over TCP');
});
