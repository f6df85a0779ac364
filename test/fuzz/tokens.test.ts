// Fuzz: the token describer behind `spnego decode`, and MIC verification (RFC 4121 and RFC 4757),
// each fed SPNEGO_FUZZ_RUNS seeded random and mutated inputs: only typed errors come out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';
import { describeToken } from '../../lib/cli/describe.js';
import { getMic, verifyMic } from '../../lib/krb5/gss/mic.js';
import { fromHex } from '../../lib/util/bytes.js';

const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/asn1/mit-spnego.json', import.meta.url)), 'utf8'));
const mitTokens: Uint8Array[] = fx.sessions.flatMap((s: any) => s.tokens.map((t: any) => fromHex(t.hex)));

test('describeToken: typed errors only', () => {
  const r = fuzzDecoder([...mitTokens, fromHex(fx.negTokenInit2.hex)], (b) => JSON.stringify(describeToken(b)));
  assert.ok(r.accepted > 0 && r.rejected > 0, JSON.stringify(r));
});

for (const enctype of [18, 20, 23]) {
  test(`verifyMic (enctype ${enctype}): typed errors only, and no forgery accepted`, () => {
    const key = { enctype, keyvalue: new Uint8Array(enctype === 23 ? 16 : 32).fill(9) };
    const data = fromHex('300b06092a864886f712010202');
    const good = [0, 1, 77].map((seq) => getMic({ key, seqNumber: seq, fromAcceptor: true, acceptorSubkey: true }, data));
    let forged = 0;
    // RFC 4757 7.2 encrypts SND_SEQ but does not checksum it: an edit confined to the 4 sequence-number
    // bytes verifies as another sequence number (the context's sequence checks reject it). Any other
    // accepted change is a forgery.
    const seqOnly = (g: Uint8Array, b: Uint8Array) =>
      enctype === 23 && g.length === b.length && b.every((x, i) => x === g[i] || (i >= 21 && i < 25));
    const r = fuzzDecoder(good, (b) => {
      const seq = verifyMic({ key, fromAcceptor: true, acceptorSubkey: true }, data, b);
      if (!good.some((g) => Buffer.compare(g, b) === 0 || (seqOnly(g, b) && ![0n, 1n, 77n].includes(seq)))) forged++;
    }, Math.min(FUZZ_RUNS, 30000));
    assert.equal(forged, 0, 'a mutated MIC verified');
    assert.ok(r.rejected > 0);
  });
}
