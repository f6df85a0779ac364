// The acceptor's replay cache (RFC 4120 3.2.3): entries live as long as the authenticator is valid
// (max(now, ctime) + skew), expire by time, and a full cache refuses new authenticators (fail closed)
// instead of forgetting unexpired ones. Clocks are injected on both sides.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Krb5Initiator } from '../../lib/krb5/initiator.js';
import { Krb5Acceptor } from '../../lib/krb5/acceptor.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { GssFlags } from '../../lib/krb5/gss/checksum.js';
import { generateKey } from '../../lib/krb5/crypto/index.js';
import { GssError, KerberosError, ReplayCacheFullError } from '../../lib/errors.js';
import { ErrorCode } from '../../lib/krb5/constants.js';
import { decodeApReq, encodeApReq } from '../../lib/krb5/asn1/index.js';
import { TokId, frameKrb5Token, unframeKrb5Token } from '../../lib/krb5/gss/framing.js';
import { client, makeServiceTicket } from './ticket-fixture.js';

const FLAGS = GssFlags.mutual | GssFlags.replay | GssFlags.sequence | GssFlags.conf | GssFlags.integ;
const isRepeat = (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_REPEAT;

function setup(maxEntries?: number) {
  const serviceKey = generateKey(18);
  const { ticket, sessionKey } = makeServiceTicket({ serviceKey });
  const clock = { ms: Math.floor(Date.now() / 1000) * 1000 };
  const cache = new MemoryReplayCache({ maxEntries, now: () => clock.ms });
  const acc = new Krb5Acceptor({ keyFor: () => serviceKey, replayCache: cache, now: () => new Date(clock.ms) });
  /** A fresh AP-REQ whose authenticator ctime is the acceptor's clock + `aheadMs`. */
  const apReq = (aheadMs = 0) =>
    new Krb5Initiator({ client, ticket, sessionKey, flags: FLAGS, now: () => new Date(clock.ms + aheadMs) }).step().token!;
  return { clock, cache, acc, apReq };
}

test('replay window: a client clock 290 s ahead keeps its authenticator valid to ctime + skew; the replay at +310 s is refused', async () => {
  const { clock, acc, apReq } = setup();
  const token = apReq(290_000);
  await acc.accept(token);
  clock.ms += 310_000; // ctime is now 20 s behind us: within the skew, so only the cache can refuse it
  await assert.rejects(acc.accept(token), isRepeat);
  clock.ms += 269_000; // 579 s: ctime + skew - 1 s, still the same answer
  await assert.rejects(acc.accept(token), isRepeat);
  clock.ms += 12_000; // past ctime + skew: the authenticator itself is too old now
  await assert.rejects(acc.accept(token), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_SKEW);
});

test('the tag is the authenticator alone: renaming the ticket\'s clear sname (an alias with the same key) does not make a replay look new', async () => {
  const { acc, apReq } = setup();
  const token = apReq();
  await acc.accept(token);
  const ap = decodeApReq(unframeKrb5Token(token).body);
  const renamed = frameKrb5Token(TokId.AP_REQ, encodeApReq({ ...ap, ticket: { ...ap.ticket, sname: { nameType: 3, nameString: ['HTTP', 'alias.example.test'] } } }));
  await assert.rejects(acc.accept(renamed), isRepeat);
});

test('expiry: an entry is kept through its expiry and forgotten only after it', () => {
  const t0 = 1_800_000_000_000;
  const clock = { ms: t0 };
  const cache = new MemoryReplayCache({ now: () => clock.ms });
  const id = '00112233445566778899aabbccddeeff';
  const expires = new Date(t0 + 300_000);
  assert.equal(cache.checkAndStore(id, expires), true);
  assert.equal(cache.checkAndStore('ffeeddccbbaa99887766554433221100', new Date(t0 + 600_000)), true);
  for (const at of [t0 + 1, t0 + 299_999, t0 + 300_000]) {
    clock.ms = at;
    assert.equal(cache.checkAndStore(id, expires), false, `still a replay at +${at - t0} ms`);
  }
  assert.equal(cache.size, 2);
  clock.ms = t0 + 301_000;
  assert.equal(cache.size, 2, 'nothing is dropped between calls');
  assert.equal(cache.checkAndStore('0123456789abcdef0123456789abcdef', new Date(t0 + 601_000)), true);
  assert.equal(cache.size, 2, 'the expired entry went with the sweep, the later one stayed');
  assert.equal(cache.checkAndStore(id, new Date(t0 + 601_000)), true, 'forgotten after its expiry');
  assert.equal(cache.checkAndStore('ffeeddccbbaa99887766554433221100', new Date(t0 + 600_000)), false, 'the later entry is still there');
  // A clock jump far ahead drops everything (the sweep walks the buckets, not the seconds).
  clock.ms = t0 + 365 * 86_400_000;
  assert.equal(cache.checkAndStore(id, new Date(clock.ms + 300_000)), true);
  assert.equal(cache.size, 1);
});

test('the cap: a full cache refuses fresh authenticators with ReplayCacheFullError, still refuses replays, and accepts again once entries expire', async () => {
  const { clock, cache, acc, apReq } = setup(3);
  const first = apReq();
  await acc.accept(first);
  await acc.accept(apReq());
  clock.ms += 100_000;
  await acc.accept(apReq());
  assert.equal(cache.size, 3);
  await assert.rejects(acc.accept(apReq()), (e: unknown) =>
    e instanceof ReplayCacheFullError && e instanceof GssError && e.major === 'GSS_S_FAILURE' && e.limit === 3 && /replay cache full/.test(e.message));
  await assert.rejects(acc.accept(first), isRepeat, 'no unexpired entry was forgotten');
  assert.equal(cache.size, 3);
  clock.ms += 201_000; // the first two (expiring at +300 s) are gone, the third (+400 s) is not
  await acc.accept(apReq());
  await acc.accept(apReq());
  assert.equal(cache.size, 3);
  await assert.rejects(acc.accept(apReq()), ReplayCacheFullError);
});

test('throughput: 1M entries go in, all held, none dropped, memory bounded; all expire together', () => {
  const t0 = 1_800_000_000_000;
  const clock = { ms: t0 };
  const N = 1_000_000;
  const cache = new MemoryReplayCache({ maxEntries: N, now: () => clock.ms });
  const heap0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++) {
    // Expiries spread over 600 one-second buckets; the clock moves 1 s every 2,000 inserts.
    if (i % 2000 === 0) clock.ms += 1000;
    assert.equal(cache.checkAndStore(i.toString(16).padStart(32, '0'), new Date(clock.ms + 600_000 + (i % 600) * 1000)), true);
  }
  assert.equal(cache.size, N);
  const perEntry = (process.memoryUsage().heapUsed - heap0) / N;
  assert.ok(perEntry < 200, `~${perEntry.toFixed(0)} bytes per entry (garbage included)`);
  assert.throws(() => cache.checkAndStore('f'.repeat(32), new Date(clock.ms + 1000)), ReplayCacheFullError);
  assert.equal(cache.checkAndStore((N - 1).toString(16).padStart(32, '0'), new Date(clock.ms + 1000)), false);
  clock.ms += 2_000_000;
  assert.equal(cache.checkAndStore('f'.repeat(32), new Date(clock.ms + 1000)), true);
  assert.equal(cache.size, 1);
});
