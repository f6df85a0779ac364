/**
 * SPNEGO tokens, RFC 4178 section 4 (EXPLICIT TAGS, DER) and MS-SPNG 2.2.1 (NegTokenInit2).
 *
 *   NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
 *
 * The initiator's first token (and a server's NegTokenInit2 hint) is framed as an RFC 2743
 * InitialContextToken (0x60, SPNEGO OID); later tokens are not (RFC 4178 section 4.2).
 *
 * The mechListMIC (RFC 4178 section 5) is computed over the DER of the MechTypeList exactly as
 * sent/received, so decoders return those bytes (`mechTypesDer`, starting 0x30) and encoders
 * return the bytes they sent; nobody should ever re-encode a received list.
 */
import { DecodeError, UsageError } from '../errors.js';
import { frameToken, unframeToken } from '../gssapi/token.js';
import {
  type Node, SeqReader, Tag, readNode, expectTag, children, rawBytes, seqOf, decInteger, decOid, decOctets,
  decKerberosString, tlv, encSeq, explicit, encOid, encOctets, encKerberosString, encInteger, ctxTag,
} from '../krb5/asn1/der.js';
import { MechOid, mechOid } from './oids.js';

/** negState, RFC 4178 section 4.2.2. */
export const NegState = {
  acceptCompleted: 0,
  acceptIncomplete: 1,
  reject: 2,
  requestMic: 3,
} as const;
export type NegStateValue = (typeof NegState)[keyof typeof NegState];
export const negStateName = (v: number): string =>
  ['accept-completed', 'accept-incomplete', 'reject', 'request-mic'][v] ?? `negState(${v})`;

/** ContextFlags bits, RFC 4178 section 4.2.1 (bit 0 = first bit of the BIT STRING). */
export const ContextFlags = {
  delegFlag: 0,
  mutualFlag: 1,
  replayFlag: 2,
  sequenceFlag: 3,
  anonFlag: 4,
  confFlag: 5,
  integFlag: 6,
} as const;

/** MS-SPNG 2.2.1: the hint name Windows, MIT and Heimdal put in NegHints. */
export const NEG_HINTS_NAME = 'not_defined_in_RFC4178@please_ignore';

export interface NegHints {
  hintName?: string;
  hintAddress?: Uint8Array;
}

export interface NegTokenInit {
  /** Dotted OIDs in the order sent (unknown OIDs are kept). */
  mechTypes: string[];
  /** DER of the MechTypeList (the contents of field [0], starting 0x30), exactly as received. */
  mechTypesDer: Uint8Array;
  /** ContextFlags as a 32-bit number, bit 0 = MSB (acceptors must ignore it, RFC 4178 4.2.1). */
  reqFlags?: number;
  mechToken?: Uint8Array;
  mechListMIC?: Uint8Array;
}

export interface NegTokenInit2 {
  mechTypes?: string[];
  mechTypesDer?: Uint8Array;
  reqFlags?: number;
  mechToken?: Uint8Array;
  negHints?: NegHints;
  /** MS-SPNG field [4]. */
  mechListMIC?: Uint8Array;
}

export interface NegTokenResp {
  /** Absent (undefined) when the peer did not send it (Windows/Java quirk, RFC 4178 4.2.2). */
  negState?: NegStateValue;
  supportedMech?: string;
  responseToken?: Uint8Array;
  mechListMIC?: Uint8Array;
}

export type NegotiationToken =
  | ({ kind: 'init'; framed: boolean } & NegTokenInit)
  | ({ kind: 'init2'; framed: boolean } & NegTokenInit2)
  | ({ kind: 'resp'; framed: boolean } & NegTokenResp);

// ---------------------------------------------------------------------------------------------
// Encoding
// ---------------------------------------------------------------------------------------------

/** DER of a MechTypeList (SEQUENCE OF OBJECT IDENTIFIER) from short names or dotted OIDs. */
export function encodeMechTypeList(mechTypes: readonly string[]): Uint8Array {
  return tlv(Tag.SEQUENCE, ...mechTypes.map((m) => encOid(mechOid(m))));
}

/** ContextFlags as a DER named-bit-list BIT STRING (trailing zero bits removed, X.690 11.2.2). */
function encContextFlags(v: number): Uint8Array {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new UsageError(`reqFlags ${v} is not a 32-bit value`);
  v >>>= 0;
  if (v === 0) return tlv(Tag.BIT_STRING, Uint8Array.of(0));
  let last = 0;
  for (let bit = 0; bit < 32; bit++) if ((v >>> (31 - bit)) & 1) last = bit;
  const nBytes = (last >> 3) + 1;
  const out = new Uint8Array(nBytes + 1);
  out[0] = nBytes * 8 - (last + 1);
  for (let i = 0; i < nBytes; i++) out[i + 1] = (v >>> (24 - 8 * i)) & 0xff;
  return tlv(Tag.BIT_STRING, out);
}

/** Builds the reqFlags number from ContextFlags names. */
export function makeContextFlags(names: readonly (keyof typeof ContextFlags)[]): number {
  let v = 0;
  for (const n of names) v |= 0x80000000 >>> ContextFlags[n];
  return v >>> 0;
}

export interface EncodeOptions {
  /** Wrap in the RFC 2743 InitialContextToken framing with the SPNEGO OID (default true for init tokens). */
  framed?: boolean;
}

function frame(inner: Uint8Array, framed: boolean): Uint8Array {
  return framed ? frameToken(MechOid.spnego, inner) : inner;
}

/**
 * NegTokenInit (RFC 4178 4.2.1). `mechTypes` are short names ('krb5', 'ms-krb5'...) or dotted OIDs.
 * reqFlags is omitted unless given (RFC 4178: SHOULD be omitted). Returns the token and the exact
 * MechTypeList DER to feed to the mechListMIC.
 */
export function encodeNegTokenInit(
  v: { mechTypes: readonly string[]; reqFlags?: number; mechToken?: Uint8Array; mechListMIC?: Uint8Array },
  opts: EncodeOptions = {},
): { token: Uint8Array; mechTypesDer: Uint8Array } {
  const mechTypesDer = encodeMechTypeList(v.mechTypes);
  const seq = encSeq(
    explicit(0, mechTypesDer),
    explicit(1, v.reqFlags === undefined ? undefined : encContextFlags(v.reqFlags)),
    explicit(2, v.mechToken && encOctets(v.mechToken)),
    explicit(3, v.mechListMIC && encOctets(v.mechListMIC)),
  );
  return { token: frame(tlv(ctxTag(0), seq), opts.framed ?? true), mechTypesDer };
}

/**
 * NegTokenInit2 (MS-SPNG 2.2.1), the acceptor's hint token. negHints defaults to
 * { hintName: NEG_HINTS_NAME } (what MIT, Heimdal and Windows send); pass `negHints: null` to omit it.
 * Field [3] is NegHints (a SEQUENCE), field [4] the mechListMIC.
 */
export function encodeNegTokenInit2(
  v: { mechTypes: readonly string[]; reqFlags?: number; mechToken?: Uint8Array; negHints?: NegHints | null; mechListMIC?: Uint8Array },
  opts: EncodeOptions = {},
): { token: Uint8Array; mechTypesDer: Uint8Array } {
  const mechTypesDer = encodeMechTypeList(v.mechTypes);
  const hints = v.negHints === undefined ? { hintName: NEG_HINTS_NAME } : v.negHints;
  const seq = encSeq(
    explicit(0, mechTypesDer),
    explicit(1, v.reqFlags === undefined ? undefined : encContextFlags(v.reqFlags)),
    explicit(2, v.mechToken && encOctets(v.mechToken)),
    explicit(
      3,
      hints === null
        ? undefined
        : encSeq(
            explicit(0, hints.hintName === undefined ? undefined : encKerberosString(hints.hintName)),
            explicit(1, hints.hintAddress && encOctets(hints.hintAddress)),
          ),
    ),
    explicit(4, v.mechListMIC && encOctets(v.mechListMIC)),
  );
  return { token: frame(tlv(ctxTag(0), seq), opts.framed ?? true), mechTypesDer };
}

/**
 * NegTokenResp (RFC 4178 4.2.2): `A1 len 30 len [0] negState [1] supportedMech [2] responseToken
 * [3] mechListMIC`. negState is written as `A0 03 0A 01 0n` (MIT requires a 1-octet ENUMERATED);
 * an empty responseToken is omitted (MIT make_spnego_tokenTarg_msg). Not framed unless asked.
 */
export function encodeNegTokenResp(
  v: { negState?: number; supportedMech?: string; responseToken?: Uint8Array; mechListMIC?: Uint8Array },
  opts: EncodeOptions = {},
): Uint8Array {
  if (v.negState !== undefined && ![0, 1, 2, 3].includes(v.negState)) throw new UsageError(`negState ${v.negState} is not 0..3`);
  const seq = encSeq(
    explicit(0, v.negState === undefined ? undefined : encInteger(v.negState, Tag.ENUMERATED)),
    explicit(1, v.supportedMech === undefined ? undefined : encOid(mechOid(v.supportedMech))),
    explicit(2, v.responseToken && v.responseToken.length > 0 ? encOctets(v.responseToken) : undefined),
    explicit(3, v.mechListMIC && encOctets(v.mechListMIC)),
  );
  return frame(tlv(ctxTag(1), seq), opts.framed ?? false);
}

// ---------------------------------------------------------------------------------------------
// Decoding
// ---------------------------------------------------------------------------------------------

/**
 * ContextFlags: any BIT STRING of up to 32 bits (not required to be minimal: the acceptor must
 * ignore reqFlags, RFC 4178 4.2.1, so we do not reject a token over it), as bit 0 = MSB.
 */
function decContextFlags(n: Node, path: string): number {
  expectTag(n, Tag.BIT_STRING, path);
  const c = n.buf.subarray(n.contentStart, n.end);
  const unused = c[0] ?? 8;
  if (unused > 7 || (c.length === 1 && unused !== 0)) throw new DecodeError(path, 'malformed BIT STRING', n.start);
  if (c.length > 5) throw new DecodeError(path, 'ContextFlags longer than 32 bits', n.start);
  if ((c[c.length - 1]! & ((1 << unused) - 1)) !== 0) throw new DecodeError(path, 'unused bits are not zero', n.start);
  let v = 0;
  for (let i = 1; i < 5; i++) v = v * 256 + (c[i] ?? 0);
  return v >>> 0;
}

function decMechTypeList(n: Node, path: string): { mechTypes: string[]; mechTypesDer: Uint8Array } {
  return { mechTypes: seqOf(n, path, decOid), mechTypesDer: rawBytes(n) };
}

function decNegHints(n: Node, path: string): NegHints {
  const r = new SeqReader(expectTag(n, Tag.SEQUENCE, path), path);
  const out: NegHints = {};
  const name = r.optional(0, 'hintName');
  if (name) out.hintName = decKerberosString(name, `${path}.hintName`);
  const addr = r.optional(1, 'hintAddress');
  if (addr) out.hintAddress = decOctets(addr, `${path}.hintAddress`);
  r.end();
  return out;
}

function decInit(n: Node): ({ kind: 'init' } & NegTokenInit) | ({ kind: 'init2' } & NegTokenInit2) {
  let path = 'NegTokenInit';
  const r = new SeqReader(expectTag(n, Tag.SEQUENCE, path), path);
  const mt = r.optional(0, 'mechTypes');
  const list = mt && decMechTypeList(mt, `${path}.mechTypes`);
  const rf = r.optional(1, 'reqFlags');
  const reqFlags = rf && decContextFlags(rf, `${path}.reqFlags`);
  const tok = r.optional(2, 'mechToken');
  const mechToken = tok && decOctets(tok, `${path}.mechToken`);
  // Field [3]: RFC 4178 mechListMIC (OCTET STRING) or MS-SPNG negHints (SEQUENCE): dispatch on the inner tag.
  const f3 = r.optional(3, 'mechListMIC');
  let mic3: Uint8Array | undefined;
  let negHints: NegHints | undefined;
  if (f3 && f3.tag === Tag.SEQUENCE) negHints = decNegHints(f3, 'NegTokenInit2.negHints');
  else if (f3) mic3 = decOctets(f3, `${path}.mechListMIC`);
  let mic4: Uint8Array | undefined;
  if (mic3 === undefined) {
    const f4 = r.optional(4, 'mechListMIC');
    if (f4) mic4 = decOctets(f4, 'NegTokenInit2.mechListMIC');
  }
  r.end();
  const init2 = negHints !== undefined || mic4 !== undefined || list === undefined;
  if (init2 && mic3 !== undefined) throw new DecodeError('NegTokenInit2.negHints', 'field [3] must be a NegHints SEQUENCE', f3!.start);
  if (!init2) {
    const v: { kind: 'init' } & NegTokenInit = { kind: 'init', mechTypes: list!.mechTypes, mechTypesDer: list!.mechTypesDer };
    if (reqFlags !== undefined) v.reqFlags = reqFlags;
    if (mechToken !== undefined) v.mechToken = mechToken;
    if (mic3 !== undefined) v.mechListMIC = mic3;
    return v;
  }
  path = 'NegTokenInit2';
  const v: { kind: 'init2' } & NegTokenInit2 = { kind: 'init2' };
  if (list) {
    v.mechTypes = list.mechTypes;
    v.mechTypesDer = list.mechTypesDer;
  }
  if (reqFlags !== undefined) v.reqFlags = reqFlags;
  if (mechToken !== undefined) v.mechToken = mechToken;
  if (negHints !== undefined) v.negHints = negHints;
  if (mic4 !== undefined) v.mechListMIC = mic4;
  return v;
}

function decResp(n: Node): { kind: 'resp' } & NegTokenResp {
  const path = 'NegTokenResp';
  const r = new SeqReader(expectTag(n, Tag.SEQUENCE, path), path);
  const v: { kind: 'resp' } & NegTokenResp = { kind: 'resp' };
  const ns = r.optional(0, 'negState');
  if (ns) {
    const s = decInteger(ns, `${path}.negState`, Tag.ENUMERATED);
    if (s < 0 || s > 3) throw new DecodeError(`${path}.negState`, `unknown negState ${s}`, ns.start);
    v.negState = s as NegStateValue;
  }
  const sm = r.optional(1, 'supportedMech');
  if (sm) v.supportedMech = decOid(sm, `${path}.supportedMech`);
  const rt = r.optional(2, 'responseToken');
  if (rt) v.responseToken = decOctets(rt, `${path}.responseToken`);
  const mic = r.optional(3, 'mechListMIC');
  if (mic) v.mechListMIC = decOctets(mic, `${path}.mechListMIC`);
  r.end();
  return v;
}

/**
 * Decodes any SPNEGO token: a framed or bare NegTokenInit / NegTokenInit2, or a NegTokenResp
 * (bare, or framed as old Sun SPNEGO did; MIT acc_ctx_cont accepts that too). `framed` says which.
 */
export function decodeNegotiationToken(bytes: Uint8Array): NegotiationToken {
  let start = 0;
  let framed = false;
  if (bytes.length > 0 && bytes[0] === 0x60) {
    const f = unframeToken(bytes, 'InitialContextToken');
    if (f.mech !== MechOid.spnego) throw new DecodeError('InitialContextToken.thisMech', `not SPNEGO (${f.mech})`, f.mechOidBytes.byteOffset - bytes.byteOffset);
    start = f.inner.byteOffset - bytes.byteOffset;
    framed = true;
  }
  const top = readNode(bytes, start, bytes.length, 'NegotiationToken');
  if (top.end !== bytes.length) throw new DecodeError('NegotiationToken', `${bytes.length - top.end} trailing bytes`, top.end);
  const kids = top.tag === ctxTag(0) || top.tag === ctxTag(1) ? children(top, 'NegotiationToken') : [];
  if (kids.length !== 1) {
    if (top.tag !== ctxTag(0) && top.tag !== ctxTag(1))
      throw new DecodeError('NegotiationToken', `expected [0] NegTokenInit or [1] NegTokenResp, got tag 0x${top.tag.toString(16)}`, top.start);
    throw new DecodeError('NegotiationToken', 'CHOICE must hold exactly one value', top.start);
  }
  const inner = kids[0]!;
  if (top.tag === ctxTag(0)) return { ...decInit(inner), framed };
  return { ...decResp(inner), framed };
}

/** Decodes a NegTokenInit (framed or not); a NegTokenInit2 or NegTokenResp is a DecodeError. */
export function decodeNegTokenInit(bytes: Uint8Array): NegTokenInit & { framed: boolean } {
  const t = decodeNegotiationToken(bytes);
  if (t.kind !== 'init') throw new DecodeError('NegTokenInit', `expected a NegTokenInit, got ${t.kind === 'init2' ? 'a NegTokenInit2' : 'a NegTokenResp'}`, 0);
  const { kind: _kind, ...rest } = t;
  return rest;
}

/** Decodes a NegTokenResp (bare, or framed as the old Sun quirk). */
export function decodeNegTokenResp(bytes: Uint8Array): NegTokenResp & { framed: boolean } {
  const t = decodeNegotiationToken(bytes);
  if (t.kind !== 'resp') throw new DecodeError('NegTokenResp', 'expected a NegTokenResp ([1])', 0);
  const { kind: _kind, ...rest } = t;
  return rest;
}
