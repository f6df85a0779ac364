// RFC 2743 3.1 token framing's OID codec (lib/gssapi/token.ts): X.690 8.19 subidentifiers, arcs of
// any size (numbers while they are safe integers, bigints past 2^53), and malformed encodings refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeOid, encodeOid } from '../../lib/gssapi/token.js';
import { DecodeError } from '../../lib/errors.js';
import { toHex } from '../../lib/util/bytes.js';

/** X.690 8.19, written out independently of the code under test (bigint arithmetic throughout). */
function reference(dotted: string): string {
  const arcs = dotted.split('.').map(BigInt);
  const sub = [arcs[0]! * 40n + arcs[1]!, ...arcs.slice(2)];
  const out: number[] = [];
  for (let v of sub) {
    const groups = [Number(v & 0x7fn)];
    for (v >>= 7n; v > 0n; v >>= 7n) groups.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...groups);
  }
  return toHex(Uint8Array.from(out));
}

test('known OIDs encode to their DER contents', () => {
  assert.equal(toHex(encodeOid('1.2.840.113554.1.2.2')), '2a864886f712010202');
  assert.equal(toHex(encodeOid('1.3.6.1.5.5.2')), '2b0601050502');
  assert.equal(toHex(encodeOid('1.2.840.48018.1.2.2')), '2a864882f712010202');
  assert.equal(toHex(encodeOid('2.999.3')), '883703');
});

test('arcs around 2^46 and 2^53, and far beyond, round-trip and match X.690', () => {
  const big = ['70368744177663', '70368744177664', '9007199254740991', '9007199254740992', '9007199254740993', '340282366920938463463374607431768211457'];
  const oids = [
    ...big.map((a) => `1.2.${a}.7`),
    ...big.map((a) => `2.${a}`), // the first subidentifier is 80 + arc: past 2^53 for the larger ones
    '0.39', '1.39', '2.40', '2.0',
  ];
  for (const oid of oids) {
    const der = encodeOid(oid);
    assert.equal(toHex(der), reference(oid), oid);
    assert.equal(decodeOid(der), oid, oid);
  }
});

test('malformed dotted forms and encodings are refused', () => {
  for (const bad of ['', '1', '1.', '.1', '1..2', 'a.b', '3.1', '0.40', '1.40', '-1.2', '1.2.3e4', ' 1.2']) {
    assert.throws(() => encodeOid(bad), TypeError, bad);
  }
  assert.throws(() => decodeOid(new Uint8Array(0)), DecodeError);
  assert.throws(() => decodeOid(Uint8Array.of(0x2a, 0x80, 0x01)), DecodeError); // non-minimal arc
  assert.throws(() => decodeOid(Uint8Array.of(0x2a, 0x86)), DecodeError); // truncated arc
});
