/** RFC 4120 sections 5.5.1 and 5.5.2: AP-REQ, Authenticator, AP-REP, EncAPRepPart. */
import { ApplicationTag, MessageType } from '../constants.js';
import {
  type Node, SeqReader, decFixed, decApplicationSeq, topApplication, readOptional as optional, readRequired as required,
  compact, decUInt32, decMicroseconds, decKerberosTime, decKerberosFlags, encApplication, encSeq, explicit, opt,
  encInteger, encUInt32, encMicroseconds, encKerberosTime, encKerberosFlags, Tag, ctxTag, appTag, type DerNode, derNode,
} from './der.js';
import {
  type PrincipalName, type EncryptedData, type Key, type Checksum, type AuthorizationData,
  decRealm, encRealm, decPrincipalName, encPrincipalName, decEncryptedData, encEncryptedData, encryptedDataNode, decEncryptionKey,
  encEncryptionKey, decChecksum, encChecksum, decAuthorizationData, encAuthorizationData,
} from './basic.js';
import { type Ticket, decTicket, encTicket } from './ticket.js';

export interface ApReq {
  /** APOptions (bit 0 = MSB), see flags.ts. */
  apOptions: number;
  ticket: Ticket;
  authenticator: EncryptedData;
}
// AP-REQ ::= [APPLICATION 14] SEQUENCE { pvno [0] INTEGER (5), msg-type [1] INTEGER (14),
//   ap-options [2] APOptions, ticket [3] Ticket, authenticator [4] EncryptedData }
export function decApReq(n: Node, path: string): ApReq {
  return decApReqSeq(decApplicationSeq(n, MessageType.KRB_AP_REQ, path), path);
}
export function encodeApReq(v: ApReq): Uint8Array {
  return encApplication(
    MessageType.KRB_AP_REQ,
    encSeq(
      explicit(0, encInteger(5)),
      explicit(1, encInteger(MessageType.KRB_AP_REQ)),
      explicit(2, encKerberosFlags(v.apOptions)),
      explicit(3, encTicket(v.ticket)),
      explicit(4, encEncryptedData(v.authenticator)),
    ),
  );
}
export const decodeApReq = (b: Uint8Array): ApReq =>
  topApplication(b, MessageType.KRB_AP_REQ, 'AP-REQ', (n, p) => decApReqSeq(n, p));
function decApReqSeq(n: Node, path: string): ApReq {
  const r = new SeqReader(n, path);
  required(r, 0, 'pvno', (e, p) => decFixed(e, p, [5]));
  required(r, 1, 'msg-type', (e, p) => decFixed(e, p, [MessageType.KRB_AP_REQ]));
  const v: ApReq = {
    apOptions: required(r, 2, 'ap-options', decKerberosFlags),
    ticket: required(r, 3, 'ticket', decTicket),
    authenticator: required(r, 4, 'authenticator', decEncryptedData),
  };
  r.end();
  return v;
}

export interface Authenticator {
  crealm: string;
  cname: PrincipalName;
  cksum?: Checksum;
  cusec: number;
  ctime: Date;
  subkey?: Key;
  seqNumber?: number;
  authorizationData?: AuthorizationData;
}
// Authenticator ::= [APPLICATION 2] SEQUENCE { authenticator-vno [0] INTEGER (5), crealm [1], cname [2],
//   cksum [3] OPTIONAL, cusec [4] Microseconds, ctime [5] KerberosTime, subkey [6] OPTIONAL,
//   seq-number [7] UInt32 OPTIONAL, authorization-data [8] OPTIONAL }
function decAuthenticatorSeq(n: Node, path: string): Authenticator {
  const r = new SeqReader(n, path);
  required(r, 0, 'authenticator-vno', (e, p) => decFixed(e, p, [5]));
  const v: Authenticator = {
    crealm: required(r, 1, 'crealm', decRealm),
    cname: required(r, 2, 'cname', decPrincipalName),
    cksum: optional(r, 3, 'cksum', decChecksum),
    cusec: required(r, 4, 'cusec', decMicroseconds),
    ctime: required(r, 5, 'ctime', decKerberosTime),
    subkey: optional(r, 6, 'subkey', decEncryptionKey),
    seqNumber: optional(r, 7, 'seq-number', decUInt32),
    authorizationData: optional(r, 8, 'authorization-data', decAuthorizationData),
  };
  r.end();
  return compact(v);
}
export function encodeAuthenticator(v: Authenticator): Uint8Array {
  return encApplication(
    ApplicationTag.Authenticator,
    encSeq(
      explicit(0, encInteger(5)),
      explicit(1, encRealm(v.crealm)),
      explicit(2, encPrincipalName(v.cname)),
      opt(3, v.cksum, encChecksum),
      explicit(4, encMicroseconds(v.cusec, 'cusec')),
      explicit(5, encKerberosTime(v.ctime)),
      opt(6, v.subkey, encEncryptionKey),
      opt(7, v.seqNumber, (s) => encUInt32(s, 'seq-number')),
      opt(8, v.authorizationData, encAuthorizationData),
    ),
  );
}
export const decodeAuthenticator = (b: Uint8Array): Authenticator =>
  topApplication(b, ApplicationTag.Authenticator, 'Authenticator', decAuthenticatorSeq);

export interface ApRep {
  encPart: EncryptedData;
}
// AP-REP ::= [APPLICATION 15] SEQUENCE { pvno [0] INTEGER (5), msg-type [1] INTEGER (15), enc-part [2] EncryptedData }
function decApRepSeq(n: Node, path: string): ApRep {
  const r = new SeqReader(n, path);
  required(r, 0, 'pvno', (e, p) => decFixed(e, p, [5]));
  required(r, 1, 'msg-type', (e, p) => decFixed(e, p, [MessageType.KRB_AP_REP]));
  const encPart = required(r, 2, 'enc-part', decEncryptedData);
  r.end();
  return { encPart };
}
export function encodeApRep(v: ApRep): Uint8Array {
  return apRepNode(v).bytes();
}

/** The AP-REP left unwritten (DerNode), for a caller that writes it inside a larger token. */
export function apRepNode(v: ApRep): DerNode {
  return derNode(appTag(MessageType.KRB_AP_REP), derNode(Tag.SEQUENCE,
    explicit(0, encInteger(5)), explicit(1, encInteger(MessageType.KRB_AP_REP)), derNode(ctxTag(2), encryptedDataNode(v.encPart))));
}
export const decodeApRep = (b: Uint8Array): ApRep => topApplication(b, MessageType.KRB_AP_REP, 'AP-REP', decApRepSeq);

export interface EncApRepPart {
  ctime: Date;
  cusec: number;
  subkey?: Key;
  seqNumber?: number;
}
// EncAPRepPart ::= [APPLICATION 27] SEQUENCE { ctime [0], cusec [1], subkey [2] OPTIONAL, seq-number [3] OPTIONAL }
function decEncApRepPartSeq(n: Node, path: string): EncApRepPart {
  const r = new SeqReader(n, path);
  const v: EncApRepPart = {
    ctime: required(r, 0, 'ctime', decKerberosTime),
    cusec: required(r, 1, 'cusec', decMicroseconds),
    subkey: optional(r, 2, 'subkey', decEncryptionKey),
    seqNumber: optional(r, 3, 'seq-number', decUInt32),
  };
  r.end();
  return compact(v);
}
export function encodeEncApRepPart(v: EncApRepPart): Uint8Array {
  return derNode(appTag(ApplicationTag.EncAPRepPart), derNode(Tag.SEQUENCE,
    explicit(0, encKerberosTime(v.ctime)),
    explicit(1, encMicroseconds(v.cusec, 'cusec')),
    opt(2, v.subkey, encEncryptionKey),
    opt(3, v.seqNumber, (s) => encUInt32(s, 'seq-number')),
  )).bytes();
}
export const decodeEncApRepPart = (b: Uint8Array): EncApRepPart =>
  topApplication(b, ApplicationTag.EncAPRepPart, 'EncAPRepPart', decEncApRepPartSeq);

/** Node-level decoders for the dispatcher (they unwrap the APPLICATION tag themselves). */
export const decAuthenticator = (n: Node, p: string) => decAuthenticatorSeq(decApplicationSeq(n, ApplicationTag.Authenticator, p), p);
export const decApRep = (n: Node, p: string) => decApRepSeq(decApplicationSeq(n, MessageType.KRB_AP_REP, p), p);
export const decEncApRepPart = (n: Node, p: string) => decEncApRepPartSeq(decApplicationSeq(n, ApplicationTag.EncAPRepPart, p), p);
