/** rc4-hmac (23), RFC 4757: HMAC-MD5 keyed by usage, RC4 encryption, checksum hmac-md5 (-138). */
import { concatBytes, le32 } from '../../util/bytes.js';
import { md4 } from './md4.js';
import { rc4 } from './rc4.js';
import { getCryptoProvider } from './provider.js';
import { DecodeError } from '../../errors.js';
import { type Profile, verifyTag } from './profile.js';

/** RFC 4757 section 3: Microsoft's message types for some RFC 4120 key usages. */
export function msUsage(usage: number): number {
  switch (usage) {
    case 3: return 8; // AS-REP encrypted part
    case 9: return 8; // TGS-REP encrypted part (subkey)
    case 23: return 13; // sign wrap token
    default: return usage;
  }
}

export const rc4Hmac: Profile = {
  enctype: 23, name: 'rc4-hmac', keyBytes: 16, checksumType: -138, checksumBytes: 16, blockSize: 1, confounderBytes: 8, weak: true,
  stringToKey(password) {
    // MD4 of the UTF-16LE password; the salt is not used (RFC 4757 section 4)
    const s = new TextDecoder().decode(password);
    const u16 = new Uint8Array(s.length * 2);
    for (let i = 0; i < s.length; i++) new DataView(u16.buffer).setUint16(i * 2, s.charCodeAt(i), true);
    return md4(u16);
  },
  encrypt(key, usage, plaintext, confounder) {
    const p = getCryptoProvider();
    const k1 = p.hmac('md5', key, le32(msUsage(usage)));
    const data = concatBytes(confounder, plaintext);
    const cksum = p.hmac('md5', k1, data);
    const k3 = p.hmac('md5', k1, cksum);
    return concatBytes(cksum, rc4(k3, data));
  },
  decrypt(key, usage, ciphertext) {
    const p = getCryptoProvider();
    // layout is checksum(16) || RC4(confounder(8) || data)
    if (ciphertext.length < 16 + 8) throw new DecodeError('ciphertext', `too short (${ciphertext.length} bytes)`);
    const cksum = ciphertext.subarray(0, 16);
    const body = ciphertext.subarray(16);
    const k1 = p.hmac('md5', key, le32(msUsage(usage)));
    const data = rc4(p.hmac('md5', k1, cksum), body);
    verifyTag(p.hmac('md5', k1, data), cksum);
    return data.subarray(8);
  },
  checksum(key, usage, first, ...more) {
    const data = more.length ? concatBytes(first, ...more) : first;
    // RFC 4757 section 4: Ksign = HMAC(K, "signaturekey\0"); HMAC(Ksign, MD5(usage || data))
    const p = getCryptoProvider();
    const ksign = p.hmac('md5', key, new TextEncoder().encode('signaturekey\0'));
    return p.hmac('md5', ksign, p.hash('md5', concatBytes(le32(msUsage(usage)), data)));
  },
  prf(key, input) {
    return getCryptoProvider().hmac('sha1', key, input); // RFC 4757 section 5 (as MIT implements it)
  },
};
