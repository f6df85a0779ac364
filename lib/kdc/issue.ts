/**
 * What AS and TGS replies share (RFC 4120 sections 3.1.3 and 3.3.3): a new session key, the ticket
 * (EncTicketPart under the server's key, usage 2) and the EncKDCRepPart for the client.
 */
import { encodeEncTicketPart, encodeAsRep, encodeTgsRep, encodeEncAsRepPart, encodeEncTgsRepPart, type AuthorizationData, type KdcReqBody, type PaData, type Ticket } from '../krb5/asn1/index.js';
import { encrypt, generateKey } from '../krb5/crypto/index.js';
import { ErrorCode, KeyUsage } from '../krb5/constants.js';
import type { Key, PrincipalName } from '../krb5/types.js';
import type { DbPrincipal, PrincipalDb } from './database.js';
import { KdcReplyError } from './krb-error.js';

export interface IssueParams {
  db: PrincipalDb;
  realm: string;
  body: KdcReqBody;
  client: { realm: string; name: PrincipalName };
  server: DbPrincipal;
  /** The name as requested (kept in the reply: no canonicalization here). */
  sname: PrincipalName;
  flags: number;
  authtime: Date;
  endtime: Date;
  renewTill?: Date;
  authorizationData?: AuthorizationData;
  replyKey: Key;
  replyUsage: number;
  replyKvno?: number;
  padata?: PaData[];
  kind: 'AS' | 'TGS';
  now: Date;
  /** Builds the ticket's authorization data once the session key and server key are known (the PAC). */
  makeAuthData?: (serverKey: Key) => AuthorizationData | undefined;
}

const second = (d: Date) => new Date(Math.floor(d.getTime() / 1000) * 1000);

/** First enctype of the client's list that the server has a key for (the session key enctype). */
export function sessionEnctype(db: PrincipalDb, server: DbPrincipal, requested: number[]): number {
  const e = requested.find((et) => db.key(server, et));
  if (e === undefined) throw new KdcReplyError(ErrorCode.KDC_ERR_ETYPE_NOSUPP, 'no requested enctype is supported for the session key');
  return e;
}

export function issue(p: IssueParams): Uint8Array {
  const sessionKey = generateKey(sessionEnctype(p.db, p.server, p.body.etype), { allowWeak: true });
  // The ticket is encrypted in the server's first (strongest configured) key.
  const serverKey = p.server.keys.find((k) => p.db.key(p.server, k.enctype));
  if (!serverKey) throw new KdcReplyError(ErrorCode.KDC_ERR_ETYPE_NOSUPP, 'the server has no usable key');
  const authorizationData = p.makeAuthData?.(serverKey) ?? p.authorizationData;
  const encTicket = encodeEncTicketPart({
    flags: p.flags, key: sessionKey, crealm: p.client.realm, cname: p.client.name,
    transited: { trType: 1, contents: new Uint8Array(0) },
    authtime: second(p.authtime), endtime: second(p.endtime), renewTill: p.renewTill && second(p.renewTill),
    authorizationData: authorizationData?.length ? authorizationData : undefined,
  });
  const ticket: Ticket = {
    realm: p.realm, sname: p.sname,
    encPart: { etype: serverKey.enctype, kvno: p.server.kvno, cipher: encrypt(serverKey, KeyUsage.KDC_REP_TICKET, encTicket, { allowWeak: true }) },
  };
  const encPart = {
    key: sessionKey, lastReq: [{ lrType: 0, lrValue: second(p.now) }], nonce: p.body.nonce, flags: p.flags,
    authtime: second(p.authtime), endtime: second(p.endtime), renewTill: p.renewTill && second(p.renewTill),
    srealm: p.realm, sname: p.sname,
  };
  const encBytes = p.kind === 'AS' ? encodeEncAsRepPart(encPart) : encodeEncTgsRepPart(encPart);
  const rep = {
    padata: p.padata, crealm: p.client.realm, cname: p.client.name, ticket,
    encPart: { etype: p.replyKey.enctype, kvno: p.replyKvno, cipher: encrypt(p.replyKey, p.replyUsage, encBytes, { allowWeak: true }) },
  };
  return p.kind === 'AS' ? encodeAsRep(rep) : encodeTgsRep(rep);
}
