/**
 * Strict DER reading and writing for the Kerberos (RFC 4120 section 5) and SPNEGO (RFC 4178)
 * codecs.
 *
 * The reader is a small TLV walker that never trusts a length: every tag, length and content is
 * checked against the bounds of its parent (X.690 section 10.1: definite form, minimum number of
 * length octets), every constructed value must be filled exactly by its children (no trailing
 * bytes at any level), and every field is matched on its exact identifier octet, so a wrong
 * class, a wrong constructed bit or an unknown field is a DecodeError naming the field path
 * (e.g. "AP-REQ.ticket.enc-part.cipher") and the byte offset in the input.
 *
 * We do not hand the bytes to asn1js: asn1js is lenient (BER) by design, so every check it would
 * do we would have to redo here; the walker below is the single place where the input is trusted.
 */
import { DecodeError, UsageError } from '../../errors.js';
import { readDerLength, encodeOid, decodeOid } from '../../gssapi/token.js';

/** Universal tags used by the codecs (X.690 / X.680 section 8.4). */
export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  OBJECT_IDENTIFIER: 0x06,
  ENUMERATED: 0x0a,
  SEQUENCE: 0x30,
  GeneralizedTime: 0x18,
  GeneralString: 0x1b,
} as const;

/** Identifier octet of a context-specific constructed (EXPLICIT) tag [n]. */
export const ctxTag = (n: number): number => 0xa0 | n;
/** Identifier octet of an APPLICATION constructed tag [APPLICATION n] (n < 31). */
export const appTag = (n: number): number => 0x60 | n;

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/** One TLV inside `buf`: identifier octet, and the offsets of its header, contents and end. */
export interface Node {
  buf: Uint8Array;
  tag: number;
  start: number;
  contentStart: number;
  end: number;
}

const hex2 = (n: number) => '0x' + n.toString(16).padStart(2, '0');

/** Reads the TLV starting at `offset`; it must end at or before `end`. */
export function readNode(buf: Uint8Array, offset: number, end: number, path: string): Node {
  if (offset >= end) throw new DecodeError(path, 'truncated: expected a tag', offset);
  const tag = buf[offset]!;
  // No type in RFC 4120 / RFC 4178 needs the high-tag-number form (X.690 8.1.2.4).
  if ((tag & 0x1f) === 0x1f) throw new DecodeError(path, `unsupported high-tag-number identifier ${hex2(tag)}`, offset);
  const { length, start } = readDerLength(buf, offset + 1, end, path);
  return { buf, tag, start: offset, contentStart: start, end: start + length };
}

/** The whole input must be exactly one TLV with identifier `tag`. */
export function readTop(bytes: Uint8Array, tag: number, path: string): Node {
  const n = readNode(bytes, 0, bytes.length, path);
  if (n.tag !== tag) throw new DecodeError(path, `expected tag ${hex2(tag)}, got ${hex2(n.tag)}`, 0);
  if (n.end !== bytes.length) throw new DecodeError(path, `${bytes.length - n.end} trailing bytes`, n.end);
  return n;
}

export function expectTag(n: Node, tag: number, path: string): Node {
  if (n.tag !== tag) throw new DecodeError(path, `expected tag ${hex2(tag)}, got ${hex2(n.tag)}`, n.start);
  return n;
}

/** The children of a constructed node; they must fill its contents exactly. */
export function children(n: Node, path: string): Node[] {
  if ((n.tag & 0x20) === 0) throw new DecodeError(path, 'expected a constructed encoding', n.start);
  const out: Node[] = [];
  for (let off = n.contentStart; off < n.end; ) {
    const c = readNode(n.buf, off, n.end, path);
    out.push(c);
    off = c.end;
  }
  return out;
}

/** The single value inside an EXPLICIT tag (or an APPLICATION tag wrapping one SEQUENCE). */
export function inner(n: Node, path: string): Node {
  if ((n.tag & 0x20) === 0) throw new DecodeError(path, 'expected a constructed encoding', n.start);
  // The one child must fill the contents; otherwise children() walks them all for the same
  // errors as before (a malformed later child, or the count in the message).
  if (n.contentStart < n.end) {
    const first = readNode(n.buf, n.contentStart, n.end, path);
    if (first.end === n.end) return first;
  }
  const kids = children(n, path);
  throw new DecodeError(path, `explicit tag must hold exactly one value, found ${kids.length}`, n.start);
}

export function contents(n: Node): Uint8Array {
  return n.buf.subarray(n.contentStart, n.end);
}

/** The full encoding (header and contents) of a node, as received. */
export function rawBytes(n: Node): Uint8Array {
  return n.buf.subarray(n.start, n.end);
}

/**
 * Walks the fields of a SEQUENCE (the node must be one) whose components carry EXPLICIT context tags [0], [1]...
 * in increasing order (RFC 4120 section 5 and RFC 4178 use EXPLICIT TAGS). Fields must come in
 * order; `end()` rejects anything left over (unknown, repeated or out-of-order fields).
 */
export class SeqReader {
  private readonly kids: Node[];
  private i = 0;
  constructor(
    readonly node: Node,
    readonly path: string,
  ) {
    expectTag(node, Tag.SEQUENCE, path);
    this.kids = children(node, path);
  }

  /** The value inside field [num] when present. */
  optional(num: number, name: string): Node | undefined {
    const k = this.kids[this.i];
    if (k === undefined || k.tag !== ctxTag(num)) return undefined;
    this.i++;
    return inner(k, `${this.path}.${name}`);
  }

  required(num: number, name: string): Node {
    const v = this.optional(num, name);
    if (v === undefined) {
      const k = this.kids[this.i];
      throw new DecodeError(`${this.path}.${name}`, `missing required field [${num}]`, k ? k.start : this.node.end);
    }
    return v;
  }

  end(): void {
    const k = this.kids[this.i];
    if (k !== undefined) throw new DecodeError(this.path, `unexpected field with tag ${hex2(k.tag)}`, k.start);
  }
}

/** SEQUENCE OF: decodes every element with `fn`, naming them `path[i]`. */
export function seqOf<T>(n: Node, path: string, fn: (e: Node, p: string) => T): T[] {
  expectTag(n, Tag.SEQUENCE, path);
  return children(n, path).map((e, i) => fn(e, `${path}[${i}]`));
}

/** INTEGER (X.690 8.3), minimal two's complement, up to 6 content octets (safe integers). */
export function decInteger(n: Node, path: string, tag: number = Tag.INTEGER): number {
  expectTag(n, tag, path);
  const len = n.end - n.contentStart;
  const b = n.buf;
  const c = n.contentStart;
  if (len === 0) throw new DecodeError(path, 'empty INTEGER', n.start);
  if (len > 6) throw new DecodeError(path, `INTEGER of ${len} octets is out of range`, n.start);
  if (len > 1 && ((b[c] === 0x00 && b[c + 1]! < 0x80) || (b[c] === 0xff && b[c + 1]! >= 0x80)))
    throw new DecodeError(path, 'INTEGER is not minimally encoded', n.start);
  let v = b[c]! >= 0x80 ? b[c]! - 256 : b[c]!;
  for (let i = 1; i < len; i++) v = v * 256 + b[c + i]!;
  return v;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const UINT32_MAX = 0xffffffff;

/** Int32 ::= INTEGER (-2147483648..2147483647), RFC 4120 section 5.2.4. */
export function decInt32(n: Node, path: string): number {
  const v = decInteger(n, path);
  if (v < INT32_MIN || v > INT32_MAX) throw new DecodeError(path, `${v} is outside Int32`, n.start);
  return v;
}

/**
 * UInt32 ::= INTEGER (0..4294967295), RFC 4120 section 5.2.4, used by kvno, nonce and
 * seq-number. Quirk: MIT krb5 (older releases) and Active Directory encode nonces, sequence
 * numbers and kvnos with the high bit set as negative INTEGERs (a signed 32-bit int). We accept
 * both encodings and return the unsigned value (v >>> 0); we always encode the positive form,
 * so such an input does not re-encode to the same bytes.
 */
export function decUInt32(n: Node, path: string): number {
  const v = decInteger(n, path);
  if (v < INT32_MIN || v > UINT32_MAX) throw new DecodeError(path, `${v} is outside UInt32`, n.start);
  return v >>> 0;
}

/** Microseconds ::= INTEGER (0..999999), RFC 4120 section 5.2.4. */
export function decMicroseconds(n: Node, path: string): number {
  const v = decInteger(n, path);
  if (v < 0 || v > 999999) throw new DecodeError(path, `${v} is outside Microseconds (0..999999)`, n.start);
  return v;
}

export function decOctets(n: Node, path: string): Uint8Array {
  expectTag(n, Tag.OCTET_STRING, path);
  return contents(n);
}

/** BOOLEAN: DER allows only 0x00 and 0xFF (X.690 11.1). */
export function decBoolean(n: Node, path: string): boolean {
  expectTag(n, Tag.BOOLEAN, path);
  const c = contents(n);
  if (c.length !== 1 || (c[0] !== 0 && c[0] !== 0xff)) throw new DecodeError(path, 'BOOLEAN is not DER (one octet, 00 or FF)', n.start);
  return c[0] === 0xff;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * KerberosString ::= GeneralString (IA5String), RFC 4120 section 5.2.1. Active Directory puts
 * UTF-8 in it; we decode UTF-8 and reject byte sequences that are not UTF-8 (they could not be
 * re-encoded to the same bytes).
 */
export function decKerberosString(n: Node, path: string): string {
  expectTag(n, Tag.GeneralString, path);
  try {
    return strictUtf8.decode(contents(n));
  } catch {
    throw new DecodeError(path, 'KerberosString is not valid UTF-8', n.start);
  }
}

/**
 * KerberosTime ::= GeneralizedTime, RFC 4120 section 5.2.3: exactly "YYYYMMDDHHMMSSZ", UTC, no
 * fractional seconds.
 */
export function decKerberosTime(n: Node, path: string): Date {
  expectTag(n, Tag.GeneralizedTime, path);
  const c = contents(n);
  let ok = c.length === 15 && c[14] === 0x5a; // 'Z'
  for (let i = 0; ok && i < 14; i++) ok = c[i]! >= 0x30 && c[i]! <= 0x39;
  if (!ok) throw new DecodeError(path, 'KerberosTime must be "YYYYMMDDHHMMSSZ"', n.start);
  const num = (at: number, w: number) => {
    let v = 0;
    for (let i = at; i < at + w; i++) v = v * 10 + c[i]! - 0x30;
    return v;
  };
  const [y, mo, d, h, mi, se] = [num(0, 4), num(4, 2), num(6, 2), num(8, 2), num(10, 2), num(12, 2)];
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  date.setUTCHours(h, mi, se, 0);
  if (
    mo < 1 || mo > 12 || h > 23 || mi > 59 || se > 59 ||
    date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d
  )
    throw new DecodeError(path, `invalid date/time "${String.fromCharCode(...c)}"`, n.start);
  return date;
}

/**
 * KerberosFlags ::= BIT STRING (SIZE (32..MAX)), RFC 4120 section 5.2.8, as an unsigned 32-bit
 * number where bit 0 is the most significant bit. We accept 0 to 32 bits (shorter strings are
 * padded with zero bits, as X.690 named-bit-list encoders produce them); more than 32 bits is
 * rejected. Unused bits must be zero (X.690 11.2.1).
 */
export function decKerberosFlags(n: Node, path: string): number {
  expectTag(n, Tag.BIT_STRING, path);
  const c = contents(n);
  if (c.length === 0) throw new DecodeError(path, 'empty BIT STRING', n.start);
  const unused = c[0]!;
  if (unused > 7 || (c.length === 1 && unused !== 0)) throw new DecodeError(path, 'bad unused-bits octet', n.start);
  if (c.length > 5) throw new DecodeError(path, 'flags longer than 32 bits are not supported', n.start);
  if (c.length > 1 && (c[c.length - 1]! & ((1 << unused) - 1)) !== 0) throw new DecodeError(path, 'unused bits are not zero', n.start);
  let v = 0;
  for (let i = 1; i < 5; i++) v = v * 256 + (c[i] ?? 0);
  return v >>> 0;
}

export function decOid(n: Node, path: string): string {
  expectTag(n, Tag.OBJECT_IDENTIFIER, path);
  try {
    return decodeOid(contents(n), path);
  } catch (e) {
    if (e instanceof DecodeError) throw new DecodeError(path, 'malformed OBJECT IDENTIFIER', n.start);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Writing (DER: definite minimal lengths, fields in tag order, optional fields omitted)
// ---------------------------------------------------------------------------------------------

/** Octets of a DER definite length (X.690 8.1.3): 1 below 128, else 1 + the minimal big-endian count. */
function lengthOctets(n: number): number {
  if (n < 0x80) return 1;
  let k = 1;
  for (let v = n; v > 0xff; v = Math.floor(v / 256)) k++;
  return 1 + k;
}

/** tag | length | the parts, in one allocation. */
export function tlv(tag: number, ...parts: Uint8Array[]): Uint8Array {
  return tlvOf(tag, parts);
}

/**
 * tlv over an array of parts, skipping undefined ones (absent optional fields). The array form
 * spares encSeq a filtered copy and a spread on every SEQUENCE it writes.
 */
function tlvOf(tag: number, parts: readonly (Uint8Array | undefined)[]): Uint8Array {
  return new DerNode(tag, parts).bytes();
}

/** Writes tag | DER length of `n` at `at`; returns where the contents go. */
function writeHeader(out: Uint8Array, at: number, tag: number, n: number): number {
  const hl = 1 + lengthOctets(n);
  out[at] = tag;
  if (n < 0x80) out[at + 1] = n;
  else {
    out[at + 1] = 0x80 | (hl - 2);
    for (let i = at + hl - 1, v = n; i >= at + 2; i--, v = Math.floor(v / 256)) out[i] = v & 0xff;
  }
  return at + hl;
}

/**
 * A TLV whose bytes are written later, inside its parent's single allocation: a message nested
 * several levels deep (AP-REP > EncryptedData > OCTET STRING, then the GSS framing) is otherwise
 * copied once per level, each copy of more than 64 bytes an ArrayBuffer of its own.
 */
export class DerNode {
  /** Bytes of the whole encoding (tag, length, contents). */
  readonly size: number;
  private readonly contentLength: number;
  constructor(readonly tag: number, readonly parts: readonly (Uint8Array | DerNode | undefined)[]) {
    let n = 0;
    for (const p of parts) if (p !== undefined) n += p instanceof DerNode ? p.size : p.length;
    this.contentLength = n;
    this.size = 1 + lengthOctets(n) + n;
  }

  /** Writes the encoding at `at` in `out` (which must have room for `size` bytes); returns the end. */
  writeTo(out: Uint8Array, at: number): number {
    let o = writeHeader(out, at, this.tag, this.contentLength);
    for (const p of this.parts) {
      if (p === undefined) continue;
      if (p instanceof DerNode) o = p.writeTo(out, o);
      else {
        out.set(p, o);
        o += p.length;
      }
    }
    return o;
  }

  /** The encoding, in one allocation. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.size);
    this.writeTo(out, 0);
    return out;
  }
}

/** tag | length | parts, written when the outermost node is (DerNode). */
export const derNode = (tag: number, ...parts: (Uint8Array | DerNode | undefined)[]): DerNode => new DerNode(tag, parts);

/** SEQUENCE of the given encodings, skipping absent (undefined) optional fields. */
export function encSeq(...parts: (Uint8Array | undefined)[]): Uint8Array {
  return tlvOf(Tag.SEQUENCE, parts);
}

/** EXPLICIT [n] around an encoding; undefined stays undefined (optional field absent). */
export function explicit(n: number, v: Uint8Array): Uint8Array;
export function explicit(n: number, v: Uint8Array | undefined): Uint8Array | undefined;
export function explicit(n: number, v: Uint8Array | undefined): Uint8Array | undefined {
  return v === undefined ? undefined : tlvOf(ctxTag(n), [v]);
}

export function encApplication(n: number, v: Uint8Array): Uint8Array {
  return tlv(appTag(n), v);
}

/** Minimal two's complement INTEGER for a safe integer. */
export function encInteger(v: number, tag: number = Tag.INTEGER): Uint8Array {
  if (!Number.isSafeInteger(v)) throw new UsageError(`INTEGER value ${v} is not a safe integer`);
  // Octets needed: the fewest whose two's complement range holds v.
  let len = 1;
  for (let lo = -0x80, hi = 0x7f; v < lo || v > hi; lo *= 256, hi = hi * 256 + 0xff) len++;
  const out = new Uint8Array(2 + len);
  out[0] = tag;
  out[1] = len;
  // v mod 256^len, written big-endian (exact: |v| < 2^53 and the divisions are by powers of two).
  let x = v < 0 ? v + 256 ** len : v;
  for (let i = 1 + len; i >= 2; i--) {
    out[i] = x % 256;
    x = Math.floor(x / 256);
  }
  return out;
}

function checkRange(v: number, lo: number, hi: number, what: string): number {
  if (!Number.isInteger(v) || v < lo || v > hi) throw new UsageError(`${what} ${v} is outside ${lo}..${hi}`);
  return v;
}

export const encInt32 = (v: number, what = 'Int32') => encInteger(checkRange(v, INT32_MIN, INT32_MAX, what));
export const encUInt32 = (v: number, what = 'UInt32') => encInteger(checkRange(v, 0, UINT32_MAX, what));
export const encMicroseconds = (v: number, what = 'Microseconds') => encInteger(checkRange(v, 0, 999999, what));

export const encOctets = (v: Uint8Array) => tlv(Tag.OCTET_STRING, v);
export const encBoolean = (v: boolean) => tlv(Tag.BOOLEAN, Uint8Array.of(v ? 0xff : 0x00));
const utf8Encoder = new TextEncoder();
export const encKerberosString = (s: string) => tlv(Tag.GeneralString, utf8Encoder.encode(s));
export const encOid = (dotted: string) => {
  try {
    return tlv(Tag.OBJECT_IDENTIFIER, encodeOid(dotted));
  } catch (e) {
    throw new UsageError(`bad OID "${dotted}"`, { cause: e });
  }
};

/** KerberosTime "YYYYMMDDHHMMSSZ"; milliseconds are dropped (truncated toward the past). */
export function encKerberosTime(d: Date): Uint8Array {
  const t = d.getTime();
  if (!Number.isFinite(t)) throw new UsageError('invalid Date for KerberosTime');
  const y = d.getUTCFullYear();
  if (y < 0 || y > 9999) throw new UsageError(`year ${y} cannot be a KerberosTime`);
  const out = new Uint8Array(17);
  out[0] = Tag.GeneralizedTime;
  out[1] = 15;
  const put = (at: number, v: number, w: number) => {
    for (let i = at + w - 1; i >= at; i--, v = Math.floor(v / 10)) out[i] = 0x30 + (v % 10);
  };
  put(2, y, 4);
  put(6, d.getUTCMonth() + 1, 2);
  put(8, d.getUTCDate(), 2);
  put(10, d.getUTCHours(), 2);
  put(12, d.getUTCMinutes(), 2);
  put(14, d.getUTCSeconds(), 2);
  out[16] = 0x5a; // 'Z'
  return out;
}

/**
 * KerberosFlags as a BIT STRING of exactly 32 bits: `03 05 00 b0 b1 b2 b3`. RFC 4120 section
 * 5.2.8 requires at least 32 bits, and Microsoft's decoder (and MIT's encoder) use 5 content
 * octets even when trailing bits are zero, so we never strip trailing zero octets.
 */
export function encKerberosFlags(v: number): Uint8Array {
  checkRange(v, 0, UINT32_MAX, 'KerberosFlags');
  return tlv(Tag.BIT_STRING, Uint8Array.of(0, (v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff));
}

/** SEQUENCE OF the given encodings. */
export const encSeqOf = <T>(items: readonly T[], fn: (v: T) => Uint8Array) => tlvOf(Tag.SEQUENCE, items.map(fn));

/** Helper for optional fields: encodes `v` with `fn` under [n] when defined. */
export function opt<T>(n: number, v: T | undefined, fn: (v: T) => Uint8Array): Uint8Array | undefined {
  return v === undefined ? undefined : tlv(ctxTag(n), fn(v));
}

// ---------------------------------------------------------------------------------------------
// Field helpers shared by the message codecs
// ---------------------------------------------------------------------------------------------

/** Reads a fixed version/message-type INTEGER (pvno 5, tkt-vno 5, msg-type...). */
export function decFixed(n: Node, path: string, expected: readonly number[]): number {
  const v = decInteger(n, path);
  if (!expected.includes(v)) throw new DecodeError(path, `expected ${expected.join(' or ')}, got ${v}`, n.start);
  return v;
}

/** Unwraps [APPLICATION tag] SEQUENCE, returning the SEQUENCE node. */
export function decApplicationSeq(n: Node, tag: number, path: string): Node {
  expectTag(n, appTag(tag), path);
  return expectTag(inner(n, path), Tag.SEQUENCE, path);
}

/** Top-level [APPLICATION tag] SEQUENCE decoder. */
export function topApplication<T>(bytes: Uint8Array, tag: number, path: string, fn: (n: Node, p: string) => T): T {
  return fn(decApplicationSeq(readTop(bytes, appTag(tag), path), tag, path), path);
}

export function readOptional<T>(r: SeqReader, num: number, name: string, fn: (n: Node, p: string) => T): T | undefined {
  const n = r.optional(num, name);
  return n === undefined ? undefined : fn(n, `${r.path}.${name}`);
}
export function readRequired<T>(r: SeqReader, num: number, name: string, fn: (n: Node, p: string) => T): T {
  return fn(r.required(num, name), `${r.path}.${name}`);
}

/** Drops keys whose value is undefined, so decoded objects compare cleanly. */
export function compact<T extends object>(o: T): T {
  // A copy rather than `delete`: deleting properties turns an object into a slow dictionary.
  const out = {} as T;
  for (const k of Object.keys(o) as (keyof T)[]) if (o[k] !== undefined) out[k] = o[k];
  return out;
}

