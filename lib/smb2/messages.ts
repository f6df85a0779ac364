/**
 * SMB2 messages needed to authenticate (MS-SMB2 2.2): the 64-byte header, NEGOTIATE (3.1.1 with
 * negotiate contexts), SESSION_SETUP, TREE_CONNECT, LOGOFF and the error response; and the Direct
 * TCP transport frame (MS-SMB2 2.1: a zero byte + 24-bit big-endian length). Every decoder checks
 * lengths and offsets against the buffer and throws only DecodeError.
 */
import { DecodeError } from '../errors.js';

export const SMB2_MAGIC = 0x424d53fe; // 0xFE 'S' 'M' 'B', read little-endian
export const HEADER_SIZE = 64;

export const Command = { NEGOTIATE: 0, SESSION_SETUP: 1, LOGOFF: 2, TREE_CONNECT: 3, TREE_DISCONNECT: 4 } as const;
export const HeaderFlags = { SERVER_TO_REDIR: 0x1, ASYNC_COMMAND: 0x2, RELATED_OPERATIONS: 0x4, SIGNED: 0x8 } as const;
/** NTSTATUS values seen here (MS-ERREF 2.3). */
export const Status = {
  SUCCESS: 0x00000000,
  PENDING: 0x00000103,
  MORE_PROCESSING_REQUIRED: 0xc0000016,
  ACCESS_DENIED: 0xc0000022,
  LOGON_FAILURE: 0xc000006d,
  USER_SESSION_DELETED: 0xc0000203,
  NOT_SUPPORTED: 0xc00000bb,
  INVALID_PARAMETER: 0xc000000d,
  BAD_NETWORK_NAME: 0xc00000cc,
} as const;
export const Dialect = { SMB202: 0x0202, SMB210: 0x0210, SMB300: 0x0300, SMB302: 0x0302, SMB311: 0x0311 } as const;
export const SecurityMode = { SIGNING_ENABLED: 0x1, SIGNING_REQUIRED: 0x2 } as const;
export const ContextType = { PREAUTH_INTEGRITY_CAPABILITIES: 1, ENCRYPTION_CAPABILITIES: 2, SIGNING_CAPABILITIES: 8 } as const;
export const HashAlgorithm = { SHA512: 1 } as const;
export const Cipher = { AES_128_CCM: 1, AES_128_GCM: 2, AES_256_CCM: 3, AES_256_GCM: 4 } as const;
export const SigningAlgorithm = { HMAC_SHA256: 0, AES_CMAC: 1, AES_GMAC: 2 } as const;
export const SessionFlags = { IS_GUEST: 0x1, IS_NULL: 0x2, ENCRYPT_DATA: 0x4 } as const;

export function statusName(s: number): string {
  for (const [k, v] of Object.entries(Status)) if (v === s) return `STATUS_${k}`;
  return `0x${s.toString(16).padStart(8, '0')}`;
}

export interface Header {
  creditCharge: number;
  status: number;
  command: number;
  credits: number;
  flags: number;
  nextCommand: number;
  messageId: bigint;
  /** Sync: the tree id; async (flags & ASYNC_COMMAND): undefined, see asyncId. */
  treeId?: number;
  asyncId?: bigint;
  sessionId: bigint;
  signature: Uint8Array;
}

function need(field: string, buf: Uint8Array, end: number, at: number): void {
  if (end > buf.length) throw new DecodeError(field, `needs ${end} bytes, the message has ${buf.length}`, at);
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** MS-SMB2 2.2.1.2: a sync request header (signature zero; the caller signs the whole message). */
export function encodeHeader(h: { command: number; messageId: bigint; sessionId?: bigint; treeId?: number; creditCharge?: number; credits?: number; flags?: number }): Uint8Array {
  const b = new Uint8Array(HEADER_SIZE);
  const v = view(b);
  v.setUint32(0, SMB2_MAGIC, true);
  v.setUint16(4, HEADER_SIZE, true);
  v.setUint16(6, h.creditCharge ?? 0, true);
  v.setUint16(12, h.command, true);
  v.setUint16(14, h.credits ?? 1, true);
  v.setUint32(16, h.flags ?? 0, true);
  v.setBigUint64(24, h.messageId, true);
  v.setUint32(36, h.treeId ?? 0, true);
  v.setBigUint64(40, h.sessionId ?? 0n, true);
  return b;
}

/** MS-SMB2 2.2.1: the header of a message (sync or async form). */
export function decodeHeader(msg: Uint8Array): Header {
  need('SMB2 header', msg, HEADER_SIZE, 0);
  const v = view(msg);
  if (v.getUint32(0, true) !== SMB2_MAGIC) throw new DecodeError('SMB2 header.ProtocolId', 'not an SMB2 message (0xFE "SMB" expected)', 0);
  if (v.getUint16(4, true) !== HEADER_SIZE) throw new DecodeError('SMB2 header.StructureSize', `must be 64, got ${v.getUint16(4, true)}`, 4);
  const flags = v.getUint32(16, true);
  const async = (flags & HeaderFlags.ASYNC_COMMAND) !== 0;
  return {
    creditCharge: v.getUint16(6, true),
    status: v.getUint32(8, true),
    command: v.getUint16(12, true),
    credits: v.getUint16(14, true),
    flags,
    nextCommand: v.getUint32(20, true),
    messageId: v.getBigUint64(24, true),
    ...(async ? { asyncId: v.getBigUint64(32, true) } : { treeId: v.getUint32(36, true) }),
    sessionId: v.getBigUint64(40, true),
    signature: msg.slice(48, 64),
  };
}

/** The body's fixed StructureSize (MS-SMB2: the low bit marks a variable buffer). */
function structureSize(field: string, msg: Uint8Array, want: number): DataView {
  need(field, msg, HEADER_SIZE + 2, HEADER_SIZE);
  const v = view(msg);
  const got = v.getUint16(HEADER_SIZE, true);
  if (got !== want) throw new DecodeError(`${field}.StructureSize`, `must be ${want}, got ${got}`, HEADER_SIZE);
  need(field, msg, HEADER_SIZE + (want & ~1), HEADER_SIZE);
  return v;
}

/** A buffer given by offset (from the header's start) and length, inside the message. */
function slice(field: string, msg: Uint8Array, offset: number, length: number, minOffset: number): Uint8Array {
  if (length === 0) return new Uint8Array(0);
  if (offset < minOffset) throw new DecodeError(field, `offset ${offset} points into the fixed part (minimum ${minOffset})`, offset);
  if (offset + length > msg.length) throw new DecodeError(field, `offset ${offset} + length ${length} runs past the message (${msg.length} bytes)`, offset);
  return msg.slice(offset, offset + length);
}

export interface NegotiateContext {
  type: number;
  data: Uint8Array;
}

const pad8 = (n: number) => (8 - (n % 8)) % 8;

/** MS-SMB2 2.2.3: NEGOTIATE request body for SMB 3.1.1 with its negotiate contexts (2.2.3.1). */
export function encodeNegotiateRequest(o: { dialects: number[]; securityMode: number; capabilities: number; clientGuid: Uint8Array; contexts: NegotiateContext[] }): Uint8Array {
  const fixed = 36;
  const dialectsEnd = HEADER_SIZE + fixed + 2 * o.dialects.length;
  const ctxOffset = dialectsEnd + pad8(dialectsEnd);
  const parts: number[] = [];
  let ctxLen = 0;
  for (const [i, c] of o.contexts.entries()) {
    const len = 8 + c.data.length;
    ctxLen += len + (i < o.contexts.length - 1 ? pad8(len) : 0);
    parts.push(len);
  }
  const b = new Uint8Array(ctxOffset - HEADER_SIZE + ctxLen);
  const v = view(b);
  v.setUint16(0, fixed, true);
  v.setUint16(2, o.dialects.length, true);
  v.setUint16(4, o.securityMode, true);
  v.setUint32(8, o.capabilities, true);
  b.set(o.clientGuid, 12);
  v.setUint32(28, o.contexts.length ? ctxOffset : 0, true);
  v.setUint16(32, o.contexts.length, true);
  o.dialects.forEach((d, i) => v.setUint16(fixed + 2 * i, d, true));
  let at = ctxOffset - HEADER_SIZE;
  for (const [i, c] of o.contexts.entries()) {
    v.setUint16(at, c.type, true);
    v.setUint16(at + 2, c.data.length, true);
    b.set(c.data, at + 8);
    at += parts[i]! + pad8(parts[i]!);
  }
  return b;
}

/** MS-SMB2 2.2.3.1.1: SHA-512 with a random salt. */
export function preauthContext(salt: Uint8Array): NegotiateContext {
  const d = new Uint8Array(6 + salt.length);
  const v = view(d);
  v.setUint16(0, 1, true);
  v.setUint16(2, salt.length, true);
  v.setUint16(4, HashAlgorithm.SHA512, true);
  d.set(salt, 6);
  return { type: ContextType.PREAUTH_INTEGRITY_CAPABILITIES, data: d };
}

/** MS-SMB2 2.2.3.1.2: the ciphers we declare (this client never encrypts; a session that demands it is refused). */
export function encryptionContext(ciphers: number[]): NegotiateContext {
  const d = new Uint8Array(2 + 2 * ciphers.length);
  const v = view(d);
  v.setUint16(0, ciphers.length, true);
  ciphers.forEach((c, i) => v.setUint16(2 + 2 * i, c, true));
  return { type: ContextType.ENCRYPTION_CAPABILITIES, data: d };
}

/** MS-SMB2 2.2.3.1.7: the signing algorithms we take (AES-CMAC only). */
export function signingContext(algs: number[]): NegotiateContext {
  const d = new Uint8Array(2 + 2 * algs.length);
  const v = view(d);
  v.setUint16(0, algs.length, true);
  algs.forEach((a, i) => v.setUint16(2 + 2 * i, a, true));
  return { type: ContextType.SIGNING_CAPABILITIES, data: d };
}

export interface NegotiateResponse {
  securityMode: number;
  dialect: number;
  serverGuid: Uint8Array;
  capabilities: number;
  maxTransactSize: number;
  maxReadSize: number;
  maxWriteSize: number;
  securityBuffer: Uint8Array;
  contexts: NegotiateContext[];
}

/** MS-SMB2 2.2.4: NEGOTIATE response (negotiate contexts only for 3.1.1). */
export function decodeNegotiateResponse(msg: Uint8Array): NegotiateResponse {
  const F = 'SMB2 NEGOTIATE response';
  const v = structureSize(F, msg, 65);
  const o = HEADER_SIZE;
  const dialect = v.getUint16(o + 4, true);
  const ctxCount = v.getUint16(o + 6, true);
  const secOff = v.getUint16(o + 56, true);
  const secLen = v.getUint16(o + 58, true);
  const ctxOff = v.getUint32(o + 60, true);
  const r: NegotiateResponse = {
    securityMode: v.getUint16(o + 2, true),
    dialect,
    serverGuid: msg.slice(o + 8, o + 24),
    capabilities: v.getUint32(o + 24, true),
    maxTransactSize: v.getUint32(o + 28, true),
    maxReadSize: v.getUint32(o + 32, true),
    maxWriteSize: v.getUint32(o + 36, true),
    securityBuffer: slice(`${F}.SecurityBuffer`, msg, secOff, secLen, o + 64),
    contexts: [],
  };
  if (dialect === Dialect.SMB311) {
    let at = ctxOff;
    if (ctxCount && at < o + 64) throw new DecodeError(`${F}.NegotiateContextOffset`, `offset ${at} points into the fixed part`, at);
    if (at % 8) throw new DecodeError(`${F}.NegotiateContextOffset`, 'not 8-byte aligned', at);
    for (let i = 0; i < ctxCount; i++) {
      const f = `${F}.NegotiateContextList[${i}]`;
      need(f, msg, at + 8, at);
      const type = v.getUint16(at, true);
      const len = v.getUint16(at + 2, true);
      need(f, msg, at + 8 + len, at);
      r.contexts.push({ type, data: msg.slice(at + 8, at + 8 + len) });
      at += 8 + len;
      if (i < ctxCount - 1) at += pad8(at);
    }
  }
  return r;
}

/** MS-SMB2 2.2.3.1.1 in a response: exactly one hash algorithm, and the salt. */
export function decodePreauthContext(data: Uint8Array): { hashAlgorithms: number[]; salt: Uint8Array } {
  const F = 'SMB2_PREAUTH_INTEGRITY_CAPABILITIES';
  need(F, data, 4, 0);
  const v = view(data);
  const n = v.getUint16(0, true);
  const saltLen = v.getUint16(2, true);
  need(F, data, 4 + 2 * n + saltLen, 4);
  if (data.length !== 4 + 2 * n + saltLen) throw new DecodeError(F, `${data.length - (4 + 2 * n + saltLen)} trailing bytes`, 4 + 2 * n + saltLen);
  return { hashAlgorithms: Array.from({ length: n }, (_, i) => v.getUint16(4 + 2 * i, true)), salt: data.slice(4 + 2 * n) };
}

/** MS-SMB2 2.2.3.1.7 in a response: the algorithm list (the server picks one). */
export function decodeSigningContext(data: Uint8Array): number[] {
  const F = 'SMB2_SIGNING_CAPABILITIES';
  need(F, data, 2, 0);
  const v = view(data);
  const n = v.getUint16(0, true);
  if (data.length !== 2 + 2 * n) throw new DecodeError(F, `length ${data.length} does not match ${n} algorithms`, 0);
  return Array.from({ length: n }, (_, i) => v.getUint16(2 + 2 * i, true));
}

/** MS-SMB2 2.2.5: SESSION_SETUP request body. */
export function encodeSessionSetupRequest(o: { securityMode: number; capabilities: number; token: Uint8Array }): Uint8Array {
  const fixed = 24;
  const b = new Uint8Array(fixed + o.token.length);
  const v = view(b);
  v.setUint16(0, 25, true);
  b[3] = o.securityMode;
  v.setUint32(4, o.capabilities, true);
  v.setUint16(12, HEADER_SIZE + fixed, true);
  v.setUint16(14, o.token.length, true);
  b.set(o.token, fixed);
  return b;
}

/** MS-SMB2 2.2.6: SESSION_SETUP response. */
export function decodeSessionSetupResponse(msg: Uint8Array): { sessionFlags: number; securityBuffer: Uint8Array } {
  const F = 'SMB2 SESSION_SETUP response';
  const v = structureSize(F, msg, 9);
  const o = HEADER_SIZE;
  return {
    sessionFlags: v.getUint16(o + 2, true),
    securityBuffer: slice(`${F}.SecurityBuffer`, msg, v.getUint16(o + 4, true), v.getUint16(o + 6, true), o + 8),
  };
}

/** MS-SMB2 2.2.9: TREE_CONNECT request for a UNC path (UTF-16LE). */
export function encodeTreeConnectRequest(path: string): Uint8Array {
  const p = Buffer.from(path, 'utf16le');
  const fixed = 8;
  const b = new Uint8Array(fixed + p.length);
  const v = view(b);
  v.setUint16(0, 9, true);
  v.setUint16(4, HEADER_SIZE + fixed, true);
  v.setUint16(6, p.length, true);
  b.set(p, fixed);
  return b;
}

/** MS-SMB2 2.2.10: TREE_CONNECT response. */
export function decodeTreeConnectResponse(msg: Uint8Array): { shareType: number; shareFlags: number; capabilities: number; maximalAccess: number } {
  const v = structureSize('SMB2 TREE_CONNECT response', msg, 16);
  const o = HEADER_SIZE;
  return { shareType: msg[o + 2]!, shareFlags: v.getUint32(o + 4, true), capabilities: v.getUint32(o + 8, true), maximalAccess: v.getUint32(o + 12, true) };
}

/** MS-SMB2 2.2.7 / 2.2.8 (and TREE_DISCONNECT 2.2.11/2.2.12): StructureSize 4, reserved. */
export function encodeEmptyRequest(): Uint8Array {
  const b = new Uint8Array(4);
  view(b).setUint16(0, 4, true);
  return b;
}

export function decodeEmptyResponse(field: string, msg: Uint8Array): void {
  structureSize(field, msg, 4);
}

/** MS-SMB2 2.2.2: the error response's ErrorData (what a failed command carries). */
export function decodeErrorResponse(msg: Uint8Array): { errorData: Uint8Array } {
  const F = 'SMB2 ERROR response';
  const v = structureSize(F, msg, 9);
  const byteCount = v.getUint32(HEADER_SIZE + 4, true);
  need(`${F}.ErrorData`, msg, HEADER_SIZE + 8 + byteCount, HEADER_SIZE + 8);
  return { errorData: msg.slice(HEADER_SIZE + 8, HEADER_SIZE + 8 + byteCount) };
}

/** MS-SMB2 2.1: Direct TCP transport: 0x00, then the message length in 3 bytes, big-endian. */
export function frame(msg: Uint8Array): Uint8Array {
  if (msg.length > 0xffffff) throw new DecodeError('SMB2 transport frame', `message of ${msg.length} bytes exceeds 2^24-1`);
  const b = new Uint8Array(4 + msg.length);
  b[1] = msg.length >>> 16;
  b[2] = (msg.length >>> 8) & 0xff;
  b[3] = msg.length & 0xff;
  b.set(msg, 4);
  return b;
}

/** Splits a received byte stream into SMB2 messages (Direct TCP frames); refuses frames over maxMessage. */
export class FrameReader {
  private buf: Uint8Array = new Uint8Array(0);
  constructor(private readonly maxMessage = 1 << 20) {}

  /** Appends bytes and returns every complete message; throws DecodeError on a bad or oversize frame. */
  push(chunk: Uint8Array): Uint8Array[] {
    const b = new Uint8Array(this.buf.length + chunk.length);
    b.set(this.buf);
    b.set(chunk, this.buf.length);
    const out: Uint8Array[] = [];
    let at = 0;
    while (b.length - at >= 4) {
      if (b[at] !== 0) throw new DecodeError('SMB2 transport frame', `first byte must be 0, got ${b[at]}`, at);
      const len = (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!;
      if (len > this.maxMessage) throw new DecodeError('SMB2 transport frame', `message of ${len} bytes exceeds the ${this.maxMessage}-byte limit`, at);
      if (len < HEADER_SIZE) throw new DecodeError('SMB2 transport frame', `message of ${len} bytes is shorter than an SMB2 header`, at);
      if (b.length - at - 4 < len) break;
      out.push(b.slice(at + 4, at + 4 + len));
      at += 4 + len;
    }
    this.buf = b.slice(at);
    return out;
  }
}
