/**
 * MS-NLMP 2.2 messages: NEGOTIATE_MESSAGE (2.2.1.1), CHALLENGE_MESSAGE (2.2.1.2),
 * AUTHENTICATE_MESSAGE (2.2.1.3), AV_PAIR lists (2.2.2.1), VERSION (2.2.2.10) and the
 * NTLMv2_CLIENT_CHALLENGE (2.2.2.7). Every length and offset is checked against the buffer;
 * decoders throw only DecodeError, naming the field.
 */
import { DecodeError, UsageError } from '../errors.js';
import { bytesEqual, concatBytes } from '../util/bytes.js';
import { AvId, MessageType, NegotiateFlags, NTLMSSP_SIGNATURE, NTLMSSP_REVISION_W2K3 } from './constants.js';

export interface NtlmVersion {
  major: number;
  minor: number;
  build: number;
  revision: number;
}

export interface AvPair {
  id: number;
  value: Uint8Array;
}

export interface NegotiateMessage {
  type: 1;
  flags: number;
  /** OEM strings, only when the *_SUPPLIED flags say so. */
  domain: string;
  workstation: string;
  version?: NtlmVersion;
}

export interface ChallengeMessage {
  type: 2;
  flags: number;
  targetName: string;
  serverChallenge: Uint8Array;
  /** The TargetInfo bytes exactly as sent (the NTLMv2 response echoes them). */
  targetInfo: Uint8Array;
  avPairs: AvPair[];
  version?: NtlmVersion;
}

export interface AuthenticateMessage {
  type: 3;
  flags: number;
  lmChallengeResponse: Uint8Array;
  ntChallengeResponse: Uint8Array;
  domain: string;
  user: string;
  workstation: string;
  encryptedRandomSessionKey: Uint8Array;
  version?: NtlmVersion;
  /** The 16-byte MIC field when the layout has one (payload starts at or after byte 88). */
  mic?: Uint8Array;
}

export type NtlmMessage = NegotiateMessage | ChallengeMessage | AuthenticateMessage;

/** Offset of the MIC field in an AUTHENTICATE_MESSAGE (2.2.1.3). */
export const MIC_OFFSET = 72;

const u16 = (b: Uint8Array, o: number) => b[o]! | (b[o + 1]! << 8);
const u32 = (b: Uint8Array, o: number) => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;

function put16(b: Uint8Array, o: number, v: number) {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}
function put32(b: Uint8Array, o: number, v: number) {
  put16(b, o, v & 0xffff);
  put16(b, o + 2, (v >>> 16) & 0xffff);
}

/** UTF-16LE, the "Unicode" of MS-NLMP (NTLMSSP_NEGOTIATE_UNICODE). */
export function utf16le(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 2);
  for (let i = 0; i < s.length; i++) put16(out, i * 2, s.charCodeAt(i));
  return out;
}

export function fromUtf16le(b: Uint8Array, field: string): string {
  if (b.length % 2) throw new DecodeError(field, `UTF-16 string of odd length ${b.length}`);
  let s = '';
  for (let i = 0; i < b.length; i += 2) s += String.fromCharCode(u16(b, i));
  return s;
}

/** OEM strings: read as Latin-1 (the code page is the peer's; non-ASCII OEM names are refused when sent). */
function oem(s: string, field: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) throw new UsageError(`${field}: OEM strings must be ASCII; negotiate Unicode`);
    out[i] = c;
  }
  return out;
}
const fromOem = (b: Uint8Array) => String.fromCharCode(...b);

function str(s: string, unicode: boolean, field: string): Uint8Array {
  return unicode ? utf16le(s) : oem(s, field);
}
function readStr(b: Uint8Array, unicode: boolean, field: string): string {
  return unicode ? fromUtf16le(b, field) : fromOem(b);
}

function checkHeader(b: Uint8Array, type: number, minLen: number, name: string): void {
  if (!(b instanceof Uint8Array)) throw new DecodeError(name, 'not bytes');
  if (b.length < minLen) throw new DecodeError(name, `needs at least ${minLen} bytes, got ${b.length}`, 0);
  if (!bytesEqual(b.subarray(0, 8), NTLMSSP_SIGNATURE)) throw new DecodeError(`${name}.Signature`, 'not "NTLMSSP\\0"', 0);
  const t = u32(b, 8);
  if (t !== type) throw new DecodeError(`${name}.MessageType`, `expected ${type}, got ${t}`, 8);
}

/**
 * A payload field (Len, MaxLen, BufferOffset): the bytes it points to, checked to lie inside the
 * message and after the fixed header. MaxLen is ignored on receipt (2.2.1.1: "SHOULD be set to Len").
 */
function payload(b: Uint8Array, at: number, headerEnd: number, field: string): Uint8Array {
  const len = u16(b, at);
  const off = u32(b, at + 4);
  if (len === 0) return new Uint8Array(0);
  if (off < headerEnd) throw new DecodeError(field, `BufferOffset ${off} points into the ${headerEnd}-byte header`, at + 4);
  if (off + len > b.length) throw new DecodeError(field, `Len ${len} at BufferOffset ${off} runs past the ${b.length}-byte message`, at);
  return b.subarray(off, off + len);
}

function readVersion(b: Uint8Array, at: number): NtlmVersion {
  return { major: b[at]!, minor: b[at + 1]!, build: u16(b, at + 2), revision: b[at + 7]! };
}
function writeVersion(b: Uint8Array, at: number, v: NtlmVersion | undefined): void {
  if (!v) return;
  b[at] = v.major;
  b[at + 1] = v.minor;
  put16(b, at + 2, v.build);
  b[at + 7] = v.revision;
}

/** What we put in VERSION: a neutral 10.0 with the current NTLM revision (2.2.2.10). */
export const OUR_VERSION: NtlmVersion = { major: 10, minor: 0, build: 0, revision: NTLMSSP_REVISION_W2K3 };

/** Lays out a fixed header then the payload fields, filling each (Len, MaxLen, BufferOffset). */
function layout(headerLen: number, fieldsAt: number[], parts: Uint8Array[]): Uint8Array {
  let total = headerLen;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  out.set(NTLMSSP_SIGNATURE, 0);
  let off = headerLen;
  parts.forEach((p, i) => {
    const at = fieldsAt[i]!;
    if (p.length > 0xffff) throw new UsageError(`NTLM payload field of ${p.length} bytes does not fit a 16-bit length`);
    put16(out, at, p.length);
    put16(out, at + 2, p.length);
    put32(out, at + 4, off);
    out.set(p, off);
    off += p.length;
  });
  return out;
}

// ---- AV pairs (2.2.2.1) ----

/** AV ids a list may hold once only: two values would let the peers read different ones. */
const SINGLE = new Set<number>([AvId.MsvAvFlags, AvId.MsvAvTimestamp, AvId.MsvAvTargetName, AvId.MsvAvChannelBindings, AvId.MsvAvSingleHost]);
const FIXED_LEN: Record<number, number> = { [AvId.MsvAvEOL]: 0, [AvId.MsvAvFlags]: 4, [AvId.MsvAvTimestamp]: 8, [AvId.MsvAvChannelBindings]: 16 };

/**
 * Decodes an AV_PAIR list up to and including MsvAvEOL. Returns the pairs (without EOL) and the
 * offset just past EOL. `field` names the list in errors.
 */
export function decodeAvPairs(b: Uint8Array, field = 'AV_PAIR'): { pairs: AvPair[]; end: number } {
  const pairs: AvPair[] = [];
  const seen = new Set<number>();
  let at = 0;
  for (;;) {
    if (at + 4 > b.length) throw new DecodeError(field, 'list ends without MsvAvEOL', at);
    const id = u16(b, at);
    const len = u16(b, at + 2);
    const f = `${field}[${pairs.length}]`;
    if (at + 4 + len > b.length) throw new DecodeError(`${f}.AvLen`, `${len} bytes run past the ${b.length}-byte list`, at + 2);
    const fixed = FIXED_LEN[id];
    if (fixed !== undefined && len !== fixed) throw new DecodeError(`${f}.AvLen`, `AvId ${id} needs ${fixed} bytes, got ${len}`, at + 2);
    if (id === AvId.MsvAvEOL) return { pairs, end: at + 4 };
    if (SINGLE.has(id) && seen.has(id)) throw new DecodeError(`${f}.AvId`, `AvId ${id} appears twice`, at);
    seen.add(id);
    pairs.push({ id, value: b.subarray(at + 4, at + 4 + len) });
    at += 4 + len;
  }
}

export function encodeAvPairs(pairs: AvPair[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const p of pairs) {
    if (p.id === AvId.MsvAvEOL) continue;
    const h = new Uint8Array(4);
    put16(h, 0, p.id);
    put16(h, 2, p.value.length);
    parts.push(h, p.value);
  }
  parts.push(new Uint8Array(4));
  return concatBytes(...parts);
}

export const findAv = (pairs: AvPair[], id: number) => pairs.find((p) => p.id === id)?.value;

// ---- NEGOTIATE_MESSAGE (2.2.1.1) ----

export function encodeNegotiate(m: { flags: number; domain?: string; workstation?: string; version?: NtlmVersion }): Uint8Array {
  let flags = m.flags >>> 0;
  const domain = oem(m.domain ?? '', 'NEGOTIATE.DomainName');
  const ws = oem(m.workstation ?? '', 'NEGOTIATE.Workstation');
  if (domain.length) flags |= NegotiateFlags.NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED;
  if (ws.length) flags |= NegotiateFlags.NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED;
  if (m.version) flags |= NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION;
  const out = layout(40, [16, 24], [domain, ws]);
  put32(out, 8, MessageType.NEGOTIATE);
  put32(out, 12, flags >>> 0);
  writeVersion(out, 32, m.version);
  return out;
}

export function decodeNegotiate(b: Uint8Array): NegotiateMessage {
  const n = 'NEGOTIATE_MESSAGE';
  checkHeader(b, MessageType.NEGOTIATE, 16, n);
  const flags = u32(b, 12);
  // Old clients stop after the flags (16 bytes) or after the two fields (32): the fields are then absent.
  const headerEnd = b.length >= 40 && flags & NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION ? 40 : Math.min(b.length, 32);
  const has = b.length >= 32;
  const domain = has && flags & NegotiateFlags.NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED ? fromOem(payload(b, 16, headerEnd, `${n}.DomainNameFields`)) : '';
  const workstation = has && flags & NegotiateFlags.NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED ? fromOem(payload(b, 24, headerEnd, `${n}.WorkstationFields`)) : '';
  const m: NegotiateMessage = { type: 1, flags, domain, workstation };
  if (headerEnd === 40) m.version = readVersion(b, 32);
  return m;
}

// ---- CHALLENGE_MESSAGE (2.2.1.2) ----

export function encodeChallenge(m: { flags: number; targetName: string; serverChallenge: Uint8Array; avPairs?: AvPair[]; version?: NtlmVersion }): Uint8Array {
  let flags = m.flags >>> 0;
  const unicode = (flags & NegotiateFlags.NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  if (m.serverChallenge.length !== 8) throw new UsageError('CHALLENGE.ServerChallenge must be 8 bytes');
  const info = m.avPairs ? encodeAvPairs(m.avPairs) : new Uint8Array(0);
  if (m.avPairs) flags |= NegotiateFlags.NTLMSSP_NEGOTIATE_TARGET_INFO;
  if (m.version) flags |= NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION;
  const out = layout(56, [12, 40], [str(m.targetName, unicode, 'CHALLENGE.TargetName'), info]);
  put32(out, 8, MessageType.CHALLENGE);
  put32(out, 20, flags >>> 0);
  out.set(m.serverChallenge, 24);
  writeVersion(out, 48, m.version);
  return out;
}

export function decodeChallenge(b: Uint8Array): ChallengeMessage {
  const n = 'CHALLENGE_MESSAGE';
  checkHeader(b, MessageType.CHALLENGE, 48, n);
  const flags = u32(b, 20);
  const unicode = (flags & NegotiateFlags.NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  // TargetInfoFields and Version follow at 40..56 in every message since NT 4.0 SP4; a 48-byte message has none.
  const long = b.length >= 56;
  const headerEnd = long ? 56 : 48;
  // TargetName is informational for the initiator (NTLMv2 answers from ServerChallenge and TargetInfo):
  // one that cannot be read is taken as '' rather than failing. Squid's ntlm_fake_auth sends
  // TargetNameFields with a BufferOffset past the message (0xAAAAAAAE), which curl ignores too.
  let targetName = '';
  try {
    targetName = readStr(payload(b, 12, headerEnd, `${n}.TargetNameFields`), unicode, `${n}.TargetName`);
  } catch (err) {
    if (!(err instanceof DecodeError)) throw err;
  }
  const targetInfo = long && flags & NegotiateFlags.NTLMSSP_NEGOTIATE_TARGET_INFO ? payload(b, 40, headerEnd, `${n}.TargetInfoFields`) : new Uint8Array(0);
  const avPairs = targetInfo.length ? decodeAvPairs(targetInfo, `${n}.TargetInfo`).pairs : [];
  const m: ChallengeMessage = { type: 2, flags, targetName, serverChallenge: b.slice(24, 32), targetInfo, avPairs };
  if (long && flags & NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION) m.version = readVersion(b, 48);
  return m;
}

// ---- AUTHENTICATE_MESSAGE (2.2.1.3) ----

/** What encodeAuthenticate writes: the message's fields; `mic` lays out a MIC field (filled with these 16 bytes), absent: the payload starts at 72. */
export type AuthenticateFields = Omit<AuthenticateMessage, 'type'>;

export function encodeAuthenticate(m: AuthenticateFields): Uint8Array {
  const flags = (m.flags | (m.version ? NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION : 0)) >>> 0;
  const unicode = (flags & NegotiateFlags.NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  const n = 'AUTHENTICATE';
  const headerLen = m.mic ? 88 : 72;
  const out = layout(headerLen, [12, 20, 28, 36, 44, 52], [
    m.lmChallengeResponse, m.ntChallengeResponse,
    str(m.domain, unicode, `${n}.DomainName`), str(m.user, unicode, `${n}.UserName`), str(m.workstation, unicode, `${n}.Workstation`),
    m.encryptedRandomSessionKey,
  ]);
  put32(out, 8, MessageType.AUTHENTICATE);
  put32(out, 60, flags);
  writeVersion(out, 64, m.version);
  if (m.mic) {
    if (m.mic.length !== 16) throw new UsageError(`${n}.MIC must be 16 bytes`);
    out.set(m.mic, MIC_OFFSET);
  }
  return out;
}

export function decodeAuthenticate(b: Uint8Array): AuthenticateMessage {
  const n = 'AUTHENTICATE_MESSAGE';
  checkHeader(b, MessageType.AUTHENTICATE, 64, n);
  const flags = u32(b, 60);
  const unicode = (flags & NegotiateFlags.NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  const fieldsAt = [12, 20, 28, 36, 44, 52];
  // Where the payload starts tells which optional header fields exist: Version at 64..72, MIC at 72..88.
  let first = b.length;
  for (const at of fieldsAt) if (u16(b, at) > 0) first = Math.min(first, u32(b, at + 4));
  const headerEnd = first >= 88 && b.length >= 88 ? 88 : first >= 72 && b.length >= 72 ? 72 : 64;
  const p = (i: number, f: string) => payload(b, fieldsAt[i]!, headerEnd, `${n}.${f}Fields`);
  const m: AuthenticateMessage = {
    type: 3,
    flags,
    lmChallengeResponse: p(0, 'LmChallengeResponse'),
    ntChallengeResponse: p(1, 'NtChallengeResponse'),
    domain: readStr(p(2, 'DomainName'), unicode, `${n}.DomainName`),
    user: readStr(p(3, 'UserName'), unicode, `${n}.UserName`),
    workstation: readStr(p(4, 'Workstation'), unicode, `${n}.Workstation`),
    encryptedRandomSessionKey: p(5, 'EncryptedRandomSessionKey'),
  };
  if (headerEnd >= 72 && flags & NegotiateFlags.NTLMSSP_NEGOTIATE_VERSION) m.version = readVersion(b, 64);
  if (headerEnd === 88) m.mic = b.slice(MIC_OFFSET, MIC_OFFSET + 16);
  return m;
}

/** Decodes any of the three messages by its MessageType. */
export function decodeNtlmMessage(b: Uint8Array): NtlmMessage {
  if (!(b instanceof Uint8Array) || b.length < 12) throw new DecodeError('NTLM message', `needs at least 12 bytes, got ${b?.length}`, 0);
  if (!isNtlmMessage(b)) throw new DecodeError('NTLM message.Signature', 'not "NTLMSSP\\0"', 0);
  switch (u32(b, 8)) {
    case 1: return decodeNegotiate(b);
    case 2: return decodeChallenge(b);
    case 3: return decodeAuthenticate(b);
    default: throw new DecodeError('NTLM message.MessageType', `unknown type ${u32(b, 8)}`, 8);
  }
}

export function isNtlmMessage(b: Uint8Array): boolean {
  return b.length >= 8 && bytesEqual(b.subarray(0, 8), NTLMSSP_SIGNATURE);
}

// ---- NTLMv2_RESPONSE / NTLMv2_CLIENT_CHALLENGE (2.2.2.7, 2.2.2.8) ----

export interface NtlmV2ClientChallenge {
  /** FILETIME: 100 ns ticks since 1601-01-01 UTC. */
  timestamp: bigint;
  clientChallenge: Uint8Array;
  avPairs: AvPair[];
}

export interface NtlmV2Response extends NtlmV2ClientChallenge {
  ntProofStr: Uint8Array;
  /** The NTLMv2_CLIENT_CHALLENGE bytes ("temp" of 3.3.2), which NTProofStr covers. */
  temp: Uint8Array;
}

export function decodeNtlmV2Response(b: Uint8Array): NtlmV2Response {
  const n = 'NTLMv2_RESPONSE';
  if (b.length < 16 + 28 + 4) throw new DecodeError(n, `needs at least 48 bytes, got ${b.length}`, 0);
  const temp = b.subarray(16);
  if (temp[0] !== 1 || temp[1] !== 1) throw new DecodeError(`${n}.RespType`, `RespType/HiRespType ${temp[0]}/${temp[1]}, expected 1/1`, 16);
  const dv = new DataView(temp.buffer, temp.byteOffset, temp.length);
  const { pairs } = decodeAvPairs(temp.subarray(28), `${n}.AvPairs`);
  return { ntProofStr: b.slice(0, 16), temp, timestamp: dv.getBigUint64(8, true), clientChallenge: temp.slice(16, 24), avPairs: pairs };
}

/** The "temp" of 3.3.2: RespType, HiRespType, Z(6), Time, ClientChallenge, Z(4), ServerName (AV pairs), Z(4). */
export function encodeNtlmV2ClientChallenge(timestamp: bigint, clientChallenge: Uint8Array, avPairsBytes: Uint8Array): Uint8Array {
  const h = new Uint8Array(28);
  h[0] = 1;
  h[1] = 1;
  new DataView(h.buffer).setBigUint64(8, timestamp, true);
  h.set(clientChallenge, 16);
  return concatBytes(h, avPairsBytes, new Uint8Array(4));
}

/** Unix milliseconds to FILETIME (100 ns since 1601). */
export const fileTimeFromMs = (ms: number): bigint => (BigInt(Math.floor(ms)) + 11644473600000n) * 10000n;
export const msFromFileTime = (ft: bigint): number => Number(ft / 10000n - 11644473600000n);
