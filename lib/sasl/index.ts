/**
 * "spnego/sasl": SASL GSSAPI (RFC 4752) and GSS-SPNEGO over a SecurityContext of either backend,
 * the security layer's framing (sans-I/O and as a Duplex), and a minimal LDAPv3 client to bind
 * and search with them (Active Directory, Samba); ldaptsSasl() gives the ldapts Client the same binds.
 */
export { SaslClient, SaslError, createSaslInitiator, saslInitiatorOptions, LAYER_BIT, MAX_BUFFER_LIMIT } from './client.js';
export type { SaslClientOptions, SaslMechanism, SecurityLayer } from './client.js';
export { SaslFraming } from './framing.js';
export type { FramingOptions } from './framing.js';
export { SaslStream } from './stream.js';
export { LdapConnection, LdapResultError } from './ldap-connection.js';
export type { SearchEntry } from './ldap-connection.js';
export {
  decodeLdapMessage, encodeBindRequest, encodeExtendedRequest, encodeSearchRequest, encodeUnbindRequest, LdapMessageReader, LDAP_RESULT, START_TLS_OID,
} from './ldap.js';
export { ldaptsSasl, LdapSaslSocket } from './ldapts.js';
export type { LdaptsSaslOptions } from './ldapts.js';
export type { BindAuth, LdapFilter, LdapMessage, LdapOp, LdapResult, SearchOptions } from './ldap.js';
