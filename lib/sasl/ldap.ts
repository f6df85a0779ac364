/**
 * A minimal LDAPv3 (RFC 4511) BER codec: what a SASL bind and a search need. BindRequest (simple
 * and SASL), UnbindRequest, SearchRequest (equality / present / and / or filters),
 * ExtendedRequest (StartTLS); decoding of BindResponse, SearchResultEntry / Reference / Done and
 * ExtendedResponse (StartTLS, the notice of disconnection). Not a general LDAP library.
 *
 * Decoding follows RFC 4511 section 5.1's BER subset: definite lengths only (long form accepted,
 * up to 4 length octets), low tag numbers; every length is checked against the buffer and any
 * failure is a DecodeError naming the field.
 */
import { DecodeError, UsageError } from '../errors.js';
import { concatBytes } from '../util/bytes.js';

const te = new TextEncoder();
const td = new TextDecoder('utf-8', { fatal: true });

// ---- writer ----

function lengthOctets(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

export function tlv(tag: number, content: Uint8Array): Uint8Array {
  const l = lengthOctets(content.length);
  const r = new Uint8Array(1 + l.length + content.length);
  r[0] = tag;
  r.set(l, 1);
  r.set(content, 1 + l.length);
  return r;
}


const seq = (tag: number, parts: Uint8Array[]) => tlv(tag, concatBytes(...parts));
const str = (s: string | Uint8Array, tag = 0x04) => tlv(tag, typeof s === 'string' ? te.encode(s) : s);
function int(n: number, tag = 0x02): Uint8Array {
  if (!Number.isSafeInteger(n) || n < 0 || n > 0x7fffffff) throw new UsageError(`LDAP integer out of range: ${n}`);
  const b: number[] = [];
  let v = n;
  do {
    b.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if (b[0]! & 0x80) b.unshift(0);
  return tlv(tag, Uint8Array.from(b));
}

function message(id: number, op: Uint8Array): Uint8Array {
  if (!Number.isInteger(id) || id < 1 || id > 0x7fffffff) throw new UsageError('LDAP messageID must be in 1..2^31-1');
  return seq(0x30, [int(id), op]);
}

export type BindAuth = { simple: { dn: string; password: string } } | { sasl: { mechanism: string; credentials?: Uint8Array } };

/** RFC 4511 4.2 BindRequest ([APPLICATION 0]), version 3. */
export function encodeBindRequest(id: number, auth: BindAuth): Uint8Array {
  if ('simple' in auth) {
    return message(id, seq(0x60, [int(3), str(auth.simple.dn), str(auth.simple.password, 0x80)]));
  }
  const s = auth.sasl;
  const parts = [str(s.mechanism)];
  if (s.credentials) parts.push(str(s.credentials));
  return message(id, seq(0x60, [int(3), str(''), seq(0xa3, parts)]));
}

/** RFC 4511 4.12 ExtendedRequest ([APPLICATION 23]): requestName [0], requestValue [1] optional. */
export function encodeExtendedRequest(id: number, name: string, value?: Uint8Array): Uint8Array {
  const parts = [str(name, 0x80)];
  if (value) parts.push(str(value, 0x81));
  return message(id, seq(0x77, parts));
}

/** RFC 4511 4.14.1: the StartTLS extended operation's name. */
export const START_TLS_OID = '1.3.6.1.4.1.1466.20037';

/** RFC 4511 4.3 UnbindRequest ([APPLICATION 2] NULL). */
export function encodeUnbindRequest(id: number): Uint8Array {
  return message(id, Uint8Array.of(0x42, 0x00));
}

export type LdapFilter =
  | { and: LdapFilter[] }
  | { or: LdapFilter[] }
  | { equals: [attribute: string, value: string | Uint8Array] }
  | { present: string };

function encodeFilter(f: LdapFilter): Uint8Array {
  if ('and' in f) return seq(0xa0, f.and.map(encodeFilter));
  if ('or' in f) return seq(0xa1, f.or.map(encodeFilter));
  if ('equals' in f) return seq(0xa3, [str(f.equals[0]), str(f.equals[1])]);
  if ('present' in f) return str(f.present, 0x87);
  throw new UsageError('LDAP filter must be { and } | { or } | { equals } | { present }');
}

export interface SearchOptions {
  base: string;
  scope?: 'base' | 'one' | 'sub';
  filter?: LdapFilter;
  attributes?: string[];
  sizeLimit?: number;
  timeLimit?: number;
}

/** RFC 4511 4.5.1 SearchRequest ([APPLICATION 3]), derefAliases never. */
export function encodeSearchRequest(id: number, o: SearchOptions): Uint8Array {
  const scope = { base: 0, one: 1, sub: 2 }[o.scope ?? 'sub'];
  if (scope === undefined) throw new UsageError(`LDAP scope must be 'base', 'one' or 'sub'`);
  return message(id, seq(0x63, [
    str(o.base), int(scope, 0x0a), int(0, 0x0a), int(o.sizeLimit ?? 0), int(o.timeLimit ?? 0),
    Uint8Array.of(0x01, 0x01, 0x00), encodeFilter(o.filter ?? { present: 'objectClass' }),
    seq(0x30, (o.attributes ?? []).map((a) => str(a))),
  ]));
}

// ---- reader ----

interface Tlv {
  tag: number;
  content: Uint8Array;
  /** Offset of the tag in the reader's buffer. */
  at: number;
}

/** Reads consecutive TLVs of one buffer. */
class Ber {
  private off = 0;
  constructor(private readonly b: Uint8Array, private readonly field: string, private readonly base = 0) {}
  get done(): boolean { return this.off >= this.b.length; }

  next(field: string): Tlv {
    const b = this.b;
    const at = this.off;
    const f = `${this.field}.${field}`;
    if (at >= b.length) throw new DecodeError(f, 'missing', this.base + at);
    const tag = b[at]!;
    if ((tag & 0x1f) === 0x1f) throw new DecodeError(f, 'high tag numbers are not used in LDAP', this.base + at);
    if (at + 1 >= b.length) throw new DecodeError(f, 'truncated length', this.base + at);
    let len = b[at + 1]!;
    let p = at + 2;
    if (len === 0x80) throw new DecodeError(f, 'indefinite length is not allowed in LDAP (RFC 4511 5.1)', this.base + at);
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 4) throw new DecodeError(f, `${n} length octets: too long`, this.base + at);
      if (p + n > b.length) throw new DecodeError(f, 'truncated length', this.base + at);
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[p + i]!;
      p += n;
    }
    if (p + len > b.length) throw new DecodeError(f, `length ${len} runs past the end`, this.base + at);
    this.off = p + len;
    return { tag, content: b.subarray(p, p + len), at: this.base + p };
  }

  expect(tag: number, field: string): Tlv {
    const t = this.next(field);
    if (t.tag !== tag) throw new DecodeError(`${this.field}.${field}`, `tag 0x${t.tag.toString(16)} where 0x${tag.toString(16)} was expected`, t.at);
    return t;
  }

  /** Optional element with this tag. */
  maybe(tag: number, field: string): Tlv | undefined {
    if (this.done || this.b[this.off] !== tag) return undefined;
    return this.next(field);
  }

  end(): void {
    if (!this.done) throw new DecodeError(this.field, 'trailing bytes', this.base + this.off);
  }

  sub(t: Tlv, field: string): Ber {
    return new Ber(t.content, `${this.field}.${field}`, t.at);
  }
}

function readInt(t: Tlv, field: string): number {
  const c = t.content;
  if (c.length === 0 || c.length > 4) throw new DecodeError(field, `integer of ${c.length} octets`, t.at);
  if (c[0]! & 0x80) throw new DecodeError(field, 'negative', t.at);
  let v = 0;
  for (const x of c) v = v * 256 + x;
  return v;
}

function readStr(t: Tlv, field: string): string {
  try {
    return td.decode(t.content);
  } catch {
    throw new DecodeError(field, 'not UTF-8', t.at);
  }
}

export interface LdapResult {
  resultCode: number;
  matchedDN: string;
  diagnosticMessage: string;
}

export type LdapOp =
  | ({ type: 'bindResponse'; serverSaslCreds?: Uint8Array } & LdapResult)
  | { type: 'searchResultEntry'; objectName: string; attributes: { type: string; values: Uint8Array[] }[] }
  | ({ type: 'searchResultDone' } & LdapResult)
  | { type: 'searchResultReference'; uris: string[] }
  | ({ type: 'extendedResponse'; responseName?: string } & LdapResult)
  | { type: 'other'; tag: number };

export interface LdapMessage {
  messageId: number;
  op: LdapOp;
}

function readResult(r: Ber): LdapResult {
  const resultCode = readInt(r.expect(0x0a, 'resultCode'), 'LDAPResult.resultCode');
  const matchedDN = readStr(r.expect(0x04, 'matchedDN'), 'LDAPResult.matchedDN');
  const diagnosticMessage = readStr(r.expect(0x04, 'diagnosticMessage'), 'LDAPResult.diagnosticMessage');
  r.maybe(0xa3, 'referral');
  return { resultCode, matchedDN, diagnosticMessage };
}

/** RFC 4511 4.1.1 LDAPMessage: one whole message (see LdapMessageReader for a stream). */
export function decodeLdapMessage(b: Uint8Array): LdapMessage {
  const outer = new Ber(b, 'LDAPMessage');
  const m = outer.expect(0x30, 'SEQUENCE');
  outer.end();
  const r = outer.sub(m, 'SEQUENCE');
  const messageId = readInt(r.expect(0x02, 'messageID'), 'LDAPMessage.messageID');
  const opT = r.next('protocolOp');
  r.maybe(0xa0, 'controls');
  r.end();
  const o = r.sub(opT, 'protocolOp');
  let op: LdapOp;
  switch (opT.tag) {
    case 0x61: {
      const res = readResult(o);
      const creds = o.maybe(0x87, 'serverSaslCreds');
      o.end();
      op = { type: 'bindResponse', ...res, ...(creds ? { serverSaslCreds: creds.content.slice() } : {}) };
      break;
    }
    case 0x64: {
      const objectName = readStr(o.expect(0x04, 'objectName'), 'SearchResultEntry.objectName');
      const attrsT = o.expect(0x30, 'attributes');
      o.end();
      const ar = o.sub(attrsT, 'attributes');
      const attributes: { type: string; values: Uint8Array[] }[] = [];
      while (!ar.done) {
        const a = ar.sub(ar.expect(0x30, 'PartialAttribute'), 'PartialAttribute');
        const type = readStr(a.expect(0x04, 'type'), 'PartialAttribute.type');
        const vs = a.sub(a.expect(0x31, 'vals'), 'vals');
        a.end();
        const values: Uint8Array[] = [];
        while (!vs.done) values.push(vs.expect(0x04, 'value').content.slice());
        attributes.push({ type, values });
      }
      op = { type: 'searchResultEntry', objectName, attributes };
      break;
    }
    case 0x65:
      op = { type: 'searchResultDone', ...readResult(o) };
      o.end();
      break;
    case 0x73: {
      const uris: string[] = [];
      while (!o.done) uris.push(readStr(o.expect(0x04, 'URI'), 'SearchResultReference.URI'));
      if (!uris.length) throw new DecodeError('SearchResultReference', 'no URI', opT.at);
      op = { type: 'searchResultReference', uris };
      break;
    }
    case 0x78: {
      const res = readResult(o);
      const name = o.maybe(0x8a, 'responseName');
      o.maybe(0x8b, 'responseValue');
      o.end();
      op = { type: 'extendedResponse', ...res, ...(name ? { responseName: readStr(name, 'ExtendedResponse.responseName') } : {}) };
      break;
    }
    default:
      op = { type: 'other', tag: opT.tag };
  }
  return { messageId, op };
}

/**
 * Cuts a byte stream into whole LDAPMessages. A message longer than `maxMessage` is refused on
 * its header, before its body is buffered.
 */
export class LdapMessageReader {
  private buf: Uint8Array = new Uint8Array(0);
  constructor(readonly maxMessage = 16 * 1024 * 1024) {}

  get pending(): number { return this.buf.length; }

  push(chunk: Uint8Array): Uint8Array[] {
    const b = new Uint8Array(this.buf.length + chunk.length);
    b.set(this.buf);
    b.set(chunk, this.buf.length);
    this.buf = b;
    const out: Uint8Array[] = [];
    for (;;) {
      const total = this.frameLength();
      if (total === undefined || this.buf.length < total) break;
      out.push(this.buf.slice(0, total));
      this.buf = this.buf.subarray(total);
    }
    return out;
  }

  private frameLength(): number | undefined {
    const b = this.buf;
    if (b.length < 2) return undefined;
    if (b[0] !== 0x30) throw new DecodeError('LDAPMessage', `tag 0x${b[0]!.toString(16)}: not an LDAPMessage`, 0);
    let len = b[1]!;
    let hdr = 2;
    if (len === 0x80) throw new DecodeError('LDAPMessage', 'indefinite length is not allowed in LDAP (RFC 4511 5.1)', 0);
    if (len > 0x80) {
      const n = len & 0x7f;
      if (n > 4) throw new DecodeError('LDAPMessage', `${n} length octets: too long`, 0);
      if (b.length < 2 + n) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + b[2 + i]!;
      hdr += n;
    }
    if (hdr + len > this.maxMessage) throw new DecodeError('LDAPMessage', `a message of ${hdr + len} octets exceeds the limit ${this.maxMessage}`, 0);
    return hdr + len;
  }
}

/** RFC 4511 4.1.9 result codes this module names. */
export const LDAP_RESULT = {
  success: 0,
  operationsError: 1,
  protocolError: 2,
  strongerAuthRequired: 8,
  saslBindInProgress: 14,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
} as const;
