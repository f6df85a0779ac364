/** RFC 4120 section 5.3: Ticket and EncTicketPart. */
import { ApplicationTag } from '../constants.js';
import {
  type Node, SeqReader, readTop, appTag, decFixed, decApplicationSeq, readOptional as optional, readRequired as required,
  compact, decKerberosTime, decKerberosFlags, encApplication, encSeq, explicit, opt, encInteger, encKerberosTime, encKerberosFlags,
} from './der.js';
import {
  type PrincipalName, type EncryptedData, type Key, type HostAddress, type AuthorizationData, type TransitedEncoding,
  decRealm, encRealm, decPrincipalName, encPrincipalName, decEncryptedData, encEncryptedData, decEncryptionKey,
  encEncryptionKey, decHostAddresses, encHostAddresses, decAuthorizationData, encAuthorizationData,
  decTransitedEncoding, encTransitedEncoding,
} from './basic.js';

export interface Ticket {
  realm: string;
  sname: PrincipalName;
  encPart: EncryptedData;
}
// Ticket ::= [APPLICATION 1] SEQUENCE { tkt-vno [0] INTEGER (5), realm [1] Realm, sname [2] PrincipalName, enc-part [3] EncryptedData }
export function decTicket(n: Node, path: string): Ticket {
  const r = new SeqReader(decApplicationSeq(n, ApplicationTag.Ticket, path), path);
  decFixed(r.required(0, 'tkt-vno'), `${path}.tkt-vno`, [5]);
  const realm = decRealm(r.required(1, 'realm'), `${path}.realm`);
  const sname = decPrincipalName(r.required(2, 'sname'), `${path}.sname`);
  const encPart = decEncryptedData(r.required(3, 'enc-part'), `${path}.enc-part`);
  r.end();
  return { realm, sname, encPart };
}
export function encTicket(v: Ticket): Uint8Array {
  return encApplication(
    ApplicationTag.Ticket,
    encSeq(explicit(0, encInteger(5)), explicit(1, encRealm(v.realm)), explicit(2, encPrincipalName(v.sname)), explicit(3, encEncryptedData(v.encPart))),
  );
}
export const encodeTicket = encTicket;
export const decodeTicket = (b: Uint8Array): Ticket => decTicket(readTop(b, appTag(ApplicationTag.Ticket), 'Ticket'), 'Ticket');

export interface EncTicketPart {
  /** TicketFlags (bit 0 = MSB), see flags.ts. */
  flags: number;
  key: Key;
  crealm: string;
  cname: PrincipalName;
  transited: TransitedEncoding;
  authtime: Date;
  starttime?: Date;
  endtime: Date;
  renewTill?: Date;
  caddr?: HostAddress[];
  authorizationData?: AuthorizationData;
}
// EncTicketPart ::= [APPLICATION 3] SEQUENCE { flags [0], key [1], crealm [2], cname [3], transited [4],
//   authtime [5], starttime [6] OPTIONAL, endtime [7], renew-till [8] OPTIONAL, caddr [9] OPTIONAL,
//   authorization-data [10] OPTIONAL }
export function decEncTicketPart(n: Node, path: string): EncTicketPart {
  const r = new SeqReader(decApplicationSeq(n, ApplicationTag.EncTicketPart, path), path);
  const v: EncTicketPart = {
    flags: required(r, 0, 'flags', decKerberosFlags),
    key: required(r, 1, 'key', decEncryptionKey),
    crealm: required(r, 2, 'crealm', decRealm),
    cname: required(r, 3, 'cname', decPrincipalName),
    transited: required(r, 4, 'transited', decTransitedEncoding),
    authtime: required(r, 5, 'authtime', decKerberosTime),
    starttime: optional(r, 6, 'starttime', decKerberosTime),
    endtime: required(r, 7, 'endtime', decKerberosTime),
    renewTill: optional(r, 8, 'renew-till', decKerberosTime),
    caddr: optional(r, 9, 'caddr', decHostAddresses),
    authorizationData: optional(r, 10, 'authorization-data', decAuthorizationData),
  };
  r.end();
  return compact(v);
}
export function encEncTicketPart(v: EncTicketPart): Uint8Array {
  return encApplication(
    ApplicationTag.EncTicketPart,
    encSeq(
      explicit(0, encKerberosFlags(v.flags)),
      explicit(1, encEncryptionKey(v.key)),
      explicit(2, encRealm(v.crealm)),
      explicit(3, encPrincipalName(v.cname)),
      explicit(4, encTransitedEncoding(v.transited)),
      explicit(5, encKerberosTime(v.authtime)),
      opt(6, v.starttime, encKerberosTime),
      explicit(7, encKerberosTime(v.endtime)),
      opt(8, v.renewTill, encKerberosTime),
      opt(9, v.caddr, encHostAddresses),
      opt(10, v.authorizationData, encAuthorizationData),
    ),
  );
}
export const encodeEncTicketPart = encEncTicketPart;
export const decodeEncTicketPart = (b: Uint8Array): EncTicketPart =>
  decEncTicketPart(readTop(b, appTag(ApplicationTag.EncTicketPart), 'EncTicketPart'), 'EncTicketPart');

