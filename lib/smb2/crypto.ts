/**
 * SMB 3.1.1 signing crypto: AES-128-CMAC (RFC 4493; node:crypto has no CMAC, so it is built on
 * aes-128-ecb/cbc here) and the SP800-108 counter-mode KDF with HMAC-SHA256 (MS-SMB2 3.1.4.2).
 */
import { createCipheriv, createHash, createHmac } from 'node:crypto';
import { UsageError } from '../errors.js';

const BLOCK = 16;
const ZERO_IV = Buffer.alloc(BLOCK);

/** RFC 4493 2.3 step 1-3: K1 and K2 from L = AES-128(K, 0^128); left shift, xor Rb=0x87 on carry. */
function subkeys(key: Uint8Array): [Buffer, Buffer] {
  const enc = createCipheriv('aes-128-ecb', key, null);
  enc.setAutoPadding(false);
  const l = Buffer.concat([enc.update(Buffer.alloc(BLOCK)), enc.final()]);
  const k1 = shift(l);
  const k2 = shift(k1);
  return [k1, k2];
}

function shift(b: Buffer): Buffer {
  const out = Buffer.alloc(BLOCK);
  for (let i = 0; i < BLOCK; i++) out[i] = ((b[i]! << 1) | (i + 1 < BLOCK ? b[i + 1]! >> 7 : 0)) & 0xff;
  if (b[0]! & 0x80) out[BLOCK - 1]! ^= 0x87;
  return out;
}

/** RFC 4493 2.4: AES-CMAC(K, M), a 16-byte tag. The chain X := AES(K, X xor M_i) is AES-CBC with a zero IV. */
export function aesCmac(key: Uint8Array, message: Uint8Array): Uint8Array {
  if (key.length !== 16) throw new UsageError(`AES-128-CMAC needs a 16-byte key, got ${key.length} bytes`);
  const [k1, k2] = subkeys(key);
  const n = Math.max(1, Math.ceil(message.length / BLOCK));
  const complete = message.length > 0 && message.length % BLOCK === 0;
  const last = Buffer.alloc(BLOCK);
  const tail = message.subarray((n - 1) * BLOCK);
  last.set(tail);
  if (!complete) last[tail.length] = 0x80; // padding 10^i
  const k = complete ? k1 : k2;
  for (let i = 0; i < BLOCK; i++) last[i]! ^= k[i]!;
  const cbc = createCipheriv('aes-128-cbc', key, ZERO_IV);
  cbc.setAutoPadding(false);
  const out = Buffer.concat([cbc.update(message.subarray(0, (n - 1) * BLOCK)), cbc.update(last), cbc.final()]);
  return new Uint8Array(out.subarray(out.length - BLOCK));
}

/**
 * SP800-108 KDF in counter mode, PRF HMAC-SHA256, r = 32, one iteration (L <= 256):
 * HMAC(Ki, [1]_32 || Label || 0x00 || Context || [L]_32), truncated to L bits. MS-SMB2 3.1.4.2.
 */
export function sp800108HmacSha256(ki: Uint8Array, label: Uint8Array, context: Uint8Array, bits: number): Uint8Array {
  if (bits <= 0 || bits > 256 || bits % 8) throw new UsageError(`SP800-108 output length must be 8..256 bits in bytes, got ${bits}`);
  const i = Buffer.alloc(4);
  i.writeUInt32BE(1);
  const l = Buffer.alloc(4);
  l.writeUInt32BE(bits);
  const h = createHmac('sha256', ki).update(i).update(label).update(Buffer.of(0)).update(context).update(l).digest();
  return new Uint8Array(h.subarray(0, bits / 8));
}

/** MS-SMB2 3.2.5.3.1: Session.SessionKey is the GSS session key's first 16 bytes (zero-padded if shorter). */
export function smbSessionKey(gssKey: Uint8Array): Uint8Array {
  const k = new Uint8Array(16);
  k.set(gssKey.subarray(0, 16));
  return k;
}

/** MS-SMB2 3.2.5.3.1 (3.1.1): SigningKey = KDF(SessionKey, "SMBSigningKey\0", PreauthIntegrityHashValue), 128 bits. */
export function smb311SigningKey(sessionKey: Uint8Array, preauthHash: Uint8Array): Uint8Array {
  return sp800108HmacSha256(sessionKey, Buffer.from('SMBSigningKey\0', 'latin1'), preauthHash, 128);
}

/** MS-SMB2 3.2.5.2: H(i) = SHA-512(H(i-1) || message), H(0) = 64 zero bytes. */
export function preauthUpdate(hash: Uint8Array, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha512').update(hash).update(message).digest());
}
