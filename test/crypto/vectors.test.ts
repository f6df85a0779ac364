// Every published vector in test/fixtures/rfc-vectors.json (RFC 3961 A.1, RFC 3962 App. B,
// RFC 8009 App. A), plus known answers for MD4 (RFC 1320 A.5), RC4 and rc4-hmac string-to-key.
import { test as nodeTest } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { nodeProvider, nobleProvider, setCryptoProvider, type CryptoProvider } from '../../lib/krb5/crypto/index.js';
import { nfold, stringToKey, encrypt, decrypt, makeChecksum, prf, md4, rc4, getEncType } from '../../lib/krb5/crypto/index.js';
import { ctsEncrypt, ctsDecrypt } from '../../lib/krb5/crypto/aes-cts.js';
import { kdfHmacSha2 } from '../../lib/krb5/crypto/aes-sha2.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';

// Every test runs once per primitive provider: node:crypto and @noble.
function test(name: string, fn: () => void) {
  for (const p of [nodeProvider, nobleProvider] as CryptoProvider[]) {
    nodeTest(`${name} [${p.name}]`, () => {
      setCryptoProvider(p);
      try {
        fn();
      } finally {
        setCryptoProvider(nodeProvider);
      }
    });
  }
}

const V = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/rfc-vectors.json', import.meta.url)), 'utf8'));
const enctypeOf: Record<string, number> = { 'aes128-cts-hmac-sha256-128': 19, 'aes256-cts-hmac-sha384-192': 20 };

test('RFC 3961 A.1 n-fold: 11 vectors', () => {
  assert.equal(V.rfc3961_appendix_a1_nfold.length, 11);
  for (const v of V.rfc3961_appendix_a1_nfold) assert.equal(toHex(nfold(fromHex(v.input_hex), v.n_bits)), v.output, `${v.n_bits}-fold ${v.input_ascii}`);
});

test('RFC 3962 App. B string-to-key: 7 vectors, aes128 and aes256', () => {
  assert.equal(V.rfc3962_appendix_b_string_to_key.length, 7);
  for (const v of V.rfc3962_appendix_b_string_to_key) {
    const params = Uint8Array.of(0, 0, 0, 0);
    new DataView(params.buffer).setUint32(0, v.iterations);
    const pw = fromHex(v.passphrase_hex);
    const salt = fromHex(v.salt_hex);
    assert.equal(toHex(stringToKey(17, pw, salt, params).keyvalue), v.aes128_key, `aes128 ${v.iterations}`);
    assert.equal(toHex(stringToKey(18, pw, salt, params).keyvalue), v.aes256_key, `aes256 ${v.iterations}`);
  }
});

test('RFC 3962 App. B AES-CTS: 6 vectors, both directions', () => {
  assert.equal(V.rfc3962_appendix_b_aes_cts.length, 6);
  for (const v of V.rfc3962_appendix_b_aes_cts) {
    assert.equal(toHex(ctsEncrypt(fromHex(v.key), fromHex(v.iv), fromHex(v.input))), v.output);
    assert.equal(toHex(ctsDecrypt(fromHex(v.key), fromHex(v.iv), fromHex(v.output))), v.input);
  }
});

test('RFC 8009 App. A: 20 vectors (string-to-key, key derivation, encryption, checksum, PRF)', () => {
  const a = V.rfc8009_appendix_a;
  let n = 0;
  for (const v of a.string_to_key) {
    const k = stringToKey(enctypeOf[v.enctype]!, v.passphrase, fromHex(v.salt_hex), fromHex(v.s2kparams_hex));
    assert.equal(toHex(k.keyvalue), v.base_key);
    n++;
  }
  for (const v of a.key_derivation) {
    const hash = enctypeOf[v.enctype] === 19 ? 'sha256' : 'sha384';
    const got = kdfHmacSha2(hash, fromHex(v.base_key), fromHex(v.label_hex), (v.derived.length / 2) * 8);
    assert.equal(toHex(got), v.derived, `${v.enctype} ${v.which}`);
    n++;
  }
  for (const v of a.encryption) {
    const et = enctypeOf[v.enctype]!;
    const key = { enctype: et, keyvalue: fromHex(v.base_key) };
    const ct = encrypt(key, v.usage, fromHex(v.plaintext), { confounder: fromHex(v.confounder) });
    assert.equal(toHex(ct), v.ciphertext);
    assert.equal(toHex(decrypt(key, v.usage, ct)), v.plaintext);
    n++;
  }
  for (const v of a.checksum) {
    const et = enctypeOf[v.enctype]!;
    assert.equal(toHex(makeChecksum({ enctype: et, keyvalue: fromHex(v.base_key) }, v.usage, fromHex(v.plaintext))), v.checksum);
    n++;
  }
  for (const v of a.prf) {
    assert.equal(toHex(prf({ enctype: enctypeOf[v.enctype]!, keyvalue: fromHex(v.base_key) }, fromHex(v.input))), v.output);
    n++;
  }
  assert.equal(n, 20);
});

test('MD4 (RFC 1320 A.5 test suite)', () => {
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [m, h] of suite) assert.equal(toHex(md4(new TextEncoder().encode(m))), h, m);
});

test('RC4 keystream (RFC 6229, key 0102030405, offsets 0 and 16)', () => {
  const ks = rc4(fromHex('0102030405'), new Uint8Array(32));
  assert.equal(toHex(ks), 'b2396305f03dc027ccc3524a0a1118a8' + '6982944f18fc82d589c403a47a0d0919');
});

test('rc4-hmac string-to-key is MD4(UTF-16LE password), and rc4 needs allowWeak', () => {
  assert.throws(() => getEncType(23), /weak/);
  assert.equal(toHex(stringToKey(23, 'password', '', undefined, { allowWeak: true }).keyvalue), '8846f7eaee8fb117ad06bdd830b7586c');
});

test('stringToKeyAsync gives the RFC 3962 vectors, under both providers (PBKDF2 off the event loop)', async () => {
  const { stringToKeyAsync, setCryptoProvider, nodeProvider, nobleProvider } = await import('../../lib/krb5/crypto/index.js');
  for (const provider of [nodeProvider, nobleProvider]) {
    setCryptoProvider(provider);
    try {
      for (const v of V.rfc3962_appendix_b_string_to_key.filter((x: { iterations: number }) => x.iterations <= 1200)) {
        const params = Uint8Array.of(0, 0, 0, 0);
        new DataView(params.buffer).setUint32(0, v.iterations);
        const pw = fromHex(v.passphrase_hex);
        const salt = fromHex(v.salt_hex);
        assert.equal(toHex((await stringToKeyAsync(17, pw, salt, params)).keyvalue), v.aes128_key);
        assert.equal(toHex((await stringToKeyAsync(18, pw, salt, params)).keyvalue), v.aes256_key);
      }
      // RFC 8009 enctypes and rc4: the same bytes as the synchronous function.
      for (const et of [19, 20, 23]) {
        const a = stringToKey(et, 'Passw0rd', 'EXAMPLE.TESTalice', undefined, { allowWeak: true });
        const b = await stringToKeyAsync(et, 'Passw0rd', 'EXAMPLE.TESTalice', undefined, { allowWeak: true });
        assert.equal(toHex(b.keyvalue), toHex(a.keyvalue), `enctype ${et}`);
      }
    } finally {
      setCryptoProvider(nodeProvider);
    }
  }
});
