/**
 * RFC 4120 Kerberos ASN.1 codecs, strict DER. Every decoder throws DecodeError (field path and
 * byte offset) on malformed input; every encoder produces DER that the decoder maps back to the
 * same value, and `encode(decode(x))` is byte-equal to `x` for DER input.
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
