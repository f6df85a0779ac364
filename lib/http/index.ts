/** 'spnego/http': HTTP Negotiate (RFC 4559), server middleware and fetch client. */
export { negotiate, authenticate, type ChannelBindingsPolicy, type NegotiateOptions, type NegotiateResult } from './server.js';
export { negotiateFetch, createNegotiateFetch, type NegotiateFetch, type NegotiateFetchOptions } from './client.js';
