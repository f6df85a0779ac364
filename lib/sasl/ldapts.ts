/**
 * ldapts adapter: Kerberos SASL binds (GSSAPI, GSS-SPNEGO) with a security layer or with TLS
 * channel bindings, for the `ldapts` Client, through its public connection hooks.
 *
 * ldapts' Client takes `createConnection(port, host)` (ldap://) and `createSecureConnection(port,
 * host, tlsOptions)` (ldaps://) and waits for the returned stream's 'connect' / 'secureConnect'.
 * The stream given here connects, optionally runs StartTLS, runs the whole SASL bind with this
 * package's codec, and only then says 'connect': from ldapts' point of view the connection is
 * already authenticated, and every message it writes or reads afterwards goes through the
 * SaslStream (signed or sealed frames) or the TLS socket.
 *
 *   const client = new Client({ url: 'ldap://dc1.example.com', ...ldaptsSasl({ mechanism: 'GSS-SPNEGO',
 *     initiator: { target: 'ldap/dc1.example.com', credentials: { principal, password } } }) });
 *   await client.search(baseDN, { filter: '(sAMAccountName=alice)', attributes: ['memberOf'] });
 *
 * Do not call client.bind(): the bind happened at connect, and happens again (with a new context)
 * whenever ldapts reconnects. A failed bind fails the operation that connected with its typed error.
 */
import * as net from 'node:net';
import * as tls from 'node:tls';
import { Duplex } from 'node:stream';
import { UsageError } from '../errors.js';
import type { InitiatorOptions } from '../context.js';
import { SaslClient, createSaslInitiator, type SaslMechanism, type SecurityLayer } from './client.js';
import { LdapConnection } from './ldap-connection.js';

export interface LdaptsSaslOptions {
  mechanism: SaslMechanism;
  /**
   * The options of the initiator made for each connection (target, credentials, backend...). The
   * mech and flags come from the mechanism and layer. Over TLS, channelBindings default to the
   * server certificate's tls-server-end-point (RFC 5929); set them to override.
   */
  initiator: InitiatorOptions;
  /** Default: 'confidentiality' on ldap://, 'none' over TLS (AD forbids a SASL layer inside TLS, MS-ADTS 5.1.2.1). */
  layer?: SecurityLayer;
  /** Run StartTLS (RFC 4511 4.14) on an ldap:// connection before the bind. */
  startTls?: boolean | tls.ConnectionOptions;
  /** Over TLS: do not send tls-server-end-point bindings (default false). */
  noChannelBindings?: boolean;
  /** RFC 4752 authorization identity (GSSAPI only). */
  authzid?: string;
  /** Called once per connection after the bind: the layer in force and the SaslClient. */
  onBind?: (info: { layer: SecurityLayer; sasl: SaslClient; tls: boolean }) => void;
}

/** The ldapts ClientOptions hooks that bind with SASL: spread them into `new Client({ url, ... })`. */
export function ldaptsSasl(o: LdaptsSaslOptions): { createConnection: typeof net.connect; createSecureConnection: typeof tls.connect } {
  if (!o || typeof o !== 'object' || !o.initiator) throw new UsageError('ldaptsSasl needs { mechanism, initiator }');
  if (o.startTls && o.layer && o.layer !== 'none') throw new UsageError('a SASL layer inside TLS is refused by Active Directory (MS-ADTS 5.1.2.1): use layer none with StartTLS');
  const createConnection = (port: number, host: string) => new LdapSaslSocket(o, { port, host, tls: o.startTls ? 'starttls' : undefined });
  const createSecureConnection = (port: number, host: string, tlsOptions?: tls.ConnectionOptions) => {
    if (o.layer && o.layer !== 'none') throw new UsageError('a SASL layer inside TLS is refused by Active Directory (MS-ADTS 5.1.2.1): use layer none with ldaps://');
    return new LdapSaslSocket(o, { port, host, tls: 'ldaps', tlsOptions });
  };
  return {
    createConnection: createConnection as unknown as typeof net.connect,
    createSecureConnection: createSecureConnection as unknown as typeof tls.connect,
  };
}

interface Where {
  port: number;
  host: string;
  tls?: 'ldaps' | 'starttls';
  tlsOptions?: tls.ConnectionOptions;
}

/**
 * The stream ldapts reads and writes: connecting (and binding) until 'connect' / 'secureConnect',
 * then a pass-through to the bound connection's stream. Any failure destroys it with the error.
 */
export class LdapSaslSocket extends Duplex {
  /** ldapts tags its sockets with an id. */
  id?: string;
  connecting = true;
  /** The layer in force once bound. */
  layer: SecurityLayer | undefined;
  private inner: Duplex | undefined;
  private raw: net.Socket | undefined;

  constructor(o: LdaptsSaslOptions, where: Where) {
    super();
    // Wait a turn: ldapts attaches its 'connect' and 'error' listeners after createConnection returns.
    queueMicrotask(() => {
      this.run(o, where).catch((e: Error) => this.destroy(e));
    });
  }

  get readyState(): string {
    return this.connecting ? 'opening' : this.destroyed ? 'closed' : 'open';
  }

  private async run(o: LdaptsSaslOptions, w: Where): Promise<void> {
    const isTls = w.tls !== undefined;
    let sock: net.Socket;
    if (w.tls === 'ldaps') {
      sock = tls.connect({ ...w.tlsOptions, port: w.port, host: w.host, servername: w.tlsOptions?.servername ?? (net.isIP(w.host) ? undefined : w.host) });
    } else {
      sock = net.connect(w.port, w.host);
    }
    this.raw = sock;
    if (this.destroyed) return void sock.destroy();
    await new Promise<void>((resolve, reject) => {
      const ev = w.tls === 'ldaps' ? 'secureConnect' : 'connect';
      sock.once(ev, () => { sock.off('error', reject); resolve(); });
      sock.once('error', reject);
    });
    const conn = new LdapConnection(sock);
    let tlsSock: tls.TLSSocket | undefined = w.tls === 'ldaps' ? (sock as tls.TLSSocket) : undefined;
    if (w.tls === 'starttls') {
      const opts = typeof o.startTls === 'object' ? o.startTls : {};
      // host: what the certificate is checked against when no servername is given (as for ldaps://).
      tlsSock = await conn.startTls({ host: w.host, servername: net.isIP(w.host) ? undefined : w.host, ...opts });
    }
    const layer = o.layer ?? (isTls ? 'none' : 'confidentiality');
    const init: InitiatorOptions = { ...o.initiator };
    if (tlsSock && !o.noChannelBindings && init.channelBindings === undefined) {
      const cert = tlsSock.getPeerCertificate();
      if (!cert || !cert.raw) throw new UsageError('the LDAP server sent no certificate: no tls-server-end-point bindings can be made (set noChannelBindings to bind without)');
      init.channelBindings = { tlsServerEndPoint: new Uint8Array(cert.raw) };
    }
    const sasl = new SaslClient({ mechanism: o.mechanism, layer, authzid: o.authzid, tls: isTls, context: createSaslInitiator(o.mechanism, layer, init) });
    await conn.saslBind(sasl);
    this.layer = conn.layer ?? 'none';
    const inner = conn.release();
    this.inner = inner;
    if (this.destroyed) return void inner.destroy();
    inner.on('data', (c: Buffer) => {
      if (!this.push(c)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (e) => this.destroy(e));
    inner.on('close', () => { if (!this.destroyed) this.destroy(); });
    this.connecting = false;
    o.onBind?.({ layer: this.layer, sasl, tls: isTls });
    this.emit(w.tls === 'ldaps' ? 'secureConnect' : 'connect');
    inner.resume();
  }

  override _read(): void {
    this.inner?.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    if (!this.inner) return cb(new UsageError('the LDAP connection is not bound yet: wait for connect'));
    this.inner.write(chunk, (e) => cb(e ?? null));
  }

  override _final(cb: (e?: Error | null) => void): void {
    if (!this.inner) return cb();
    this.inner.end(cb);
  }

  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    this.connecting = false;
    this.inner?.destroy();
    this.raw?.destroy();
    cb(err);
  }
}
