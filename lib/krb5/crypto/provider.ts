/**
 * The primitives the Kerberos crypto needs, behind one small interface so that the RFC 3961
 * code never touches a crypto library directly. The default provider is node:crypto.
 */
import * as nodeCrypto from 'node:crypto';
import { concatBytes } from '../../util/bytes.js';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512' | 'md5';

/** AES-CBC under one key, prepared once (key schedule, cipher objects) and used for many messages. */
export interface AesCbc {
  /**
   * CBC without padding; `data.length` must be a multiple of 16. `data` is the caller's scratch:
   * an implementation may overwrite it (the node provider rewrites the first block).
   */
  encrypt(iv: Uint8Array, data: Uint8Array): Uint8Array;
  /** CBC decryption without padding; `data` is left as it is. */
  decrypt(iv: Uint8Array, data: Uint8Array): Uint8Array;
}

/** HMAC under one key, prepared once: the MAC of the concatenation of `parts`. */
export type Mac = (...parts: Uint8Array[]) => Uint8Array;

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
  /** Optional: a prepared AES-CBC (prepareAesCbc falls back to aesCbcEncrypt/aesCbcDecrypt). */
  aesCbc?(key: Uint8Array): AesCbc;
  /** Optional: a prepared HMAC (prepareMac falls back to hmac). */
  mac?(hash: HashName, key: Uint8Array): Mac;
  /** Optional: AES-ECB under one key, for a few key derivations (prepareAesEcb falls back to aesCbc). */
  aesEcb?(key: Uint8Array): AesEcb;
}

/** AES-ECB encryption without padding under one key: each 16-byte block of `data` on its own. */
export type AesEcb = (data: Uint8Array) => Uint8Array;

const aesName = (key: Uint8Array) => {
  if (key.length === 16) return 'aes-128-cbc';
  if (key.length === 32) return 'aes-256-cbc';
  throw new RangeError(`AES key of ${key.length} bytes`);
};

const u8 = (b: Buffer) => new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
const ZERO_IV = new Uint8Array(16);

function checkBlocks(data: Uint8Array): void {
  if (data.length === 0 || data.length % 16 !== 0) throw new RangeError(`AES-CBC input of ${data.length} bytes is not a whole number of blocks`);
}

/**
 * One long-lived OpenSSL cipher and decipher per key, never finalised, so no cipher object is
 * built per message (it dominated the profile). CBC carries its chaining value from one update()
 * to the next; XORing (chain ^ iv) into the first block (encrypt) or the first output block
 * (decrypt) makes each call CBC under its own IV. On any error the objects are dropped and rebuilt.
 */
class NodeAesCbc implements AesCbc {
  private enc?: nodeCrypto.Cipher;
  private dec?: nodeCrypto.Decipher;
  /** The chaining value each object holds: the last ciphertext block it produced / consumed. */
  private readonly encChain = new Uint8Array(16);
  private readonly decChain = new Uint8Array(16);
  private readonly algo: string;
  private readonly key: Uint8Array;

  constructor(key: Uint8Array) {
    this.algo = aesName(key);
    this.key = Uint8Array.from(key);
  }

  encrypt(iv: Uint8Array, data: Uint8Array): Uint8Array {
    checkBlocks(data);
    try {
      const enc = (this.enc ??= nodeCrypto.createCipheriv(this.algo, this.key, ZERO_IV).setAutoPadding(false));
      for (let i = 0; i < 16; i++) data[i] = data[i]! ^ this.encChain[i]! ^ iv[i]!;
      const out = u8(enc.update(data));
      this.encChain.set(out.subarray(out.length - 16));
      return out;
    } catch (e) {
      this.enc = undefined;
      this.encChain.fill(0);
      throw e;
    }
  }

  decrypt(iv: Uint8Array, data: Uint8Array): Uint8Array {
    checkBlocks(data);
    try {
      const dec = (this.dec ??= nodeCrypto.createDecipheriv(this.algo, this.key, ZERO_IV).setAutoPadding(false));
      const out = u8(dec.update(data));
      if (out.length !== data.length) throw new RangeError('AES-CBC decipher held data back');
      for (let i = 0; i < 16; i++) out[i] = out[i]! ^ this.decChain[i]! ^ iv[i]!;
      this.decChain.set(data.subarray(data.length - 16));
      return out;
    } catch (e) {
      this.dec = undefined;
      this.decChain.fill(0);
      throw e;
    }
  }
}

/**
 * Small random requests (confounders, subkeys, sequence numbers: 4 to 32 bytes, several per
 * handshake) are served from a block filled by one call; each request gets its own copy and the
 * bytes handed out are wiped from the block.
 */
class RandomPool {
  private readonly pool = new Uint8Array(4096);
  private at = this.pool.length;

  take(n: number): Uint8Array {
    if (n > 256) return u8(nodeCrypto.randomBytes(n));
    if (this.at + n > this.pool.length) {
      nodeCrypto.randomFillSync(this.pool);
      this.at = 0;
    }
    const out = this.pool.slice(this.at, this.at + n);
    this.pool.fill(0, this.at, this.at + n);
    this.at += n;
    return out;
  }
}

const random = new RandomPool();

const oneShotHash = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'buffer') => Buffer }).hash;

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
  // crypto.hash (Node >= 20.12) is one call, without the stream object createHash builds.
  hash: oneShotHash ? (hash, data) => u8(oneShotHash(hash, data, 'buffer')) : (hash, data) => u8(nodeCrypto.createHash(hash).update(data).digest()),
  pbkdf2: (hash, password, salt, iterations, length) => u8(nodeCrypto.pbkdf2Sync(password, salt, iterations, length, hash)),
  pbkdf2Async: (hash, password, salt, iterations, length) =>
    new Promise((resolve, reject) => nodeCrypto.pbkdf2(password, salt, iterations, length, hash, (err, key) => (err ? reject(err) : resolve(u8(key))))),
  randomBytes: (n) => random.take(n),
  aesCbc: (key) => new NodeAesCbc(key),
  aesEcb(key) {
    // One cipher object for all the blocks of all the calls: the base key's derivations of a
    // fresh session key (aes-sha1.ts) are two calls on it.
    const ecb = nodeCrypto.createCipheriv(key.length === 16 ? 'aes-128-ecb' : 'aes-256-ecb', key, null).setAutoPadding(false);
    return (data) => {
      checkBlocks(data);
      return u8(ecb.update(data));
    };
  },
  mac(hash, key) {
    // A KeyObject makes each HMAC cheaper but costs more to build than one HMAC: from the second use.
    let k: Uint8Array | nodeCrypto.KeyObject = Uint8Array.from(key);
    let uses = 0;
    return (...parts) => {
      if (++uses === 2) k = nodeCrypto.createSecretKey(k as Uint8Array);
      const h = nodeCrypto.createHmac(hash, k);
      for (const part of parts) h.update(part);
      return u8(h.digest());
    };
  },
};

/** The provider's prepared AES-CBC for `key`, or one made of its one-shot functions. */
export function prepareAesCbc(p: CryptoProvider, key: Uint8Array): AesCbc {
  if (p.aesCbc) return p.aesCbc(key);
  const k = Uint8Array.from(key);
  return { encrypt: (iv, data) => p.aesCbcEncrypt(k, iv, data), decrypt: (iv, data) => p.aesCbcDecrypt(k, iv, data) };
}

/** The provider's AES-ECB for `key`, or one made of one-block CBC encryptions under a zero IV. */
export function prepareAesEcb(p: CryptoProvider, key: Uint8Array): AesEcb {
  if (p.aesEcb) return p.aesEcb(key);
  const cbc = prepareAesCbc(p, key);
  return (data) => {
    checkBlocks(data);
    const out = new Uint8Array(data.length);
    for (let i = 0; i < data.length; i += 16) out.set(cbc.encrypt(ZERO_IV, data.slice(i, i + 16)), i);
    return out;
  };
}

/** The provider's prepared HMAC for `key`, or one made of its one-shot hmac. */
export function prepareMac(p: CryptoProvider, hash: HashName, key: Uint8Array): Mac {
  if (p.mac) return p.mac(hash, key);
  const k = Uint8Array.from(key);
  return (...parts) => p.hmac(hash, k, parts.length === 1 ? parts[0]! : concatBytes(...parts));
}

let current: CryptoProvider = nodeProvider;

export function getCryptoProvider(): CryptoProvider {
  return current;
}

export function setCryptoProvider(p: CryptoProvider): void {
  current = p;
}
