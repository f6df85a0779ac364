/**
 * Dispatcher on the APPLICATION tag of a Kerberos message or encrypted part (RFC 4120 appendix A,
 * section 7.5.7): returns a tagged union so tools can print whatever they are given.
 */
import { ApplicationTag, MessageType } from '../constants.js';
import { DecodeError } from '../../errors.js';
import { readNode, type Node } from './der.js';
import { type Ticket, type EncTicketPart, decTicket, decEncTicketPart } from './ticket.js';
import { type KdcReq, type KdcRep, type EncKdcRepPart, decAsReq, decTgsReq, decAsRep, decTgsRep, decodeEncAsRepPart, decodeEncTgsRepPart } from './kdc.js';
import { type ApReq, type ApRep, type Authenticator, type EncApRepPart, decApReq, decApRep, decAuthenticator, decEncApRepPart } from './ap.js';
import { type KrbError, decKrbError } from './error.js';
import { type KrbCred, type EncKrbCredPart, decKrbCred, decEncKrbCredPart } from './cred.js';

export type Krb5Message =
  | { type: 'Ticket'; value: Ticket }
  | { type: 'Authenticator'; value: Authenticator }
  | { type: 'EncTicketPart'; value: EncTicketPart }
  | { type: 'AS-REQ'; value: KdcReq }
  | { type: 'AS-REP'; value: KdcRep }
  | { type: 'TGS-REQ'; value: KdcReq }
  | { type: 'TGS-REP'; value: KdcRep }
  | { type: 'AP-REQ'; value: ApReq }
  | { type: 'AP-REP'; value: ApRep }
  | { type: 'KRB-CRED'; value: KrbCred }
  | { type: 'EncASRepPart'; value: EncKdcRepPart }
  | { type: 'EncTGSRepPart'; value: EncKdcRepPart }
  | { type: 'EncAPRepPart'; value: EncApRepPart }
  | { type: 'EncKrbCredPart'; value: EncKrbCredPart }
  | { type: 'KRB-ERROR'; value: KrbError };

export type Krb5MessageType = Krb5Message['type'];

/**
 * Decodes any of the messages above from its DER. KRB-SAFE (20), KRB-PRIV (21) and EncKrbPrivPart
 * (28) are recognized but not decoded (DecodeError "not supported"); anything else is a DecodeError.
 */
export function decodeKrb5Message(bytes: Uint8Array): Krb5Message {
  const path = 'Krb5Message';
  const top = readNode(bytes, 0, bytes.length, path);
  if (top.end !== bytes.length) throw new DecodeError(path, `${bytes.length - top.end} trailing bytes`, top.end);
  if ((top.tag & 0xe0) !== 0x60) throw new DecodeError(path, `not an APPLICATION-tagged Kerberos message (tag 0x${top.tag.toString(16)})`, 0);
  const n: Node = top;
  switch (top.tag & 0x1f) {
    case ApplicationTag.Ticket:
      return { type: 'Ticket', value: decTicket(n, 'Ticket') };
    case ApplicationTag.Authenticator:
      return { type: 'Authenticator', value: decAuthenticator(n, 'Authenticator') };
    case ApplicationTag.EncTicketPart:
      return { type: 'EncTicketPart', value: decEncTicketPart(n, 'EncTicketPart') };
    case MessageType.KRB_AS_REQ:
      return { type: 'AS-REQ', value: decAsReq(n, 'AS-REQ') };
    case MessageType.KRB_AS_REP:
      return { type: 'AS-REP', value: decAsRep(n, 'AS-REP') };
    case MessageType.KRB_TGS_REQ:
      return { type: 'TGS-REQ', value: decTgsReq(n, 'TGS-REQ') };
    case MessageType.KRB_TGS_REP:
      return { type: 'TGS-REP', value: decTgsRep(n, 'TGS-REP') };
    case MessageType.KRB_AP_REQ:
      return { type: 'AP-REQ', value: decApReq(n, 'AP-REQ') };
    case MessageType.KRB_AP_REP:
      return { type: 'AP-REP', value: decApRep(n, 'AP-REP') };
    case MessageType.KRB_CRED:
      return { type: 'KRB-CRED', value: decKrbCred(n, 'KRB-CRED') };
    case ApplicationTag.EncASRepPart:
      return { type: 'EncASRepPart', value: decodeEncAsRepPart(bytes) };
    case ApplicationTag.EncTGSRepPart:
      return { type: 'EncTGSRepPart', value: decodeEncTgsRepPart(bytes) };
    case ApplicationTag.EncAPRepPart:
      return { type: 'EncAPRepPart', value: decEncApRepPart(n, 'EncAPRepPart') };
    case ApplicationTag.EncKrbCredPart:
      return { type: 'EncKrbCredPart', value: decEncKrbCredPart(n, 'EncKrbCredPart') };
    case MessageType.KRB_ERROR:
      return { type: 'KRB-ERROR', value: decKrbError(n, 'KRB-ERROR') };
    case MessageType.KRB_SAFE:
    case MessageType.KRB_PRIV:
    case ApplicationTag.EncKrbPrivPart:
      throw new DecodeError(path, `APPLICATION ${top.tag & 0x1f} (KRB-SAFE/KRB-PRIV) is not supported`, 0);
    default:
      throw new DecodeError(path, `unknown APPLICATION tag ${top.tag & 0x1f}`, 0);
  }
}
