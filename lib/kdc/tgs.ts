/**
 * The embedded KDC's Ticket-Granting Service (RFC 4120 section 3.3.2): the PA-TGS-REQ AP-REQ is
 * checked (TGT under the krbtgt key, authenticator under its session key, checksum over the req-body
 * bytes as received), then a service ticket; the reply is under the authenticator subkey (usage 9)
 * when there is one, else the TGT session key (usage 8).
 */
import {
  type AuthorizationData, type KdcReq, decodeApReq, decodeAuthenticator, decodeEncTicketPart, makeTicketFlags, hasFlag,
} from '../krb5/asn1/index.js';
import { decrypt, verifyChecksum } from '../krb5/crypto/index.js';
import { ErrorCode, KdcOptions, KeyUsage, PaDataType, TicketFlags } from '../krb5/constants.js';
import type { Key, PrincipalName } from '../krb5/types.js';
import type { DbPrincipal, PrincipalDb } from './database.js';
import { KdcReplyError } from './krb-error.js';
import { issue } from './issue.js';

export interface KdcContext {
  realm: string;
  db: PrincipalDb;
  krbtgt: DbPrincipal;
  clockSkew: number;
  maxLifetime: number;
  /** The ticket's authorization data for `client` (the PAC), signed with serverKey and the krbtgt key. */
  pacFor(client: DbPrincipal, name: { realm: string; name: PrincipalName }, serverKey: Key, authtime: Date): AuthorizationData | undefined;
}

export function handleTgsReq(ctx: KdcContext, req: KdcReq, now: Date): Uint8Array {
  const body = req.reqBody;
  const pa = req.padata?.find((p) => p.padataType === PaDataType.PA_TGS_REQ);
  if (!pa) throw new KdcReplyError(ErrorCode.KDC_ERR_PADATA_TYPE_NOSUPP, 'TGS-REQ without PA-TGS-REQ');
  const apReq = decodeApReq(pa.padataValue);
  const tgtName = apReq.ticket.sname.nameString;
  if (tgtName[0] !== 'krbtgt' || tgtName[1]?.toUpperCase() !== ctx.realm.toUpperCase()) {
    throw new KdcReplyError(ErrorCode.KRB_AP_ERR_NOT_US, 'the PA-TGS-REQ ticket is not a TGT of this realm');
  }
  const krbtgtKey = ctx.db.key(ctx.krbtgt, apReq.ticket.encPart.etype);
  if (!krbtgtKey) throw new KdcReplyError(ErrorCode.KRB_AP_ERR_NOKEY, 'no krbtgt key for the TGT enctype');
  let tgt;
  try {
    tgt = decodeEncTicketPart(decrypt(krbtgtKey, KeyUsage.KDC_REP_TICKET, apReq.ticket.encPart.cipher, { allowWeak: true }));
  } catch {
    throw new KdcReplyError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, 'Decrypt integrity check failed (TGT)');
  }
  if (tgt.endtime.getTime() < now.getTime() - ctx.clockSkew * 1000) throw new KdcReplyError(ErrorCode.KRB_AP_ERR_TKT_EXPIRED, 'Ticket expired');
  let auth;
  try {
    auth = decodeAuthenticator(decrypt(tgt.key, KeyUsage.TGS_REQ_AUTH, apReq.authenticator.cipher, { allowWeak: true }));
  } catch {
    throw new KdcReplyError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, 'Decrypt integrity check failed (authenticator)');
  }
  if (auth.crealm !== tgt.crealm || auth.cname.nameString.join('/') !== tgt.cname.nameString.join('/')) {
    throw new KdcReplyError(ErrorCode.KRB_AP_ERR_BADMATCH, 'Ticket/authenticator don\'t match');
  }
  if (Math.abs(auth.ctime.getTime() - now.getTime()) > ctx.clockSkew * 1000) throw new KdcReplyError(ErrorCode.KRB_AP_ERR_SKEW, 'Clock skew too great');
  // RFC 4120 5.5.1: the authenticator checksum covers the req-body exactly as sent.
  if (!auth.cksum || !req.reqBodyDer) throw new KdcReplyError(ErrorCode.KRB_AP_ERR_INAPP_CKSUM, 'TGS-REQ authenticator without a checksum');
  try {
    verifyChecksum(tgt.key, KeyUsage.TGS_REQ_AUTH_CKSUM, req.reqBodyDer, auth.cksum.checksum, auth.cksum.cksumtype, { allowWeak: true });
  } catch {
    throw new KdcReplyError(ErrorCode.KRB_AP_ERR_MODIFIED, 'the TGS-REQ body does not match its authenticator checksum');
  }
  if (!body.sname) throw new KdcReplyError(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, 'TGS-REQ without sname');
  const server = ctx.db.get(body.sname);
  if (!server) throw new KdcReplyError(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, 'Server not found in Kerberos database');
  const clientEntry = ctx.db.get(tgt.cname);

  const forwardable = hasFlag(tgt.flags, TicketFlags.forwardable);
  if (hasFlag(body.kdcOptions, KdcOptions.forwarded) && !forwardable) throw new KdcReplyError(ErrorCode.KDC_ERR_BADOPTION, 'TGT not forwardable');
  const flags = makeTicketFlags([
    ...(forwardable && hasFlag(body.kdcOptions, KdcOptions.forwardable) ? (['forwardable'] as const) : []),
    ...(hasFlag(body.kdcOptions, KdcOptions.forwarded) || hasFlag(tgt.flags, TicketFlags.forwarded) ? (['forwarded'] as const) : []),
    ...(hasFlag(tgt.flags, TicketFlags['pre-authent']) ? (['pre-authent'] as const) : []),
  ]);
  const endtime = new Date(Math.min(body.till.getTime() || Infinity, tgt.endtime.getTime(), now.getTime() + ctx.maxLifetime * 1000));
  const replyKey = auth.subkey ?? tgt.key;
  const client = { realm: tgt.crealm, name: tgt.cname };
  return issue({
    db: ctx.db, realm: ctx.realm, body, client, server, sname: body.sname, flags, authtime: tgt.authtime, endtime,
    replyKey, replyUsage: auth.subkey ? KeyUsage.TGS_REP_ENCPART_SUBKEY : KeyUsage.TGS_REP_ENCPART_SESSKEY, kind: 'TGS', now,
    // A service ticket carries the client's PAC (AD does the same); a forwarded TGT too.
    makeAuthData: clientEntry ? (serverKey) => ctx.pacFor(clientEntry, client, serverKey, tgt.authtime) : tgt.authorizationData && (() => tgt.authorizationData),
  });
}
