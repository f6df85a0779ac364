/**
 * AES in CBC mode with ciphertext stealing, as RFC 3962 section 5 specifies it (the last two
 * blocks swapped, the final one truncated), which RFC 8009 reuses. Inputs of one block are plain
 * AES; inputs must be at least one block long (the confounder guarantees it).
 */
import { DecodeError } from '../../errors.js';
import { getCryptoProvider, type CryptoProvider } from './provider.js';

const B = 16;

export function ctsEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array, p: CryptoProvider = getCryptoProvider()): Uint8Array {
  const n = data.length;
  if (n < B) throw new RangeError('CTS input shorter than one block');
  if (n === B) return p.aesCbcEncrypt(key, iv, data);
  const padded = new Uint8Array(Math.ceil(n / B) * B);
  padded.set(data);
  const c = p.aesCbcEncrypt(key, iv, padded);
  const m = padded.length / B;
  const out = new Uint8Array(n);
  out.set(c.subarray(0, (m - 2) * B));
  out.set(c.subarray((m - 1) * B, m * B), (m - 2) * B); // last full block goes second to last
  out.set(c.subarray((m - 2) * B, (m - 2) * B + (n - (m - 1) * B)), (m - 1) * B); // truncated
  return out;
}

export function ctsDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array, p: CryptoProvider = getCryptoProvider()): Uint8Array {
  const n = data.length;
  if (n < B) throw new DecodeError('ciphertext', `shorter than one AES block (${n} bytes)`);
  if (n === B) return p.aesCbcDecrypt(key, iv, data);
  const m = Math.ceil(n / B);
  const r = n - (m - 1) * B; // bytes in the final, truncated block (1..16)
  const head = data.subarray(0, (m - 2) * B);
  const prev = m > 2 ? data.subarray((m - 3) * B, (m - 2) * B) : iv;
  const cLastFull = data.subarray((m - 2) * B, (m - 1) * B);
  const cPartial = data.subarray((m - 1) * B);
  // D = AES^-1(last full block) = (P_m || 0...) XOR C_{m-1}; C_{m-1} = partial || D[r..]
  const d = p.aesCbcDecrypt(key, new Uint8Array(B), cLastFull);
  const cPrev = new Uint8Array(B);
  cPrev.set(cPartial);
  cPrev.set(d.subarray(r), r);
  const pm = new Uint8Array(r);
  for (let i = 0; i < r; i++) pm[i] = d[i]! ^ cPartial[i]!;
  const pPrev = p.aesCbcDecrypt(key, prev, cPrev);
  const out = new Uint8Array(n);
  if (head.length) out.set(p.aesCbcDecrypt(key, iv, head));
  out.set(pPrev, (m - 2) * B);
  out.set(pm, (m - 1) * B);
  return out;
}
