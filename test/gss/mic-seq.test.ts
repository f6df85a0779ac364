// RFC 4121 4.2.6.1 MIC tokens across the range of SND_SEQ (64 bits): the header carries the
// sequence number big-endian (checked against bytes written here independently), verifyMic returns
// it exactly on both sides of 2^32 and 2^53 (where the code switches from numbers to BigInt), and
// one changed byte of the sequence number, the checksum or the message is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getMic, verifyMic } from '../../lib/krb5/gss/mic.js';
import { GssError } from '../../lib/errors.js';

const key = { enctype: 18, keyvalue: Uint8Array.from({ length: 32 }, (_, i) => i * 7 + 1) };
const message = new TextEncoder().encode('sequence numbers');
const SEQS = [0n, 1n, 0xffffffffn, 0x100000000n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 53n + 1n, 2n ** 64n - 1n];

test('MIC tokens: SND_SEQ written big-endian and read back exactly across 2^32 and 2^53, up to 2^64 - 1', () => {
  for (const fromAcceptor of [false, true]) {
    for (const seq of SEQS) {
      const p = { key, fromAcceptor, acceptorSubkey: true };
      const token = getMic({ ...p, seqNumber: seq }, message);
      const be = new Uint8Array(8);
      new DataView(be.buffer).setBigUint64(0, seq);
      assert.deepEqual(token.subarray(8, 16), be, `SND_SEQ ${seq}`);
      // A number (below 2^53) and a bigint give the same token.
      if (seq < 2n ** 53n) assert.deepEqual(getMic({ ...p, seqNumber: Number(seq) }, message), token);
      assert.equal(verifyMic(p, message, token), seq);
      const bad = (edit: (t: Uint8Array, m: Uint8Array) => void) => {
        const t = Uint8Array.from(token);
        const m = Uint8Array.from(message);
        edit(t, m);
        assert.throws(() => verifyMic(p, m, t), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_BAD_MIC', `SND_SEQ ${seq}`);
      };
      bad((t) => { t[15]! ^= 1; });
      bad((t) => { t[8]! ^= 0x80; });
      bad((t) => { t[t.length - 1]! ^= 1; });
      bad((_t, m) => { m[0]! ^= 1; });
    }
  }
});
