/** RFC 4120 sections 5.4.1 and 5.4.2: KDC-REQ (AS-REQ, TGS-REQ), KDC-REQ-BODY, KDC-REP (AS-REP, TGS-REP), EncKDCRepPart. */
import { ApplicationTag, MessageType } from '../constants.js';
import {
  type Node, SeqReader, appTag, decFixed, decApplicationSeq, topApplication, readOptional as optional,
  readRequired as required, compact, seqOf, decInt32, decUInt32, decKerberosTime, decKerberosFlags, rawBytes,
  encApplication, encSeq, encSeqOf, explicit, opt, encInteger, encInt32, encUInt32, encKerberosTime, encKerberosFlags,
} from './der.js';
import {
  type PrincipalName, type EncryptedData, type Key, type HostAddress, type PaData, type LastReqEntry, topSeq,
  decRealm, encRealm, decPrincipalName, encPrincipalName, decEncryptedData, encEncryptedData, decEncryptionKey,
  encEncryptionKey, decHostAddresses, encHostAddresses, decPaDataList, encPaDataList, decLastReq, encLastReq,
} from './basic.js';
import { type Ticket, decTicket, encTicket } from './ticket.js';

export interface KdcReqBody {
  /** KDCOptions (bit 0 = MSB), see flags.ts. */
  kdcOptions: number;
  cname?: PrincipalName;
  realm: string;
  sname?: PrincipalName;
  from?: Date;
  till: Date;
  rtime?: Date;
  nonce: number;
  etype: number[];
  addresses?: HostAddress[];
  encAuthorizationData?: EncryptedData;
  additionalTickets?: Ticket[];
}

// KDC-REQ-BODY ::= SEQUENCE { kdc-options [0] KDCOptions, cname [1] OPTIONAL, realm [2], sname [3] OPTIONAL,
//   from [4] OPTIONAL, till [5], rtime [6] OPTIONAL, nonce [7] UInt32, etype [8] SEQUENCE OF Int32,
//   addresses [9] OPTIONAL, enc-authorization-data [10] OPTIONAL, additional-tickets [11] SEQUENCE OF Ticket OPTIONAL }
export function decKdcReqBody(n: Node, path: string): KdcReqBody {
  const r = new SeqReader(n, path);
  const v: KdcReqBody = {
    kdcOptions: required(r, 0, 'kdc-options', decKerberosFlags),
    cname: optional(r, 1, 'cname', decPrincipalName),
    realm: required(r, 2, 'realm', decRealm),
    sname: optional(r, 3, 'sname', decPrincipalName),
    from: optional(r, 4, 'from', decKerberosTime),
    till: required(r, 5, 'till', decKerberosTime),
    rtime: optional(r, 6, 'rtime', decKerberosTime),
    nonce: required(r, 7, 'nonce', decUInt32),
    etype: required(r, 8, 'etype', (e, p) => seqOf(e, p, decInt32)),
    addresses: optional(r, 9, 'addresses', decHostAddresses),
    encAuthorizationData: optional(r, 10, 'enc-authorization-data', decEncryptedData),
    additionalTickets: optional(r, 11, 'additional-tickets', (e, p) => seqOf(e, p, decTicket)),
  };
  r.end();
  return compact(v);
}
/** The DER of a KDC-REQ-BODY: the PA-TGS-REQ authenticator checksums exactly these bytes (RFC 4120 section 5.5.1). */
export function encKdcReqBody(v: KdcReqBody): Uint8Array {
  return encSeq(
    explicit(0, encKerberosFlags(v.kdcOptions)),
    opt(1, v.cname, encPrincipalName),
    explicit(2, encRealm(v.realm)),
    opt(3, v.sname, encPrincipalName),
    opt(4, v.from, encKerberosTime),
    explicit(5, encKerberosTime(v.till)),
    opt(6, v.rtime, encKerberosTime),
    explicit(7, encUInt32(v.nonce, 'nonce')),
    explicit(8, encSeqOf(v.etype, (e) => encInt32(e, 'etype'))),
    opt(9, v.addresses, encHostAddresses),
    opt(10, v.encAuthorizationData, encEncryptedData),
    opt(11, v.additionalTickets, (t) => encSeqOf(t, encTicket)),
  );
}
export const encodeKdcReqBody = encKdcReqBody;
export const decodeKdcReqBody = (b: Uint8Array) => topSeq(b, 'KDC-REQ-BODY', decKdcReqBody);

export interface KdcReq {
  padata?: PaData[];
  reqBody: KdcReqBody;
  /** On decode: the req-body's DER exactly as received (a KDC checksums these bytes). */
  reqBodyDer?: Uint8Array;
}

// KDC-REQ ::= SEQUENCE { pvno [1] INTEGER (5), msg-type [2] INTEGER (10 -- AS -- | 12 -- TGS --),
//   padata [3] SEQUENCE OF PA-DATA OPTIONAL, req-body [4] KDC-REQ-BODY }
function decKdcReq(tag: number) {
  return (n: Node, path: string): KdcReq => {
    const r = new SeqReader(n, path);
    required(r, 1, 'pvno', (e, p) => decFixed(e, p, [5]));
    required(r, 2, 'msg-type', (e, p) => decFixed(e, p, [tag]));
    const padata = optional(r, 3, 'padata', decPaDataList);
    const bodyNode = r.required(4, 'req-body');
    const reqBody = decKdcReqBody(bodyNode, `${path}.req-body`);
    r.end();
    return compact({ padata, reqBody, reqBodyDer: rawBytes(bodyNode) });
  };
}
function encKdcReq(tag: number, v: KdcReq): Uint8Array {
  return encApplication(
    tag,
    encSeq(
      explicit(1, encInteger(5)),
      explicit(2, encInteger(tag)),
      opt(3, v.padata, encPaDataList),
      explicit(4, encKdcReqBody(v.reqBody)),
    ),
  );
}
export type AsReq = KdcReq;
export type TgsReq = KdcReq;
export const encodeAsReq = (v: AsReq) => encKdcReq(MessageType.KRB_AS_REQ, v);
export const encodeTgsReq = (v: TgsReq) => encKdcReq(MessageType.KRB_TGS_REQ, v);
export const decAsReq = (n: Node, p: string) => decKdcReq(MessageType.KRB_AS_REQ)(decApplicationSeq(n, MessageType.KRB_AS_REQ, p), p);
export const decTgsReq = (n: Node, p: string) => decKdcReq(MessageType.KRB_TGS_REQ)(decApplicationSeq(n, MessageType.KRB_TGS_REQ, p), p);
export const decodeAsReq = (b: Uint8Array): AsReq => topApplication(b, MessageType.KRB_AS_REQ, 'AS-REQ', decKdcReq(MessageType.KRB_AS_REQ));
export const decodeTgsReq = (b: Uint8Array): TgsReq => topApplication(b, MessageType.KRB_TGS_REQ, 'TGS-REQ', decKdcReq(MessageType.KRB_TGS_REQ));

export interface KdcRep {
  padata?: PaData[];
  crealm: string;
  cname: PrincipalName;
  ticket: Ticket;
  encPart: EncryptedData;
}
// KDC-REP ::= SEQUENCE { pvno [0] INTEGER (5), msg-type [1] INTEGER (11 | 13), padata [2] OPTIONAL,
//   crealm [3] Realm, cname [4] PrincipalName, ticket [5] Ticket, enc-part [6] EncryptedData }
function decKdcRep(tag: number) {
  return (n: Node, path: string): KdcRep => {
    const r = new SeqReader(n, path);
    required(r, 0, 'pvno', (e, p) => decFixed(e, p, [5]));
    required(r, 1, 'msg-type', (e, p) => decFixed(e, p, [tag]));
    const v: KdcRep = {
      padata: optional(r, 2, 'padata', decPaDataList),
      crealm: required(r, 3, 'crealm', decRealm),
      cname: required(r, 4, 'cname', decPrincipalName),
      ticket: required(r, 5, 'ticket', decTicket),
      encPart: required(r, 6, 'enc-part', decEncryptedData),
    };
    r.end();
    return compact(v);
  };
}
function encKdcRep(tag: number, v: KdcRep): Uint8Array {
  return encApplication(
    tag,
    encSeq(
      explicit(0, encInteger(5)),
      explicit(1, encInteger(tag)),
      opt(2, v.padata, encPaDataList),
      explicit(3, encRealm(v.crealm)),
      explicit(4, encPrincipalName(v.cname)),
      explicit(5, encTicket(v.ticket)),
      explicit(6, encEncryptedData(v.encPart)),
    ),
  );
}
export type AsRep = KdcRep;
export type TgsRep = KdcRep;
export const encodeAsRep = (v: AsRep) => encKdcRep(MessageType.KRB_AS_REP, v);
export const encodeTgsRep = (v: TgsRep) => encKdcRep(MessageType.KRB_TGS_REP, v);
export const decAsRep = (n: Node, p: string) => decKdcRep(MessageType.KRB_AS_REP)(decApplicationSeq(n, MessageType.KRB_AS_REP, p), p);
export const decTgsRep = (n: Node, p: string) => decKdcRep(MessageType.KRB_TGS_REP)(decApplicationSeq(n, MessageType.KRB_TGS_REP, p), p);
export const decodeAsRep = (b: Uint8Array): AsRep => topApplication(b, MessageType.KRB_AS_REP, 'AS-REP', decKdcRep(MessageType.KRB_AS_REP));
export const decodeTgsRep = (b: Uint8Array): TgsRep => topApplication(b, MessageType.KRB_TGS_REP, 'TGS-REP', decKdcRep(MessageType.KRB_TGS_REP));

export interface EncKdcRepPart {
  key: Key;
  lastReq: LastReqEntry[];
  nonce: number;
  keyExpiration?: Date;
  /** TicketFlags (bit 0 = MSB). */
  flags: number;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  srealm: string;
  sname: PrincipalName;
  caddr?: HostAddress[];
  /** RFC 6806 section 11 encrypted-pa-data [12]. */
  encryptedPaData?: PaData[];
}
// EncKDCRepPart ::= SEQUENCE { key [0], last-req [1], nonce [2] UInt32, key-expiration [3] OPTIONAL,
//   flags [4], authtime [5], starttime [6] OPTIONAL, endtime [7], renew-till [8] OPTIONAL, srealm [9],
//   sname [10], caddr [11] OPTIONAL, encrypted-pa-data [12] OPTIONAL (RFC 6806) }
export function decEncKdcRepPartSeq(n: Node, path: string): EncKdcRepPart {
  const r = new SeqReader(n, path);
  const v: EncKdcRepPart = {
    key: required(r, 0, 'key', decEncryptionKey),
    lastReq: required(r, 1, 'last-req', decLastReq),
    nonce: required(r, 2, 'nonce', decUInt32),
    keyExpiration: optional(r, 3, 'key-expiration', decKerberosTime),
    flags: required(r, 4, 'flags', decKerberosFlags),
    authtime: required(r, 5, 'authtime', decKerberosTime),
    starttime: optional(r, 6, 'starttime', decKerberosTime),
    endtime: required(r, 7, 'endtime', decKerberosTime),
    renewTill: optional(r, 8, 'renew-till', decKerberosTime),
    srealm: required(r, 9, 'srealm', decRealm),
    sname: required(r, 10, 'sname', decPrincipalName),
    caddr: optional(r, 11, 'caddr', decHostAddresses),
    encryptedPaData: optional(r, 12, 'encrypted-pa-data', decPaDataList),
  };
  r.end();
  return compact(v);
}
function encEncKdcRepPartSeq(v: EncKdcRepPart): Uint8Array {
  return encSeq(
    explicit(0, encEncryptionKey(v.key)),
    explicit(1, encLastReq(v.lastReq)),
    explicit(2, encUInt32(v.nonce, 'nonce')),
    opt(3, v.keyExpiration, encKerberosTime),
    explicit(4, encKerberosFlags(v.flags)),
    explicit(5, encKerberosTime(v.authtime)),
    opt(6, v.starttime, encKerberosTime),
    explicit(7, encKerberosTime(v.endtime)),
    opt(8, v.renewTill, encKerberosTime),
    explicit(9, encRealm(v.srealm)),
    explicit(10, encPrincipalName(v.sname)),
    opt(11, v.caddr, encHostAddresses),
    opt(12, v.encryptedPaData, encPaDataList),
  );
}
// EncASRepPart ::= [APPLICATION 25] EncKDCRepPart; EncTGSRepPart ::= [APPLICATION 26] EncKDCRepPart
export const encodeEncAsRepPart = (v: EncKdcRepPart) => encApplication(ApplicationTag.EncASRepPart, encEncKdcRepPartSeq(v));
export const encodeEncTgsRepPart = (v: EncKdcRepPart) => encApplication(ApplicationTag.EncTGSRepPart, encEncKdcRepPartSeq(v));
export const decodeEncAsRepPart = (b: Uint8Array) => topApplication(b, ApplicationTag.EncASRepPart, 'EncASRepPart', decEncKdcRepPartSeq);
export const decodeEncTgsRepPart = (b: Uint8Array) => topApplication(b, ApplicationTag.EncTGSRepPart, 'EncTGSRepPart', decEncKdcRepPartSeq);

/**
 * Either form. Quirk (RFC 4120 section 5.4.2 note): some KDCs encrypt an EncTGSRepPart (26) in an
 * AS-REP, and clients must accept both tags; `applicationTag` says which was received.
 */
export function decodeEncKdcRepPart(b: Uint8Array): EncKdcRepPart & { applicationTag: 25 | 26 } {
  const tag = b.length > 0 && b[0] === appTag(ApplicationTag.EncTGSRepPart) ? ApplicationTag.EncTGSRepPart : ApplicationTag.EncASRepPart;
  const name = tag === ApplicationTag.EncASRepPart ? 'EncASRepPart' : 'EncTGSRepPart';
  const v = topApplication(b, tag, name, decEncKdcRepPartSeq);
  return { ...v, applicationTag: tag };
}

