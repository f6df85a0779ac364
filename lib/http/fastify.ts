/**
 * HTTP Negotiate (RFC 4559) for Fastify: a plugin over the same core as negotiate().
 *
 *   import { fastifyNegotiate } from 'spnego/http/fastify';
 *   await app.register(fastifyNegotiate, { keytab: '/etc/http.keytab' });   // then request.negotiate.user
 *
 * Like plugins made with fastify-plugin, it is not encapsulated (Symbol.for('skip-override')): its
 * onRequest hook and decorators apply to the instance that registers it. With `global: false` no
 * hook is added; routes opt in with `onRequest: app.negotiate`. Fastify itself is not imported.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createAuthenticator, type NegotiateOptions, type NegotiateResult } from './server.js';

export interface FastifyNegotiateOptions extends NegotiateOptions {
  /** Add the onRequest hook to every route of the registering instance (default true). */
  global?: boolean;
}

/** The parts of Fastify's request and reply the plugin uses. */
interface RequestLike { raw: IncomingMessage; negotiate?: NegotiateResult | null }
interface ReplyLike { raw: ServerResponse; header(k: string, v: string | string[]): unknown; code(status: number): ReplyLike; send(body: string): unknown }
type Hook = (request: RequestLike, reply: ReplyLike) => Promise<unknown>;
interface FastifyLike {
  decorate(name: string, value: unknown): unknown;
  decorateRequest(name: string, value: unknown): unknown;
  addHook(name: 'onRequest', hook: Hook): unknown;
}

async function plugin(fastify: FastifyLike, opts: FastifyNegotiateOptions): Promise<void> {
  const { global, ...o } = opts;
  const decide = createAuthenticator(o);
  const hook: Hook = async (request, reply) => {
    const out = await decide(request.raw);
    for (const [k, v] of Object.entries(out.headers)) reply.header(k, v);
    if (!out.ok) return reply.code(out.status).send(out.body);
    request.negotiate = out.result;
    request.raw.negotiate = out.result;
    return undefined;
  };
  fastify.decorateRequest('negotiate', null);
  fastify.decorate('negotiate', hook);
  if (global !== false) fastify.addHook('onRequest', hook);
}

/** The plugin: `app.register(fastifyNegotiate, options)`. */
export const fastifyNegotiate = Object.assign(plugin, {
  // What fastify-plugin sets: no encapsulation, a name for errors and for `dependencies`.
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'spnego-negotiate',
  [Symbol.for('plugin-meta')]: { name: 'spnego-negotiate', fastify: '>=4' },
});

export default fastifyNegotiate;
