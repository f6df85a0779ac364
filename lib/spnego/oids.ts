/**
 * Mechanism OIDs seen in SPNEGO mech lists (RFC 4178, MS-SPNG), with short names for APIs and
 * tools. The DER contents octets are in /work/shared/spec/spnego-mechlistmic-checklist.md 1.3.
 */
import { UsageError } from '../errors.js';
import { Krb5MechOid } from '../krb5/constants.js';

export const MechOid = {
  /** SPNEGO itself, RFC 4178 / RFC 2478. */
  spnego: '1.3.6.1.5.5.2',
  /** Kerberos V5 GSS-API mechanism, RFC 1964 / RFC 4121. */
  krb5: Krb5MechOid.krb5,
  /** Microsoft's truncated Kerberos OID (48018 = 113554 & 0xFFFF), RFC 4178 appendix C. */
  'ms-krb5': Krb5MechOid.msKrb5,
  /** Pre-RFC 1964 Kerberos OID (MIT's gss_mech_krb5_old). */
  'krb5-old': Krb5MechOid.krb5Old,
  /** NTLMSSP (MS-NLMP). */
  ntlm: '1.3.6.1.4.1.311.2.2.10',
  /** NegoEx (MS-NEGOEX). */
  negoex: '1.3.6.1.4.1.311.2.2.30',
  /** IAKERB (draft-ietf-kitten-iakerb). */
  iakerb: '1.3.6.1.5.2.5',
  /** Kerberos user-to-user (RFC 4121 section 1 / MIT gss_mech_krb5_u2u). */
  'krb5-u2u': '1.2.840.113554.1.2.2.3',
} as const;

export type MechName = keyof typeof MechOid;

/** Short name of a dotted OID, or undefined when it is not one of MechOid. */
export function mechName(oid: string): MechName | undefined {
  for (const [k, v] of Object.entries(MechOid)) if (v === oid) return k as MechName;
  return undefined;
}

/** Dotted OID for a short name; a dotted OID is returned as is. Throws UsageError for anything else. */
export function mechOid(nameOrOid: string): string {
  if (Object.prototype.hasOwnProperty.call(MechOid, nameOrOid)) return MechOid[nameOrOid as MechName];
  if (/^[0-2](\.(0|[1-9]\d*))+$/.test(nameOrOid)) return nameOrOid;
  throw new UsageError(`unknown mechanism "${nameOrOid}" (use a short name or a dotted OID)`);
}

/** The OIDs that mean Kerberos V5 (MIT is_kerb_mech: RFC OID, MS OID, pre-RFC OID). */
export function isKerberosOid(oid: string): boolean {
  return oid === MechOid.krb5 || oid === MechOid['ms-krb5'] || oid === MechOid['krb5-old'];
}
