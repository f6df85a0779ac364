// AES-128-CMAC against RFC 4493's test vectors (test/fixtures/smb2), the SP800-108 KDF against an
// independent HMAC computation of its definition, and the SMB 3.1.1 pre-auth hash chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { aesCmac, preauthUpdate, smb311SigningKey, smbSessionKey, sp800108HmacSha256 } from '../../lib/smb2/index.js';
import { UsageError } from '../../lib/errors.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';

const v = JSON.parse(readFileSync(new URL('../fixtures/smb2/rfc4493-aes-cmac.json', import.meta.url), 'utf8')) as {
  key: string; aes128_zero: string; k1: string; k2: string; examples: { mlen: number; message: string; tag: string }[];
};

test('AES-CMAC: RFC 4493 section 4 examples 1-4 (empty, one block, partial last block, four blocks)', () => {
  const key = fromHex(v.key);
  // the fixture's subkey example is consistent with AES itself (2.3)
  const enc = createCipheriv('aes-128-ecb', key, null).setAutoPadding(false);
  assert.equal(toHex(Buffer.concat([enc.update(Buffer.alloc(16)), enc.final()])), v.aes128_zero);
  for (const e of v.examples) {
    const m = fromHex(e.message);
    assert.equal(m.length, e.mlen);
    assert.equal(toHex(aesCmac(key, m)), e.tag, `Mlen ${e.mlen}`);
  }
});

test('AES-CMAC: a changed byte changes the tag; a key other than 16 bytes is a UsageError', () => {
  const key = fromHex(v.key);
  const m = fromHex(v.examples[2]!.message);
  m[39]! ^= 1;
  assert.notEqual(toHex(aesCmac(key, m)), v.examples[2]!.tag);
  assert.throws(() => aesCmac(new Uint8Array(32), m), UsageError);
});

test('SP800-108 counter-mode KDF with HMAC-SHA256: HMAC(K, 00000001 || label || 00 || context || 00000080), 16 bytes', () => {
  const k = Uint8Array.from({ length: 16 }, (_, i) => i + 1);
  const ctx = Uint8Array.from({ length: 64 }, (_, i) => 255 - i);
  const expected = createHmac('sha256', k).update(Buffer.concat([Buffer.from('00000001', 'hex'), Buffer.from('SMBSigningKey\0'), Buffer.of(0), ctx, Buffer.from('00000080', 'hex')])).digest().subarray(0, 16);
  assert.equal(toHex(smb311SigningKey(k, ctx)), toHex(expected));
  assert.equal(sp800108HmacSha256(k, new Uint8Array(0), ctx, 256).length, 32);
  assert.throws(() => sp800108HmacSha256(k, new Uint8Array(0), ctx, 300), UsageError);
});

test('session key: the GSS key\'s first 16 bytes, zero-padded when shorter (MS-SMB2 3.2.5.3.1)', () => {
  const k32 = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.deepEqual([...smbSessionKey(k32)], [...k32.subarray(0, 16)]);
  assert.deepEqual([...smbSessionKey(Uint8Array.of(9, 9))], [9, 9, ...new Array(14).fill(0)]);
});

test('pre-auth integrity: H(i) = SHA-512(H(i-1) || message)', () => {
  const h0 = new Uint8Array(64);
  const m = Uint8Array.of(1, 2, 3);
  assert.equal(toHex(preauthUpdate(h0, m)), createHash('sha512').update(Buffer.concat([h0, m])).digest('hex'));
});
