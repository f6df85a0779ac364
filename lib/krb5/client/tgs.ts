/**
 * The Ticket-Granting Service exchange, RFC 4120 section 3.3: a service ticket from a TGT, following
 * referrals across realms (RFC 6806 section 8), and forwarded TGTs for delegation (RFC 4120 2.6).
 * The PA-TGS-REQ carries an AP-REQ whose authenticator checksums the request body (key usage 6) and
 * holds a subkey, so the reply comes back under that subkey (key usage 9).
 */
import { ErrorCode, KeyUsage, PaDataType } from '../constants.js';
import {
  type KdcReqBody, type Ticket, encodeTgsReq, encodeKdcReqBody, encodeApReq, encodeAuthenticator, encodeKrbCred,
  encodeEncKrbCredPart, makeKdcOptions, hasFlag,
} from '../asn1/index.js';
import { encrypt, generateKey, getCryptoProvider, getEncType, makeChecksum } from '../crypto/index.js';
import { TicketFlags } from '../constants.js';
import { KerberosError, UsageError } from '../../errors.js';
import { kerberosError } from '../krb-error.js';
import { type PrincipalName, Principal } from '../types.js';
import { type Credential, type RealmName, isTgt, krbtgt } from './credential.js';
import { type KdcTarget, credentialFrom, exchange, krbErrorToException, nonce, openKdcRep } from './kdc-rep.js';

export interface TgsRequestOptions {
  /** A TGT (krbtgt/REALM) for the client. */
  tgt: Credential;
  server: RealmName;
  /** KDCs of a realm (referrals may lead to other realms). */
  kdcsFor: (realm: string) => KdcTarget | Promise<KdcTarget>;
  /** Enctypes for the session key, in preference order (krb5.conf default_tgs_enctypes). */
  etypes: number[];
  forwardable?: boolean;
  /** Request a forwarded TGT (for delegation); `server` must then be krbtgt/REALM. */
  forwarded?: boolean;
  canonicalize?: boolean;
  allowWeak?: boolean;
  now?: () => Date;
  /** Referral hops before giving up (default 5). */
  maxReferrals?: number;
}

/** One TGS-REQ/TGS-REP round with `tgt` to the KDC of tgt's realm. */
async function tgsRound(o: TgsRequestOptions, tgt: Credential, sname: PrincipalName, realm: string): Promise<Credential> {
  const now = o.now?.() ?? new Date();
  const canonicalize = o.canonicalize ?? true;
  const reqBody: KdcReqBody = {
    kdcOptions: makeKdcOptions([
      ...(o.forwardable ?? true ? (['forwardable'] as const) : []),
      ...(o.forwarded ? (['forwarded'] as const) : []),
      ...(canonicalize ? (['canonicalize'] as const) : []),
    ]),
    realm,
    sname,
    till: tgt.endtime,
    nonce: nonce(getCryptoProvider().randomBytes(4)),
    etype: o.etypes,
  };
  const key = tgt.key;
  // RFC 4757 section 3 maps usage 9 (TGS-REP under the subkey) to 8, Heimdal 7.8 does not: with
  // an rc4 TGT session key we send no subkey, so the reply is under the session key (usage 8) for both.
  const subkey = key.enctype === 23 ? undefined : generateKey(key.enctype, { allowWeak: o.allowWeak });
  const bodyDer = encodeKdcReqBody(reqBody);
  const cksumtype = getEncType(key.enctype, { allowWeak: o.allowWeak }).checksumType;
  const authenticator = encodeAuthenticator({
    crealm: tgt.client.realm,
    cname: tgt.client.name,
    cksum: { cksumtype, checksum: makeChecksum(key, KeyUsage.TGS_REQ_AUTH_CKSUM, bodyDer, cksumtype, { allowWeak: o.allowWeak }) },
    cusec: (now.getTime() % 1000) * 1000,
    ctime: new Date(Math.floor(now.getTime() / 1000) * 1000),
    subkey,
  });
  const apReq = encodeApReq({
    apOptions: 0,
    ticket: tgt.ticket,
    authenticator: { etype: key.enctype, cipher: encrypt(key, KeyUsage.TGS_REQ_AUTH, authenticator, { allowWeak: o.allowWeak }) },
  });
  const target = await o.kdcsFor(tgt.server.realm);
  const req = encodeTgsReq({ padata: [{ padataType: PaDataType.PA_TGS_REQ, padataValue: apReq }], reqBody });
  const reply = await exchange(tgt.server.realm, target, req, 'TGS-REP');
  const who = `service ticket for ${Principal.toString({ realm, name: sname })}`;
  if (reply.kind === 'error') throw krbErrorToException(reply.error, who);
  // RFC 4120 3.3.3: with a subkey in the authenticator the reply is under the subkey, usage 9.
  const expect = { nonce: reqBody.nonce, sname, realm };
  const how = { allowWeak: o.allowWeak, canonicalize: true };
  let enc;
  if (!subkey) {
    enc = openKdcRep(reply.rep, key, KeyUsage.TGS_REP_ENCPART_SESSKEY, expect, how);
  } else {
    try {
      enc = openKdcRep(reply.rep, subkey, KeyUsage.TGS_REP_ENCPART_SUBKEY, expect, how);
    } catch (e) {
      // Some KDCs answer under the TGT session key (usage 8) anyway; MIT's client tries that too.
      if (!(e instanceof KerberosError) || e.errorCode !== ErrorCode.KRB_AP_ERR_BAD_INTEGRITY) throw e;
      enc = openKdcRep(reply.rep, key, KeyUsage.TGS_REP_ENCPART_SESSKEY, expect, how);
    }
  }
  return credentialFrom(reply.rep, enc);
}

/**
 * A service ticket for `server`. When the KDC answers with a cross-realm TGT (a referral,
 * RFC 6806 section 8), asks the next realm's KDC, up to maxReferrals hops.
 */
export async function requestServiceTicket(o: TgsRequestOptions): Promise<Credential> {
  if (!isTgt(o.tgt.server)) throw new UsageError(`${Principal.toString(o.tgt.server)} is not a TGT`);
  let tgt = o.tgt;
  const seen = new Set<string>();
  for (let hop = 0; hop <= (o.maxReferrals ?? 5); hop++) {
    const cred = await tgsRound(o, tgt, o.server.name, tgt.server.realm);
    const wanted = !isTgt(o.server) ? !isTgt(cred.server) : true;
    if (wanted || o.forwarded) return cred;
    // A referral: krbtgt/OTHER@THIS. Follow it to OTHER.
    const next = cred.server.name.nameString[1]!;
    if (seen.has(next)) throw kerberosError(ErrorCode.KDC_ERR_PATH_NOT_ACCEPTED, `referral loop at realm ${next}`);
    seen.add(next);
    tgt = { ...cred, server: { realm: next, name: cred.server.name } };
  }
  throw kerberosError(ErrorCode.KDC_ERR_PATH_NOT_ACCEPTED, `more than ${o.maxReferrals ?? 5} referrals for ${Principal.toString(o.server)}`);
}

/**
 * The Deleg field of RFC 4121 4.1.1: a KRB-CRED holding a forwarded TGT, encrypted in the service
 * ticket's session key (key usage 14). The TGT must be forwardable.
 */
export async function delegationCredential(o: Omit<TgsRequestOptions, 'server' | 'forwarded'>, serviceKey: Credential['key']): Promise<Uint8Array> {
  if (!hasFlag(o.tgt.flags, TicketFlags.forwardable)) {
    throw new UsageError('delegation asked for, but the TGT is not forwardable (kinit -f, or forwardable = true in krb5.conf)');
  }
  const fwd = await tgsRound({ ...o, server: krbtgt(o.tgt.client.realm), forwarded: true }, o.tgt, krbtgt(o.tgt.client.realm).name, o.tgt.server.realm);
  const encPart = encodeEncKrbCredPart({
    ticketInfo: [{
      key: fwd.key, prealm: fwd.client.realm, pname: fwd.client.name, flags: fwd.flags, authtime: fwd.authtime,
      starttime: fwd.starttime, endtime: fwd.endtime, renewTill: fwd.renewTill, srealm: fwd.server.realm, sname: fwd.server.name,
    }],
  });
  const tickets: Ticket[] = [fwd.ticket];
  return encodeKrbCred({ tickets, encPart: { etype: serviceKey.enctype, cipher: encrypt(serviceKey, KeyUsage.KRB_CRED_ENCPART, encPart, { allowWeak: o.allowWeak }) } });
}
