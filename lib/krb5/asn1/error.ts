/** RFC 4120 section 5.9.1: KRB-ERROR. */
import { MessageType } from '../constants.js';
import {
  type Node, SeqReader, decFixed, decApplicationSeq, topApplication, readOptional as optional, readRequired as required,
  compact, decInt32, decMicroseconds, decKerberosTime, decKerberosString, decOctets, encApplication, encSeq, explicit,
  opt, encInteger, encInt32, encMicroseconds, encKerberosTime, encKerberosString, encOctets,
} from './der.js';
import { type PrincipalName, decRealm, encRealm, decPrincipalName, encPrincipalName } from './basic.js';

export interface KrbError {
  ctime?: Date;
  cusec?: number;
  stime: Date;
  susec: number;
  /** RFC 4120 section 7.5.9 code; see ErrorCode / errorCodeName in constants.ts. */
  errorCode: number;
  crealm?: string;
  cname?: PrincipalName;
  realm: string;
  sname: PrincipalName;
  eText?: string;
  eData?: Uint8Array;
}
// KRB-ERROR ::= [APPLICATION 30] SEQUENCE { pvno [0] INTEGER (5), msg-type [1] INTEGER (30),
//   ctime [2] OPTIONAL, cusec [3] OPTIONAL, stime [4], susec [5], error-code [6] Int32, crealm [7] OPTIONAL,
//   cname [8] OPTIONAL, realm [9] -- service realm --, sname [10], e-text [11] OPTIONAL, e-data [12] OPTIONAL }
function decKrbErrorSeq(n: Node, path: string): KrbError {
  const r = new SeqReader(n, path);
  required(r, 0, 'pvno', (e, p) => decFixed(e, p, [5]));
  required(r, 1, 'msg-type', (e, p) => decFixed(e, p, [MessageType.KRB_ERROR]));
  const v: KrbError = {
    ctime: optional(r, 2, 'ctime', decKerberosTime),
    cusec: optional(r, 3, 'cusec', decMicroseconds),
    stime: required(r, 4, 'stime', decKerberosTime),
    susec: required(r, 5, 'susec', decMicroseconds),
    errorCode: required(r, 6, 'error-code', decInt32),
    crealm: optional(r, 7, 'crealm', decRealm),
    cname: optional(r, 8, 'cname', decPrincipalName),
    realm: required(r, 9, 'realm', decRealm),
    sname: required(r, 10, 'sname', decPrincipalName),
    eText: optional(r, 11, 'e-text', decKerberosString),
    eData: optional(r, 12, 'e-data', decOctets),
  };
  r.end();
  return compact(v);
}
export function encodeKrbError(v: KrbError): Uint8Array {
  return encApplication(
    MessageType.KRB_ERROR,
    encSeq(
      explicit(0, encInteger(5)),
      explicit(1, encInteger(MessageType.KRB_ERROR)),
      opt(2, v.ctime, encKerberosTime),
      opt(3, v.cusec, (u) => encMicroseconds(u, 'cusec')),
      explicit(4, encKerberosTime(v.stime)),
      explicit(5, encMicroseconds(v.susec, 'susec')),
      explicit(6, encInt32(v.errorCode, 'error-code')),
      opt(7, v.crealm, encRealm),
      opt(8, v.cname, encPrincipalName),
      explicit(9, encRealm(v.realm)),
      explicit(10, encPrincipalName(v.sname)),
      opt(11, v.eText, encKerberosString),
      opt(12, v.eData, encOctets),
    ),
  );
}
export const decodeKrbError = (b: Uint8Array): KrbError => topApplication(b, MessageType.KRB_ERROR, 'KRB-ERROR', decKrbErrorSeq);
export const decKrbError = (n: Node, p: string) => decKrbErrorSeq(decApplicationSeq(n, MessageType.KRB_ERROR, p), p);
