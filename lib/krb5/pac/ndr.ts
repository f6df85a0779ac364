/**
 * The NDR (MS-RPCE 2.2.5, DCE 1.1 RPC chapter 14) subset the PAC's KERB_VALIDATION_INFO uses:
 * little-endian integers, 4-byte alignment, unique pointers as referent ids whose data come after
 * the structure (deferred, in order), conformant(-varying) arrays, and the type serialization
 * version 1 headers (MS-RPCE 2.2.6). Every read is bounds-checked; lengths are never trusted.
 */
import { DecodeError } from '../../errors.js';

/** Little-endian unsigned 32-bit at `at` (the caller has checked the bounds). */
export function readU32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

export class NdrReader {
  off = 0;
  constructor(private readonly b: Uint8Array, readonly field: string) {}

  /** `suffix` is appended to `what` only in the error (no string built per read). */
  private need(n: number, what: string, suffix = ''): void {
    if (n < 0 || this.off + n > this.b.length) throw new DecodeError(`${this.field}.${what}${suffix}`, `needs ${n} bytes, ${this.b.length - this.off} left`, this.off);
  }
  align(n: number): void {
    const pad = (n - (this.off % n)) % n;
    this.need(pad, 'padding');
    this.off += pad;
  }
  u8(what: string): number {
    this.need(1, what);
    return this.b[this.off++]!;
  }
  u16(what: string): number {
    this.align(2);
    this.need(2, what);
    const v = this.b[this.off]! | (this.b[this.off + 1]! << 8);
    this.off += 2;
    return v;
  }
  u32(what: string, suffix = ''): number {
    this.align(4);
    this.need(4, what, suffix);
    const v = readU32le(this.b, this.off);
    this.off += 4;
    return v;
  }
  /** FILETIME: two ULONGs (low, high), 100 ns since 1601; 0x7fffffffffffffff means "never". */
  filetime(what: string): bigint {
    const lo = this.u32(what, '.dwLowDateTime');
    const hi = this.u32(what, '.dwHighDateTime');
    return (BigInt(hi) << 32n) | BigInt(lo);
  }
  bytes(n: number, what: string): Uint8Array {
    this.need(n, what);
    const v = this.b.slice(this.off, this.off + n);
    this.off += n;
    return v;
  }
  /** A count read from the wire, checked against what the rest of the buffer can hold. */
  count(what: string, elementSize: number): number {
    const n = this.u32(what);
    if (n * elementSize > this.b.length - this.off) throw new DecodeError(`${this.field}.${what}`, `count ${n} exceeds the buffer`, this.off);
    return n;
  }
}

export class NdrWriter {
  private readonly out: number[] = [];
  private nextReferent = 0x00020000;
  get length(): number {
    return this.out.length;
  }
  align(n: number): void {
    while (this.out.length % n) this.out.push(0);
  }
  u8(v: number): void {
    this.out.push(v & 0xff);
  }
  u16(v: number): void {
    this.align(2);
    this.out.push(v & 0xff, (v >>> 8) & 0xff);
  }
  u32(v: number): void {
    this.align(4);
    this.out.push(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  filetime(v: bigint): void {
    this.u32(Number(v & 0xffffffffn));
    this.u32(Number((v >> 32n) & 0xffffffffn));
  }
  bytes(b: Uint8Array): void {
    for (const x of b) this.out.push(x);
  }
  /** A unique pointer: a fresh referent id, or 0 for NULL. */
  pointer(present: boolean): void {
    if (!present) return this.u32(0);
    this.u32(this.nextReferent);
    this.nextReferent += 4;
  }
  toBytes(): Uint8Array {
    return Uint8Array.from(this.out);
  }
}

/** MS-RPCE 2.2.6.1/2.2.6.2: Common Type Header (version 1, little-endian) + Private Header. */
export function wrapTypeSerialization(body: Uint8Array): Uint8Array {
  const padded = body.length % 8 ? body.length + (8 - (body.length % 8)) : body.length;
  const out = new Uint8Array(16 + padded);
  const dv = new DataView(out.buffer);
  out.set([0x01, 0x10, 0x08, 0x00], 0);
  dv.setUint32(4, 0xcccccccc, true);
  dv.setUint32(8, padded, true);
  dv.setUint32(12, 0, true);
  out.set(body, 16);
  return out;
}

export function unwrapTypeSerialization(b: Uint8Array, field: string): Uint8Array {
  if (b.length < 16) throw new DecodeError(field, 'shorter than the NDR type serialization headers', 0);
  if (b[0] !== 1 || b[1] !== 0x10 || b[2] !== 8) throw new DecodeError(field, 'not NDR type serialization version 1, little-endian', 0);
  const len = new DataView(b.buffer, b.byteOffset + 8, 4).getUint32(0, true);
  if (len > b.length - 16) throw new DecodeError(field, `object length ${len} exceeds the buffer`, 8);
  return b.subarray(16, 16 + len);
}
