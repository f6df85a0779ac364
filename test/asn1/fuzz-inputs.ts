/**
 * Fuzz helpers shared by test/fuzz/asn1.test.ts and test/fuzz/spnego.test.ts: a fast-check arbitrary of inputs for
 * a decoder (random bytes, random bytes under a plausible outer header, and valid encodings with
 * a few mutations: bit flips, byte changes, truncations, insertions, deletions, length-octet
 * edits), and a runner that accepts only the library's typed errors.
 */
import fc from 'fast-check';
import { SpnegoError } from '../../lib/errors.js';

export const FUZZ_RUNS = Number(process.env.SPNEGO_FUZZ_RUNS ?? 100000);
export const FUZZ_SEED = Number(process.env.SPNEGO_FUZZ_SEED ?? 0x5eed4178);

const lengthValues = [0x00, 0x01, 0x7f, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x88, 0xff];

type Mutation = [kind: number, pos: number, value: number];

function applyMutations(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b = Array.from(src);
  for (const [kind, pos0, value] of muts) {
    const n = b.length;
    const pos = n === 0 ? 0 : pos0 % n;
    switch (kind) {
      case 0: // bit flip
        if (n) b[pos]! ^= 1 << (value & 7);
        break;
      case 1: // byte change
        if (n) b[pos] = value & 0xff;
        break;
      case 2: // truncation
        b = b.slice(0, pos);
        break;
      case 3: // insertion
        b.splice(pos, 0, value & 0xff);
        break;
      case 4: // deletion
        b.splice(pos, 1);
        break;
      case 5: // length-octet edit: the octet after a tag-looking byte gets an interesting value
        for (let i = pos; i + 1 < n; i++)
          if (b[i] === 0x30 || (b[i]! & 0xe0) === 0xa0 || (b[i]! & 0xe0) === 0x60 || b[i] === 0x04) {
            b[i + 1] = value % 3 === 0 ? lengthValues[value % lengthValues.length]! : (b[i + 1]! + (value & 1 ? 1 : -1)) & 0xff;
            break;
          }
        break;
      case 6: // duplicate a slice (grows nesting)
        b.splice(pos, 0, ...b.slice(pos, pos + 1 + (value & 31)));
        break;
      default: // append bytes
        b.push(value & 0xff, (value >> 8) & 0xff);
    }
  }
  return Uint8Array.from(b);
}

/** 30% random inputs (half of them under the sample's outer tag and a correct length), 70% mutated samples. */
export function inputs(samples: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const tags = [...new Set(samples.map((s) => s[0]!))];
  const random = fc.tuple(fc.boolean(), fc.nat(tags.length - 1), fc.uint8Array({ maxLength: 80 })).map(([wrap, t, body]) => {
    if (!wrap) return body;
    const len = body.length < 0x80 ? [body.length] : [0x81, body.length];
    return Uint8Array.from([tags[t]!, ...len, ...body]);
  });
  const mutation = fc.tuple(fc.nat(7), fc.nat(), fc.nat(0xffff));
  const mutated = fc
    .tuple(fc.nat(samples.length - 1), fc.array(mutation, { minLength: 1, maxLength: 4 }))
    .map(([i, muts]) => applyMutations(samples[i]!, muts as Mutation[]));
  return fc.oneof({ arbitrary: random, weight: 3 }, { arbitrary: mutated, weight: 7 });
}

/**
 * Runs `decode` on FUZZ_RUNS inputs (fixed seed): it may return or throw a SpnegoError, nothing
 * else. Returns how many inputs decoded successfully (so a caller can check the mutations are not
 * all trivially rejected).
 */
export function fuzzDecoder(samples: Uint8Array[], decode: (b: Uint8Array) => unknown, numRuns = FUZZ_RUNS): { accepted: number; rejected: number } {
  let accepted = 0;
  let rejected = 0;
  fc.assert(
    fc.property(inputs(samples), (b) => {
      try {
        decode(b);
        accepted++;
      } catch (e) {
        if (!(e instanceof SpnegoError)) throw e;
        rejected++;
      }
    }),
    { seed: FUZZ_SEED, numRuns, endOnFailure: true },
  );
  return { accepted, rejected };
}
