/** 'spnego/pure': the pure TypeScript backend and its building blocks, without the native loader. */
export { createPureInitiator as createInitiator, createPureAcceptor as createAcceptor } from './pure/index.js';
export { acquirePureCredential as acquireCredentials, PureAcceptCredential, PureInitiateCredential } from './pure/credentials.js';
export * from './errors.js';
export { loadKrb5Config, Krb5Config } from './krb5/config.js';
export { openCcache, readCcache, encodeCcache, FileCcache } from './krb5/ccache.js';
export { openKeytab, readKeytab, encodeKeytab, Keytab, keytabEntryFromPassword } from './krb5/keytab.js';
export { requestInitialTicket } from './krb5/client/as.js';
export { requestServiceTicket } from './krb5/client/tgs.js';
export * as crypto from './krb5/crypto/index.js';
export { wrapToken, unwrapToken } from './krb5/gss/wrap.js';
export { getMic, verifyMic } from './krb5/gss/mic.js';
