/**
 * aes128-cts-hmac-sha256-128 (19) and aes256-cts-hmac-sha384-192 (20), RFC 8009: keys derived with
 * KDF-HMAC-SHA2 (SP 800-108 counter mode), encrypt-then-MAC over IV || ciphertext.
 * Ke, Ki and Kc are derived once per key and usage (key-cache.ts).
 */
import { concatBytes } from '../../util/bytes.js';
import { ctsEncryptPadded, ctsDecryptWith, ctsPadded } from './aes-cts.js';
import { DerivedKind, derived } from './key-cache.js';
import { getCryptoProvider, prepareAesCbc, prepareMac } from './provider.js';
import { type Profile, usageConstant, splitTag, verifyTag, pbkdf2Iterations } from './profile.js';

const ZERO_IV = new Uint8Array(16);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** The KDF's input after the key: 00000001 | label | 00 | [context |] k (bits, BE32). */
function kdfInput(label: Uint8Array, bits: number, context: Uint8Array): Uint8Array {
  const k = new Uint8Array(4);
  new DataView(k.buffer).setUint32(0, bits);
  return concatBytes(Uint8Array.of(0, 0, 0, 1), label, Uint8Array.of(0), context, k);
}

/** RFC 8009 section 3: KDF-HMAC-SHA2(key, label, [context,] k) = k-truncate(HMAC(key, 00000001 | label | 00 | [context |] k)). */
export function kdfHmacSha2(hash: 'sha256' | 'sha384', key: Uint8Array, label: Uint8Array, bits: number, context: Uint8Array = new Uint8Array(0)): Uint8Array {
  return getCryptoProvider().hmac(hash, key, kdfInput(label, bits, context)).slice(0, bits / 8);
}

function make(enctype: 19 | 20, name: string, keyBytes: 16 | 32, hash: 'sha256' | 'sha384', macBytes: 16 | 24, checksumType: number): Profile {
  const kdf = (key: Uint8Array, label: Uint8Array, bits: number, context?: Uint8Array) => kdfHmacSha2(hash, key, label, bits, context);
  // One HMAC per derivation on the base key, not cached (each usage is derived once per key).
  const dk = (key: Uint8Array, usage: number, kind: number, bits: number) => kdf(key, usageConstant(usage, kind), bits);
  const ke = (key: Uint8Array, usage: number) => derived(key, enctype, usage, DerivedKind.KE, (p) => prepareAesCbc(p, dk(key, usage, DerivedKind.KE, keyBytes * 8)));
  const ki = (key: Uint8Array, usage: number) => derived(key, enctype, usage, DerivedKind.KI, (p) => prepareMac(p, hash, dk(key, usage, DerivedKind.KI, macBytes * 8)));
  const kc = (key: Uint8Array, usage: number) => derived(key, enctype, usage, DerivedKind.KC, (p) => prepareMac(p, hash, dk(key, usage, DerivedKind.KC, macBytes * 8)));
  const saltp = (salt: Uint8Array) => concatBytes(utf8(name), Uint8Array.of(0), salt); // RFC 8009 section 4
  // s2kparams: a 4-byte big-endian iteration count, default 32768 (RFC 8009 section 4)
  const iterations = (params?: Uint8Array) => pbkdf2Iterations(name, params, 32768);
  return {
    enctype, name, keyBytes, checksumType, checksumBytes: macBytes, blockSize: 16, confounderBytes: 16, weak: false,
    stringToKey(password, salt, params) {
      const tkey = getCryptoProvider().pbkdf2(hash, password, saltp(salt), iterations(params), keyBytes);
      return kdf(tkey, utf8('kerberos'), keyBytes * 8);
    },
    async stringToKeyAsync(password, salt, params) {
      const tkey = await getCryptoProvider().pbkdf2Async(hash, password, saltp(salt), iterations(params), keyBytes);
      return kdf(tkey, utf8('kerberos'), keyBytes * 8);
    },
    encrypt(key, usage, plaintext, confounder) {
      // C = E(Ke, confounder | plaintext); H = HMAC(Ki, IV | C) truncated (RFC 8009 section 5)
      const n = confounder.length + plaintext.length;
      const padded = ctsPadded(n);
      padded.set(confounder);
      padded.set(plaintext, confounder.length);
      const out = new Uint8Array(n + macBytes);
      ctsEncryptPadded(ke(key, usage), ZERO_IV, padded, n, out);
      out.set(ki(key, usage)(ZERO_IV, out.subarray(0, n)).subarray(0, macBytes), n);
      return out;
    },
    decrypt(key, usage, ciphertext) {
      const [c, tag] = splitTag(ciphertext, macBytes, 16);
      verifyTag(ki(key, usage)(ZERO_IV, c).subarray(0, macBytes), tag);
      return ctsDecryptWith(ke(key, usage), ZERO_IV, c).subarray(16);
    },
    checksum(key, usage, data, ...more) {
      return kc(key, usage)(data, ...more).subarray(0, macBytes);
    },
    prf(key, input) {
      return kdf(key, utf8('prf'), hash === 'sha256' ? 256 : 384, input);
    },
  };
}

export const aes128CtsHmacSha256128 = make(19, 'aes128-cts-hmac-sha256-128', 16, 'sha256', 16, 19);
export const aes256CtsHmacSha384192 = make(20, 'aes256-cts-hmac-sha384-192', 32, 'sha384', 24, 20);
