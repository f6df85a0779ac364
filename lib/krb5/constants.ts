/**
 * Kerberos constants, each table named after its IANA registry ("Kerberos Parameters") or the
 * RFC section that defines it, so code reads against the specs.
 */

/** Encryption types, IANA "Kerberos Encryption Type Numbers" (RFC 3961 section 8). */
export const EncType = {
  des_cbc_crc: 1,
  des_cbc_md5: 3,
  des3_cbc_sha1_kd: 16,
  aes128_cts_hmac_sha1_96: 17, // RFC 3962
  aes256_cts_hmac_sha1_96: 18, // RFC 3962
  aes128_cts_hmac_sha256_128: 19, // RFC 8009
  aes256_cts_hmac_sha384_192: 20, // RFC 8009
  rc4_hmac: 23, // RFC 4757
  rc4_hmac_exp: 24,
} as const;
export type EncTypeName = keyof typeof EncType;

/** Checksum types, IANA "Kerberos Checksum Type Numbers" (RFC 3961 section 8). */
export const ChecksumType = {
  rsa_md5: 7,
  hmac_sha1_96_aes128: 15, // RFC 3962
  hmac_sha1_96_aes256: 16, // RFC 3962
  hmac_sha256_128_aes128: 19, // RFC 8009
  hmac_sha384_192_aes256: 20, // RFC 8009
  gss_krb5_authenticator: 0x8003, // RFC 4121 section 4.1.1
  hmac_md5: -138, // RFC 4757 ("KERB_CHECKSUM_HMAC_MD5")
} as const;
export type ChecksumTypeName = keyof typeof ChecksumType;

/** Key usage numbers, RFC 4120 section 7.5.1 and RFC 4121 section 2. */
export const KeyUsage = {
  AS_REQ_PA_ENC_TIMESTAMP: 1,
  KDC_REP_TICKET: 2,
  AS_REP_ENCPART: 3,
  TGS_REQ_AD_SESSKEY: 4,
  TGS_REQ_AD_SUBKEY: 5,
  TGS_REQ_AUTH_CKSUM: 6,
  TGS_REQ_AUTH: 7,
  TGS_REP_ENCPART_SESSKEY: 8,
  TGS_REP_ENCPART_SUBKEY: 9,
  AP_REQ_AUTH_CKSUM: 10,
  AP_REQ_AUTH: 11,
  AP_REP_ENCPART: 12,
  KRB_PRIV_ENCPART: 13,
  KRB_CRED_ENCPART: 14,
  KRB_SAFE_CKSUM: 15,
  AD_KDC_ISSUED_CKSUM: 19,
  // RFC 4121 section 2
  KG_USAGE_ACCEPTOR_SEAL: 22,
  KG_USAGE_ACCEPTOR_SIGN: 23,
  KG_USAGE_INITIATOR_SEAL: 24,
  KG_USAGE_INITIATOR_SIGN: 25,
} as const;

/** Message types, RFC 4120 section 7.5.7 (the APPLICATION tag numbers). */
export const MessageType = {
  KRB_AS_REQ: 10,
  KRB_AS_REP: 11,
  KRB_TGS_REQ: 12,
  KRB_TGS_REP: 13,
  KRB_AP_REQ: 14,
  KRB_AP_REP: 15,
  KRB_SAFE: 20,
  KRB_PRIV: 21,
  KRB_CRED: 22,
  KRB_ERROR: 30,
} as const;

/** APPLICATION tags of the non-message types, RFC 4120 appendix A. */
export const ApplicationTag = {
  Ticket: 1,
  Authenticator: 2,
  EncTicketPart: 3,
  EncASRepPart: 25,
  EncTGSRepPart: 26,
  EncAPRepPart: 27,
  EncKrbPrivPart: 28,
  EncKrbCredPart: 29,
} as const;

/** Principal name types, RFC 4120 section 6.2 (IANA "Kerberos Name Types"). */
export const NameType = {
  NT_UNKNOWN: 0,
  NT_PRINCIPAL: 1,
  NT_SRV_INST: 2,
  NT_SRV_HST: 3,
  NT_SRV_XHST: 4,
  NT_UID: 5,
  NT_X500_PRINCIPAL: 6,
  NT_SMTP_NAME: 7,
  NT_ENTERPRISE: 10,
  NT_WELLKNOWN: 11,
} as const;

/** Pre-authentication data types, IANA "Pre-authentication and Typed Data". */
export const PaDataType = {
  PA_TGS_REQ: 1,
  PA_ENC_TIMESTAMP: 2,
  PA_PW_SALT: 3,
  PA_ETYPE_INFO: 11,
  PA_ETYPE_INFO2: 19,
  PA_PAC_REQUEST: 128, // MS-KILE 2.2.3
  PA_FOR_USER: 129,
  PA_FX_FAST: 136,
  PA_ENC_PA_REP: 149,
  PA_REQ_ENC_PA_REP: 149,
  PA_SUPPORTED_ENCTYPES: 165, // MS-KILE 2.2.8
  PA_PAC_OPTIONS: 167,
} as const;

/** Authorization data types, RFC 4120 section 7.5.4 and IANA. */
export const AuthorizationDataType = {
  AD_IF_RELEVANT: 1,
  AD_INTENDED_FOR_SERVER: 2,
  AD_INTENDED_FOR_APPLICATION_CLASS: 3,
  AD_KDC_ISSUED: 4,
  AD_AND_OR: 5,
  AD_MANDATORY_TICKET_EXTENSIONS: 6,
  AD_IN_TICKET_EXTENSIONS: 7,
  AD_MANDATORY_FOR_KDC: 8,
  AD_ETYPE_NEGOTIATION: 129, // RFC 4537
  AD_WIN2K_PAC: 128, // MS-PAC
  KERB_AUTH_DATA_TOKEN_RESTRICTIONS: 141, // MS-KILE 2.2.6
  KERB_LOCAL: 142,
  AD_AUTH_DATA_AP_OPTIONS: 143, // MS-KILE 2.2.10 (KERB_AP_OPTIONS_CBT)
  AD_AUTH_DATA_TARGET_NAME: 144,
} as const;

/** Error codes, RFC 4120 section 7.5.9 (plus MS-KILE additions). Name -> number. */
export const ErrorCode = {
  KDC_ERR_NONE: 0,
  KDC_ERR_NAME_EXP: 1,
  KDC_ERR_SERVICE_EXP: 2,
  KDC_ERR_BAD_PVNO: 3,
  KDC_ERR_C_OLD_MAST_KVNO: 4,
  KDC_ERR_S_OLD_MAST_KVNO: 5,
  KDC_ERR_C_PRINCIPAL_UNKNOWN: 6,
  KDC_ERR_S_PRINCIPAL_UNKNOWN: 7,
  KDC_ERR_PRINCIPAL_NOT_UNIQUE: 8,
  KDC_ERR_NULL_KEY: 9,
  KDC_ERR_CANNOT_POSTDATE: 10,
  KDC_ERR_NEVER_VALID: 11,
  KDC_ERR_POLICY: 12,
  KDC_ERR_BADOPTION: 13,
  KDC_ERR_ETYPE_NOSUPP: 14,
  KDC_ERR_SUMTYPE_NOSUPP: 15,
  KDC_ERR_PADATA_TYPE_NOSUPP: 16,
  KDC_ERR_TRTYPE_NOSUPP: 17,
  KDC_ERR_CLIENT_REVOKED: 18,
  KDC_ERR_SERVICE_REVOKED: 19,
  KDC_ERR_TGT_REVOKED: 20,
  KDC_ERR_CLIENT_NOTYET: 21,
  KDC_ERR_SERVICE_NOTYET: 22,
  KDC_ERR_KEY_EXPIRED: 23,
  KDC_ERR_PREAUTH_FAILED: 24,
  KDC_ERR_PREAUTH_REQUIRED: 25,
  KDC_ERR_SERVER_NOMATCH: 26,
  KDC_ERR_MUST_USE_USER2USER: 27,
  KDC_ERR_PATH_NOT_ACCEPTED: 28,
  KDC_ERR_SVC_UNAVAILABLE: 29,
  KRB_AP_ERR_BAD_INTEGRITY: 31,
  KRB_AP_ERR_TKT_EXPIRED: 32,
  KRB_AP_ERR_TKT_NYV: 33,
  KRB_AP_ERR_REPEAT: 34,
  KRB_AP_ERR_NOT_US: 35,
  KRB_AP_ERR_BADMATCH: 36,
  KRB_AP_ERR_SKEW: 37,
  KRB_AP_ERR_BADADDR: 38,
  KRB_AP_ERR_BADVERSION: 39,
  KRB_AP_ERR_MSG_TYPE: 40,
  KRB_AP_ERR_MODIFIED: 41,
  KRB_AP_ERR_BADORDER: 42,
  KRB_AP_ERR_BADKEYVER: 44,
  KRB_AP_ERR_NOKEY: 45,
  KRB_AP_ERR_MUT_FAIL: 46,
  KRB_AP_ERR_BADDIRECTION: 47,
  KRB_AP_ERR_METHOD: 48,
  KRB_AP_ERR_BADSEQ: 49,
  KRB_AP_ERR_INAPP_CKSUM: 50,
  KRB_AP_PATH_NOT_ACCEPTED: 51,
  KRB_ERR_RESPONSE_TOO_BIG: 52,
  KRB_ERR_GENERIC: 60,
  KRB_ERR_FIELD_TOOLONG: 61,
  KDC_ERROR_CLIENT_NOT_TRUSTED: 62,
  KDC_ERROR_KDC_NOT_TRUSTED: 63,
  KDC_ERROR_INVALID_SIG: 64,
  KDC_ERR_KEY_TOO_WEAK: 65,
  KDC_ERR_CERTIFICATE_MISMATCH: 66,
  KRB_AP_ERR_NO_TGT: 67,
  KDC_ERR_WRONG_REALM: 68,
  KRB_AP_ERR_USER_TO_USER_REQUIRED: 69,
  KDC_ERR_CANT_VERIFY_CERTIFICATE: 70,
  KDC_ERR_INVALID_CERTIFICATE: 71,
  KDC_ERR_REVOKED_CERTIFICATE: 72,
  KDC_ERR_REVOCATION_STATUS_UNKNOWN: 73,
  KDC_ERR_REVOCATION_STATUS_UNAVAILABLE: 74,
  KDC_ERR_CLIENT_NAME_MISMATCH: 75,
  KDC_ERR_KDC_NAME_MISMATCH: 76,
  KDC_ERR_PREAUTH_EXPIRED: 90,
  KDC_ERR_MORE_PREAUTH_DATA_REQUIRED: 91,
} as const;

/** Reverse lookup for ErrorCode: number -> name (or `KRB_ERROR_<n>` when unknown). */
export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return `KRB_ERROR_${code}`;
}

/** Generic reverse lookup for the tables above. */
export function constantName(table: Record<string, number>, value: number): string | undefined {
  for (const [name, v] of Object.entries(table)) if (v === value) return name;
  return undefined;
}

/** KDCOptions bits, RFC 4120 section 5.4.1 (bit 0 is the most significant bit). */
export const KdcOptions = {
  reserved: 0,
  forwardable: 1,
  forwarded: 2,
  proxiable: 3,
  proxy: 4,
  'allow-postdate': 5,
  postdated: 6,
  renewable: 8,
  'opt-hardware-auth': 11,
  canonicalize: 15, // RFC 6806
  'disable-transited-check': 26,
  'renewable-ok': 27,
  'enc-tkt-in-skey': 28,
  renew: 30,
  validate: 31,
} as const;

/** TicketFlags bits, RFC 4120 section 5.3. */
export const TicketFlags = {
  reserved: 0,
  forwardable: 1,
  forwarded: 2,
  proxiable: 3,
  proxy: 4,
  'may-postdate': 5,
  postdated: 6,
  invalid: 7,
  renewable: 8,
  initial: 9,
  'pre-authent': 10,
  'hw-authent': 11,
  'transited-policy-checked': 12,
  'ok-as-delegate': 13,
  'enc-pa-rep': 15, // RFC 6806
  anonymous: 16, // RFC 8062
} as const;

/** APOptions bits, RFC 4120 section 5.5.1. */
export const ApOptions = {
  reserved: 0,
  'use-session-key': 1,
  'mutual-required': 2,
} as const;

/** Address types, RFC 4120 section 7.5.3. */
export const AddressType = {
  IPv4: 2,
  Directional: 3,
  ChaosNet: 5,
  XNS: 6,
  ISO: 7,
  DECNET_Phase_IV: 12,
  AppleTalk_DDP: 16,
  NetBios: 20,
  IPv6: 24,
} as const;

/**
 * The Kerberos V5 GSS-API mechanism OIDs, their one home: RFC 1964 / RFC 4121's, Microsoft's
 * truncated one (48018 = 113554 & 0xFFFF, RFC 4178 appendix C) and MIT's pre-RFC one.
 */
export const Krb5MechOid = {
  krb5: '1.2.840.113554.1.2.2',
  msKrb5: '1.2.840.48018.1.2.2',
  krb5Old: '1.3.5.1.5.2',
} as const;
