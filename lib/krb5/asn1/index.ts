/**
 * RFC 4120 Kerberos ASN.1 codecs, strict DER (see der.ts for the walker). Every decoder throws
 * DecodeError (field path such as "AP-REQ.ticket.enc-part.cipher", and byte offset) on malformed
 * input; `encode(decode(x))` is byte-equal to `x` for DER input, with these documented exceptions,
 * all accepted for interoperability:
 * - UInt32 fields (kvno, nonce, seq-number) sent as negative INTEGERs (MIT, Active Directory) decode
 *   to the unsigned value and re-encode positive.
 * - KerberosFlags shorter than 32 bits decode (zero-padded) and re-encode as 32 bits (5 octets).
 * Other choices: KerberosString is decoded as UTF-8 (invalid UTF-8 is rejected); fields unknown to
 * RFC 4120 / RFC 6806 are rejected; KDC-REQ decoders also return `reqBodyDer` (the req-body bytes as
 * received); decodeEncKdcRepPart accepts tag 25 or 26 (RFC 4120 section 5.4.2 note).
 */
export * from './basic.js';
export * from './flags.js';
export * from './ticket.js';
export * from './kdc.js';
export * from './ap.js';
export * from './error.js';
export * from './cred.js';
export * from './preauth.js';
export * from './authdata.js';
export * from './message.js';
export { DecodeError } from '../../errors.js';
