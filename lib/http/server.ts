/**
 * HTTP Negotiate (RFC 4559) for servers: a middleware for node:http, Express and Connect.
 *
 *   import { negotiate } from 'spnego/http';
 *   app.use(negotiate({ keytab: '/etc/http.keytab' }));     // then req.negotiate.user
 *
 * RFC 4559 section 4: no Authorization header -> 401 with "WWW-Authenticate: Negotiate"; a token
 * -> one acceptor step; a complete context -> the request goes on, with the final token (the
 * AP-REP, mutual authentication) in WWW-Authenticate; an incomplete one -> 401 with the next token.
 * Multi-leg exchanges (MIT's request-mic flow) keep their context on the TCP connection, as
 * mod_auth_gssapi's GssapiConnectionBound does. Failures answer 401 without detail; the error
 * goes to `onError` (never with secrets: tokens are not logged).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { createAcceptor } from '../api.js';
import type { AcceptorOptions, ContextInfo, SecurityContext } from '../context.js';

export interface NegotiateResult {
  /** The authenticated client principal, e.g. 'alice@EXAMPLE.TEST'. */
  user: string;
  info: ContextInfo;
}

export interface NegotiateOptions extends AcceptorOptions {
  /** Called with every failed authentication (a typed SpnegoError). */
  onError?: (err: unknown, req: IncomingMessage) => void;
  /** The body of every 401 (nothing about the failure is disclosed). Default "Negotiate authentication required". */
  unauthorizedBody?: string;
}

declare module 'node:http' {
  interface IncomingMessage {
    /** Set by the negotiate() middleware once the client is authenticated. */
    negotiate?: NegotiateResult;
  }
}

const NEGOTIATE = /^Negotiate\s+([A-Za-z0-9+/=_-]+)\s*$/i;
const pending = new WeakMap<Socket, SecurityContext>();

function challenge(res: ServerResponse, token: Uint8Array | undefined, body: string): void {
  res.statusCode = 401;
  res.setHeader('WWW-Authenticate', token ? `Negotiate ${Buffer.from(token).toString('base64')}` : 'Negotiate');
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(body);
}

/**
 * Authenticates one request: resolves with the result, or answers the request itself (401) and
 * resolves with undefined. For frameworks without middleware, call it from the handler.
 */
export async function authenticate(req: IncomingMessage, res: ServerResponse, o: NegotiateOptions = {}): Promise<NegotiateResult | undefined> {
  const body = o.unauthorizedBody ?? 'Negotiate authentication required\n';
  const header = req.headers.authorization;
  const m = header ? NEGOTIATE.exec(header) : null;
  if (!m) {
    challenge(res, undefined, body);
    return undefined;
  }
  const input = Buffer.from(m[1]!, 'base64');
  let ctx = pending.get(req.socket);
  pending.delete(req.socket);
  // A NegTokenInit (framed, 0x60) always starts a new context on this connection.
  if (ctx && input[0] === 0x60) {
    ctx.dispose();
    ctx = undefined;
  }
  ctx ??= createAcceptor(o);
  let out: Uint8Array | undefined;
  try {
    out = await ctx.step(input);
  } catch (err) {
    o.onError?.(err, req);
    ctx.dispose();
    challenge(res, undefined, body);
    return undefined;
  }
  if (!ctx.complete) {
    pending.set(req.socket, ctx);
    challenge(res, out, body);
    return undefined;
  }
  if (out) res.setHeader('WWW-Authenticate', `Negotiate ${Buffer.from(out).toString('base64')}`);
  const info = ctx.info;
  ctx.dispose();
  return { user: info.initiatorName ?? '', info };
}

/** The middleware: `(req, res, next)` for Express/Connect; with node:http pass your handler as next. */
export function negotiate(o: NegotiateOptions = {}) {
  return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    authenticate(req, res, o).then((r) => {
      if (!r) return;
      req.negotiate = r;
      next();
    }, next);
  };
}
