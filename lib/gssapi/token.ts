/**
 * RFC 2743 section 3.1 "Mechanism-Independent Token Format": the framing of an initial context
 * token, `0x60 <DER length> 0x06 <len> <mech OID> <inner token>`. SPNEGO's first token (RFC 4178
 * section 4.2) and every Kerberos context token (RFC 4121 section 4.1, with a 2-byte TOK_ID after
 * the OID) use it; RFC 4121 per-message tokens do not.
 */
import { DecodeError } from '../errors.js';

/** DER length octets (X.690 8.1.3, definite form, minimum number of octets). */
export function derLength(n: number): Uint8Array {
  if (n < 0 || !Number.isSafeInteger(n)) throw new RangeError('bad length');
  if (n < 0x80) return Uint8Array.of(n);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

/**
 * Reads a DER definite length at `offset`; returns the length and the offset of the contents.
 * Rejects the indefinite form, non-minimal encodings and lengths that run past `end`.
 */
export function readDerLength(buf: Uint8Array, offset: number, end: number, field: string): { length: number; start: number } {
  if (offset >= end) throw new DecodeError(field, 'truncated length', offset);
  const first = buf[offset]!;
  let length: number;
  let start: number;
  if (first < 0x80) {
    length = first;
    start = offset + 1;
  } else {
    const n = first & 0x7f;
    if (n === 0) throw new DecodeError(field, 'indefinite length is not DER', offset);
    if (n > 4) throw new DecodeError(field, `length of ${n} octets is too large`, offset);
    if (offset + 1 + n > end) throw new DecodeError(field, 'truncated length', offset);
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[offset + 1 + i]!;
    if (buf[offset + 1] === 0 || length < 0x80) throw new DecodeError(field, 'length is not in minimal DER form', offset);
    start = offset + 1 + n;
  }
  if (start + length > end) throw new DecodeError(field, `length ${length} runs past the end of the input`, offset);
  return { length, start };
}

/**
 * OID arcs are numbers while they are safe integers (every OID in use) and bigints beyond: X.660
 * puts no bound on an arc, and a received token may carry any.
 */
type Arc = number | bigint;
const asArc = (v: bigint): Arc => (v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
const DOTTED = /^\d+(?:\.\d+)+$/;

/** Appends `v` in base 128, most significant group first, continuation bit on all but the last (X.690 8.19.2). */
function pushBase128(out: number[], v: Arc): void {
  const start = out.length;
  if (typeof v === 'number') {
    for (; v >= 128; v = Math.floor(v / 128)) out.push(v % 128);
    out.push(v);
  } else {
    for (; v >= 128n; v >>= 7n) out.push(Number(v & 0x7fn));
    out.push(Number(v));
  }
  reverseGroups(out, start);
}

/** Reverses out[start..] (written least significant first) and sets the continuation bits. */
function reverseGroups(out: number[], start: number): void {
  for (let i = start, j = out.length - 1; i < j; i++, j--) [out[i], out[j]] = [out[j]!, out[i]!];
  for (let i = start; i < out.length - 1; i++) out[i]! |= 0x80;
}

/** DER content octets of an OBJECT IDENTIFIER given in dotted form ("1.3.6.1.5.5.2"). */
export function encodeOid(dotted: string): Uint8Array {
  if (!DOTTED.test(dotted)) throw new TypeError(`bad OID ${dotted}`);
  // 15 decimal digits stay below 2^53.
  const arcs = dotted.split('.').map((a): Arc => (a.length <= 15 ? Number(a) : asArc(BigInt(a))));
  const [a0, a1] = [arcs[0]!, arcs[1]!];
  if (a0 > 2 || (a0 < 2 && a1 > 39)) throw new TypeError(`bad OID ${dotted}`);
  const out: number[] = [];
  // X.690 8.19.4: the first two arcs share one subidentifier.
  const small = typeof a1 === 'number' && a1 <= Number.MAX_SAFE_INTEGER - 80;
  pushBase128(out, small ? Number(a0) * 40 + a1 : asArc(BigInt(a0) * 40n + BigInt(a1)));
  for (let i = 2; i < arcs.length; i++) pushBase128(out, arcs[i]!);
  return Uint8Array.from(out);
}

/** Dotted form of DER OBJECT IDENTIFIER content octets; throws DecodeError on a malformed encoding. */
export function decodeOid(content: Uint8Array, field = 'OBJECT IDENTIFIER'): string {
  if (content.length === 0) throw new DecodeError(field, 'empty OID');
  const arcs: Arc[] = [];
  let v: Arc = 0;
  let startOfArc = true;
  for (let i = 0; i < content.length; i++) {
    const b = content[i]!;
    if (startOfArc && b === 0x80) throw new DecodeError(field, 'OID arc is not minimally encoded', i);
    // Below 2^46, v * 128 + 127 is still a safe integer.
    v = typeof v === 'number' && v < 2 ** 46 ? v * 128 + (b & 0x7f) : (BigInt(v) << 7n) | BigInt(b & 0x7f);
    startOfArc = (b & 0x80) === 0;
    if (startOfArc) {
      arcs.push(v);
      v = 0;
    }
  }
  if (!startOfArc) throw new DecodeError(field, 'truncated OID');
  // X.690 8.19.4: the first subidentifier is arc0 * 40 + arc1, arc0 in 0..2.
  const first = arcs[0]!;
  const head: Arc[] = first < 40 ? [0, first] : first < 80 ? [1, Number(first) - 40] : [2, typeof first === 'number' ? first - 80 : first - 80n];
  arcs[0] = head[1]!;
  return `${head[0]}.${arcs.join('.')}`;
}

export interface FramedToken {
  /** The mechanism OID in dotted form. */
  mech: string;
  /** The mechanism OID's DER content octets, as received. */
  mechOidBytes: Uint8Array;
  /** Everything after the OID (the innerContextToken). */
  inner: Uint8Array;
}

/** Wraps `inner` in the RFC 2743 section 3.1 framing for `mech` (dotted OID). */
export function frameToken(mech: string, inner: Uint8Array): Uint8Array {
  const oid = encodeOid(mech);
  const body = new Uint8Array(2 + oid.length + inner.length);
  body[0] = 0x06;
  body[1] = oid.length;
  body.set(oid, 2);
  body.set(inner, 2 + oid.length);
  const len = derLength(body.length);
  const out = new Uint8Array(1 + len.length + body.length);
  out[0] = 0x60;
  out.set(len, 1);
  out.set(body, 1 + len.length);
  return out;
}

/** True when `buf` starts like a framed token (0x60). */
export function isFramedToken(buf: Uint8Array): boolean {
  return buf.length > 0 && buf[0] === 0x60;
}

/** Parses the RFC 2743 section 3.1 framing; the outer length must cover the input exactly. */
export function unframeToken(buf: Uint8Array, field = 'InitialContextToken'): FramedToken {
  if (buf.length === 0 || buf[0] !== 0x60) throw new DecodeError(field, 'does not start with 0x60 (APPLICATION 0)', 0);
  const { length, start } = readDerLength(buf, 1, buf.length, field);
  if (start + length !== buf.length) throw new DecodeError(field, `${buf.length - start - length} trailing bytes after the token`, start + length);
  if (start >= buf.length || buf[start] !== 0x06) throw new DecodeError(field, 'thisMech OID missing', start);
  const oid = readDerLength(buf, start + 1, buf.length, `${field}.thisMech`);
  const mechOidBytes = buf.subarray(oid.start, oid.start + oid.length);
  const mech = decodeOid(mechOidBytes, `${field}.thisMech`);
  return { mech, mechOidBytes, inner: buf.subarray(oid.start + oid.length) };
}
