/**
 * Names for the minor status codes MIT and Heimdal return for Kerberos failures: com_err codes of
 * the "krb5" table (ERROR_TABLE_BASE_krb5 = -1765328384) offset by the RFC 4120 section 7.5.9
 * error code, named as both libraries name them (KRB5KRB_AP_ERR_SKEW, KRB5KDC_ERR_PREAUTH_FAILED).
 */
import { errorCodeName } from '../krb5/constants.js';

const KRB5_BASE = 0x96c73a00; // -1765328384 as an unsigned 32-bit minor status

/** 'KRB5KRB_AP_ERR_SKEW' for minor = base + 37; undefined outside the table. */
export function krb5ErrorName(minor: number): string | undefined {
  const off = (minor >>> 0) - KRB5_BASE;
  if (off < 0 || off > 127) return undefined;
  return `KRB5${errorCodeName(off)}`;
}
