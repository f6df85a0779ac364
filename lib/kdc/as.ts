/**
 * The embedded KDC's Authentication Service (RFC 4120 section 3.1.2): principal lookup, PA-ENC-TIMESTAMP
 * pre-authentication with ETYPE-INFO2 hints (salt, enctype) in the PREAUTH_REQUIRED error, then a TGT
 * (or any initial ticket) under the reply key, usage 3.
 */
import {
  type KdcReq, decodeEncryptedData, decodePaEncTsEnc, encodeETypeInfo2, encodeMethodData, decodePaPacRequest, makeTicketFlags, hasFlag,
} from '../krb5/asn1/index.js';
import { decrypt } from '../krb5/crypto/index.js';
import { ErrorCode, KdcOptions, KeyUsage, PaDataType } from '../krb5/constants.js';
import type { Key } from '../krb5/types.js';
import type { DbPrincipal } from './database.js';
import { KdcReplyError } from './krb-error.js';
import { issue } from './issue.js';
import type { KdcContext } from './tgs.js';

function etypeInfo2(ctx: KdcContext, client: DbPrincipal, etypes: number[]): Uint8Array {
  const usable = etypes.filter((e) => ctx.db.key(client, e));
  return encodeETypeInfo2(usable.map((etype) => ({ etype, salt: client.salt })));
}

export function handleAsReq(ctx: KdcContext, req: KdcReq, now: Date): Uint8Array {
  const body = req.reqBody;
  if (body.realm.toUpperCase() !== ctx.realm.toUpperCase()) throw new KdcReplyError(ErrorCode.KDC_ERR_WRONG_REALM, `this KDC serves ${ctx.realm}, not ${body.realm}`);
  if (!body.cname) throw new KdcReplyError(ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN, 'AS-REQ without cname');
  const client = ctx.db.get(body.cname);
  if (!client) throw new KdcReplyError(ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN, 'Client not found in Kerberos database');
  const server = body.sname && ctx.db.get(body.sname);
  if (!server) throw new KdcReplyError(ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN, 'Server not found in Kerberos database');
  // The reply key: the first enctype of the client's list that the client has a key for.
  const replyEtype = body.etype.find((e) => ctx.db.key(client, e));
  if (replyEtype === undefined) throw new KdcReplyError(ErrorCode.KDC_ERR_ETYPE_NOSUPP, 'KDC has no support for encryption type');

  let preauthenticated = false;
  let replyKey: Key = ctx.db.key(client, replyEtype)!;
  const encTs = req.padata?.find((p) => p.padataType === PaDataType.PA_ENC_TIMESTAMP);
  if (encTs) {
    const ed = decodeEncryptedData(encTs.padataValue);
    const key = ctx.db.key(client, ed.etype);
    if (!key) throw new KdcReplyError(ErrorCode.KDC_ERR_ETYPE_NOSUPP, 'pre-authentication enctype not supported');
    let ts;
    try {
      ts = decodePaEncTsEnc(decrypt(key, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, ed.cipher, { allowWeak: true }));
    } catch {
      throw new KdcReplyError(ErrorCode.KDC_ERR_PREAUTH_FAILED, 'Preauthentication failed');
    }
    const t = ts.patimestamp.getTime() + Math.floor((ts.pausec ?? 0) / 1000);
    if (Math.abs(t - now.getTime()) > ctx.clockSkew * 1000) throw new KdcReplyError(ErrorCode.KRB_AP_ERR_SKEW, 'Clock skew too great');
    preauthenticated = true;
    replyKey = key;
  } else if (client.requiresPreauth) {
    const methodData = encodeMethodData([
      { padataType: PaDataType.PA_ETYPE_INFO2, padataValue: etypeInfo2(ctx, client, body.etype) },
      { padataType: PaDataType.PA_ENC_TIMESTAMP, padataValue: new Uint8Array(0) },
    ]);
    throw new KdcReplyError(ErrorCode.KDC_ERR_PREAUTH_REQUIRED, 'Additional pre-authentication required', methodData);
  }

  const pacReq = req.padata?.find((p) => p.padataType === PaDataType.PA_PAC_REQUEST);
  const wantPac = pacReq ? decodePaPacRequest(pacReq.padataValue).includePac : true;
  const endtime = new Date(Math.min(body.till.getTime() || Infinity, now.getTime() + ctx.maxLifetime * 1000));
  const renewable = hasFlag(body.kdcOptions, KdcOptions.renewable) && body.rtime !== undefined;
  const flags = makeTicketFlags([
    'initial',
    ...(preauthenticated ? (['pre-authent'] as const) : []),
    ...(hasFlag(body.kdcOptions, KdcOptions.forwardable) ? (['forwardable'] as const) : []),
    ...(renewable ? (['renewable'] as const) : []),
  ]);
  const client_ = { realm: ctx.realm, name: body.cname };
  return issue({
    db: ctx.db, realm: ctx.realm, body, client: client_, server, sname: body.sname!, flags, authtime: now, endtime,
    renewTill: renewable ? new Date(Math.min(body.rtime!.getTime(), now.getTime() + 7 * 86400_000)) : undefined,
    replyKey, replyUsage: KeyUsage.AS_REP_ENCPART, replyKvno: client.kvno, kind: 'AS', now,
    padata: [{ padataType: PaDataType.PA_ETYPE_INFO2, padataValue: encodeETypeInfo2([{ etype: replyKey.enctype, salt: client.salt }]) }],
    makeAuthData: wantPac ? (serverKey) => ctx.pacFor(client, client_, serverKey, now) : undefined,
  });
}
