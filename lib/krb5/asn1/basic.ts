/**
 * RFC 4120 section 5.2: the basic types every Kerberos message is built from.
 * Each type has `decXxx(node, path)` (used by the message codecs, on a node of the DER walker),
 * `encXxx(value)`, and top-level `encodeXxx(v): Uint8Array` / `decodeXxx(bytes)`.
 */
import type { PrincipalName, Key, EncryptedData, Checksum } from '../types.js';
import {
  type Node,
  SeqReader,
  Tag,
  readTop,
  seqOf,
  decInt32,
  decUInt32,
  decOctets,
  decKerberosString,
  decKerberosTime,
  encSeq,
  encSeqOf,
  explicit,
  opt,
  encInt32,
  encUInt32,
  encOctets,
  encKerberosString,
  encKerberosTime,
  DerNode,
  derNode,
  ctxTag,
} from './der.js';

export type { PrincipalName, Key, EncryptedData, Checksum };

/** Runs a top-level decoder on `bytes`, which must be exactly one SEQUENCE. */
export function topSeq<T>(bytes: Uint8Array, path: string, fn: (n: Node, p: string) => T): T {
  return fn(readTop(bytes, Tag.SEQUENCE, path), path);
}

// PrincipalName ::= SEQUENCE { name-type [0] Int32, name-string [1] SEQUENCE OF KerberosString }
export function decPrincipalName(n: Node, path: string): PrincipalName {
  const r = new SeqReader(n, path);
  const nameType = decInt32(r.required(0, 'name-type'), `${path}.name-type`);
  const nameString = seqOf(r.required(1, 'name-string'), `${path}.name-string`, decKerberosString);
  r.end();
  return { nameType, nameString };
}
export function encPrincipalName(v: PrincipalName): Uint8Array {
  return encSeq(explicit(0, encInt32(v.nameType, 'name-type')), explicit(1, encSeqOf(v.nameString, encKerberosString)));
}
export const encodePrincipalName = encPrincipalName;
export const decodePrincipalName = (b: Uint8Array) => topSeq(b, 'PrincipalName', decPrincipalName);

// Realm ::= KerberosString
export const decRealm = decKerberosString;
export const encRealm = encKerberosString;

// KerberosTime, exposed as Date (see der.ts).
export const encodeKerberosTime = encKerberosTime;
export const decodeKerberosTime = (b: Uint8Array) => decKerberosTime(readTop(b, Tag.GeneralizedTime, 'KerberosTime'), 'KerberosTime');

// EncryptedData ::= SEQUENCE { etype [0] Int32, kvno [1] UInt32 OPTIONAL, cipher [2] OCTET STRING }
export function decEncryptedData(n: Node, path: string): EncryptedData {
  const r = new SeqReader(n, path);
  const etype = decInt32(r.required(0, 'etype'), `${path}.etype`);
  const k = r.optional(1, 'kvno');
  const kvno = k && decUInt32(k, `${path}.kvno`);
  const cipher = decOctets(r.required(2, 'cipher'), `${path}.cipher`);
  r.end();
  return kvno === undefined ? { etype, cipher } : { etype, kvno, cipher };
}
export function encEncryptedData(v: EncryptedData): Uint8Array {
  return encryptedDataNode(v).bytes();
}

/** EncryptedData left unwritten (DerNode): the cipher is copied once, into the enclosing message. */
export function encryptedDataNode(v: EncryptedData): DerNode {
  return derNode(Tag.SEQUENCE, explicit(0, encInt32(v.etype, 'etype')), opt(1, v.kvno, (k) => encUInt32(k, 'kvno')),
    derNode(ctxTag(2), derNode(Tag.OCTET_STRING, v.cipher)));
}
export const encodeEncryptedData = encEncryptedData;
export const decodeEncryptedData = (b: Uint8Array) => topSeq(b, 'EncryptedData', decEncryptedData);

// EncryptionKey ::= SEQUENCE { keytype [0] Int32, keyvalue [1] OCTET STRING }
export function decEncryptionKey(n: Node, path: string): Key {
  const r = new SeqReader(n, path);
  const enctype = decInt32(r.required(0, 'keytype'), `${path}.keytype`);
  const keyvalue = decOctets(r.required(1, 'keyvalue'), `${path}.keyvalue`);
  r.end();
  return { enctype, keyvalue };
}
export function encEncryptionKey(v: Key): Uint8Array {
  return encSeq(explicit(0, encInt32(v.enctype, 'keytype')), explicit(1, encOctets(v.keyvalue)));
}
export const encodeEncryptionKey = encEncryptionKey;
export const decodeEncryptionKey = (b: Uint8Array) => topSeq(b, 'EncryptionKey', decEncryptionKey);

// Checksum ::= SEQUENCE { cksumtype [0] Int32, checksum [1] OCTET STRING }
export function decChecksum(n: Node, path: string): Checksum {
  const r = new SeqReader(n, path);
  const cksumtype = decInt32(r.required(0, 'cksumtype'), `${path}.cksumtype`);
  const checksum = decOctets(r.required(1, 'checksum'), `${path}.checksum`);
  r.end();
  return { cksumtype, checksum };
}
export function encChecksum(v: Checksum): Uint8Array {
  return encSeq(explicit(0, encInt32(v.cksumtype, 'cksumtype')), explicit(1, encOctets(v.checksum)));
}
export const encodeChecksum = encChecksum;
export const decodeChecksum = (b: Uint8Array) => topSeq(b, 'Checksum', decChecksum);

/** RFC 4120 section 5.2.5 HostAddress; `addrType` from AddressType. */
export interface HostAddress {
  addrType: number;
  address: Uint8Array;
}
// HostAddress ::= SEQUENCE { addr-type [0] Int32, address [1] OCTET STRING }
export function decHostAddress(n: Node, path: string): HostAddress {
  const r = new SeqReader(n, path);
  const addrType = decInt32(r.required(0, 'addr-type'), `${path}.addr-type`);
  const address = decOctets(r.required(1, 'address'), `${path}.address`);
  r.end();
  return { addrType, address };
}
export function encHostAddress(v: HostAddress): Uint8Array {
  return encSeq(explicit(0, encInt32(v.addrType, 'addr-type')), explicit(1, encOctets(v.address)));
}
export const encodeHostAddress = encHostAddress;
export const decodeHostAddress = (b: Uint8Array) => topSeq(b, 'HostAddress', decHostAddress);
// HostAddresses ::= SEQUENCE OF HostAddress
export const decHostAddresses = (n: Node, path: string) => seqOf(n, path, decHostAddress);
export const encHostAddresses = (v: HostAddress[]) => encSeqOf(v, encHostAddress);
export const encodeHostAddresses = encHostAddresses;
export const decodeHostAddresses = (b: Uint8Array) => topSeq(b, 'HostAddresses', decHostAddresses);

/** RFC 4120 section 5.2.6 AuthorizationData element. */
export interface AuthorizationDataEntry {
  adType: number;
  adData: Uint8Array;
}
export type AuthorizationData = AuthorizationDataEntry[];
// AuthorizationData ::= SEQUENCE OF SEQUENCE { ad-type [0] Int32, ad-data [1] OCTET STRING }
function decAdEntry(n: Node, path: string): AuthorizationDataEntry {
  const r = new SeqReader(n, path);
  const adType = decInt32(r.required(0, 'ad-type'), `${path}.ad-type`);
  const adData = decOctets(r.required(1, 'ad-data'), `${path}.ad-data`);
  r.end();
  return { adType, adData };
}
export const decAuthorizationData = (n: Node, path: string): AuthorizationData => seqOf(n, path, decAdEntry);
export const encAuthorizationData = (v: AuthorizationData) =>
  encSeqOf(v, (e) => encSeq(explicit(0, encInt32(e.adType, 'ad-type')), explicit(1, encOctets(e.adData))));
export const encodeAuthorizationData = encAuthorizationData;
export const decodeAuthorizationData = (b: Uint8Array) => topSeq(b, 'AuthorizationData', decAuthorizationData);

/** RFC 4120 section 5.2.7 PA-DATA; `padataType` from PaDataType. */
export interface PaData {
  padataType: number;
  padataValue: Uint8Array;
}
// PA-DATA ::= SEQUENCE { padata-type [1] Int32, padata-value [2] OCTET STRING } -- NOTE: tags 1 and 2
export function decPaData(n: Node, path: string): PaData {
  const r = new SeqReader(n, path);
  const padataType = decInt32(r.required(1, 'padata-type'), `${path}.padata-type`);
  const padataValue = decOctets(r.required(2, 'padata-value'), `${path}.padata-value`);
  r.end();
  return { padataType, padataValue };
}
export function encPaData(v: PaData): Uint8Array {
  return encSeq(explicit(1, encInt32(v.padataType, 'padata-type')), explicit(2, encOctets(v.padataValue)));
}
export const encodePaData = encPaData;
export const decodePaData = (b: Uint8Array) => topSeq(b, 'PA-DATA', decPaData);
export const decPaDataList = (n: Node, path: string) => seqOf(n, path, decPaData);
export const encPaDataList = (v: PaData[]) => encSeqOf(v, encPaData);
/** METHOD-DATA ::= SEQUENCE OF PA-DATA (also the e-data of KDC_ERR_PREAUTH_REQUIRED). */
export const encodeMethodData = encPaDataList;
export const decodeMethodData = (b: Uint8Array) => topSeq(b, 'METHOD-DATA', decPaDataList);

/** RFC 4120 section 5.4.2 LastReq element. */
export interface LastReqEntry {
  lrType: number;
  lrValue: Date;
}
// LastReq ::= SEQUENCE OF SEQUENCE { lr-type [0] Int32, lr-value [1] KerberosTime }
export const decLastReq = (n: Node, path: string): LastReqEntry[] =>
  seqOf(n, path, (e, p) => {
    const r = new SeqReader(e, p);
    const lrType = decInt32(r.required(0, 'lr-type'), `${p}.lr-type`);
    const lrValue = decKerberosTime(r.required(1, 'lr-value'), `${p}.lr-value`);
    r.end();
    return { lrType, lrValue };
  });
export const encLastReq = (v: LastReqEntry[]) =>
  encSeqOf(v, (e) => encSeq(explicit(0, encInt32(e.lrType, 'lr-type')), explicit(1, encKerberosTime(e.lrValue))));

/** RFC 4120 section 5.3 TransitedEncoding. */
export interface TransitedEncoding {
  trType: number;
  contents: Uint8Array;
}
// TransitedEncoding ::= SEQUENCE { tr-type [0] Int32, contents [1] OCTET STRING }
export function decTransitedEncoding(n: Node, path: string): TransitedEncoding {
  const r = new SeqReader(n, path);
  const trType = decInt32(r.required(0, 'tr-type'), `${path}.tr-type`);
  const contents = decOctets(r.required(1, 'contents'), `${path}.contents`);
  r.end();
  return { trType, contents };
}
export const encTransitedEncoding = (v: TransitedEncoding) =>
  encSeq(explicit(0, encInt32(v.trType, 'tr-type')), explicit(1, encOctets(v.contents)));
