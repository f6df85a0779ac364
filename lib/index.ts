/** spnego: Kerberos and SPNEGO for Node.js. Public entry point. */
export * from './errors.js';
/** Security contexts over the native (GSSAPI/SSPI) or pure TypeScript backend. */
export { createInitiator, createAcceptor, acquireCredentials } from './api.js';
/** Credentials acquired once for many contexts (gss_acquire_cred / AcquireCredentialsHandle). */
export {
  isCredential, type Credential, type CredentialInfo, type AcquireCredentialsOptions, type InitiateCredentialOptions, type AcceptCredentialOptions,
} from './credentials.js';
export { nativeInfo, type NativeInfo } from './native/index.js';
export type {
  SecurityContext, ContextInfo, ContextFlags, InitiatorOptions, AcceptorOptions, Credentials, ChannelBindingsOption, SpnegoOptions, PacInfo, WrapResult, Backend,
} from './context.js';
export { MemoryReplayCache, type ReplayCache } from './krb5/replay-cache.js';
/** SPNEGO wire format (RFC 4178, MS-SPNG): NegTokenInit/Init2/Resp, with the MechTypeList DER kept exactly. */
export {
  encodeNegTokenInit, encodeNegTokenInit2, encodeNegTokenResp, decodeNegotiationToken, encodeMechTypeList,
  NegState, type NegotiationToken, type NegTokenInit, type NegTokenInit2, type NegTokenResp,
} from './spnego/codec.js';
export { MechOid, mechName, mechOid } from './spnego/oids.js';
/** GSS MIC tokens of the krb5 mechanism (RFC 4121; RFC 4757 for rc4): recompute or check a mechListMIC. */
export { getMic, verifyMic, type MicParams } from './krb5/gss/mic.js';
/** Any SPNEGO / Kerberos / GSS token as a JSON-ready tree (what `spnego decode` prints). */
export { describeToken } from './cli/describe.js';
export type { Key, Principal, PrincipalName } from './krb5/types.js';
/** One in-memory replay cache per keytab, shared by every pure acceptor on it (the default). */
export { defaultReplayCache } from './krb5/replay-cache.js';
