/**
 * What AS and TGS exchanges share (RFC 4120 sections 3.1.5 and 3.3.4): sending a request, turning a
 * KRB-ERROR into a KerberosError with a message that says what to fix, and checking a KDC-REP against
 * its request (nonce, names, times).
 */
import { ErrorCode } from '../constants.js';
import {
  type KdcRep, type EncKdcRepPart, type KrbError, type PaData, decodeKrb5Message, decodeEncKdcRepPart, decodeMethodData,
} from '../asn1/index.js';
import { decrypt } from '../crypto/index.js';
import { KerberosError } from '../../errors.js';
import { kerberosError } from '../krb-error.js';
import { type Key, type PrincipalName, formatPrincipal } from '../types.js';
import { type KdcAddress, type TransportOptions, sendToKdc } from './transport.js';
import type { Credential } from './credential.js';

export interface KdcTarget {
  kdcs: KdcAddress[];
  transport?: TransportOptions;
}

/** Advice for the errors users meet most, appended to the KDC's own text. */
const HINTS: Partial<Record<number, string>> = {
  [ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN]: 'client principal not found in the KDC database (check the user name and realm)',
  [ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN]: 'service principal not found (check the SPN: host name, service class, realm mapping)',
  [ErrorCode.KDC_ERR_PREAUTH_FAILED]: 'pre-authentication failed: wrong password or stale key',
  [ErrorCode.KDC_ERR_ETYPE_NOSUPP]: 'no common encryption type (check permitted_enctypes, allow_weak_crypto and the account keys)',
  [ErrorCode.KRB_AP_ERR_SKEW]: 'clock skew too great between this host and the KDC (sync the clocks)',
  [ErrorCode.KRB_AP_ERR_BAD_INTEGRITY]: 'integrity check failed: wrong password or key',
  [ErrorCode.KDC_ERR_CLIENT_REVOKED]: 'the client account is disabled, locked or expired',
  [ErrorCode.KDC_ERR_KEY_EXPIRED]: 'the password has expired',
};

export function krbErrorToException(e: KrbError, what: string): KerberosError {
  const hint = HINTS[e.errorCode];
  return kerberosError(e.errorCode, `${what}: ${hint ?? 'the KDC refused the request'}`, e.eText);
}

export type KdcReply = { kind: 'rep'; rep: KdcRep; raw: Uint8Array } | { kind: 'error'; error: KrbError };

export async function exchange(realm: string, target: KdcTarget, req: Uint8Array, expect: 'AS-REP' | 'TGS-REP'): Promise<KdcReply> {
  const raw = await sendToKdc(realm, target.kdcs, req, target.transport);
  const msg = decodeKrb5Message(raw);
  if (msg.type === 'KRB-ERROR') return { kind: 'error', error: msg.value };
  if (msg.type !== expect) throw kerberosError(ErrorCode.KRB_AP_ERR_MSG_TYPE, `the KDC answered a ${msg.type} to a ${expect === 'AS-REP' ? 'AS-REQ' : 'TGS-REQ'}`);
  return { kind: 'rep', rep: msg.value as KdcRep, raw };
}

/** The METHOD-DATA in a KRB-ERROR's e-data (PREAUTH_REQUIRED), or [] when absent or not METHOD-DATA. */
export function methodData(e: KrbError): PaData[] {
  if (!e.eData) return [];
  try {
    return decodeMethodData(e.eData);
  } catch {
    return [];
  }
}

/** Decrypts and checks a KDC-REP's enc-part (RFC 4120 3.1.5 / 3.3.4). */
export function openKdcRep(
  rep: KdcRep, key: Key, usage: number, req: { nonce: number; sname?: PrincipalName; realm: string },
  opts: { allowWeak?: boolean; canonicalize?: boolean },
): EncKdcRepPart {
  if (rep.encPart.etype !== key.enctype) {
    throw kerberosError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, `the KDC reply is encrypted with enctype ${rep.encPart.etype}, the reply key is ${key.enctype}`);
  }
  let enc: EncKdcRepPart;
  try {
    enc = decodeEncKdcRepPart(decrypt(key, usage, rep.encPart.cipher, { allowWeak: opts.allowWeak }));
  } catch (err) {
    if (err instanceof KerberosError) throw err;
    throw kerberosError(ErrorCode.KRB_AP_ERR_BAD_INTEGRITY, 'the KDC reply does not decrypt: wrong password or key', undefined, err);
  }
  if (enc.nonce !== req.nonce) throw kerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, 'the KDC reply nonce does not match the request (replayed or forged reply)');
  // RFC 6806 section 5: with canonicalize the KDC may return another name; otherwise it must echo ours.
  if (!opts.canonicalize && req.sname && formatPrincipal(enc.sname) !== formatPrincipal(req.sname)) {
    throw kerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, `the KDC reply is for ${formatPrincipal(enc.sname)}, not ${formatPrincipal(req.sname)}`);
  }
  if (formatPrincipal(enc.sname) !== formatPrincipal(rep.ticket.sname) || enc.srealm !== rep.ticket.realm) {
    throw kerberosError(ErrorCode.KRB_AP_ERR_MODIFIED, 'the KDC reply and its ticket name different services');
  }
  return enc;
}

export function credentialFrom(rep: KdcRep, enc: EncKdcRepPart): Credential {
  return {
    client: { realm: rep.crealm, name: rep.cname },
    server: { realm: enc.srealm, name: enc.sname },
    key: enc.key,
    flags: enc.flags,
    authtime: enc.authtime,
    starttime: enc.starttime,
    endtime: enc.endtime,
    renewTill: enc.renewTill,
    ticket: rep.ticket,
  };
}

/** A random 31-bit nonce (MIT and Windows reject negative nonces in some versions). */
export function nonce(random: Uint8Array): number {
  return new DataView(random.buffer, random.byteOffset, 4).getUint32(0) & 0x7fffffff;
}
