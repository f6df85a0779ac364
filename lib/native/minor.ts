/**
 * Names for the minor statuses of Kerberos failures, as MIT and Heimdal name them
 * (KRB5KRB_AP_ERR_SKEW, KRB5KDC_ERR_PREAUTH_FAILED, KRB5_KT_NOTFOUND...).
 *
 * Heimdal returns the com_err code itself: ERROR_TABLE_BASE_krb5 (-1765328384) plus the RFC 4120
 * section 7.5.9 error code. MIT's mechglue replaces it with a per-process number (100001, 100002...,
 * gssint_mecherrmap) and keeps the code only in the display_status text, which is the "krb5"
 * com_err table's message: the name is then recovered from that text.
 */
import { errorCodeName } from '../krb5/constants.js';

const KRB5_BASE = 0x96c73a00; // -1765328384 as an unsigned 32-bit minor status

// The "krb5" com_err table's messages (MIT krb5_err.et / Heimdal krb5_err.et) for the failures
// users meet; the first match in the display_status text wins.
const MESSAGES: [RegExp, string][] = [
  [/Client .*not found in Kerberos database|Client not found in Kerberos database/i, 'KRB5KDC_ERR_C_PRINCIPAL_UNKNOWN'],
  [/Server .*not found in Kerberos database|Server not found in Kerberos database/i, 'KRB5KDC_ERR_S_PRINCIPAL_UNKNOWN'],
  [/Preauthentication failed/i, 'KRB5KDC_ERR_PREAUTH_FAILED'],
  [/Additional pre-authentication required/i, 'KRB5KDC_ERR_PREAUTH_REQUIRED'],
  [/KDC has no support for encryption type/i, 'KRB5KDC_ERR_ETYPE_NOSUPP'],
  [/Clients credentials have been revoked/i, 'KRB5KDC_ERR_CLIENT_REVOKED'],
  [/Password has expired/i, 'KRB5KDC_ERR_KEY_EXPIRED'],
  [/Ticket expired/i, 'KRB5KRB_AP_ERR_TKT_EXPIRED'],
  [/Ticket not yet valid/i, 'KRB5KRB_AP_ERR_TKT_NYV'],
  [/Clock skew too great/i, 'KRB5KRB_AP_ERR_SKEW'],
  [/Request is a replay/i, 'KRB5KRB_AP_ERR_REPEAT'],
  [/The ticket isn't for us/i, 'KRB5KRB_AP_ERR_NOT_US'],
  [/Decrypt integrity check failed/i, 'KRB5KRB_AP_ERR_BAD_INTEGRITY'],
  [/Message stream modified/i, 'KRB5KRB_AP_ERR_MODIFIED'],
  [/Key version number for principal in key table is incorrect|Key version is not available/i, 'KRB5_KT_KVNONOTFOUND'],
  [/No key table entry found|Key table entry not found/i, 'KRB5_KT_NOTFOUND'],
  [/No credentials cache found/i, 'KRB5_FCC_NOFILE'],
  [/Matching credential not found/i, 'KRB5_CC_NOTFOUND'],
  [/Cannot contact any KDC|Cannot find KDC for/i, 'KRB5_KDC_UNREACH'],
  [/Cannot resolve network address for KDC/i, 'KRB5_REALM_CANT_RESOLVE'],
];

/** 'KRB5KRB_AP_ERR_SKEW' and the like, from the minor code or the library's text; undefined when unknown. */
export function krb5ErrorName(minor: number, text = ''): string | undefined {
  const off = (minor >>> 0) - KRB5_BASE;
  if (off >= 0 && off <= 127) return `KRB5${errorCodeName(off)}`;
  for (const [re, name] of MESSAGES) if (re.test(text)) return name;
  return undefined;
}
