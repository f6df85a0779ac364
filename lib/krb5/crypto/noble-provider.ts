/**
 * The same primitives from @noble/ciphers and @noble/hashes (audited, pure JavaScript), for
 * runtimes without node:crypto. Tests hold it to identical bytes with the node provider.
 */
import { cbc } from '@noble/ciphers/aes';
import { hmac } from '@noble/hashes/hmac';
import { pbkdf2, pbkdf2Async } from '@noble/hashes/pbkdf2';
import { sha1, md5 } from '@noble/hashes/legacy';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2';
import { randomBytes } from '@noble/hashes/utils';
import type { CryptoProvider, HashName } from './provider.js';

const HASHES = { sha1, md5, sha256, sha384, sha512 } as const;
const h = (name: HashName) => HASHES[name];

export const nobleProvider: CryptoProvider = {
  name: 'noble',
  aesCbcEncrypt: (key, iv, data) => cbc(key, iv, { disablePadding: true }).encrypt(data),
  aesCbcDecrypt: (key, iv, data) => cbc(key, iv, { disablePadding: true }).decrypt(data),
  hmac: (name, key, data) => hmac(h(name), key, data),
  hash: (name, data) => h(name)(data),
  pbkdf2: (name, password, salt, iterations, length) => pbkdf2(h(name), password, salt, { c: iterations, dkLen: length }),
  pbkdf2Async: (name, password, salt, iterations, length) => pbkdf2Async(h(name), password, salt, { c: iterations, dkLen: length }),
  randomBytes: (n) => randomBytes(n),
};
