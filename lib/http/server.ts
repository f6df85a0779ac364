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
 * mod_auth_gssapi's GssapiConnectionBound does; such a context is disposed when its connection
 * closes. Failures answer 401 without detail; the error goes to `onError` (never with secrets:
 * tokens are not logged). A token over `maxTokenBytes` answers 400 without running the acceptor.
 *
 * Over HTTPS the acceptor is given the connection's tls-server-end-point channel bindings (RFC 5929
 * section 4.1: a hash of this server's own certificate), so a token made for another TLS channel,
 * e.g. through a proxy that terminates TLS with its own certificate, is refused (Extended
 * Protection). `channelBindings` sets the policy: 'if-present' (default) checks the bindings of a
 * client that sends them and accepts one that sends none (MIT's acceptor behaves so: verified
 * against MIT 1.20); 'require' also refuses a client without bindings, and any request not over
 * TLS; 'ignore' gives the acceptor no bindings (anything the client sends is accepted, as before).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { acquireCredentials, createAcceptor } from '../api.js';
import type { AcceptorOptions, ContextInfo, SecurityContext } from '../context.js';
import type { Credential } from '../credentials.js';
import { DecodeError, GssError } from '../errors.js';
import type { ReplayCache } from '../krb5/replay-cache.js';

export interface NegotiateResult {
  /** The authenticated client principal, e.g. 'alice@EXAMPLE.TEST'. */
  user: string;
  info: ContextInfo;
}

/** What the middleware does with channel bindings on a TLS connection (see the module comment). */
export type ChannelBindingsPolicy = 'require' | 'if-present' | 'ignore';

export interface NegotiateOptions extends Omit<AcceptorOptions, 'channelBindings' | 'allowMissingChannelBindings'> {
  /**
   * Channel bindings over HTTPS (RFC 5929 tls-server-end-point of this server's certificate):
   * 'if-present' (default) verifies a client's bindings when it sends them, 'require' refuses a
   * client without them (and every request not over TLS), 'ignore' passes none to the acceptor.
   */
  channelBindings?: ChannelBindingsPolicy;
  /**
   * An 'accept' credential from acquireCredentials, used for every request. Without it negotiate()
   * acquires one from keytab/principal/krb5Config on the first request and reuses it.
   */
  credentials?: Credential;
  /** Pure only: krb5.conf path (default env KRB5_CONFIG, then /etc/krb5.conf). */
  krb5Config?: string;
  /** Pure only: where authenticators are remembered (default: the process's cache for the keytab). */
  replayCache?: ReplayCache;
  /** Called with every failed authentication (a typed SpnegoError). */
  onError?: (err: unknown, req: IncomingMessage) => void;
  /** The body of every 401 (nothing about the failure is disclosed). Default "Negotiate authentication required". */
  unauthorizedBody?: string;
  /**
   * The largest decoded token accepted, in bytes (default 64 KiB: a Kerberos ticket with a large
   * PAC, e.g. a user in a thousand groups, is ~20-40 KiB). Checked on the header's length, before
   * decoding. Node's own limit on all headers is 16 KiB by default (--max-http-header-size or the
   * server's maxHeaderSize raise it); this one holds whatever that is set to.
   */
  maxTokenBytes?: number;
}

declare module 'node:http' {
  interface IncomingMessage {
    /** Set by the negotiate() middleware once the client is authenticated. */
    negotiate?: NegotiateResult;
  }
}

const NEGOTIATE = /^Negotiate\s+([A-Za-z0-9+/=_-]+)\s*$/i;
/** Well-formed base64 (standard or URL-safe alphabet), padding only at the end. */
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/** A half-made (multi-leg) context waiting on its connection, and the 'close' listener that disposes it. */
interface Pending {
  ctx: SecurityContext;
  onClose: () => void;
}
const pending = new WeakMap<Socket, Pending>();
let pendingCount = 0;

/** How many half-made contexts wait for their client's next leg (for metrics and leak tests). */
export function pendingNegotiations(): number {
  return pendingCount;
}

function park(socket: Socket, ctx: SecurityContext): void {
  const onClose = () => {
    if (pending.get(socket)?.ctx !== ctx) return;
    pending.delete(socket);
    pendingCount--;
    ctx.dispose();
  };
  pending.set(socket, { ctx, onClose });
  pendingCount++;
  socket.once('close', onClose);
}

/** Takes the waiting context off the connection (the caller now owns it); removes its listener. */
function unpark(socket: Socket): SecurityContext | undefined {
  const p = pending.get(socket);
  if (!p) return undefined;
  pending.delete(socket);
  pendingCount--;
  socket.off('close', p.onClose);
  return p.ctx;
}

/**
 * What to answer a request: go on (with the mutual-authentication header to add), or stop with
 * this status, headers and body. Framework adapters map it onto their reply objects.
 */
export type NegotiateOutcome =
  | { ok: true; result: NegotiateResult; headers: Record<string, string> }
  | { ok: false; status: 400 | 401; headers: Record<string, string>; body: string };

function challenge(token: Uint8Array | undefined, body: string): NegotiateOutcome {
  return {
    ok: false, status: 401, body,
    headers: { 'WWW-Authenticate': token ? `Negotiate ${Buffer.from(token).toString('base64')}` : 'Negotiate', 'Content-Type': 'text/plain; charset=utf-8' },
  };
}

/** Writes an outcome to a node:http response: the headers always, the status and body when it stops. */
export function applyOutcome(res: ServerResponse, out: NegotiateOutcome): NegotiateResult | undefined {
  for (const [k, v] of Object.entries(out.headers)) res.setHeader(k, v);
  if (out.ok) return out.result;
  res.statusCode = out.status;
  res.end(out.body);
  return undefined;
}

/** This server's certificate (DER) on a TLS connection, else undefined. */
function ownCertificate(socket: Socket): Uint8Array | undefined {
  const tls = socket as Partial<TLSSocket>;
  if (!tls.encrypted || typeof tls.getCertificate !== 'function') return undefined;
  const cert = tls.getCertificate();
  return cert && 'raw' in cert && cert.raw ? new Uint8Array(cert.raw) : undefined;
}

/**
 * Authenticates one request: resolves with the result, or answers the request itself (401) and
 * resolves with undefined. For frameworks without middleware, call it from the handler.
 */
export async function authenticate(req: IncomingMessage, res: ServerResponse, o: NegotiateOptions = {}): Promise<NegotiateResult | undefined> {
  return applyOutcome(res, await negotiateRequest(req, o));
}

/**
 * The decision alone, for a request's Authorization header: nothing is written. A multi-leg context
 * waits on req.socket for the next leg. The core of authenticate() and of every adapter.
 */
export async function negotiateRequest(req: IncomingMessage, o: NegotiateOptions = {}): Promise<NegotiateOutcome> {
  const body = o.unauthorizedBody ?? 'Negotiate authentication required\n';
  // Node keeps the first of several Authorization headers and drops the rest: which one a proxy
  // in front acted on is unknown, so such a request is refused outright (RFC 9110 5.3: Authorization
  // is not a list, a second one is malformed).
  let count = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === 'authorization') count++;
  if (count > 1) {
    unpark(req.socket)?.dispose();
    o.onError?.(new DecodeError('Authorization', `the request carries ${count} Authorization headers; HTTP allows one`), req);
    return { ok: false, status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'More than one Authorization header\n' };
  }
  const header = req.headers.authorization;
  const m = header ? NEGOTIATE.exec(header) : null;
  if (!m) {
    return challenge(undefined, body);
  }
  const b64 = m[1]!;
  const maxTokenBytes = o.maxTokenBytes ?? 64 * 1024;
  // The decoded size from the header's length alone: nothing is decoded nor any context made.
  // 400, not 401: no credentials can make this request acceptable, and a 401 challenge would have
  // the client send the same token again (RFC 9110 15.5.1).
  let chars = b64.length;
  while (chars > 0 && b64.charCodeAt(chars - 1) === 0x3d /* = */) chars--;
  if (Math.floor((chars * 3) / 4) > maxTokenBytes) {
    unpark(req.socket)?.dispose();
    o.onError?.(new GssError('GSS_S_DEFECTIVE_TOKEN', `the Negotiate token is larger than maxTokenBytes (${maxTokenBytes} bytes): raise the middleware's maxTokenBytes if such tokens are legitimate`), req);
    return { ok: false, status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Negotiate token too large\n' };
  }
  const input = BASE64.test(b64) ? Buffer.from(b64, 'base64') : undefined;
  if (!input || input.length === 0) {
    // RFC 4559 section 4.2: the header carries a GSS token; an empty or malformed one is a failed
    // authentication (401 and a fresh challenge, as for a token the acceptor rejects), and starts
    // no context. A context waiting on this connection is abandoned by the client: dispose it.
    unpark(req.socket)?.dispose();
    o.onError?.(new DecodeError('Authorization: Negotiate', input ? 'the token is empty' : 'the token is not well-formed base64'), req);
    return challenge(undefined, body);
  }
  let ctx = unpark(req.socket);
  // A NegTokenInit (framed, 0x60) always starts a new context on this connection.
  if (ctx && input[0] === 0x60) {
    ctx.dispose();
    ctx = undefined;
  }
  const policy = o.channelBindings ?? 'if-present';
  if (!ctx) {
    const { channelBindings: _p, ...acceptorOptions } = o;
    const cert = policy === 'ignore' ? undefined : ownCertificate(req.socket);
    if (policy === 'require' && !cert) {
      o.onError?.(new GssError('GSS_S_BAD_BINDINGS', 'channel bindings are required (channelBindings: \'require\') but this request did not come over TLS: serve it over HTTPS, or relax the policy'), req);
      return challenge(undefined, body);
    }
    ctx = createAcceptor(cert
      ? { ...acceptorOptions, channelBindings: { tlsServerEndPoint: cert }, allowMissingChannelBindings: policy === 'if-present' }
      : acceptorOptions);
  }
  let out: Uint8Array | undefined;
  try {
    out = await ctx.step(input);
  } catch (err) {
    o.onError?.(err, req);
    ctx.dispose();
    return challenge(undefined, body);
  }
  if (!ctx.complete) {
    if (req.socket.destroyed) ctx.dispose();
    else park(req.socket, ctx);
    return challenge(out, body);
  }
  const info = ctx.info;
  ctx.dispose();
  // The native backend (MIT) accepts a token without bindings even when given ours: 'require' is
  // enforced here on GSS_C_CHANNEL_BOUND_FLAG, which both backends set only for matching bindings.
  if (policy === 'require' && !info.flags.channelBound) {
    o.onError?.(new GssError('GSS_S_BAD_BINDINGS', 'the client sent no channel bindings and this server requires them (channelBindings: \'require\'): use a client that sends tls-server-end-point bindings'), req);
    return challenge(undefined, body);
  }
  return {
    ok: true, result: { user: info.initiatorName ?? '', info },
    headers: out ? { 'WWW-Authenticate': `Negotiate ${Buffer.from(out).toString('base64')}` } : {},
  };
}

/**
 * The credential negotiate() uses: `o.credentials`, else one acquired on the first request and
 * reused for all (a failed acquisition is tried again on the next request).
 */
function credentialSource(o: NegotiateOptions): () => Promise<Credential | undefined> {
  if (o.credentials) {
    const c = o.credentials;
    return () => Promise.resolve(c);
  }
  let acquired: Promise<Credential | undefined> | undefined;
  return () => (acquired ??= acquireCredentials({
    usage: 'accept', backend: o.backend, keytab: o.keytab, principal: o.principal, krb5Config: o.krb5Config,
    gssapiLibrary: o.gssapiLibrary, allowWeakCrypto: o.allowWeakCrypto, delegatedCcache: o.delegatedCcache, replayCache: o.replayCache,
  }).catch((err: unknown) => {
    acquired = undefined;
    throw err;
  }));
}

/**
 * The options of one request's context when a credential is used: what the credential already holds
 * (keytab, principal, krb5.conf, library, weak crypto, replay cache, delegation target) is left out,
 * since both backends refuse them next to a credential.
 */
function perContext(o: NegotiateOptions, credentials: Credential): NegotiateOptions {
  const { keytab: _k, principal: _p, krb5Config: _c, gssapiLibrary: _g, allowWeakCrypto: _w, delegatedCcache: _d, replayCache: _r, ...rest } = o;
  return { ...rest, credentials };
}

/**
 * The middleware: `(req, res, next)` for Express/Connect; with node:http pass your handler as next.
 * The credential (keytab, krb5.conf, replay cache) is acquired once, on the first request, and
 * reused for every request; pass `credentials` to share one across middlewares.
 */
export function negotiate(o: NegotiateOptions = {}) {
  const decide = createAuthenticator(o);
  return (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void): void => {
    decide(req)
      .then((out) => {
        const r = applyOutcome(res, out);
        if (!r) return;
        req.negotiate = r;
        next();
      }, next);
  };
}

/**
 * negotiateRequest() with the credential acquired once (on the first request) and reused: what
 * negotiate() and the framework adapters (spnego/http/fastify, koa, passport) run per request.
 * Rejects only when the credential cannot be acquired (a server misconfiguration, not the client's).
 */
export function createAuthenticator(o: NegotiateOptions = {}): (req: IncomingMessage) => Promise<NegotiateOutcome> {
  const credential = credentialSource(o);
  return (req) => credential().then((credentials) => negotiateRequest(req, credentials ? perContext(o, credentials) : o));
}
