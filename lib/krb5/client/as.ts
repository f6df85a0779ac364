/**
 * The Authentication Service exchange, RFC 4120 section 3.1: a TGT (or any initial ticket) for a
 * client with a password or keys from a keytab. Pre-authentication is PA-ENC-TIMESTAMP (RFC 4120
 * 5.2.7.2) with the key made from the salt and s2kparams the KDC gives in ETYPE-INFO2 (RFC 4120
 * 5.2.7.5), so Active Directory's salts (REALMuser, REALMhostname.fqdn) work without guessing.
 */
import { ErrorCode, KeyUsage, PaDataType } from '../constants.js';
import {
  type EncKdcRepPart, type ETypeInfo2Entry, type KdcReqBody, type PaData, encodeAsReq, encodePaEncTsEnc,
  encodeEncryptedData, encodePaPacRequest, decodeETypeInfo2, decodeETypeInfo, makeKdcOptions,
} from '../asn1/index.js';
import { encrypt, getCryptoProvider, getEncType, stringToKeyAsync } from '../crypto/index.js';
import { KerberosError, UsageError } from '../../errors.js';
import { kerberosError } from '../krb-error.js';
import { type Key, Principal } from '../types.js';
import { type Credential, type RealmName, krbtgt } from './credential.js';
import { type KdcTarget, credentialFrom, exchange, krbErrorToException, methodData, nonce, openKdcRep } from './kdc-rep.js';

/** Where the client's long-term key comes from. */
export type ClientSecret =
  | { password: string }
  /** Keys from a keytab, by enctype; the salt does not matter. */
  | { keys: Key[] };

export interface AsRequestOptions extends KdcTarget {
  client: RealmName;
  secret: ClientSecret;
  /** Default krbtgt/REALM@REALM. */
  server?: RealmName;
  /** Enctypes in preference order (krb5.conf default_tkt_enctypes). */
  etypes: number[];
  lifetimeSeconds?: number;
  renewableSeconds?: number;
  forwardable?: boolean;
  /** MS-KILE PA-PAC-REQUEST: ask for (true) or refuse (false) a PAC; omitted when undefined. */
  requestPac?: boolean;
  /** RFC 6806 name canonicalization (default true). */
  canonicalize?: boolean;
  allowWeak?: boolean;
  now?: () => Date;
}

/** RFC 4120 section 4: the default salt is the realm followed by the name components. */
export function defaultSalt(client: RealmName): string {
  return client.realm + client.name.nameString.join('');
}

export async function requestInitialTicket(o: AsRequestOptions): Promise<Credential> {
  const now = o.now?.() ?? new Date();
  const canonicalize = o.canonicalize ?? true;
  const server = o.server ?? krbtgt(o.client.realm);
  const etypes = o.etypes.filter((e) => supported(e, o.allowWeak));
  if (etypes.length === 0) throw new UsageError('no usable enctype requested (rc4-hmac needs allowWeakCrypto)');
  if ('keys' in o.secret && o.secret.keys.length === 0) {
    throw new UsageError(`no key for ${Principal.toString(o.client)} in the keytab`);
  }
  const body = (): KdcReqBody => ({
    kdcOptions: makeKdcOptions([
      ...(o.forwardable ?? true ? (['forwardable'] as const) : []),
      ...(o.renewableSeconds ? (['renewable'] as const) : []),
      ...(canonicalize ? (['canonicalize'] as const) : []),
    ]),
    cname: o.client.name,
    realm: o.client.realm,
    sname: server.name,
    till: new Date(now.getTime() + (o.lifetimeSeconds ?? 36000) * 1000),
    rtime: o.renewableSeconds ? new Date(now.getTime() + o.renewableSeconds * 1000) : undefined,
    nonce: nonce(getCryptoProvider().randomBytes(4)),
    // With keys from a keytab, offer only what we hold.
    etype: 'keys' in o.secret ? etypes.filter((e) => (o.secret as { keys: Key[] }).keys.some((k) => k.enctype === e)) : etypes,
  });
  const pacPa: PaData[] = o.requestPac === undefined ? [] : [{ padataType: PaDataType.PA_PAC_REQUEST, padataValue: encodePaPacRequest({ includePac: o.requestPac }) }];
  const who = `initial ticket for ${Principal.toString(o.client)}`;

  // First try: no pre-authentication, which tells us the salt (RFC 4120 section 3.1.1).
  let reqBody = body();
  let reply = await exchange(o.client.realm, o, encodeAsReq({ padata: pacPa.length ? pacPa : undefined, reqBody }), 'AS-REP');
  let replyKey: Key | undefined;
  let etypeInfo: ETypeInfo2Entry[] = [];

  if (reply.kind === 'error' && reply.error.errorCode === ErrorCode.KDC_ERR_PREAUTH_REQUIRED) {
    etypeInfo = etypeInfoFrom(methodData(reply.error));
    const entry = etypeInfo.find((e) => reqBody.etype.includes(e.etype)) ?? { etype: reqBody.etype[0]! };
    replyKey = await clientKey(o, entry);
    const ts = o.now?.() ?? new Date();
    const pausec = (ts.getTime() % 1000) * 1000;
    const encTs = encodePaEncTsEnc({ patimestamp: new Date(Math.floor(ts.getTime() / 1000) * 1000), pausec });
    const pa: PaData = {
      padataType: PaDataType.PA_ENC_TIMESTAMP,
      padataValue: encodeEncryptedData({ etype: replyKey.enctype, cipher: encrypt(replyKey, KeyUsage.AS_REQ_PA_ENC_TIMESTAMP, encTs, { allowWeak: o.allowWeak }) }),
    };
    reqBody = body();
    reply = await exchange(o.client.realm, o, encodeAsReq({ padata: [pa, ...pacPa], reqBody }), 'AS-REP');
  }
  if (reply.kind === 'error') throw krbErrorToException(reply.error, who);

  const rep = reply.rep;
  if (!replyKey || replyKey.enctype !== rep.encPart.etype) {
    // RFC 4120 3.1.3: the AS-REP's PA-ETYPE-INFO2 (if any) gives the salt of the reply key.
    const info = etypeInfoFrom(rep.padata ?? []).find((e) => e.etype === rep.encPart.etype)
      ?? etypeInfo.find((e) => e.etype === rep.encPart.etype) ?? { etype: rep.encPart.etype };
    replyKey = await clientKey(o, info);
  }
  let enc: EncKdcRepPart;
  try {
    enc = openKdcRep(rep, replyKey, KeyUsage.AS_REP_ENCPART, { nonce: reqBody.nonce, sname: server.name, realm: o.client.realm }, { allowWeak: o.allowWeak, canonicalize });
  } catch (err) {
    // Some KDCs (old Windows) encrypt the AS-REP with the TGS usage 8.
    if (!(err instanceof Error && /does not decrypt/.test(err.message))) throw err;
    enc = openKdcRep(rep, replyKey, KeyUsage.TGS_REP_ENCPART_SESSKEY, { nonce: reqBody.nonce, sname: server.name, realm: o.client.realm }, { allowWeak: o.allowWeak, canonicalize });
  }
  return credentialFrom(rep, enc);
}

function supported(etype: number, allowWeak?: boolean): boolean {
  try {
    getEncType(etype, { allowWeak });
    return true;
  } catch {
    return false;
  }
}

/** ETYPE-INFO2 (preferred) or the older ETYPE-INFO from a list of PA-DATA. */
function etypeInfoFrom(pa: PaData[]): ETypeInfo2Entry[] {
  for (const p of pa) {
    if (p.padataType === PaDataType.PA_ETYPE_INFO2) {
      try {
        return decodeETypeInfo2(p.padataValue);
      } catch {
        /* malformed hint: fall through to the defaults */
      }
    }
  }
  for (const p of pa) {
    if (p.padataType === PaDataType.PA_ETYPE_INFO) {
      try {
        return decodeETypeInfo(p.padataValue).map((e) => ({ etype: e.etype, salt: e.salt ? new TextDecoder().decode(e.salt) : undefined }));
      } catch {
        /* ignore */
      }
    }
  }
  return [];
}

async function clientKey(o: AsRequestOptions, info: ETypeInfo2Entry): Promise<Key> {
  if ('keys' in o.secret) {
    const k = o.secret.keys.find((x) => x.enctype === info.etype);
    if (!k) {
      throw kerberosError(ErrorCode.KDC_ERR_ETYPE_NOSUPP,
        `the KDC wants enctype ${info.etype} for ${Principal.toString(o.client)} and the keytab has only ${o.secret.keys.map((x) => x.enctype).join(', ')}`);
    }
    return k;
  }
  // PBKDF2 off the event loop (RFC 3962 / RFC 8009 iterations).
  try {
    return await stringToKeyAsync(info.etype, o.secret.password, info.salt ?? defaultSalt(o.client), info.s2kparams, { allowWeak: o.allowWeak });
  } catch (err) {
    // The s2kparams come from an unauthenticated ETYPE-INFO2: refuse a malformed or too costly one
    // as MIT does (KRB5_ERR_BAD_S2K_PARAMS, "Invalid key generation parameters from KDC"; no RFC 4120 code).
    if (info.s2kparams?.length && err instanceof UsageError && /s2kparams/.test(err.message)) {
      throw new KerberosError(-1, 'KRB5_ERR_BAD_S2K_PARAMS',
        `initial ticket for ${Principal.toString(o.client)}: invalid key generation parameters from the KDC (${err.message})`, undefined, { cause: err });
    }
    throw err;
  }
}
