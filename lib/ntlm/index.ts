/** NTLMv2 (MS-NLMP), pure TypeScript: messages, crypto, session security, initiator and acceptor. */
export * from './constants.js';
export * from './messages.js';
export * from './crypto.js';
export * from './errors.js';
export { NtlmSession, type NtlmSessionParams } from './session.js';
export { NtlmInitiator, parseNtlmPrincipal, INITIATOR_FLAGS, type NtlmCredentials, type NtlmInitiatorOptions } from './initiator.js';
export { NtlmAcceptor, defaultNtlmReplayCache, type NtlmAcceptorOptions, type NtlmAcceptorInfo } from './acceptor.js';
export * from './users.js';
