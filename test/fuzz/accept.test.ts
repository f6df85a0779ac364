// Fuzz: GSS Unwrap (RFC 4121 4.2.6.2 and RFC 4757 7.3) and Krb5Acceptor.accept end to end, each fed
// seeded random and mutated inputs (SPNEGO_FUZZ_RUNS, capped): only typed SpnegoErrors come out,
// and no mutated token is accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzDecoder, inputs, FUZZ_RUNS, FUZZ_SEED } from '../asn1/fuzz-inputs.js';
import { wrapToken, unwrapToken, type UnwrapResult } from '../../lib/krb5/gss/wrap.js';
import { Krb5Initiator } from '../../lib/krb5/initiator.js';
import { Krb5Acceptor } from '../../lib/krb5/acceptor.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { GssFlags } from '../../lib/krb5/gss/checksum.js';
import { generateKey } from '../../lib/krb5/crypto/index.js';
import { SpnegoError } from '../../lib/errors.js';
import { utf8 } from '../../lib/util/bytes.js';
import { client, makeServiceTicket } from '../krb5/ticket-fixture.js';

const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;

for (const enctype of [17, 18, 20, 23]) {
  test(`unwrapToken (enctype ${enctype}): typed errors only, and no mutated token accepted`, () => {
    const key = { enctype, keyvalue: new Uint8Array(enctype === 17 || enctype === 23 ? 16 : 32).fill(7) };
    const p = { key, fromAcceptor: true, acceptorSubkey: enctype !== 23 };
    const messages = [new Uint8Array(0), utf8.encode('hello'), new Uint8Array(40).fill(0x41)];
    const good: { token: Uint8Array; result: UnwrapResult }[] = [];
    for (const [i, m] of messages.entries()) {
      for (const sealed of [true, false]) {
        // Windows rotates by 28 (sealed) or 12 (integrity only), MS-KILE 3.4.5.4.1.
        for (const rrc of enctype === 23 ? [0] : [0, sealed ? 28 : 12]) {
          const token = wrapToken({ ...p, seqNumber: 1000 + i }, m, { encrypt: sealed, rrc });
          good.push({ token, result: unwrapToken(p, token) });
        }
      }
    }
    // What an unchanged token may differ in and still unwrap to the same thing:
    // - RFC 4121: RRC (bytes 6-7) is outside the checksum and the encrypted header copy (4.2.5);
    //   a rotation equal modulo the body length unwraps to the same message and sequence number.
    // - RFC 4757 7.3: SND_SEQ is encrypted but not checksummed; an integrity-only token whose 4
    //   sequence-number bytes change verifies as another sequence number (the context's sequence
    //   checks reject it), the message unchanged. The framed token's inner header starts at `off`.
    const benign = (b: Uint8Array, r: UnwrapResult) => good.some((g) => {
      if (same(g.token, b)) return true;
      if (!same(g.result.message, r.message) || g.result.encrypted !== r.encrypted || g.token.length !== b.length) return false;
      if (enctype !== 23) {
        return r.seqNumber === g.result.seqNumber && b.every((x, i) => x === g.token[i] || i === 6 || i === 7);
      }
      const off = 13; // 60 len | 06 09 <krb5 OID>, a short length for these sizes
      return !r.encrypted && b.every((x, i) => x === g.token[i] || (i >= off + 8 && i < off + 12));
    });
    let forged = 0;
    const r = fuzzDecoder(good.map((g) => g.token), (b) => {
      const res = unwrapToken(p, b);
      if (!benign(b, res)) forged++;
    }, Math.min(FUZZ_RUNS, 30000));
    assert.equal(forged, 0, 'a mutated Wrap token unwrapped to another message');
    assert.ok(r.rejected > 0 && r.accepted > 0, JSON.stringify(r));
  });
}

test('RFC 4757 unwrap: a token relabelled with another mechanism OID, or framed non-minimally, is refused (found by the fuzzer)', () => {
  const key = { enctype: 23, keyvalue: new Uint8Array(16).fill(7) };
  const p = { key, fromAcceptor: true, acceptorSubkey: false };
  const token = wrapToken({ ...p, seqNumber: 1 }, utf8.encode('hello'), { encrypt: false });
  assert.equal(token[4], 0x2a, 'the OID starts at byte 4');
  const relabelled = Uint8Array.from(token);
  relabelled[5] = 0x19; // 1.2.840... -> 1.1.25...: another OID, same length
  const longForm = Uint8Array.from([0x60, 0x81, ...token.subarray(1)]);
  for (const bad of [relabelled, longForm]) {
    assert.throws(() => unwrapToken(p, bad), (e: unknown) => e instanceof SpnegoError);
  }
  assert.deepEqual(unwrapToken(p, token).message, utf8.encode('hello'));
});

for (const enctype of [18, 23]) {
  test(`Krb5Acceptor.accept (enctype ${enctype}) end to end: typed errors only, no mutated AP-REQ accepted`, async () => {
    const serviceKey = generateKey(enctype, { allowWeak: true });
    const { ticket, sessionKey } = makeServiceTicket({ serviceKey });
    const t0 = Date.now();
    const replayCache = new MemoryReplayCache({ now: () => t0 });
    // keyFor ignores the names: a keytab where every alias shares the key, the hardest case.
    const acc = new Krb5Acceptor({ keyFor: () => serviceKey, replayCache, allowWeak: true, now: () => new Date(t0) });
    const seeds: Uint8Array[] = [];
    for (const flags of [GssFlags.mutual | GssFlags.integ | GssFlags.conf, GssFlags.integ, GssFlags.mutual | GssFlags.replay | GssFlags.sequence]) {
      const token = new Krb5Initiator({ client, ticket, sessionKey, flags, allowWeak: true, now: () => new Date(t0), etypeNegotiation: flags & GssFlags.integ ? [18, 17] : undefined }).step().token!;
      await acc.accept(token); // each seed is accepted once: every later copy of it is a replay
      seeds.push(token);
    }
    let accepted = 0;
    let rejected = 0;
    await fc.assert(
      fc.asyncProperty(inputs(seeds), async (b) => {
        try {
          await acc.accept(b);
          accepted++;
        } catch (e) {
          if (!(e instanceof SpnegoError)) throw e;
          rejected++;
        }
      }),
      { seed: FUZZ_SEED, numRuns: Math.min(FUZZ_RUNS, 20000), endOnFailure: true },
    );
    assert.equal(accepted, 0, 'a mutated AP-REQ was accepted');
    assert.ok(rejected > 0);
  });
}
