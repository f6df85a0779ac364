/**
 * RC4 (the keystream of RFC 6229), written here because OpenSSL 3 no longer offers it by default.
 * One-shot for RFC 4757 (each message under its own key); a stream keeping its state between
 * messages for NTLM's sealing handles (MS-NLMP 3.4.3: one handle per direction, used in turn).
 */
import { UsageError } from '../../errors.js';

export class Rc4Stream {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;
  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new UsageError('RC4 key must be 1..256 bytes');
    const s = this.s;
    for (let i = 0; i < 256; i++) s[i] = i;
    for (let i = 0, j = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
  }
  /** A copy of the current state (to roll back a handle after a signature that did not verify). */
  clone(): Rc4Stream {
    const c = Object.create(Rc4Stream.prototype) as Rc4Stream;
    Object.assign(c, { s: this.s.slice(), i: this.i, j: this.j });
    return c;
  }
  update(data: Uint8Array): Uint8Array {
    const s = this.s;
    const out = new Uint8Array(data.length);
    let { i, j } = this;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      j = (j + s[i]!) & 0xff;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
      out[n] = data[n]! ^ s[(s[i]! + s[j]!) & 0xff]!;
    }
    this.i = i;
    this.j = j;
    return out;
  }
}

/** RC4 of one message under its own key. */
export function rc4(key: Uint8Array, data: Uint8Array): Uint8Array {
  return new Rc4Stream(key).update(data);
}
