/**
 * AES in CBC mode with ciphertext stealing, as RFC 3962 section 5 specifies it (the last two
 * blocks swapped, the final one truncated), which RFC 8009 reuses. Inputs of one block are plain
 * AES; inputs must be at least one block long (the confounder guarantees it).
 * The CBC part is one call into the provider's prepared cipher, whatever the length.
 */
import { DecodeError } from '../../errors.js';
import { getCryptoProvider, prepareAesCbc, type AesCbc, type CryptoProvider } from './provider.js';

const B = 16;

/**
 * Where ctsDecryptWith reorders ciphertext (public bytes only) for inputs up to its size: one
 * array reused, not an ArrayBuffer per message. Safe because the cipher call that reads it is
 * synchronous and returns its own array (AesCbc.decrypt leaves `data` as it is).
 */
const reorderScratch = new Uint8Array(4096);

/** The zero-padded buffer ctsEncryptPadded wants for `n` bytes of plaintext. */
export function ctsPadded(n: number): Uint8Array {
  return new Uint8Array(Math.ceil(n / B) * B);
}

/**
 * CTS-encrypts the first `n` bytes of `padded` (a ctsPadded(n) buffer, zero past n; it is consumed)
 * and writes the n ciphertext bytes to `out` at `at`.
 */
export function ctsEncryptPadded(cbc: AesCbc, iv: Uint8Array, padded: Uint8Array, n: number, out: Uint8Array, at = 0): void {
  if (n < B) throw new RangeError('CTS input shorter than one block');
  const c = cbc.encrypt(iv, padded);
  if (n === B) {
    out.set(c, at);
    return;
  }
  const m = padded.length / B;
  out.set(c.subarray(0, (m - 2) * B), at);
  out.set(c.subarray((m - 1) * B, m * B), at + (m - 2) * B); // last full block goes second to last
  out.set(c.subarray((m - 2) * B, (m - 2) * B + (n - (m - 1) * B)), at + (m - 1) * B); // truncated
}

export function ctsEncryptWith(cbc: AesCbc, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n < B) throw new RangeError('CTS input shorter than one block');
  const padded = ctsPadded(n);
  padded.set(data);
  const out = new Uint8Array(n);
  ctsEncryptPadded(cbc, iv, padded, n, out);
  return out;
}

export function ctsDecryptWith(cbc: AesCbc, iv: Uint8Array, data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n < B) throw new DecodeError('ciphertext', `shorter than one AES block (${n} bytes)`);
  if (n === B) return cbc.decrypt(iv, data);
  const m = Math.ceil(n / B);
  const r = n - (m - 1) * B; // bytes in the final, truncated block (1..16)
  const cLastFull = data.subarray((m - 2) * B, (m - 1) * B); // C_m, sent second to last
  const cPartial = data.subarray((m - 1) * B); // the first r bytes of C_{m-1}
  // D(C_m) = (P_m || 0...) XOR C_{m-1}, so C_{m-1} = partial || D(C_m)[r..]. With C_{m-1} rebuilt,
  // plain CBC over C_1..C_{m-2}, C_{m-1}, C_m gives P_1..P_m (then zeros): one cipher call.
  const d = cbc.decrypt(new Uint8Array(B), cLastFull);
  const ordered = m * B <= reorderScratch.length ? reorderScratch.subarray(0, m * B) : new Uint8Array(m * B);
  ordered.set(data.subarray(0, (m - 2) * B));
  ordered.set(cPartial, (m - 2) * B);
  ordered.set(d.subarray(r), (m - 2) * B + r);
  ordered.set(cLastFull, (m - 1) * B);
  return cbc.decrypt(iv, ordered).subarray(0, n);
}

/** One-shot forms (RFC 3962 test vectors, callers without a prepared key). */
export function ctsEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array, p: CryptoProvider = getCryptoProvider()): Uint8Array {
  return ctsEncryptWith(prepareAesCbc(p, key), iv, data);
}

export function ctsDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array, p: CryptoProvider = getCryptoProvider()): Uint8Array {
  return ctsDecryptWith(prepareAesCbc(p, key), iv, data);
}
