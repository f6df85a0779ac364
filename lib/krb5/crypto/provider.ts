/**
 * The primitives the Kerberos crypto needs, behind one small interface so that the RFC 3961
 * code never touches a crypto library directly. The default provider is node:crypto.
 */
import * as nodeCrypto from 'node:crypto';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5';

export interface CryptoProvider {
  readonly name: string;
  /** AES-CBC without padding; `data.length` must be a multiple of 16. */
  aesCbcEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
  aesCbcDecrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array;
  hmac(hash: HashName, key: Uint8Array, data: Uint8Array): Uint8Array;
  hash(hash: HashName, data: Uint8Array): Uint8Array;
  pbkdf2(hash: 'sha1' | 'sha256' | 'sha384', password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Uint8Array;
  /** The same off the event loop (libuv pool for node:crypto; chunked for @noble). */
  pbkdf2Async(hash: 'sha1' | 'sha256' | 'sha384', password: Uint8Array, salt: Uint8Array, iterations: number, length: number): Promise<Uint8Array>;
  randomBytes(n: number): Uint8Array;
}

const aesName = (key: Uint8Array) => {
  if (key.length === 16) return 'aes-128-cbc';
  if (key.length === 32) return 'aes-256-cbc';
  throw new RangeError(`AES key of ${key.length} bytes`);
};

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);

export const nodeProvider: CryptoProvider = {
  name: 'node',
  aesCbcEncrypt(key, iv, data) {
    const c = nodeCrypto.createCipheriv(aesName(key), key, iv).setAutoPadding(false);
    return u8(Buffer.concat([c.update(data), c.final()]));
  },
  aesCbcDecrypt(key, iv, data) {
    const d = nodeCrypto.createDecipheriv(aesName(key), key, iv).setAutoPadding(false);
    return u8(Buffer.concat([d.update(data), d.final()]));
  },
  hmac: (hash, key, data) => u8(nodeCrypto.createHmac(hash, key).update(data).digest()),
  hash: (hash, data) => u8(nodeCrypto.createHash(hash).update(data).digest()),
  pbkdf2: (hash, password, salt, iterations, length) => u8(nodeCrypto.pbkdf2Sync(password, salt, iterations, length, hash)),
  pbkdf2Async: (hash, password, salt, iterations, length) =>
    new Promise((resolve, reject) => nodeCrypto.pbkdf2(password, salt, iterations, length, hash, (err, key) => (err ? reject(err) : resolve(u8(key))))),
  randomBytes: (n) => u8(nodeCrypto.randomBytes(n)),
};

let current: CryptoProvider = nodeProvider;

export function getCryptoProvider(): CryptoProvider {
  return current;
}

export function setCryptoProvider(p: CryptoProvider): void {
  current = p;
}
