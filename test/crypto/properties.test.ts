// Properties for every enctype: decrypt(encrypt(m)) = m for random lengths 0..2000; any changed
// byte of a ciphertext or a checksum is an IntegrityError; node:crypto and @noble give identical bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { IntegrityError, SpnegoError } from '../../lib/errors.js';
import {
  encrypt, decrypt, makeChecksum, verifyChecksum, generateKey, stringToKey, prf, getEncType,
  setCryptoProvider, nodeProvider, nobleProvider,
} from '../../lib/krb5/crypto/index.js';

const ENCTYPES = [17, 18, 19, 20, 23];
const opts = { allowWeak: true };
const SEED = 4121;

for (const et of ENCTYPES) {
  const name = getEncType(et, opts).name;

  test(`${name}: decrypt(encrypt(m)) = m, lengths 0..2000`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 2000 }), fc.integer({ min: 1, max: 1024 }), (m, usage) => {
        const key = generateKey(et, opts);
        assert.deepEqual(decrypt(key, usage, encrypt(key, usage, m, opts), opts), m);
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  test(`${name}: any modified ciphertext byte is an IntegrityError`, () => {
    const key = generateKey(et, opts);
    const m = new Uint8Array(37).map((_, i) => i);
    const ct = encrypt(key, 11, m, opts);
    for (let i = 0; i < ct.length; i++) {
      const bad = Uint8Array.from(ct);
      bad[i]! ^= 0x01 << (i % 8);
      assert.throws(() => decrypt(key, 11, bad, opts), IntegrityError, `byte ${i}`);
    }
    // a different key usage or key does not decrypt either
    assert.throws(() => decrypt(key, 12, ct, opts), IntegrityError);
    assert.throws(() => decrypt(generateKey(et, opts), 11, ct, opts), IntegrityError);
    // truncated input: typed error, never anything else
    for (let n = 0; n < ct.length; n++) assert.throws(() => decrypt(key, 11, ct.subarray(0, n), opts), SpnegoError);
  });

  test(`${name}: any modified checksum byte is an IntegrityError`, () => {
    const key = generateKey(et, opts);
    const data = new TextEncoder().encode('the mechListMIC covers the MechTypeList DER');
    const ck = makeChecksum(key, 23, data, undefined, opts);
    assert.equal(ck.length, getEncType(et, opts).checksumBytes);
    verifyChecksum(key, 23, data, ck, undefined, opts);
    for (let i = 0; i < ck.length; i++) {
      const bad = Uint8Array.from(ck);
      bad[i]! ^= 0x80;
      assert.throws(() => verifyChecksum(key, 23, data, bad, undefined, opts), IntegrityError);
    }
    assert.throws(() => verifyChecksum(key, 25, data, ck, undefined, opts), IntegrityError);
  });

  test(`${name}: node:crypto and @noble give identical bytes`, () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 600 }), fc.integer({ min: 1, max: 30 }), (m, usage) => {
        const key = generateKey(et, opts);
        const confounder = new Uint8Array(getEncType(et, opts).confounderBytes).fill(usage);
        const run = () => [encrypt(key, usage, m, { ...opts, confounder }), makeChecksum(key, usage, m, undefined, opts), prf(key, m, opts)];
        setCryptoProvider(nobleProvider);
        let noble: Uint8Array[];
        try {
          noble = run();
        } finally {
          setCryptoProvider(nodeProvider);
        }
        assert.deepEqual(run(), noble);
      }),
      { seed: SEED, numRuns: 60 },
    );
    setCryptoProvider(nobleProvider);
    let k2: Uint8Array;
    try {
      k2 = stringToKey(et, 'pässwörd', 'EXAMPLE.TESTalice', undefined, opts).keyvalue;
    } finally {
      setCryptoProvider(nodeProvider);
    }
    assert.deepEqual(stringToKey(et, 'pässwörd', 'EXAMPLE.TESTalice', undefined, opts).keyvalue, k2);
  });
}
