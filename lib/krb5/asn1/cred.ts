/** RFC 4120 section 5.8: KRB-CRED, EncKrbCredPart, KrbCredInfo (delegated credentials, RFC 4121 section 4.1.1). */
import { ApplicationTag, MessageType } from '../constants.js';
import {
  type Node, SeqReader, decFixed, decApplicationSeq, topApplication, readOptional as optional, readRequired as required,
  compact, seqOf, decUInt32, decMicroseconds, decKerberosTime, decKerberosFlags, encApplication, encSeq, encSeqOf,
  explicit, opt, encInteger, encUInt32, encMicroseconds, encKerberosTime, encKerberosFlags,
} from './der.js';
import {
  type PrincipalName, type EncryptedData, type Key, type HostAddress, decRealm, encRealm, decPrincipalName,
  encPrincipalName, decEncryptedData, encEncryptedData, decEncryptionKey, encEncryptionKey, decHostAddress,
  encHostAddress, decHostAddresses, encHostAddresses,
} from './basic.js';
import { type Ticket, decTicket, encTicket } from './ticket.js';

export interface KrbCred {
  tickets: Ticket[];
  encPart: EncryptedData;
}
// KRB-CRED ::= [APPLICATION 22] SEQUENCE { pvno [0] INTEGER (5), msg-type [1] INTEGER (22),
//   tickets [2] SEQUENCE OF Ticket, enc-part [3] EncryptedData -- EncKrbCredPart -- }
function decKrbCredSeq(n: Node, path: string): KrbCred {
  const r = new SeqReader(n, path);
  required(r, 0, 'pvno', (e, p) => decFixed(e, p, [5]));
  required(r, 1, 'msg-type', (e, p) => decFixed(e, p, [MessageType.KRB_CRED]));
  const tickets = required(r, 2, 'tickets', (e, p) => seqOf(e, p, decTicket));
  const encPart = required(r, 3, 'enc-part', decEncryptedData);
  r.end();
  return { tickets, encPart };
}
export function encodeKrbCred(v: KrbCred): Uint8Array {
  return encApplication(
    MessageType.KRB_CRED,
    encSeq(
      explicit(0, encInteger(5)),
      explicit(1, encInteger(MessageType.KRB_CRED)),
      explicit(2, encSeqOf(v.tickets, encTicket)),
      explicit(3, encEncryptedData(v.encPart)),
    ),
  );
}
export const decodeKrbCred = (b: Uint8Array): KrbCred => topApplication(b, MessageType.KRB_CRED, 'KRB-CRED', decKrbCredSeq);
export const decKrbCred = (n: Node, p: string) => decKrbCredSeq(decApplicationSeq(n, MessageType.KRB_CRED, p), p);

export interface KrbCredInfo {
  key: Key;
  prealm?: string;
  pname?: PrincipalName;
  flags?: number;
  authtime?: Date;
  starttime?: Date;
  endtime?: Date;
  renewTill?: Date;
  srealm?: string;
  sname?: PrincipalName;
  caddr?: HostAddress[];
}
// KrbCredInfo ::= SEQUENCE { key [0], prealm [1] OPT, pname [2] OPT, flags [3] OPT, authtime [4] OPT,
//   starttime [5] OPT, endtime [6] OPT, renew-till [7] OPT, srealm [8] OPT, sname [9] OPT, caddr [10] OPT }
function decKrbCredInfo(n: Node, path: string): KrbCredInfo {
  const r = new SeqReader(n, path);
  const v: KrbCredInfo = {
    key: required(r, 0, 'key', decEncryptionKey),
    prealm: optional(r, 1, 'prealm', decRealm),
    pname: optional(r, 2, 'pname', decPrincipalName),
    flags: optional(r, 3, 'flags', decKerberosFlags),
    authtime: optional(r, 4, 'authtime', decKerberosTime),
    starttime: optional(r, 5, 'starttime', decKerberosTime),
    endtime: optional(r, 6, 'endtime', decKerberosTime),
    renewTill: optional(r, 7, 'renew-till', decKerberosTime),
    srealm: optional(r, 8, 'srealm', decRealm),
    sname: optional(r, 9, 'sname', decPrincipalName),
    caddr: optional(r, 10, 'caddr', decHostAddresses),
  };
  r.end();
  return compact(v);
}
function encKrbCredInfo(v: KrbCredInfo): Uint8Array {
  return encSeq(
    explicit(0, encEncryptionKey(v.key)),
    opt(1, v.prealm, encRealm),
    opt(2, v.pname, encPrincipalName),
    opt(3, v.flags, encKerberosFlags),
    opt(4, v.authtime, encKerberosTime),
    opt(5, v.starttime, encKerberosTime),
    opt(6, v.endtime, encKerberosTime),
    opt(7, v.renewTill, encKerberosTime),
    opt(8, v.srealm, encRealm),
    opt(9, v.sname, encPrincipalName),
    opt(10, v.caddr, encHostAddresses),
  );
}

export interface EncKrbCredPart {
  ticketInfo: KrbCredInfo[];
  nonce?: number;
  timestamp?: Date;
  usec?: number;
  sAddress?: HostAddress;
  rAddress?: HostAddress;
}
// EncKrbCredPart ::= [APPLICATION 29] SEQUENCE { ticket-info [0] SEQUENCE OF KrbCredInfo, nonce [1] UInt32 OPT,
//   timestamp [2] OPT, usec [3] Microseconds OPT, s-address [4] HostAddress OPT, r-address [5] HostAddress OPT }
function decEncKrbCredPartSeq(n: Node, path: string): EncKrbCredPart {
  const r = new SeqReader(n, path);
  const v: EncKrbCredPart = {
    ticketInfo: required(r, 0, 'ticket-info', (e, p) => seqOf(e, p, decKrbCredInfo)),
    nonce: optional(r, 1, 'nonce', decUInt32),
    timestamp: optional(r, 2, 'timestamp', decKerberosTime),
    usec: optional(r, 3, 'usec', decMicroseconds),
    sAddress: optional(r, 4, 's-address', decHostAddress),
    rAddress: optional(r, 5, 'r-address', decHostAddress),
  };
  r.end();
  return compact(v);
}
export function encodeEncKrbCredPart(v: EncKrbCredPart): Uint8Array {
  return encApplication(
    ApplicationTag.EncKrbCredPart,
    encSeq(
      explicit(0, encSeqOf(v.ticketInfo, encKrbCredInfo)),
      opt(1, v.nonce, (x) => encUInt32(x, 'nonce')),
      opt(2, v.timestamp, encKerberosTime),
      opt(3, v.usec, (x) => encMicroseconds(x, 'usec')),
      opt(4, v.sAddress, encHostAddress),
      opt(5, v.rAddress, encHostAddress),
    ),
  );
}
export const decodeEncKrbCredPart = (b: Uint8Array): EncKrbCredPart =>
  topApplication(b, ApplicationTag.EncKrbCredPart, 'EncKrbCredPart', decEncKrbCredPartSeq);
export const decEncKrbCredPart = (n: Node, p: string) => decEncKrbCredPartSeq(decApplicationSeq(n, ApplicationTag.EncKrbCredPart, p), p);
