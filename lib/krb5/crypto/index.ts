/**
 * Kerberos crypto (RFC 3961 framework): one adapter per enctype, chosen by number.
 * rc4-hmac is refused unless `allowWeak` is passed (RFC 8429 deprecates it).
 */
import { IntegrityError, UsageError } from '../../errors.js';
import type { Key } from '../types.js';
import { constantTimeEqual, utf8 } from '../../util/bytes.js';
import { aes128CtsHmacSha196, aes256CtsHmacSha196 } from './aes-sha1.js';
import { aes128CtsHmacSha256128, aes256CtsHmacSha384192 } from './aes-sha2.js';
import { rc4Hmac } from './rc4-hmac.js';
import type { Profile } from './profile.js';
import { getCryptoProvider } from './provider.js';

export type { Profile as EncTypeProfile } from './profile.js';
export { getCryptoProvider, setCryptoProvider, nodeProvider, type CryptoProvider } from './provider.js';
export { nobleProvider } from './noble-provider.js';
export { nfold } from './nfold.js';
export { rc4 } from './rc4.js';
export { md4 } from './md4.js';

const PROFILES: Record<number, Profile> = {
  17: aes128CtsHmacSha196,
  18: aes256CtsHmacSha196,
  19: aes128CtsHmacSha256128,
  20: aes256CtsHmacSha384192,
  23: rc4Hmac,
};

export interface CryptoOptions {
  /** Allow rc4-hmac (weak). Off by default. */
  allowWeak?: boolean;
}

export function getEncType(enctype: number, opts: CryptoOptions = {}): Profile {
  const p = PROFILES[enctype];
  if (!p) throw new UsageError(`unsupported enctype ${enctype}`);
  if (p.weak && !opts.allowWeak) throw new UsageError(`enctype ${p.name} (${enctype}) is weak and disabled; pass allowWeak to use it`);
  return p;
}

function profileFor(key: Key, opts?: CryptoOptions): Profile {
  const p = getEncType(key.enctype, opts);
  if (key.keyvalue.length !== p.keyBytes) throw new UsageError(`${p.name} key must be ${p.keyBytes} bytes, got ${key.keyvalue.length}`);
  return p;
}

/** RFC 3961 encrypt: confounder, encryption and integrity tag. */
export function encrypt(key: Key, usage: number, plaintext: Uint8Array, opts: CryptoOptions & { confounder?: Uint8Array } = {}): Uint8Array {
  const p = profileFor(key, opts);
  const confounder = opts.confounder ?? getCryptoProvider().randomBytes(p.confounderBytes);
  if (confounder.length !== p.confounderBytes) throw new UsageError(`confounder must be ${p.confounderBytes} bytes`);
  return p.encrypt(key.keyvalue, usage, plaintext, confounder);
}

/** RFC 3961 decrypt; throws IntegrityError when the tag does not verify. */
export function decrypt(key: Key, usage: number, ciphertext: Uint8Array, opts: CryptoOptions = {}): Uint8Array {
  return profileFor(key, opts).decrypt(key.keyvalue, usage, ciphertext);
}

/** The keyed checksum of the key's enctype (only the mandatory checksum type is supported). */
export function makeChecksum(key: Key, usage: number, data: Uint8Array, cksumtype?: number, opts: CryptoOptions = {}): Uint8Array {
  const p = profileFor(key, opts);
  if (cksumtype !== undefined && cksumtype !== p.checksumType) throw new UsageError(`checksum type ${cksumtype} does not go with ${p.name}`);
  return p.checksum(key.keyvalue, usage, data);
}

/** makeChecksum over the concatenation of `parts`, without copying them into one array first. */
export function makeChecksumOf(key: Key, usage: number, parts: [Uint8Array, ...Uint8Array[]], opts: CryptoOptions = {}): Uint8Array {
  return profileFor(key, opts).checksum(key.keyvalue, usage, ...parts);
}

/** verifyChecksum over the concatenation of `parts`, without copying them into one array first. */
export function verifyChecksumOf(key: Key, usage: number, parts: [Uint8Array, ...Uint8Array[]], checksum: Uint8Array, cksumtype?: number, opts: CryptoOptions = {}): void {
  const p = profileFor(key, opts);
  if (cksumtype !== undefined && cksumtype !== p.checksumType) throw new UsageError(`checksum type ${cksumtype} does not go with ${p.name}`);
  if (!constantTimeEqual(p.checksum(key.keyvalue, usage, ...parts), checksum)) throw new IntegrityError('checksum does not verify');
}

/** Verifies a checksum in constant time; throws IntegrityError on mismatch. */
export function verifyChecksum(key: Key, usage: number, data: Uint8Array, checksum: Uint8Array, cksumtype?: number, opts: CryptoOptions = {}): void {
  if (!constantTimeEqual(makeChecksum(key, usage, data, cksumtype, opts), checksum)) throw new IntegrityError('checksum does not verify');
}

/** RFC 3961 string-to-key with salt and s2kparams. */
export function stringToKey(enctype: number, password: string | Uint8Array, salt: string | Uint8Array, params?: Uint8Array, opts: CryptoOptions = {}): Key {
  const p = getEncType(enctype, opts);
  const pw = typeof password === 'string' ? utf8.encode(password) : password;
  const s = typeof salt === 'string' ? utf8.encode(salt) : salt;
  return { enctype, keyvalue: p.stringToKey(pw, s, params) };
}

/**
 * stringToKey with the PBKDF2 iterations (4096 for aes-sha1, 32768 for aes-sha2) off the event
 * loop: what the KDC client uses, so a password logon never stalls a server. Same bytes.
 */
export async function stringToKeyAsync(enctype: number, password: string | Uint8Array, salt: string | Uint8Array, params?: Uint8Array, opts: CryptoOptions = {}): Promise<Key> {
  const p = getEncType(enctype, opts);
  const pw = typeof password === 'string' ? utf8.encode(password) : password;
  const s = typeof salt === 'string' ? utf8.encode(salt) : salt;
  return { enctype, keyvalue: p.stringToKeyAsync ? await p.stringToKeyAsync(pw, s, params) : p.stringToKey(pw, s, params) };
}

/** random-to-key: the identity for AES and RC4 keys. */
export function randomToKey(enctype: number, bytes: Uint8Array, opts: CryptoOptions = {}): Key {
  const p = getEncType(enctype, opts);
  if (bytes.length !== p.keyBytes) throw new UsageError(`${p.name} needs ${p.keyBytes} random bytes`);
  return { enctype, keyvalue: Uint8Array.from(bytes) };
}

export function generateKey(enctype: number, opts: CryptoOptions = {}): Key {
  const p = getEncType(enctype, opts);
  return { enctype, keyvalue: getCryptoProvider().randomBytes(p.keyBytes) };
}

/** RFC 3961 pseudo-random function of the key's enctype. */
export function prf(key: Key, input: Uint8Array, opts: CryptoOptions = {}): Uint8Array {
  return profileFor(key, opts).prf(key.keyvalue, input);
}
