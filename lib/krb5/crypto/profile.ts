/** The per-enctype adapter every enctype file implements (RFC 3961 section 3 operations). */
import { DecodeError, IntegrityError, UsageError } from '../../errors.js';
import { constantTimeEqual } from '../../util/bytes.js';

export interface Profile {
  enctype: number;
  /** IANA name, e.g. 'aes256-cts-hmac-sha1-96'. */
  name: string;
  keyBytes: number;
  /** The enctype's mandatory checksum type (RFC 3961 section 8). */
  checksumType: number;
  checksumBytes: number;
  blockSize: number;
  confounderBytes: number;
  /** True for rc4-hmac: refused unless weak crypto is enabled. */
  weak: boolean;
  stringToKey(password: Uint8Array, salt: Uint8Array, params?: Uint8Array): Uint8Array;
  /** The same with the PBKDF2 off the event loop (AES enctypes); absent when string-to-key is cheap (rc4: one MD4). */
  stringToKeyAsync?(password: Uint8Array, salt: Uint8Array, params?: Uint8Array): Promise<Uint8Array>;
  encrypt(key: Uint8Array, usage: number, plaintext: Uint8Array, confounder: Uint8Array): Uint8Array;
  decrypt(key: Uint8Array, usage: number, ciphertext: Uint8Array): Uint8Array;
  /** The checksum of the concatenation of `data` and `more` (callers need not copy a message to append a header). */
  checksum(key: Uint8Array, usage: number, data: Uint8Array, ...more: Uint8Array[]): Uint8Array;
  prf(key: Uint8Array, input: Uint8Array): Uint8Array;
}

/** The 5-byte derivation constant usage(BE32) || kind: 0x99 Kc, 0xAA Ke, 0x55 Ki (RFC 3961 5.3). */
export function usageConstant(usage: number, kind: number): Uint8Array {
  const c = new Uint8Array(5);
  new DataView(c.buffer).setUint32(0, usage >>> 0);
  c[4] = kind;
  return c;
}

/** Splits ciphertext || tag, checking there is room for at least `minBody` bytes of ciphertext. */
export function splitTag(ct: Uint8Array, tagBytes: number, minBody: number): [Uint8Array, Uint8Array] {
  if (ct.length < tagBytes + minBody) throw new DecodeError('ciphertext', `too short (${ct.length} bytes)`);
  return [ct.subarray(0, ct.length - tagBytes), ct.subarray(ct.length - tagBytes)];
}

export function verifyTag(expected: Uint8Array, got: Uint8Array): void {
  if (!constantTimeEqual(expected, got)) throw new IntegrityError('integrity check failed (wrong key or modified data)');
}

/**
 * The most PBKDF2 iterations string-to-key will run: MIT's limit (lib/crypto/krb/s2k_pbkdf2.c refuses
 * a count of 0x1000000 or more with KRB5_ERR_BAD_S2K_PARAMS). s2kparams usually come from an
 * unauthenticated ETYPE-INFO2, so without a cap a forged KDC reply could stall the client.
 */
export const MAX_PBKDF2_ITERATIONS = 0xffffff;

/**
 * The iteration count of AES s2kparams (RFC 3962 section 4, RFC 8009 section 4): absent or empty
 * means `dflt`, else exactly 4 bytes, big-endian. 0 means 2^32 (RFC 3962), which is over the cap.
 */
export function pbkdf2Iterations(name: string, params: Uint8Array | undefined, dflt: number): number {
  if (!params || params.length === 0) return dflt;
  if (params.length !== 4) {
    throw new UsageError(`${name} s2kparams must be a 4-byte iteration count, got ${params.length} bytes: the KDC's ETYPE-INFO2 (or the caller) gave malformed key generation parameters`);
  }
  const raw = new DataView(params.buffer, params.byteOffset, 4).getUint32(0);
  const iter = raw === 0 ? 2 ** 32 : raw;
  if (iter > MAX_PBKDF2_ITERATIONS) {
    throw new UsageError(`${name} s2kparams ask for ${iter} PBKDF2 iterations${raw === 0 ? ' (0 means 2^32)' : ''}, more than the cap of ${MAX_PBKDF2_ITERATIONS} (MIT's limit): check the principal's s2kparams on the KDC, or whether the KDC reply was forged`);
  }
  return iter;
}
