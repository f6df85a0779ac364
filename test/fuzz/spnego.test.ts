// Fuzz: the SPNEGO decoders get SPNEGO_FUZZ_RUNS random and mutated inputs with a fixed seed;
// only SpnegoError subclasses may come out, and whatever is accepted re-encodes to the same value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeNegotiationToken, decodeNegTokenInit, decodeNegTokenResp, encodeNegTokenInit, encodeNegTokenInit2, encodeNegTokenResp,
  type NegotiationToken,
} from '../../lib/spnego/codec.js';
import { fromHex } from '../../lib/util/bytes.js';
import { DecodeError } from '../../lib/errors.js';
import { mitSpnego } from '../asn1/samples.js';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';

const samples: Uint8Array[] = [
  ...mitSpnego.sessions.flatMap((s) => s.tokens.map((t) => fromHex(t.hex))),
  fromHex(mitSpnego.negTokenInit2.hex),
  encodeNegTokenInit({ mechTypes: ['ms-krb5', 'krb5', 'negoex', 'ntlm'], mechToken: Uint8Array.of(1, 2, 3), mechListMIC: Uint8Array.of(4), reqFlags: 0xfe000000 }).token,
  encodeNegTokenInit({ mechTypes: ['krb5'] }, { framed: false }).token,
  encodeNegTokenInit2({ mechTypes: ['krb5', 'ntlm'], negHints: { hintName: 'h', hintAddress: Uint8Array.of(1) }, mechListMIC: Uint8Array.of(2) }).token,
  encodeNegTokenResp({ negState: 3, supportedMech: 'krb5' }),
  encodeNegTokenResp({ negState: 0, mechListMIC: Uint8Array.of(1, 2) }, { framed: true }),
];

/** Re-encodes a decoded token (when our encoder can express it) and checks it decodes to the same value. */
function roundTrip(d: NegotiationToken): void {
  let again: Uint8Array;
  if (d.kind === 'init') again = encodeNegTokenInit(d, { framed: d.framed }).token;
  else if (d.kind === 'init2') {
    if (d.mechTypes === undefined) return; // our encoder always sends a mech list
    again = encodeNegTokenInit2({ ...d, mechTypes: d.mechTypes, negHints: d.negHints ?? null }, { framed: d.framed }).token;
  } else {
    if (d.responseToken?.length === 0) return; // an empty responseToken is omitted on purpose
    again = encodeNegTokenResp(d, { framed: d.framed });
  }
  assert.deepEqual(decodeNegotiationToken(again), d);
}

const targets: { name: string; decode: (b: Uint8Array) => unknown }[] = [
  { name: 'decodeNegotiationToken', decode: (b) => roundTrip(decodeNegotiationToken(b)) },
  { name: 'decodeNegTokenInit', decode: decodeNegTokenInit },
  { name: 'decodeNegTokenResp', decode: decodeNegTokenResp },
];

for (const t of targets) {
  test(`fuzz ${t.name}: ${FUZZ_RUNS} inputs, only typed errors`, { timeout: 120_000 }, () => {
    const r = fuzzDecoder(samples, t.decode);
    assert.equal(r.accepted + r.rejected, FUZZ_RUNS);
    assert.ok(r.rejected > 0);
  });
}

test('the fuzz harness itself fails on an untyped exception and accepts typed ones', () => {
  assert.throws(() => fuzzDecoder(samples, () => { throw new TypeError('boom'); }, 10));
  assert.throws(() => fuzzDecoder(samples, () => JSON.parse('{'), 10));
  const typed = fuzzDecoder(samples, () => { throw new DecodeError('x', 'typed'); }, 10);
  assert.deepEqual(typed, { accepted: 0, rejected: 10 });
  const r = fuzzDecoder(samples, (b) => decodeNegotiationToken(b), 2000);
  assert.ok(r.accepted > 0, 'some mutated inputs are still valid tokens (mutations are not all trivially rejected)');
});
