/**
 * Typed errors. Every failure the library reports is one of these, so callers can switch on
 * `err.code` (and, for GSS and Kerberos failures, on the status names of RFC 2744 / RFC 4120).
 * Messages never contain key material, passwords or plaintext.
 */

/** Base class: `code` is a stable machine-readable string. */
export class SpnegoError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SpnegoError';
    this.code = code;
  }
}

/**
 * Malformed input to a decoder (DER, GSS token framing, keytab, ccache, NDR...).
 * `field` names the structure being decoded (e.g. "AP-REQ.ticket.enc-part"), `offset` the byte
 * position in the input when known.
 */
export class DecodeError extends SpnegoError {
  readonly field: string;
  readonly offset: number | undefined;
  constructor(field: string, message: string, offset?: number, options?: { cause?: unknown }) {
    super('ERR_DECODE', `${field}: ${message}${offset === undefined ? '' : ` (at byte ${offset})`}`, options);
    this.name = 'DecodeError';
    this.field = field;
    this.offset = offset;
  }
}

/**
 * A checksum or an authenticated decryption did not verify (RFC 3961 integrity failure,
 * KRB_AP_ERR_BAD_INTEGRITY = 31).
 */
export class IntegrityError extends SpnegoError {
  constructor(message = 'integrity check failed') {
    super('ERR_INTEGRITY', message);
    this.name = 'IntegrityError';
  }
}

/** Bad arguments or configuration given by the caller (unknown enctype, wrong key length...). */
export class UsageError extends SpnegoError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_USAGE', message, options);
    this.name = 'UsageError';
  }
}

/** GSS-API major status codes, RFC 2743 section 1.2.1.1 / RFC 2744 section 3.9.1. */
export const GSS_MAJOR = {
  GSS_S_COMPLETE: 0,
  // routine errors (shifted by 16)
  GSS_S_BAD_MECH: 1 << 16,
  GSS_S_BAD_NAME: 2 << 16,
  GSS_S_BAD_NAMETYPE: 3 << 16,
  GSS_S_BAD_BINDINGS: 4 << 16,
  GSS_S_BAD_STATUS: 5 << 16,
  GSS_S_BAD_SIG: 6 << 16,
  GSS_S_BAD_MIC: 6 << 16,
  GSS_S_NO_CRED: 7 << 16,
  GSS_S_NO_CONTEXT: 8 << 16,
  GSS_S_DEFECTIVE_TOKEN: 9 << 16,
  GSS_S_DEFECTIVE_CREDENTIAL: 10 << 16,
  GSS_S_CREDENTIALS_EXPIRED: 11 << 16,
  GSS_S_CONTEXT_EXPIRED: 12 << 16,
  GSS_S_FAILURE: 13 << 16,
  GSS_S_BAD_QOP: 14 << 16,
  GSS_S_UNAUTHORIZED: 15 << 16,
  GSS_S_UNAVAILABLE: 16 << 16,
  GSS_S_DUPLICATE_ELEMENT: 17 << 16,
  GSS_S_NAME_NOT_MN: 18 << 16,
  // supplementary info bits
  GSS_S_CONTINUE_NEEDED: 1 << 0,
  GSS_S_DUPLICATE_TOKEN: 1 << 1,
  GSS_S_OLD_TOKEN: 1 << 2,
  GSS_S_UNSEQ_TOKEN: 1 << 3,
  GSS_S_GAP_TOKEN: 1 << 4,
} as const;

export type GssMajorName = keyof typeof GSS_MAJOR;

/**
 * A GSS-API failure, from the native library or from the pure implementation.
 * `major` is the status name (e.g. 'GSS_S_BAD_MIC'), `minor` the mechanism's minor code
 * (a krb5 error code such as KRB5KRB_AP_ERR_SKEW when known), `majorCode` the numeric value.
 */
export class GssError extends SpnegoError {
  readonly major: GssMajorName;
  readonly majorCode: number;
  readonly minor: number;
  constructor(major: GssMajorName, message: string, minor = 0, options?: { cause?: unknown }) {
    super(major, `${major}: ${message}`, options);
    this.name = 'GssError';
    this.major = major;
    this.majorCode = GSS_MAJOR[major];
    this.minor = minor;
  }
}

/**
 * A Kerberos protocol error: a KRB-ERROR from a KDC or a peer, or a local check that maps to a
 * RFC 4120 section 7.5.9 error code (e.g. KRB_AP_ERR_SKEW = 37).
 */
export class KerberosError extends SpnegoError {
  readonly errorCode: number;
  readonly errorName: string;
  readonly eText: string | undefined;
  constructor(errorCode: number, errorName: string, message: string, eText?: string, options?: { cause?: unknown }) {
    super(errorName, `${errorName} (${errorCode}): ${message}${eText ? ` [${eText}]` : ''}`, options);
    this.name = 'KerberosError';
    this.errorCode = errorCode;
    this.errorName = errorName;
    this.eText = eText;
  }
}

/**
 * The acceptor's replay cache holds as many unexpired entries as it was allowed (its `maxEntries`):
 * the authenticator is refused rather than an unexpired entry forgotten (RFC 4120 3.2.3 replay
 * detection fails closed). `major` is GSS_S_FAILURE; `limit` the cap reached.
 */
export class ReplayCacheFullError extends GssError {
  readonly limit: number;
  constructor(limit: number) {
    super('GSS_S_FAILURE',
      `replay cache full: ${limit} unexpired authenticators are held, so this one cannot be recorded and is refused; ` +
      'raise the cache\'s maxEntries (peak accepts/s x 2 x clockskew) or share a larger replay cache');
    this.name = 'ReplayCacheFullError';
    this.limit = limit;
  }
}

/**
 * A shared replay cache (e.g. Redis, lib/redis) could not be reached or did not answer in time:
 * whether the authenticator was seen before is unknown, so it is refused (RFC 4120 3.2.3 replay
 * detection fails closed). `major` is GSS_S_FAILURE; `store` names the cache, `reason` what failed
 * (no token nor key material).
 */
export class ReplayCacheUnavailableError extends GssError {
  readonly store: string;
  readonly reason: string;
  constructor(store: string, reason: string, options?: { cause?: unknown }) {
    super('GSS_S_FAILURE',
      `replay cache unavailable (${store}: ${reason}), so the authenticator cannot be checked and is refused; ` +
      'bring the cache back (requests are accepted again as soon as it answers) or configure an explicit local fallback', 0, options);
    this.name = 'ReplayCacheUnavailableError';
    this.store = store;
    this.reason = reason;
  }
}
