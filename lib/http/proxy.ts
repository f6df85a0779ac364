/**
 * A proxy that asks for Negotiate (407 Proxy-Authenticate: Negotiate, RFC 4559 with RFC 9110
 * section 11.7's proxy headers): an undici Dispatcher, so `fetch(url, { dispatcher })` goes through
 * it, and negotiateFetch({ proxy }) adds the origin's own Negotiate on top.
 *
 *   const proxy = new NegotiateProxyAgent({ proxy: 'http://proxy.example.test:3128' });   // target HTTP@proxy.example.test
 *   await fetch('http://intranet.example.test/', { dispatcher: proxy });
 *   await negotiateFetch('https://web.example.test/', {}, { proxy });               // proxy and origin authentication
 *
 * Plain HTTP goes to the proxy in absolute form, every request with a fresh Proxy-Authorization
 * (one Kerberos leg; the credential's service ticket is reused, so no KDC request), on pooled
 * keep-alive connections to the proxy. HTTPS goes through CONNECT: the tunnel is authenticated once
 * when it is opened, then kept (undici pools it) with TLS to the origin inside. A 407 carrying a
 * Negotiate token is answered on the same connection (multi-leg), up to maxLegs; a 407 without one,
 * or past the limit, is a refusal: the request fails with a GssError (fetch: a TypeError whose
 * cause is that error; fetch never hands a 407 to its caller).
 * The proxy's final token, when it sends one with a CONNECT 200, is verified (mutual
 * authentication); on plain HTTP it is not (undici's handlers are synchronous), as curl does.
 * With `ntlm` (pure backend), a 407 offering NTLM and not Negotiate is answered with the raw NTLM
 * scheme (or `scheme: 'ntlm'` from the start), every leg on one proxy connection (NTLM is
 * connection-bound): the CONNECT connection for HTTPS, a connection per request for plain HTTP.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Agent, Client, Dispatcher, Pool } from 'undici';
import { acquireCredentials, createInitiator } from '../api.js';
import type { InitiatorOptions } from '../context.js';
import { type Credential, isCredential } from '../credentials.js';
import { GssError, UsageError } from '../errors.js';

export interface NegotiateProxyOptions extends Partial<Omit<InitiatorOptions, 'target' | 'channelBindings'>> {
  /** The proxy: http://host:port. */
  proxy: string | URL;
  /** The proxy's service. Default "HTTP@" + the proxy's host name. */
  target?: string;
  /** The most round trips with the proxy per connection or request (default 4). */
  maxLegs?: number;
  /** TLS options for HTTPS origins reached through CONNECT (ca, rejectUnauthorized...). */
  tls?: ConnectionOptions;
  /** The largest response head from the proxy to a CONNECT, in bytes (default 64 KiB). */
  maxHeaderBytes?: number;
  /**
   * With `ntlm` (pure backend), for HTTPS through CONNECT: 'negotiate' (default) starts with
   * Negotiate and turns to the raw NTLM scheme when the proxy's 407 offers NTLM and not Negotiate;
   * 'ntlm' starts with NTLM (no Negotiate token is made).
   */
  scheme?: 'negotiate' | 'ntlm';
}

type Scheme = 'Negotiate' | 'NTLM';
const TOKEN: Record<Scheme, RegExp> = {
  Negotiate: /(?:^|,)\s*Negotiate\s+([A-Za-z0-9+/=]+)/i,
  NTLM: /(?:^|,)\s*NTLM\s+([A-Za-z0-9+/=]+)/i,
};

function negotiateToken(values: string[], scheme: Scheme = 'Negotiate'): Uint8Array | undefined {
  for (const v of values) {
    const m = TOKEN[scheme].exec(v);
    if (m) return new Uint8Array(Buffer.from(m[1]!, 'base64'));
  }
  return undefined;
}

/** Whether the Proxy-Authenticate values offer this scheme (with or without a token). */
function offers(values: string[], scheme: Scheme): boolean {
  const re = new RegExp(`(?:^|,)\\s*${scheme}(?:\\s|,|$)`, 'i');
  return values.some((v) => re.test(v));
}

interface Head {
  status: number;
  headers: Map<string, string[]>;
  /** Bytes after the head (the start of the body, or of the tunnel). */
  rest: Buffer;
}

/** Reads one HTTP/1.x response head from a socket (for CONNECT, which undici's Pool cannot authenticate). */
function readHead(socket: Socket, max: number, what: string): Promise<Head> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const done = (err?: Error, head?: Head) => {
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(head!);
    };
    const onError = (err: Error) => done(err);
    const onClose = () => done(new GssError('GSS_S_FAILURE', `${what} closed the connection before answering CONNECT`));
    const onData = (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > max) done(new GssError('GSS_S_FAILURE', `${what} sent a response head over ${max} bytes to CONNECT`));
        return;
      }
      socket.pause();
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
      if (!m) {
        done(new GssError('GSS_S_FAILURE', `${what} answered CONNECT with something other than HTTP/1.x`));
        return;
      }
      const headers = new Map<string, string[]>();
      for (const line of lines.slice(1)) {
        const i = line.indexOf(':');
        if (i <= 0) continue;
        const k = line.slice(0, i).trim().toLowerCase();
        headers.set(k, [...(headers.get(k) ?? []), line.slice(i + 1).trim()]);
      }
      done(undefined, { status: Number(m[1]), headers, rest: buf.subarray(end + 4) });
    };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.resume();
  });
}

/** Reads and drops `n` bytes of a response body (after `have` already read). */
function skipBody(socket: Socket, n: number, have: Buffer): Promise<Buffer> {
  if (have.length >= n) return Promise.resolve(have.subarray(n));
  return new Promise((resolve, reject) => {
    let left = n - have.length;
    const onData = (chunk: Buffer) => {
      if (chunk.length < left) {
        left -= chunk.length;
        return;
      }
      cleanup();
      socket.pause();
      resolve(chunk.subarray(left));
    };
    const onError = (err: Error) => { cleanup(); reject(err); };
    const onClose = () => { cleanup(); reject(new GssError('GSS_S_FAILURE', 'the proxy closed the connection during a 407')); };
    const cleanup = () => { socket.off('data', onData); socket.off('error', onError); socket.off('close', onClose); };
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
    socket.resume();
  });
}

/** Flat [name, value, ...] headers from any of undici's forms. */
function flatHeaders(h: Dispatcher.DispatchOptions['headers']): string[] {
  const out: string[] = [];
  if (!h) return out;
  if (Array.isArray(h)) {
    // undici: a flat [name, value, ...] array.
    for (const x of h) out.push(String(x));
    return out;
  }
  const entries = typeof (h as Iterable<unknown>)[Symbol.iterator] === 'function'
    ? (h as Iterable<[string, string | string[] | undefined]>)
    : Object.entries(h as Record<string, string | string[] | undefined>);
  for (const [k, v] of entries) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) out.push(k, String(one));
  }
  return out;
}

/** A fetch-compatible Dispatcher through a Negotiate-authenticating HTTP proxy. */
export class NegotiateProxyAgent extends Dispatcher {
  readonly proxy: URL;
  readonly target: string;
  private readonly o: NegotiateProxyOptions;
  private readonly pool: Pool;
  private readonly tunnels: Agent;
  private readonly given: Credential | undefined;
  private acquired: Promise<Credential | undefined> | undefined;
  private held: Credential | undefined;

  constructor(o: NegotiateProxyOptions) {
    super();
    const proxy = new URL(o.proxy);
    if (proxy.protocol !== 'http:') throw new UsageError(`NegotiateProxyAgent: the proxy must be an http:// URL (got ${proxy.protocol})`);
    this.proxy = proxy;
    this.target = o.target ?? `HTTP@${proxy.hostname.replace(/^\[|\]$/g, '')}`;
    this.o = o;
    this.given = isCredential(o.credentials) ? o.credentials : undefined;
    this.held = this.given;
    this.pool = new Pool(proxy.origin);
    this.tunnels = new Agent({
      connect: (opts, cb) => {
        const origin = new URL(`${opts.protocol}//${opts.hostname}:${opts.port || (opts.protocol === 'https:' ? 443 : 80)}`);
        this.connectTls(origin, { ...this.o.tls, servername: opts.servername ?? this.o.tls?.servername })
          .then((s) => cb(null, s), (err: Error) => cb(err, null));
      },
    });
  }

  /** The initiate credential: the one given, else acquired once (its tickets are reused). */
  private credential(): Promise<Credential | undefined> {
    if (this.given) return Promise.resolve(this.given);
    const o = this.o;
    return (this.acquired ??= acquireCredentials({
      usage: 'initiate', backend: o.backend, krb5Config: o.krb5Config, gssapiLibrary: o.gssapiLibrary, allowWeakCrypto: o.allowWeakCrypto,
      credentials: o.credentials as Exclude<NegotiateProxyOptions['credentials'], Credential>,
    }).then((c) => (this.held = c), (err: unknown) => {
      this.acquired = undefined;
      throw err;
    }));
  }

  private async initiator(scheme: Scheme = 'Negotiate') {
    // NTLM needs the password itself (a Credential holds tickets, not it): with `ntlm` and no
    // Credential given, every context takes the option forms (as createNegotiateFetch does).
    const credentials = this.o.ntlm && !this.given ? undefined : await this.credential();
    const { proxy: _p, target: _t, maxLegs: _m, tls: _s, maxHeaderBytes: _h, scheme: _c, krb5Config, gssapiLibrary, allowWeakCrypto, ...rest } = this.o;
    const mech = scheme === 'NTLM' ? { mech: 'ntlm' as const } : {};
    return createInitiator(credentials
      ? { ...rest, credentials, target: this.target, ...mech }
      : { ...rest, krb5Config, gssapiLibrary, allowWeakCrypto, target: this.target, ...mech });
  }

  /**
   * A TCP connection to the proxy, tunnelled with an authenticated CONNECT to `origin`'s host and
   * port. The caller speaks whatever it likes inside (negotiateFetch: TLS, then HTTP).
   * NTLM (with `ntlm`) is connection-bound (MS-NLMP: the proxy keeps the challenge on the TCP
   * connection): the NEGOTIATE_MESSAGE, the 407 carrying the CHALLENGE (read to its end) and the
   * AUTHENTICATE_MESSAGE all go on the one connection that becomes the tunnel.
   */
  async connectTunnel(origin: URL): Promise<Socket> {
    const host = origin.hostname;
    const port = Number(origin.port || (origin.protocol === 'https:' ? 443 : 80));
    const authority = `${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${port}`;
    const what = `the proxy ${this.proxy.host}`;
    const maxLegs = this.o.maxLegs ?? 4;
    if (this.o.scheme !== undefined && this.o.scheme !== 'negotiate' && this.o.scheme !== 'ntlm') throw new UsageError(`NegotiateProxyAgent: scheme must be 'negotiate' or 'ntlm', not '${String(this.o.scheme)}'`);
    if (this.o.scheme === 'ntlm' && !this.o.ntlm) throw new UsageError("NegotiateProxyAgent: scheme 'ntlm' needs the ntlm option (true with credentials { principal, password }, or { credentials })");
    let scheme: Scheme = this.o.scheme === 'ntlm' ? 'NTLM' : 'Negotiate';
    let ctx = await this.initiator(scheme);
    let socket: Socket | undefined;
    try {
      let token = await ctx.step();
      for (let leg = 0; leg < maxLegs; leg++) {
        socket ??= await new Promise<Socket>((resolve, reject) => {
          const s = netConnect({ host: this.proxy.hostname.replace(/^\[|\]$/g, ''), port: Number(this.proxy.port || 80) });
          s.once('connect', () => { s.off('error', reject); resolve(s); });
          s.once('error', reject);
        });
        socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\nProxy-Connection: keep-alive\r\n`
          + `Proxy-Authorization: ${scheme} ${Buffer.from(token!).toString('base64')}\r\n\r\n`);
        const head = await readHead(socket, this.o.maxHeaderBytes ?? 64 * 1024, what);
        const offered = head.headers.get('proxy-authenticate') ?? [];
        const back = negotiateToken(offered, scheme);
        if (head.status >= 200 && head.status < 300) {
          // The proxy's final token, when it sends one, must verify (mutual authentication).
          if (back && !ctx.complete) await ctx.step(back);
          if (head.rest.length) socket.unshift(head.rest);
          const s = socket;
          socket = undefined;
          s.resume();
          return s;
        }
        if (head.status !== 407) throw new GssError('GSS_S_FAILURE', `${what} answered CONNECT ${authority} with ${head.status}`);
        const length = Number(head.headers.get('content-length')?.[0] ?? (head.headers.has('transfer-encoding') ? NaN : 0));
        const closes = (head.headers.get('connection') ?? head.headers.get('proxy-connection') ?? []).some((v) => /close/i.test(v));
        if (!back && scheme === 'Negotiate' && offers(offered, 'NTLM') && !offers(offered, 'Negotiate')) {
          if (!this.o.ntlm) throw new GssError('GSS_S_NO_CRED', `${what} asks for NTLM only (Proxy-Authenticate: NTLM), and this agent has no NTLM credentials: set ntlm: { credentials: { principal, password } } (pure backend)`);
          // The proxy takes the raw NTLM scheme only: start over with a NEGOTIATE_MESSAGE, on this
          // connection when it stays open (else on a new one: nothing is bound to it yet).
          if (!Number.isFinite(length) || closes) {
            socket.destroy();
            socket = undefined;
          } else {
            const after = await skipBody(socket, length, head.rest);
            if (after.length) socket.unshift(after);
          }
          ctx.dispose();
          scheme = 'NTLM';
          ctx = await this.initiator(scheme);
          token = await ctx.step();
          continue;
        }
        if (!back || ctx.complete) throw new GssError('GSS_S_FAILURE', `${what} refused ${scheme} authentication for CONNECT ${authority} (407): ${scheme === 'NTLM' ? 'check the NTLM credentials' : `check the proxy's service name (${this.target}) and the credential`}`);
        // Multi-leg: the next token goes on this connection, after the 407's body.
        if (!Number.isFinite(length) || closes) throw new GssError('GSS_S_FAILURE', `${what} closes the connection in the middle of a multi-leg ${scheme} exchange (NTLM and Negotiate need it kept alive)`);
        const after = await skipBody(socket, length, head.rest);
        if (after.length) socket.unshift(after);
        token = await ctx.step(back);
        if (!token) throw new GssError('GSS_S_FAILURE', `${what} asked for another leg after the context was complete`);
      }
      throw new GssError('GSS_S_FAILURE', `${what}: ${scheme} did not complete in ${maxLegs} round trips (a 407 loop?)`);
    } finally {
      ctx.dispose();
      socket?.destroy();
    }
  }

  /** connectTunnel, then TLS to the origin inside it (the certificate is the origin's, for channel bindings). */
  async connectTls(origin: URL, tls: ConnectionOptions = {}): Promise<TLSSocket> {
    const raw = await this.connectTunnel(origin);
    const host = origin.hostname.replace(/^\[|\]$/g, '');
    return new Promise((resolve, reject) => {
      const s = tlsConnect({ servername: /^[\d.]+$|:/.test(host) ? undefined : host, ALPNProtocols: ['http/1.1'], ...this.o.tls, ...tls, socket: raw });
      s.once('secureConnect', () => { s.off('error', fail); resolve(s); });
      const fail = (err: Error) => { raw.destroy(); reject(err); };
      s.once('error', fail);
    });
  }

  override dispatch(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers): boolean {
    const origin = new URL(String(opts.origin));
    if (origin.protocol === 'https:') return this.tunnels.dispatch(opts, handler);
    this.forward(opts, handler, origin, 0).catch((err: Error) => handler.onError?.(err));
    return true;
  }

  /**
   * Plain HTTP: the request in absolute form to the proxy, with a fresh Proxy-Authorization.
   * With `ntlm`, the exchange gets a connection of its own (an undici Client of one): NTLM is
   * connection-bound, so the NEGOTIATE_MESSAGE, the 407 with the CHALLENGE (read to its end) and
   * the request with the AUTHENTICATE_MESSAGE go on it; it is closed once the response is read.
   */
  private async forward(opts: Dispatcher.DispatchOptions, handler: Dispatcher.DispatchHandlers, origin: URL, leg: number, state?: { ctx?: Awaited<ReturnType<NegotiateProxyAgent['initiator']>>; scheme: Scheme; client?: Client }, back?: Uint8Array): Promise<void> {
    if (this.o.scheme !== undefined && this.o.scheme !== 'negotiate' && this.o.scheme !== 'ntlm') throw new UsageError(`NegotiateProxyAgent: scheme must be 'negotiate' or 'ntlm', not '${String(this.o.scheme)}'`);
    if (this.o.scheme === 'ntlm' && !this.o.ntlm) throw new UsageError("NegotiateProxyAgent: scheme 'ntlm' needs the ntlm option (true with credentials { principal, password }, or { credentials })");
    const scheme: Scheme = state?.scheme ?? (this.o.scheme === 'ntlm' ? 'NTLM' : 'Negotiate');
    const client = state?.client ?? (this.o.ntlm ? new Client(this.proxy.origin) : undefined);
    let ctx: Awaited<ReturnType<NegotiateProxyAgent['initiator']>>;
    let token: Uint8Array | undefined;
    try {
      ctx = state?.ctx ?? await this.initiator(scheme);
    } catch (err) {
      void client?.destroy();
      throw err;
    }
    try {
      token = await ctx.step(back);
    } catch (err) {
      ctx.dispose();
      void client?.destroy();
      throw err;
    }
    // The caller's headers, but Host (the origin's, set below) and Proxy-Authorization (ours).
    const pairs: string[] = [];
    const flat = flatHeaders(opts.headers);
    for (let i = 0; i + 1 < flat.length; i += 2) if (!/^(proxy-authorization|host)$/i.test(flat[i]!)) pairs.push(flat[i]!, flat[i + 1]!);
    pairs.push('host', origin.host);
    if (token) pairs.push('proxy-authorization', `${scheme} ${Buffer.from(token).toString('base64')}`);
    const replayable = opts.body == null || typeof opts.body === 'string' || opts.body instanceof Uint8Array;
    const maxLegs = this.o.maxLegs ?? 4;
    const wrapped = new ProxyAuthHandler(handler, this.target, scheme, (next, offered) => {
      if (!next && scheme === 'Negotiate' && offers(offered, 'NTLM') && !offers(offered, 'Negotiate')) {
        if (!this.o.ntlm) return new GssError('GSS_S_NO_CRED', `the proxy ${this.proxy.host} asks for NTLM only (Proxy-Authenticate: NTLM), and this agent has no NTLM credentials: set ntlm: { credentials: { principal, password } } (pure backend)`);
        if (!replayable || leg + 1 >= maxLegs) return false;
        // The proxy takes the raw NTLM scheme only: start over with a NEGOTIATE_MESSAGE on the exchange's connection.
        ctx.dispose();
        this.forward(opts, handler, origin, leg + 1, { scheme: 'NTLM', client }).catch((err: Error) => handler.onError?.(err));
        return true;
      }
      if (!next || ctx.complete || !replayable || leg + 1 >= maxLegs) return false;
      this.forward(opts, handler, origin, leg + 1, { ctx, scheme, client }, next).catch((err: Error) => handler.onError?.(err));
      return true;
    }, () => {
      ctx.dispose();
      // Closes once the response's body has been read (undici's close waits for its requests).
      void client?.close().catch(() => {});
    });
    (client ?? this.pool).dispatch({ ...opts, origin: this.proxy.origin, path: `${origin.origin}${opts.path}`, headers: pairs }, wrapped);
  }

  override async close(): Promise<void> {
    await Promise.all([this.pool.close(), this.tunnels.close()]);
    if (this.held && this.held !== this.given) this.held.dispose();
  }

  override async destroy(): Promise<void> {
    await Promise.all([this.pool.destroy(), this.tunnels.destroy()]);
    if (this.held && this.held !== this.given) this.held.dispose();
  }
}

/**
 * Passes everything to the caller's handler, except a 407 with a Negotiate token that `retry`
 * takes on: that response is read and dropped, and the request goes again with the next leg.
 */
class ProxyAuthHandler implements Dispatcher.DispatchHandlers {
  /** Set on a 407: the proxy's token in this scheme (or null when it sent none), and its Proxy-Authenticate values. */
  private refused: { back: Uint8Array | null; offered: string[] } | undefined;
  private finished = false;

  constructor(private readonly h: Dispatcher.DispatchHandlers, private readonly target: string, private readonly scheme: Scheme, private readonly retry: (back: Uint8Array | undefined, offered: string[]) => boolean | Error, private readonly end: () => void) {}

  onConnect(abort: (err?: Error) => void): void {
    this.h.onConnect?.(abort);
  }

  onHeaders(status: number, raw: Buffer[], resume: () => void, text: string): boolean {
    if (status === 407) {
      // fetch turns a 407 into a bare network error (Fetch standard, HTTP-network-or-cache fetch):
      // it is either answered here or made a GssError that fetch gives as the cause.
      const values: string[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2) if (raw[i]!.toString('latin1').toLowerCase() === 'proxy-authenticate') values.push(raw[i + 1]!.toString('latin1'));
      this.refused = { back: negotiateToken(values, this.scheme) ?? null, offered: values };
      return true;
    }
    return this.h.onHeaders?.(status, raw, resume, text) ?? true;
  }

  onData(chunk: Buffer): boolean {
    return this.refused !== undefined ? true : this.h.onData?.(chunk) ?? true;
  }

  onComplete(trailers: string[] | null): void {
    if (this.refused !== undefined) {
      const { back, offered } = this.refused;
      this.refused = undefined;
      const again = this.retry(back ?? undefined, offered);
      if (again === true) return;
      this.done();
      this.h.onError?.(again instanceof Error ? again : new GssError('GSS_S_FAILURE', back
        ? `the proxy asked for another ${this.scheme} leg past the limit (maxLegs), or for a request whose body cannot be sent again`
        : this.scheme === 'NTLM'
          ? 'the proxy refused NTLM authentication (407): check the NTLM credentials, and that the proxy keeps the connection alive between legs'
          : `the proxy refused Negotiate authentication (407): check the proxy's service name (${this.target}) and the credential`));
      return;
    }
    this.done();
    this.h.onComplete?.(trailers);
  }

  onError(err: Error): void {
    this.done();
    this.h.onError?.(err);
  }

  onUpgrade(status: number, headers: Buffer[] | string[] | null, socket: import('node:stream').Duplex): void {
    this.done();
    this.h.onUpgrade?.(status, headers, socket);
  }

  onBodySent(size: number, total: number): void {
    this.h.onBodySent?.(size, total);
  }

  onResponseStarted(): void {
    this.h.onResponseStarted?.();
  }

  private done(): void {
    if (this.finished) return;
    this.finished = true;
    this.end();
  }
}
