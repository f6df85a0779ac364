/**
 * HTTP Negotiate (RFC 4559) for clients, over fetch:
 *
 *   import { negotiateFetch } from 'spnego/http';
 *   const res = await negotiateFetch('https://web.example.test/api', {}, { target: 'HTTP@web.example.test' });
 *
 * For many requests, acquire once and reuse (no KDC request for a host it already has a ticket for):
 *
 *   const fetchN = createNegotiateFetch({ credentials: { principal: 'svc@EXAMPLE.TEST', keytab: '/etc/svc.keytab' } });
 *   await fetchN('https://web.example.test/a'); await fetchN('https://web.example.test/b');
 *
 * It sends the first token with the request (the server's 401 is not waited for), answers a 401
 * that carries a Negotiate token (multi-leg), and verifies the server's final token (mutual
 * authentication): a response whose token does not verify is an error, never returned as success.
 *
 * Over HTTPS it opens the TLS connection itself first, and binds the token to it: channel bindings
 * tls-server-end-point (RFC 5929 section 4.1) from the certificate the server presented on that
 * very connection; every leg of the exchange goes on that connection (an undici Client of one).
 * So each HTTPS call opens its own connection (no pooling across calls). A caller's own
 * `init.dispatcher` is used as given, and then no bindings are sent (its sockets are not visible here).
 *
 * NTLM (pure backend, with the `ntlm` option): inside Negotiate (SPNEGO picks it when Kerberos cannot
 * start, or when the server takes only NTLM), and as the raw `WWW-Authenticate: NTLM` scheme when the
 * server's 401 offers NTLM and not Negotiate (or at once with `scheme: 'ntlm'`): NEGOTIATE_MESSAGE,
 * then the AUTHENTICATE_MESSAGE answering the server's CHALLENGE. NTLM is connection-bound (the
 * server keeps the challenge on the TCP connection), so with `ntlm` a plain-HTTP call also gets its
 * own connection (an undici Client of one) that carries every leg; over HTTPS the AUTHENTICATE
 * carries the tls-server-end-point bindings as MsvAvChannelBindings (MS-NLMP 3.1.5.1.2).
 */
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { Client, type Dispatcher } from 'undici';
import { acquireCredentials, createInitiator } from '../api.js';
import { GssError, UsageError } from '../errors.js';
import type { InitiatorOptions } from '../context.js';
import { type Credential, isCredential } from '../credentials.js';
import type { NegotiateProxyAgent } from './proxy.js';

type Scheme = 'Negotiate' | 'NTLM';
const TOKEN: Record<Scheme, RegExp> = {
  Negotiate: /(?:^|,)\s*Negotiate\s+([A-Za-z0-9+/=]+)/i,
  NTLM: /(?:^|,)\s*NTLM\s+([A-Za-z0-9+/=]+)/i,
};

function serverToken(res: Response, scheme: Scheme): Uint8Array | undefined {
  const m = TOKEN[scheme].exec(res.headers.get('www-authenticate') ?? '');
  return m ? new Uint8Array(Buffer.from(m[1]!, 'base64')) : undefined;
}

/** Whether the response offers this scheme (fetch joins several WWW-Authenticate headers with ", "). */
function offers(res: Response, scheme: Scheme): boolean {
  return new RegExp(`(?:^|,)\\s*${scheme}(?:\\s|,|$)`, 'i').test(res.headers.get('www-authenticate') ?? '');
}

export interface NegotiateFetchOptions extends Partial<Omit<InitiatorOptions, 'channelBindings'>> {
  /** Default: "HTTP@" + the URL's host name. */
  target?: string;
  /** The most round trips (default 4). */
  maxLegs?: number;
  /**
   * Over HTTPS: 'tls-server-end-point' (default) binds the token to the server certificate of the
   * connection (RFC 5929), which servers with Extended Protection require; 'none' sends no bindings.
   */
  channelBindings?: 'tls-server-end-point' | 'none';
  /** TLS options for HTTPS origins (ca, cert, rejectUnauthorized...); servername defaults to the host. */
  tls?: ConnectionOptions;
  /**
   * Opens the connection to an HTTPS origin (default: tls.connect). A proxy dispatcher's
   * `connectTunnel` plugs in here, so the bindings are those of the origin seen through the tunnel.
   */
  connectTls?: (origin: URL, tls: ConnectionOptions) => Promise<TLSSocket>;
  /**
   * Through a proxy that asks for Negotiate: plain HTTP goes through it as a dispatcher, HTTPS
   * through its authenticated CONNECT tunnel (with the origin's channel bindings). The proxy and
   * the origin each get their own context (HTTP@proxy-host, then `target`).
   */
  proxy?: NegotiateProxyAgent;
  /**
   * With `ntlm`: 'negotiate' (default) starts with Negotiate and turns to the raw NTLM scheme when
   * the server offers NTLM and not Negotiate; 'ntlm' starts with NTLM (no Negotiate token is made).
   */
  scheme?: 'negotiate' | 'ntlm';
}

/** A direct TLS connection to the origin, resolved once the handshake (and its checks) passed. */
export function connectDirect(origin: URL, options: ConnectionOptions = {}): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host: origin.hostname.replace(/^\[|\]$/g, ''), port: Number(origin.port || 443),
      servername: /^[\d.]+$|:/.test(origin.hostname) ? undefined : origin.hostname, ALPNProtocols: ['http/1.1'], ...options,
    });
    socket.once('secureConnect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** The peer's certificate (DER) on a TLS socket. */
function peerCertificate(socket: TLSSocket, what: string): Uint8Array {
  const raw = socket.getPeerCertificate()?.raw;
  if (!raw || raw.length === 0) throw new GssError('GSS_S_BAD_BINDINGS', `${what} presented no certificate: no tls-server-end-point channel bindings can be made (set channelBindings: 'none' to send none)`);
  return new Uint8Array(raw);
}

/**
 * One undici Client over the given TLS socket: every leg of the exchange goes on that connection.
 * Should it close, a new one is opened, and must present the same certificate (the token is bound to it).
 */
function pinnedClient(origin: URL, first: TLSSocket, cert: Uint8Array | undefined, reconnect: () => Promise<TLSSocket>): Client {
  let next: Socket | undefined = first;
  return new Client(origin.origin, {
    connect: (_opts, cb) => {
      const s = next;
      next = undefined;
      if (s && !s.destroyed) {
        cb(null, s);
        return;
      }
      reconnect().then((again) => {
        if (cert && !Buffer.from(peerCertificate(again, origin.host)).equals(cert)) {
          again.destroy();
          throw new GssError('GSS_S_BAD_BINDINGS', `${origin.host} presented another certificate on a new connection: the channel bindings no longer hold`);
        }
        cb(null, again);
      }).catch((err: Error) => cb(err, null));
    },
  });
}

/**
 * One request with Negotiate. `o.credentials` may be a Credential from acquireCredentials({ usage:
 * 'initiate' }) (its tickets are reused); the option forms acquire for this request alone.
 */
export async function negotiateFetch(url: string | URL, init: RequestInit = {}, o: NegotiateFetchOptions = {}): Promise<Response> {
  const u = new URL(url);
  const target = o.target ?? `HTTP@${u.hostname}`;
  let client: Client | undefined;
  let bindings: Uint8Array | undefined;
  const proxy = o.proxy;
  if (u.protocol === 'https:' && !(init as { dispatcher?: Dispatcher }).dispatcher) {
    const connectTls = o.connectTls ?? (proxy ? (origin: URL, tls: ConnectionOptions) => proxy.connectTls(origin, tls) : connectDirect);
    const open = () => connectTls(u, o.tls ?? {});
    const socket = await open();
    try {
      bindings = o.channelBindings === 'none' ? undefined : peerCertificate(socket, u.host);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    client = pinnedClient(u, socket, bindings, open);
    init = { ...init, dispatcher: client } as RequestInit;
  } else if (proxy && !(init as { dispatcher?: Dispatcher }).dispatcher) {
    init = { ...init, dispatcher: proxy } as RequestInit;
  } else if (o.ntlm && !(init as { dispatcher?: Dispatcher }).dispatcher) {
    // NTLM is connection-bound: one connection of our own for every leg (no pool to pick another).
    client = new Client(u.origin);
    init = { ...init, dispatcher: client } as RequestInit;
  }
  const { channelBindings: _cb, tls: _t, connectTls: _c, proxy: _p, scheme: _s, ...initiatorOptions } = o;
  if (o.scheme !== undefined && o.scheme !== 'negotiate' && o.scheme !== 'ntlm') {
    void client?.destroy();
    throw new UsageError(`scheme must be 'negotiate' or 'ntlm', not '${String(o.scheme)}'`);
  }
  if (o.scheme === 'ntlm' && !o.ntlm) {
    void client?.destroy();
    throw new UsageError("scheme 'ntlm' needs the ntlm option (true with credentials { principal, password }, or { credentials })");
  }
  const contextFor = (s: Scheme) => createInitiator({
    ...initiatorOptions, target, channelBindings: bindings ? { tlsServerEndPoint: bindings } : undefined, ...(s === 'NTLM' ? { mech: 'ntlm' as const } : {}),
  });
  let scheme: Scheme = o.scheme === 'ntlm' ? 'NTLM' : 'Negotiate';
  let ctx;
  try {
    ctx = contextFor(scheme);
  } catch (err) {
    void client?.destroy();
    throw err;
  }
  try {
    let token = await ctx.step();
    // The caller may have just read a previous response to its end: fetch (undici) returns that
    // connection to its pool a turn of the event loop later. Sent before then, this first leg would
    // open a second connection and the server would park its half-made context there, while the
    // next leg goes to the pool's first idle connection (the older one), where no context waits
    // ("expected a NegTokenInit, got a NegTokenResp"). One turn keeps every leg on one connection.
    await new Promise((resolve) => setImmediate(resolve));
    for (let leg = 0; leg < (o.maxLegs ?? 4); leg++) {
      const headers = new Headers(init.headers);
      headers.set('authorization', `${scheme} ${Buffer.from(token!).toString('base64')}`);
      const res = await fetch(url, { ...init, headers });
      const back = serverToken(res, scheme);
      if (res.status === 401 && !back && scheme === 'Negotiate' && o.ntlm && offers(res, 'NTLM') && !offers(res, 'Negotiate')) {
        // The server takes the raw NTLM scheme only: start over with a NEGOTIATE_MESSAGE, on this connection.
        await res.arrayBuffer();
        await new Promise((resolve) => setImmediate(resolve));
        ctx.dispose();
        scheme = 'NTLM';
        ctx = contextFor(scheme);
        token = await ctx.step();
        continue;
      }
      if (res.status === 401 && back && !ctx.complete) {
        // Read the 401 to its end so the next leg goes out on the same keep-alive connection:
        // the server's half-made context waits on that connection (RFC 4559 multi-leg).
        await res.arrayBuffer();
        // fetch (undici) puts the connection back in its pool a turn of the event loop after the
        // body ends; a request sent before that opens a new connection, where the context is not.
        await new Promise((resolve) => setImmediate(resolve));
        token = await ctx.step(back);
        if (token) continue;
      }
      if (res.status !== 401 && !ctx.complete) {
        // The server accepted us; its final token must prove it is the service (RFC 4559 5, RFC 4121 mutual).
        if (!back) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `${target} answered ${res.status} without the mutual-authentication token`);
        await ctx.step(back);
      }
      return res;
    }
    throw new GssError('GSS_S_FAILURE', `${target}: Negotiate did not complete in ${o.maxLegs ?? 4} round trips`);
  } catch (err) {
    void client?.destroy();
    throw err;
  } finally {
    ctx.dispose();
    // Closes once the response's body has been read (undici's close waits for its requests).
    void client?.close().catch(() => {});
  }
}

/** A fetch with Negotiate whose credential is acquired once (on the first request) and reused. */
export interface NegotiateFetch {
  (url: string | URL, init?: RequestInit): Promise<Response>;
  /** The credential, once acquired (or the one given). */
  readonly credential: Credential | undefined;
  /** Disposes the credential it acquired (not one it was given). */
  dispose(): void;
}

export function createNegotiateFetch(o: Omit<NegotiateFetchOptions, 'target'> & { target?: string } = {}): NegotiateFetch {
  const given = isCredential(o.credentials) ? o.credentials : undefined;
  let acquired: Promise<Credential | undefined> | undefined;
  let held: Credential | undefined = given;
  const credential = (): Promise<Credential | undefined> => {
    if (given) return Promise.resolve(given);
    return (acquired ??= acquireCredentials({
      usage: 'initiate', backend: o.backend, krb5Config: o.krb5Config, gssapiLibrary: o.gssapiLibrary, allowWeakCrypto: o.allowWeakCrypto,
      credentials: o.credentials as Exclude<NegotiateFetchOptions['credentials'], Credential>,
    }).then((c) => (held = c), (err: unknown) => {
      acquired = undefined;
      throw err;
    }));
  };
  const f = async (url: string | URL, init: RequestInit = {}) => {
    const credentials = await credential();
    // What the credential holds (krb5.conf, library, weak crypto) is not given again per context.
    const { krb5Config: _c, gssapiLibrary: _g, allowWeakCrypto: _w, ...rest } = o;
    return negotiateFetch(url, init, credentials ? { ...rest, credentials } : o);
  };
  if (o.ntlm && !given) {
    // NTLM needs the password itself (a Credential holds tickets, not it): each call takes the option
    // forms, whose TGTs the pure backend's TGT cache shares across calls anyway.
    const g = (url: string | URL, init: RequestInit = {}) => negotiateFetch(url, init, o);
    Object.defineProperty(g, 'credential', { get: () => undefined });
    return Object.assign(g, { dispose() {} }) as NegotiateFetch;
  }
  // A live getter (Object.assign would copy the value once).
  Object.defineProperty(f, 'credential', { get: () => held });
  return Object.assign(f, {
    dispose() {
      if (held && held !== given) held.dispose();
    },
  }) as NegotiateFetch;
}
