/**
 * aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18): RFC 3962 over the RFC 3961
 * simplified profile. DK/DR use n-fold of the usage constant (RFC 3961 section 5.1).
 */
import { concatBytes } from '../../util/bytes.js';
import { ctsEncrypt, ctsDecrypt } from './aes-cts.js';
import { nfold } from './nfold.js';
import { getCryptoProvider } from './provider.js';
import { type Profile, usageConstant, splitTag, verifyTag, pbkdf2Iterations } from './profile.js';

const ZERO_IV = new Uint8Array(16);
const utf8 = (s: string) => new TextEncoder().encode(s);

/** RFC 3961 section 5.1: DR(Key, Constant) = k-truncate(E(Key, n-fold(Constant)) || E(Key, previous)...). */
function dr(key: Uint8Array, constant: Uint8Array): Uint8Array {
  const p = getCryptoProvider();
  const out = new Uint8Array(key.length);
  let block = constant.length === 16 ? constant : nfold(constant, 128);
  for (let n = 0; n < out.length; n += 16) {
    block = p.aesCbcEncrypt(key, ZERO_IV, block);
    out.set(block.subarray(0, Math.min(16, out.length - n)), n);
  }
  return out;
}
/** DK = random-to-key(DR(...)); random-to-key is the identity for AES (RFC 3962 section 6). */
const dk = dr;


function make(enctype: 17 | 18, name: string, keyBytes: 16 | 32, checksumType: number): Profile {
  // s2kparams: a 4-byte big-endian iteration count, default 4096 (RFC 3962 section 4)
  const iterations = (params?: Uint8Array) => pbkdf2Iterations(name, params, 4096);
  return {
    enctype, name, keyBytes, checksumType, checksumBytes: 12, blockSize: 16, confounderBytes: 16, weak: false,
    stringToKey(password, salt, params) {
      const tkey = getCryptoProvider().pbkdf2('sha1', password, salt, iterations(params), keyBytes);
      return dk(tkey, utf8('kerberos'));
    },
    async stringToKeyAsync(password, salt, params) {
      const tkey = await getCryptoProvider().pbkdf2Async('sha1', password, salt, iterations(params), keyBytes);
      return dk(tkey, utf8('kerberos'));
    },
    encrypt(key, usage, plaintext, confounder) {
      const p = getCryptoProvider();
      const ke = dk(key, usageConstant(usage, 0xaa));
      const ki = dk(key, usageConstant(usage, 0x55));
      const data = concatBytes(confounder, plaintext);
      return concatBytes(ctsEncrypt(ke, ZERO_IV, data), p.hmac('sha1', ki, data).subarray(0, 12));
    },
    decrypt(key, usage, ciphertext) {
      const p = getCryptoProvider();
      const [c, tag] = splitTag(ciphertext, 12, 16);
      const data = ctsDecrypt(dk(key, usageConstant(usage, 0xaa)), ZERO_IV, c);
      verifyTag(p.hmac('sha1', dk(key, usageConstant(usage, 0x55)), data).subarray(0, 12), tag);
      return data.subarray(16);
    },
    checksum(key, usage, data) {
      return getCryptoProvider().hmac('sha1', dk(key, usageConstant(usage, 0x99)), data).subarray(0, 12);
    },
    prf(key, input) {
      // RFC 3962 section 6: E(DK(key, "prf"), truncate16(SHA-1(input)))
      const tmp = getCryptoProvider().hash('sha1', input).subarray(0, 16);
      return getCryptoProvider().aesCbcEncrypt(dk(key, utf8('prf')), ZERO_IV, tmp);
    },
  };
}

export const aes128CtsHmacSha196 = make(17, 'aes128-cts-hmac-sha1-96', 16, 15);
export const aes256CtsHmacSha196 = make(18, 'aes256-cts-hmac-sha1-96', 32, 16);
