/**
 * RFC 3961 section 5.1 n-fold: replicate the input, each copy rotated right by 13 bits more than
 * the previous, to lcm(inputBits, n) bits, then add the n-bit blocks with ones'-complement addition.
 */
export function nfold(input: Uint8Array, nBits: number): Uint8Array {
  const inBytes = input.length;
  const outBytes = nBits >> 3;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const lcm = (inBytes * outBytes) / gcd(inBytes, outBytes);
  const out = new Uint8Array(outBytes);
  const inBitLen = inBytes * 8;
  // Walk the lcm bytes from the end, adding with carry (big-endian ones'-complement sum).
  let carry = 0;
  for (let i = lcm - 1; i >= 0; i--) {
    const copy = Math.floor(i / inBytes); // which rotated copy this byte belongs to
    const rot = 13 * copy; // total right rotation of that copy, in bits
    const pos = i % inBytes; // byte position within the copy
    // bit index in the original input of this byte's most significant bit, after rotating right by `rot`
    const msbit = (((inBitLen - 1 - ((rot % inBitLen))) + pos * 8) % inBitLen + inBitLen) % inBitLen;
    // gather 8 bits starting at msbit (wrapping)
    let byte = 0;
    for (let b = 0; b < 8; b++) {
      const bit = (msbit + 1 + b) % inBitLen;
      byte = (byte << 1) | ((input[bit >> 3]! >> (7 - (bit & 7))) & 1);
    }
    carry += out[i % outBytes]! + byte;
    out[i % outBytes] = carry & 0xff;
    carry >>>= 8;
  }
  // end-around carry
  for (let i = outBytes - 1; carry > 0; i = (i - 1 + outBytes) % outBytes) {
    carry += out[i]!;
    out[i] = carry & 0xff;
    carry >>>= 8;
  }
  return out;
}
