/** 'spnego/http': HTTP Negotiate (RFC 4559), server middleware and fetch client. */
export { negotiate, authenticate, type ChannelBindingsPolicy, type NegotiateOptions, type NegotiateResult } from './server.js';
export { negotiateFetch, createNegotiateFetch, connectDirect, type NegotiateFetch, type NegotiateFetchOptions } from './client.js';
export { NegotiateProxyAgent, type NegotiateProxyOptions } from './proxy.js';
export { negotiateRequest, createAuthenticator, applyOutcome, type NegotiateOutcome } from './server.js';
export { fastifyNegotiate, type FastifyNegotiateOptions } from './fastify.js';
export { koaNegotiate } from './koa.js';
export { Strategy as NegotiateStrategy, type VerifyCallback } from './passport.js';
