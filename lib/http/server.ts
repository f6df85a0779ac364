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
 *
 * NTLM (MS-NLMP, pure backend) only when the application gives a user store (`ntlm: { users |
 * userFile }`): then the 401 offers `WWW-Authenticate: NTLM` next to Negotiate, and the middleware
 * takes raw NTLMSSP messages under either scheme (`NTLM <b64>`, or `Negotiate <b64>` of a bare
 * NTLMSSP message as old Windows clients send it) and NTLM inside SPNEGO. NTLM is connection-bound
 * (MS-NLMP 3.1.1: the CHALLENGE's server state lives on the connection): the half-made context
 * waits on the socket for the AUTHENTICATE_MESSAGE, as the multi-leg Negotiate context does.
 * Without a user store NTLM is never offered, and an `NTLM` header is answered like a missing one.
 * With `ntlm` and no keytab, principal nor credentials, the middleware is NTLM only (no keytab is read).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { acquireCredentials, createAcceptor } from '../api.js';
import type { AcceptorOptions, ContextInfo, SecurityContext } from '../context.js';
import type { Credential } from '../credentials.js';
import { DecodeError, GssError } from '../errors.js';
import type { ReplayCache } from '../krb5/replay-cache.js';
import { isKerberosOid, mechOid } from '../spnego/oids.js';

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

/** A raw NTLMSSP message: the "NTLMSSP\0" signature (MS-NLMP 2.2.1). */
function isNtlmssp(b: Uint8Array): boolean {
  return b.length >= 12 && Buffer.from(b.subarray(0, 8)).toString('latin1') === 'NTLMSSP\0';
}

/** Whether this middleware runs no Kerberos at all: NTLM with no keytab, principal or credential given, or a SPNEGO list without Kerberos. */
function ntlmOnly(o: NegotiateOptions): boolean {
  if (!o.ntlm) return false;
  if (o.spnego?.mechs) return !o.spnego.mechs.map(mechOid).some(isKerberosOid);
  return !o.keytab && !o.principal && !o.credentials;
}

declare module 'node:http' {
  interface IncomingMessage {
    /** Set by the negotiate() middleware once the client is authenticated. */
    negotiate?: NegotiateResult;
  }
}

const NEGOTIATE = /^(Negotiate|NTLM)\s+([A-Za-z0-9+/=_-]+)\s*$/i;
/** Well-formed base64 (standard or URL-safe alphabet), padding only at the end. */
const BASE64 = /^(?:[A-Za-z0-9+/_-]{4})*(?:[A-Za-z0-9+/_-]{2}(?:==)?|[A-Za-z0-9+/_-]{3}=?)?$/;

/** A half-made (multi-leg) context waiting on its connection, and the 'close' listener that disposes it. */
interface Pending {
  ctx: SecurityContext;
  /** The scheme the context was started under: its next leg must come under the same one. */
  scheme: Scheme;
  onClose: () => void;
}
/** 'ntlm-negotiate': a raw NTLMSSP message under the Negotiate scheme (answered under Negotiate). */
type Scheme = 'negotiate' | 'ntlm' | 'ntlm-negotiate';
const pending = new WeakMap<Socket, Pending>();
let pendingCount = 0;

/** How many half-made contexts wait for their client's next leg (for metrics and leak tests). */
export function pendingNegotiations(): number {
  return pendingCount;
}

function park(socket: Socket, ctx: SecurityContext, scheme: Scheme): void {
  const onClose = () => {
    if (pending.get(socket)?.ctx !== ctx) return;
    pending.delete(socket);
    pendingCount--;
    ctx.dispose();
  };
  pending.set(socket, { ctx, scheme, onClose });
  pendingCount++;
  socket.once('close', onClose);
}

/** Takes the waiting context off the connection (the caller now owns it); removes its listener. */
function unpark(socket: Socket): Pending | undefined {
  const p = pending.get(socket);
  if (!p) return undefined;
  pending.delete(socket);
  pendingCount--;
  socket.off('close', p.onClose);
  return p;
}

function discard(socket: Socket): void {
  unpark(socket)?.ctx.dispose();
}

/**
 * What to answer a request: go on (with the mutual-authentication header to add), or stop with
 * this status, headers and body. Framework adapters map it onto their reply objects.
 */
export type NegotiateOutcome =
  | { ok: true; result: NegotiateResult; headers: Record<string, string> }
  | { ok: false; status: 400 | 401; headers: Record<string, string | string[]>; body: string };

/**
 * A 401: with the next token under the scheme of the exchange, or a fresh challenge: Negotiate,
 * and NTLM as a second WWW-Authenticate (one header each: Chromium parses one challenge a header)
 * only when the application gave NTLM a user store.
 */
function challenge(token: Uint8Array | undefined, body: string, o: NegotiateOptions, scheme: Scheme = 'negotiate'): NegotiateOutcome {
  const name = scheme === 'ntlm' ? 'NTLM' : 'Negotiate';
  const www: string | string[] = token ? `${name} ${Buffer.from(token).toString('base64')}` : o.ntlm ? ['Negotiate', 'NTLM'] : 'Negotiate';
  return { ok: false, status: 401, body, headers: { 'WWW-Authenticate': www, 'Content-Type': 'text/plain; charset=utf-8' } };
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
    discard(req.socket);
    o.onError?.(new DecodeError('Authorization', `the request carries ${count} Authorization headers; HTTP allows one`), req);
    return { ok: false, status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'More than one Authorization header\n' };
  }
  const header = req.headers.authorization;
  const m = header ? NEGOTIATE.exec(header) : null;
  // "NTLM" without a user store is a scheme this server does not offer: as no header at all.
  if (!m || (!o.ntlm && m[1]!.toLowerCase() === 'ntlm')) {
    return challenge(undefined, body, o);
  }
  const b64 = m[2]!;
  const maxTokenBytes = o.maxTokenBytes ?? 64 * 1024;
  // The decoded size from the header's length alone: nothing is decoded nor any context made.
  // 400, not 401: no credentials can make this request acceptable, and a 401 challenge would have
  // the client send the same token again (RFC 9110 15.5.1).
  let chars = b64.length;
  while (chars > 0 && b64.charCodeAt(chars - 1) === 0x3d /* = */) chars--;
  if (Math.floor((chars * 3) / 4) > maxTokenBytes) {
    discard(req.socket);
    o.onError?.(new GssError('GSS_S_DEFECTIVE_TOKEN', `the Negotiate token is larger than maxTokenBytes (${maxTokenBytes} bytes): raise the middleware's maxTokenBytes if such tokens are legitimate`), req);
    return { ok: false, status: 400, headers: { 'Content-Type': 'text/plain; charset=utf-8' }, body: 'Negotiate token too large\n' };
  }
  const input = BASE64.test(b64) ? Buffer.from(b64, 'base64') : undefined;
  if (!input || input.length === 0) {
    // RFC 4559 section 4.2: the header carries a GSS token; an empty or malformed one is a failed
    // authentication (401 and a fresh challenge, as for a token the acceptor rejects), and starts
    // no context. A context waiting on this connection is abandoned by the client: dispose it.
    discard(req.socket);
    o.onError?.(new DecodeError('Authorization: Negotiate', input ? 'the token is empty' : 'the token is not well-formed base64'), req);
    return challenge(undefined, body, o);
  }
  // Which exchange this token belongs to: raw NTLMSSP (under NTLM, or under Negotiate as old
  // Windows clients send it when SPNEGO is not used) only with a user store; else SPNEGO.
  const raw = isNtlmssp(input);
  const scheme: Scheme = m[1]!.toLowerCase() === 'ntlm' ? 'ntlm' : raw && o.ntlm ? 'ntlm-negotiate' : 'negotiate';
  if (scheme === 'ntlm' && !raw) {
    discard(req.socket);
    o.onError?.(new DecodeError('Authorization: NTLM', 'the token is not an NTLMSSP message'), req);
    return challenge(undefined, body, o);
  }
  const waiting = unpark(req.socket);
  let ctx = waiting?.ctx;
  // A NegTokenInit (framed, 0x60) or an NTLM NEGOTIATE_MESSAGE (type 1) always starts a new
  // context on this connection, as does a token under another scheme than the waiting context's.
  if (waiting && (input[0] === 0x60 || (raw && input[8] === 1) || waiting.scheme !== scheme)) {
    waiting.ctx.dispose();
    ctx = undefined;
  }
  const policy = o.channelBindings ?? 'if-present';
  if (!ctx) {
    const { channelBindings: _p, ...acceptorOptions } = o;
    const cert = policy === 'ignore' ? undefined : ownCertificate(req.socket);
    if (policy === 'require' && !cert) {
      o.onError?.(new GssError('GSS_S_BAD_BINDINGS', 'channel bindings are required (channelBindings: \'require\') but this request did not come over TLS: serve it over HTTPS, or relax the policy'), req);
      return challenge(undefined, body, o);
    }
    let options: AcceptorOptions = cert
      ? { ...acceptorOptions, channelBindings: { tlsServerEndPoint: cert }, allowMissingChannelBindings: policy === 'if-present' }
      : acceptorOptions;
    if (o.ntlm) {
      // NTLM reads its own leniency for a client without bindings (MsvAvChannelBindings absent).
      const ntlm = { ...o.ntlm, allowMissingChannelBindings: o.ntlm.allowMissingChannelBindings ?? (cert ? policy === 'if-present' : undefined) };
      options = scheme === 'negotiate'
        ? { ...options, ntlm, ...(ntlmOnly(o) && !o.spnego?.mechs ? { spnego: { ...o.spnego, mechs: ['ntlm'] } } : {}) }
        : { ...options, ntlm, mech: 'ntlm', credentials: undefined, keytab: undefined, principal: undefined };
    }
    // Not the client's fault (a disposed credential, options the backend refuses): thrown, so the
    // middleware hands it to next(err) (a 500), never a 401 that would send the client round again.
    ctx = createAcceptor(options);
  }
  let out: Uint8Array | undefined;
  try {
    out = await ctx.step(input);
  } catch (err) {
    o.onError?.(err, req);
    ctx.dispose();
    return challenge(undefined, body, o);
  }
  if (!ctx.complete) {
    if (req.socket.destroyed) ctx.dispose();
    else park(req.socket, ctx, scheme);
    return challenge(out, body, o, scheme);
  }
  const info = ctx.info;
  ctx.dispose();
  // The native backend (MIT) accepts a token without bindings even when given ours: 'require' is
  // enforced here on GSS_C_CHANNEL_BOUND_FLAG, which both backends set only for matching bindings.
  if (policy === 'require' && !info.flags.channelBound) {
    o.onError?.(new GssError('GSS_S_BAD_BINDINGS', 'the client sent no channel bindings and this server requires them (channelBindings: \'require\'): use a client that sends tls-server-end-point bindings'), req);
    return challenge(undefined, body, o);
  }
  return {
    ok: true, result: { user: info.initiatorName ?? '', info },
    // NTLM has no final token (no mutual authentication); SPNEGO's accept-completed carries the mechListMIC.
    headers: out ? { 'WWW-Authenticate': `${scheme === 'ntlm' ? 'NTLM' : 'Negotiate'} ${Buffer.from(out).toString('base64')}` } : {},
  };
}

/**
 * The credential negotiate() uses: `o.credentials`, else one acquired on the first request and
 * reused for all (a failed acquisition is tried again on the next request).
 */
function credentialSource(o: NegotiateOptions): () => Promise<Credential | undefined> {
  // NTLM alone reads no keytab.
  if (ntlmOnly(o)) return () => Promise.resolve(undefined);
  if (o.credentials) {
    const c = o.credentials;
    return () => Promise.resolve(c);
  }
  let acquired: Promise<Credential | undefined> | undefined;
  return () => (acquired ??= acquireCredentials({
    // The ntlm option is the pure backend's: its Kerberos credential must be pure as well.
    usage: 'accept', backend: o.ntlm && (o.backend ?? 'auto') === 'auto' ? 'pure' : o.backend, keytab: o.keytab, principal: o.principal, krb5Config: o.krb5Config,
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
