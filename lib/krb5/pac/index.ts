/**
 * The Privilege Attribute Certificate (MS-PAC): the PACTYPE container (2.3), PAC_CLIENT_INFO (2.7),
 * UPN_DNS_INFO (2.10), the server and KDC signatures (2.8) and KERB_VALIDATION_INFO (2.5,
 * logon-info.ts). Decoding never trusts a count or an offset; signatures are compared in
 * constant time (verifyChecksum).
 */
import { DecodeError, IntegrityError, KerberosError, UsageError } from '../../errors.js';
import { ErrorCode } from '../constants.js';
import { makeChecksum, verifyChecksumOf, getEncType } from '../crypto/index.js';
import type { Key } from '../types.js';
import type { PacInfo } from '../../context.js';
import { decodeLogonInfo, encodeLogonInfo, fromFiletime, toFiletime, type KerbValidationInfo } from './logon-info.js';
import { readU32le } from './ndr.js';
import { decodeSidBytes, formatSid, sidWithRid, type Sid } from './sid.js';

export * from './logon-info.js';
export * from './sid.js';

/** PAC_INFO_BUFFER.ulType values (MS-PAC 2.4). */
export const PacBufferType = {
  LOGON_INFO: 1,
  CREDENTIALS_INFO: 2,
  SERVER_CHECKSUM: 6,
  PRIVSVR_CHECKSUM: 7,
  CLIENT_INFO: 10,
  CONSTRAINED_DELEGATION_INFO: 11,
  UPN_DNS_INFO: 12,
  CLIENT_CLAIMS_INFO: 13,
  DEVICE_INFO: 14,
  DEVICE_CLAIMS_INFO: 15,
  TICKET_CHECKSUM: 16,
  ATTRIBUTES_INFO: 17,
  REQUESTOR: 18,
  FULL_PAC_CHECKSUM: 19,
} as const;

/** MS-PAC 2.8.1: signatures are keyed checksums with key usage KERB_NON_KERB_CKSUM_SALT. */
export const KERB_NON_KERB_CKSUM_SALT = 17;

export interface PacBuffer {
  type: number;
  offset: number;
  data: Uint8Array;
}

export interface PacSignature {
  signatureType: number;
  signature: Uint8Array;
  /** Offset of the signature bytes in the PAC (they are zeroed to compute the server checksum). */
  at: number;
}

export interface ClientInfo {
  clientId: bigint;
  name: string;
}

export interface UpnDnsInfo {
  upn: string;
  dnsDomainName: string;
  flags: number;
  samName?: string;
  sid?: Sid;
}

export interface Pac {
  bytes: Uint8Array;
  buffers: PacBuffer[];
  logonInfo?: KerbValidationInfo;
  clientInfo?: ClientInfo;
  upnDnsInfo?: UpnDnsInfo;
  serverSignature?: PacSignature;
  kdcSignature?: PacSignature;
}

const MAX_BUFFERS = 64;

/** One decoder for every PAC string (building one per string showed in the acceptor's profile). */
const utf16le = new TextDecoder('utf-16le');

function u16(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}
function u32(b: Uint8Array, at: number): number {
  // Every caller checks the length first; this keeps a new one from reading past the buffer.
  if (at < 0 || at + 4 > b.length) throw new DecodeError('PAC', `4 bytes at ${at} are outside a ${b.length}-byte buffer`, at);
  return readU32le(b, at);
}
function utf16(b: Uint8Array, at: number, len: number, field: string): string {
  if (len % 2 || at + len > b.length) throw new DecodeError(field, `string at ${at} of ${len} bytes is outside the buffer`, at);
  return utf16le.decode(b.subarray(at, at + len));
}

function decodeSignature(d: PacBuffer, field: string): PacSignature {
  if (d.data.length < 4) throw new DecodeError(field, 'PAC_SIGNATURE_DATA shorter than 4 bytes', d.offset);
  const signatureType = new DataView(d.data.buffer, d.data.byteOffset, 4).getInt32(0, true);
  const size = checksumSize(signatureType) ?? d.data.length - 4; // unknown type: keep what is there
  if (4 + size > d.data.length) throw new DecodeError(field, `signature type ${signatureType} needs ${size} bytes`, d.offset);
  return { signatureType, signature: d.data.slice(4, 4 + size), at: d.offset + 4 };
}

/** Checksum sizes (RFC 3961/3962/8009, RFC 4757) for the PAC signature types; undefined when unknown. */
function checksumSize(cksumtype: number): number | undefined {
  switch (cksumtype) {
    case 15: case 16: return 12; // hmac-sha1-96-aes128/256
    case 19: return 16; // hmac-sha256-128-aes128
    case 20: return 24; // hmac-sha384-192-aes256
    case -138: return 16; // hmac-md5
    default: return undefined;
  }
}

function decodeClientInfo(d: Uint8Array): ClientInfo {
  if (d.length < 10) throw new DecodeError('PAC_CLIENT_INFO', 'shorter than 10 bytes', 0);
  const clientId = (BigInt(u32(d, 4)) << 32n) | BigInt(u32(d, 0));
  const len = u16(d, 8);
  return { clientId, name: utf16(d, 10, len, 'PAC_CLIENT_INFO.Name') };
}

function decodeUpnDnsInfo(d: Uint8Array): UpnDnsInfo {
  if (d.length < 12) throw new DecodeError('UPN_DNS_INFO', 'shorter than 12 bytes', 0);
  const upn = utf16(d, u16(d, 2), u16(d, 0), 'UPN_DNS_INFO.Upn');
  const dnsDomainName = utf16(d, u16(d, 6), u16(d, 4), 'UPN_DNS_INFO.DnsDomainName');
  const flags = u32(d, 8);
  const out: UpnDnsInfo = { upn, dnsDomainName, flags };
  // Flag S (2): the extended form with the SAM name and the SID (MS-PAC 2.10.1).
  if (flags & 2 && d.length >= 20) {
    out.samName = utf16(d, u16(d, 14), u16(d, 12), 'UPN_DNS_INFO.SamName');
    const sidLen = u16(d, 16);
    const sidAt = u16(d, 18);
    if (sidAt + sidLen > d.length) throw new DecodeError('UPN_DNS_INFO.Sid', 'outside the buffer', 18);
    out.sid = decodeSidBytes(d.subarray(sidAt, sidAt + sidLen), 'UPN_DNS_INFO.Sid');
  }
  return out;
}

/** Decodes the PAC (AD-WIN2K-PAC contents). Malformed input gives DecodeError. */
export function decodePac(bytes: Uint8Array): Pac {
  if (bytes.length < 8) throw new DecodeError('PACTYPE', 'shorter than 8 bytes', 0);
  const count = u32(bytes, 0);
  const version = u32(bytes, 4);
  if (version !== 0) throw new DecodeError('PACTYPE.Version', `version ${version}, expected 0`, 4);
  if (count > MAX_BUFFERS || 8 + count * 16 > bytes.length) throw new DecodeError('PACTYPE.cBuffers', `${count} buffers do not fit`, 0);
  const pac: Pac = { bytes, buffers: [] };
  for (let i = 0; i < count; i++) {
    const at = 8 + i * 16;
    const type = u32(bytes, at);
    const size = u32(bytes, at + 4);
    const offLo = u32(bytes, at + 8);
    const offHi = u32(bytes, at + 12);
    if (offHi !== 0 || offLo > bytes.length || size > bytes.length - offLo) throw new DecodeError(`PAC_INFO_BUFFER[${i}]`, `type ${type}: ${size} bytes at ${offLo} are outside the PAC`, at);
    if (offLo % 8) throw new DecodeError(`PAC_INFO_BUFFER[${i}]`, `offset ${offLo} is not 8-byte aligned`, at);
    pac.buffers.push({ type, offset: offLo, data: bytes.subarray(offLo, offLo + size) });
  }
  const one = (t: number): PacBuffer | undefined => {
    const found = pac.buffers.filter((b) => b.type === t);
    if (found.length > 1) throw new DecodeError('PACTYPE', `buffer type ${t} appears ${found.length} times`, 0);
    return found[0];
  };
  const logon = one(PacBufferType.LOGON_INFO);
  if (logon) pac.logonInfo = decodeLogonInfo(logon.data);
  const client = one(PacBufferType.CLIENT_INFO);
  if (client) pac.clientInfo = decodeClientInfo(client.data);
  const upn = one(PacBufferType.UPN_DNS_INFO);
  if (upn) pac.upnDnsInfo = decodeUpnDnsInfo(upn.data);
  const server = one(PacBufferType.SERVER_CHECKSUM);
  if (server) pac.serverSignature = decodeSignature(server, 'PAC_SERVER_CHECKSUM');
  const kdc = one(PacBufferType.PRIVSVR_CHECKSUM);
  if (kdc) pac.kdcSignature = decodeSignature(kdc, 'PAC_PRIVSVR_CHECKSUM');
  return pac;
}

/** Zeros standing in for the signatures in signedParts (never written to). */
const ZEROS = new Uint8Array(64);

/**
 * The PAC with the server and KDC signatures zeroed: what the server checksum covers (MS-PAC 2.8.1).
 * The ticket and full-PAC signatures (2.8.3, 2.8.5) are made first and stay in. As the pieces to
 * checksum one after the other (views of the PAC around runs of zeros), not a copy of the PAC.
 */
function signedParts(pac: Pac): [Uint8Array, ...Uint8Array[]] {
  const zeroed: [number, number][] = [];
  for (const b of pac.buffers) {
    if (b.type === PacBufferType.SERVER_CHECKSUM || b.type === PacBufferType.PRIVSVR_CHECKSUM) {
      const s = decodeSignature(b, 'PAC_SIGNATURE_DATA');
      zeroed.push([s.at, s.at + s.signature.length]);
    }
  }
  zeroed.sort((x, y) => x[0] - y[0]);
  const bytes = pac.bytes;
  const parts: Uint8Array[] = [];
  let at = 0; // bytes before `at` are in parts already
  for (const [start, end] of zeroed) {
    if (start > at) parts.push(bytes.subarray(at, start));
    const from = Math.max(start, at);
    if (end > from) {
      parts.push(end - from <= ZEROS.length ? ZEROS.subarray(0, end - from) : new Uint8Array(end - from));
      at = end;
    }
  }
  parts.push(bytes.subarray(at));
  return parts as [Uint8Array, ...Uint8Array[]];
}

/**
 * Verifies the server signature with the service key (the key that decrypted the ticket) and the
 * client info against the ticket's client name and authtime (MS-PAC 2.7, 2.8). Throws
 * KerberosError KRB_AP_ERR_MODIFIED when the PAC was changed or does not belong to this ticket.
 */
export function verifyPac(pac: Pac, serviceKey: Key, ticket: { clientName: string; authtime: Date }): void {
  const sig = pac.serverSignature;
  if (!sig) throw new KerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, 'KRB_AP_ERR_MODIFIED', 'the PAC has no server signature');
  try {
    verifyChecksumOf(serviceKey, KERB_NON_KERB_CKSUM_SALT, signedParts(pac), sig.signature, sig.signatureType, { allowWeak: true });
  } catch (e) {
    if (e instanceof IntegrityError) throw new KerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, 'KRB_AP_ERR_MODIFIED', 'the PAC server signature does not verify with the service key');
    // A signature type that does not go with the service key: not what the KDC wrote either.
    if (e instanceof UsageError) throw new KerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, 'KRB_AP_ERR_MODIFIED', `the PAC server signature type ${sig.signatureType} does not go with the service key (enctype ${serviceKey.enctype})`);
    throw e;
  }
  // MS-PAC 2.7: PAC_CLIENT_INFO binds the PAC to this ticket's client and authtime. A PAC without
  // it could be lifted from another ticket: MIT's k5_pac_validate_client refuses it too.
  const ci = pac.clientInfo;
  if (!ci) throw new KerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, 'KRB_AP_ERR_MODIFIED', 'the PAC has no PAC_CLIENT_INFO buffer, so it is not bound to this ticket\'s client: refusing it');
  const wantId = toFiletime(new Date(Math.floor(ticket.authtime.getTime() / 1000) * 1000));
  if (ci.clientId !== wantId) throw new KerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, 'KRB_AP_ERR_MODIFIED', 'PAC_CLIENT_INFO.ClientId is not the ticket authtime');
  const bare = (s: string) => s.replace(/@[^@]*$/, '').toLowerCase();
  if (bare(ci.name) !== bare(ticket.clientName)) throw new KerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, 'KRB_AP_ERR_MODIFIED', `PAC_CLIENT_INFO names ${ci.name}, the ticket ${ticket.clientName}`);
}

/** The identity a service needs, from a decoded PAC: SIDs as strings, names, UPN. */
export function pacInfo(pac: Pac): PacInfo | undefined {
  const li = pac.logonInfo;
  if (!li) return undefined;
  const domain = li.logonDomainId;
  const groupSids: string[] = [];
  if (domain) {
    for (const g of li.groupIds) groupSids.push(formatSid(sidWithRid(domain, g.relativeId)));
  }
  for (const e of li.extraSids) groupSids.push(formatSid(e.sid));
  if (li.resourceGroupDomainSid) for (const g of li.resourceGroupIds) groupSids.push(formatSid(sidWithRid(li.resourceGroupDomainSid, g.relativeId)));
  const info: PacInfo = {
    userSid: domain ? formatSid(sidWithRid(domain, li.userId)) : `RID ${li.userId}`,
    groupSids: [...new Set(groupSids)],
    logonName: li.effectiveName,
    domainName: li.logonDomainName,
  };
  if (pac.upnDnsInfo?.upn) info.upn = pac.upnDnsInfo.upn;
  return info;
}

// ---- encoding (the embedded KDC signs PACs as AD does) ----

function encodeClientInfo(c: ClientInfo): Uint8Array {
  const out = new Uint8Array(10 + c.name.length * 2);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, Number(c.clientId & 0xffffffffn), true);
  dv.setUint32(4, Number(c.clientId >> 32n), true);
  dv.setUint16(8, c.name.length * 2, true);
  for (let i = 0; i < c.name.length; i++) dv.setUint16(10 + 2 * i, c.name.charCodeAt(i), true);
  return out;
}

function encodeUpnDnsInfo(u: { upn: string; dnsDomainName: string }): Uint8Array {
  const upnAt = 16; // after the 12-byte header, 8-byte aligned as AD writes it
  const dnsAt = upnAt + ((u.upn.length * 2 + 7) & ~7);
  const out = new Uint8Array(dnsAt + u.dnsDomainName.length * 2);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, u.upn.length * 2, true);
  dv.setUint16(2, upnAt, true);
  dv.setUint16(4, u.dnsDomainName.length * 2, true);
  dv.setUint16(6, dnsAt, true);
  dv.setUint32(8, 0, true);
  for (let i = 0; i < u.upn.length; i++) dv.setUint16(upnAt + 2 * i, u.upn.charCodeAt(i), true);
  for (let i = 0; i < u.dnsDomainName.length; i++) dv.setUint16(dnsAt + 2 * i, u.dnsDomainName.charCodeAt(i), true);
  return out;
}

function signatureBuffer(key: Key): Uint8Array {
  const cksum = getEncType(key.enctype, { allowWeak: true }).checksumType;
  const size = getEncType(key.enctype, { allowWeak: true }).checksumBytes;
  const out = new Uint8Array(4 + size);
  new DataView(out.buffer).setInt32(0, cksum, true);
  return out;
}

export interface PacContents {
  logonInfo: KerbValidationInfo;
  clientName: string;
  authtime: Date;
  upn?: string;
  dnsDomainName?: string;
}

/** Builds and signs a PAC: server signature with the service key, KDC signature with the krbtgt key (MS-PAC 2.8). */
export function encodePac(c: PacContents, serviceKey: Key, kdcKey: Key): Uint8Array {
  const parts: { type: number; data: Uint8Array }[] = [
    { type: PacBufferType.LOGON_INFO, data: encodeLogonInfo(c.logonInfo) },
    { type: PacBufferType.CLIENT_INFO, data: encodeClientInfo({ clientId: toFiletime(new Date(Math.floor(c.authtime.getTime() / 1000) * 1000)), name: c.clientName }) },
  ];
  if (c.upn) parts.push({ type: PacBufferType.UPN_DNS_INFO, data: encodeUpnDnsInfo({ upn: c.upn, dnsDomainName: c.dnsDomainName ?? '' }) });
  return signPac(parts, serviceKey, kdcKey);
}

/**
 * Lays out PAC buffers (MS-PAC 2.3, 8-byte aligned) and appends the server and KDC signatures
 * (2.8): the container a KDC writes around whatever buffers it chose.
 */
export function signPac(buffers: { type: number; data: Uint8Array }[], serviceKey: Key, kdcKey: Key): Uint8Array {
  const parts = [
    ...buffers,
    { type: PacBufferType.SERVER_CHECKSUM, data: signatureBuffer(serviceKey) },
    { type: PacBufferType.PRIVSVR_CHECKSUM, data: signatureBuffer(kdcKey) },
  ];
  let offset = 8 + parts.length * 16;
  const placed = parts.map((p) => {
    offset = (offset + 7) & ~7;
    const at = offset;
    offset += p.data.length;
    return { ...p, at };
  });
  const out = new Uint8Array((offset + 7) & ~7);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, parts.length, true);
  dv.setUint32(4, 0, true);
  placed.forEach((p, i) => {
    dv.setUint32(8 + i * 16, p.type, true);
    dv.setUint32(12 + i * 16, p.data.length, true);
    dv.setUint32(16 + i * 16, p.at, true);
    dv.setUint32(20 + i * 16, 0, true);
    out.set(p.data, p.at);
  });
  const server = placed.find((p) => p.type === PacBufferType.SERVER_CHECKSUM)!;
  const kdc = placed.find((p) => p.type === PacBufferType.PRIVSVR_CHECKSUM)!;
  // Signatures are zero while the server checksum is computed over the whole PAC.
  const serverSig = makeChecksum(serviceKey, KERB_NON_KERB_CKSUM_SALT, out, getEncType(serviceKey.enctype, { allowWeak: true }).checksumType, { allowWeak: true });
  out.set(serverSig, server.at + 4);
  const kdcSig = makeChecksum(kdcKey, KERB_NON_KERB_CKSUM_SALT, serverSig, getEncType(kdcKey.enctype, { allowWeak: true }).checksumType, { allowWeak: true });
  out.set(kdcSig, kdc.at + 4);
  return out;
}

export { fromFiletime, toFiletime };
