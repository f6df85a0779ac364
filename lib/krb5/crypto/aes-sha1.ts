/**
 * aes128-cts-hmac-sha1-96 (17) and aes256-cts-hmac-sha1-96 (18): RFC 3962 over the RFC 3961
 * simplified profile. DK/DR use n-fold of the usage constant (RFC 3961 section 5.1).
 * Ke, Ki and Kc are derived once per key and usage (key-cache.ts).
 */
import { ctsEncryptPadded, ctsDecryptWith, ctsPadded } from './aes-cts.js';
import { DerivedKind, derived } from './key-cache.js';
import { nfold } from './nfold.js';
import { type CryptoProvider, getCryptoProvider, prepareAesCbc, prepareAesEcb, prepareMac } from './provider.js';
import { type Profile, usageConstant, splitTag, verifyTag, pbkdf2Iterations } from './profile.js';

const ZERO_IV = new Uint8Array(16);
const utf8 = (s: string) => new TextEncoder().encode(s);

/**
 * n-fold(usage constant) to 128 bits. Memoised for the usages in use (RFC 4120 and RFC 4121 numbers
 * are below 1024): a pure function of its input, bounded, so it holds no per-caller state.
 */
const foldedConstants = new Map<number, Uint8Array>();
function foldedUsage(usage: number, kind: number): Uint8Array {
  const small = usage >= 0 && usage < 1024;
  const id = usage * 256 + kind;
  let f = small ? foldedConstants.get(id) : undefined;
  if (!f) {
    f = nfold(usageConstant(usage, kind), 128);
    if (small) foldedConstants.set(id, f);
  }
  return f;
}

/**
 * RFC 3961 section 5.1: DR(Key, Constant) = k-truncate(E(Key, n-fold(Constant)) || E(Key, previous)...),
 * for several 16-byte folded constants under one base key with one AES-ECB: the first blocks of
 * all of them in one call, the second blocks (32-byte keys) in another.
 */
function drMany(p: CryptoProvider, key: Uint8Array, keyBytes: number, folded: readonly Uint8Array[]): Uint8Array[] {
  const ecb = prepareAesEcb(p, key);
  const input = new Uint8Array(folded.length * 16);
  folded.forEach((f, i) => input.set(f, i * 16));
  const first = ecb(input);
  const second = keyBytes > 16 ? ecb(first) : undefined;
  return folded.map((_, i) => {
    const k = new Uint8Array(keyBytes);
    k.set(first.subarray(i * 16, i * 16 + 16));
    if (second) k.set(second.subarray(i * 16, i * 16 + keyBytes - 16), 16);
    return k;
  });
}

/**
 * Usages that come in pairs on one key, one per direction of the same exchange: the AP-REQ
 * authenticator and the AP-REP enc-part (RFC 4120 section 7.5.1 usages 11 and 12, both under the
 * ticket session key), and the RFC 4121 acceptor/initiator seal (22, 24) and sign (23, 25) usages
 * of a context key. Deriving one derives its partner too, with the same cipher on the base key and
 * the same two cipher calls: a fresh session key costs one cipher object on it instead of two
 * (it showed in the acceptor's profile). The partner's prepared cipher and HMAC are stored with it.
 */
const PARTNER_USAGE: Readonly<Record<number, number>> = { 11: 12, 12: 11, 22: 24, 24: 22, 23: 25, 25: 23 };

function make(enctype: 17 | 18, name: string, keyBytes: 16 | 32, checksumType: number): Profile {
  // s2kparams: a 4-byte big-endian iteration count, default 4096 (RFC 3962 section 4)
  const iterations = (params?: Uint8Array) => pbkdf2Iterations(name, params, 4096);
  /** DK = random-to-key(DR(...)); random-to-key is the identity for AES (RFC 3962 section 6). */
  const dkOnce = (key: Uint8Array, constant: Uint8Array) => drMany(getCryptoProvider(), key, keyBytes, [nfold(constant, 128)])[0]!;
  // The cipher on the base key is transient (built per derivation, not cached): kept, it would stay
  // with every context key for the context's life. Ke and Ki go together (encrypt and decrypt need
  // both), derived with one cipher; so does the partner usage's set, if any (PARTNER_USAGE).
  const encKeys = (key: Uint8Array, usage: number) => derived(key, enctype, usage, DerivedKind.KE, (p) => {
    const partner = PARTNER_USAGE[usage];
    const folded = [foldedUsage(usage, DerivedKind.KE), foldedUsage(usage, DerivedKind.KI)];
    if (partner !== undefined) folded.push(foldedUsage(partner, DerivedKind.KE), foldedUsage(partner, DerivedKind.KI));
    const dks = drMany(p, key, keyBytes, folded);
    const set = (i: number) => ({ ke: prepareAesCbc(p, dks[i]!), ki: prepareMac(p, 'sha1', dks[i + 1]!) });
    if (partner !== undefined) derived(key, enctype, partner, DerivedKind.KE, () => set(2));
    return set(0);
  });
  const ke = (key: Uint8Array, usage: number) => encKeys(key, usage).ke;
  const ki = (key: Uint8Array, usage: number) => encKeys(key, usage).ki;
  const kc = (key: Uint8Array, usage: number) => derived(key, enctype, usage, DerivedKind.KC, (p) => {
    const partner = PARTNER_USAGE[usage];
    const folded = [foldedUsage(usage, DerivedKind.KC)];
    if (partner !== undefined) folded.push(foldedUsage(partner, DerivedKind.KC));
    const dks = drMany(p, key, keyBytes, folded);
    if (partner !== undefined) derived(key, enctype, partner, DerivedKind.KC, () => prepareMac(p, 'sha1', dks[1]!));
    return prepareMac(p, 'sha1', dks[0]!);
  });
  return {
    enctype, name, keyBytes, checksumType, checksumBytes: 12, blockSize: 16, confounderBytes: 16, weak: false,
    stringToKey(password, salt, params) {
      const tkey = getCryptoProvider().pbkdf2('sha1', password, salt, iterations(params), keyBytes);
      return dkOnce(tkey, utf8('kerberos'));
    },
    async stringToKeyAsync(password, salt, params) {
      const tkey = await getCryptoProvider().pbkdf2Async('sha1', password, salt, iterations(params), keyBytes);
      return dkOnce(tkey, utf8('kerberos'));
    },
    encrypt(key, usage, plaintext, confounder) {
      // E(Ke, confounder | plaintext) | HMAC-SHA1-96(Ki, confounder | plaintext), RFC 3961 5.3
      const n = confounder.length + plaintext.length;
      const padded = ctsPadded(n);
      padded.set(confounder);
      padded.set(plaintext, confounder.length);
      const tag = ki(key, usage)(padded.subarray(0, n)); // before the cipher consumes `padded`
      const out = new Uint8Array(n + 12);
      ctsEncryptPadded(ke(key, usage), ZERO_IV, padded, n, out);
      out.set(tag.subarray(0, 12), n);
      return out;
    },
    decrypt(key, usage, ciphertext) {
      const [c, tag] = splitTag(ciphertext, 12, 16);
      const data = ctsDecryptWith(ke(key, usage), ZERO_IV, c);
      verifyTag(ki(key, usage)(data).subarray(0, 12), tag);
      return data.subarray(16);
    },
    checksum(key, usage, data, ...more) {
      return kc(key, usage)(data, ...more).subarray(0, 12);
    },
    prf(key, input) {
      // RFC 3962 section 6: E(DK(key, "prf"), truncate16(SHA-1(input)))
      const tmp = getCryptoProvider().hash('sha1', input).slice(0, 16);
      return prepareAesCbc(getCryptoProvider(), dkOnce(key, utf8('prf'))).encrypt(ZERO_IV, tmp);
    },
  };
}

export const aes128CtsHmacSha196 = make(17, 'aes128-cts-hmac-sha1-96', 16, 15);
export const aes256CtsHmacSha196 = make(18, 'aes256-cts-hmac-sha1-96', 32, 16);
