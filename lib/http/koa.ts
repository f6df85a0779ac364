/**
 * HTTP Negotiate (RFC 4559) for Koa: a middleware over the same core as negotiate().
 *
 *   import { koaNegotiate } from 'spnego/http/koa';
 *   app.use(koaNegotiate({ keytab: '/etc/http.keytab' }));   // then ctx.state.negotiate.user
 *
 * A refused request gets its 401 (or 400) here and `next` is not called. Koa itself is not imported.
 */
import type { IncomingMessage } from 'node:http';
import { createAuthenticator, type NegotiateOptions, type NegotiateResult } from './server.js';

/** The parts of Koa's context the middleware uses. */
export interface KoaContextLike {
  req: IncomingMessage;
  state: { negotiate?: NegotiateResult; [k: string]: unknown };
  status: number;
  body: unknown;
  set(field: string, value: string | string[]): void;
}

export function koaNegotiate(o: NegotiateOptions = {}) {
  const decide = createAuthenticator(o);
  return async (ctx: KoaContextLike, next: () => Promise<unknown>): Promise<void> => {
    const out = await decide(ctx.req);
    for (const [k, v] of Object.entries(out.headers)) ctx.set(k, v);
    if (!out.ok) {
      ctx.status = out.status;
      ctx.body = out.body;
      return;
    }
    ctx.state.negotiate = out.result;
    ctx.req.negotiate = out.result;
    await next();
  };
}

export default koaNegotiate;
