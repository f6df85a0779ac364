/**
 * A minimal LDAP connection over any Duplex (net.Socket, tls.TLSSocket): one operation at a time,
 * simple or SASL bind, search, unbind. After a SASL bind that negotiated a security layer, the
 * socket is replaced by a SaslStream: every later message is framed and wrapped.
 */
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { DecodeError, SpnegoError, UsageError } from '../errors.js';
import { SaslClient } from './client.js';
import { SaslStream } from './stream.js';
import {
  decodeLdapMessage, encodeBindRequest, encodeExtendedRequest, encodeSearchRequest, encodeUnbindRequest, LDAP_RESULT, LdapMessageReader, START_TLS_OID,
  type LdapMessage, type LdapResult, type SearchOptions,
} from './ldap.js';

/** The server answered an LDAP operation with a result other than success. */
export class LdapResultError extends SpnegoError {
  readonly resultCode: number;
  readonly diagnosticMessage: string;
  constructor(op: string, r: LdapResult) {
    super('ERR_LDAP_RESULT', `LDAP ${op} failed: result ${r.resultCode}${r.diagnosticMessage ? ` (${r.diagnosticMessage})` : ''}`);
    this.name = 'LdapResultError';
    this.resultCode = r.resultCode;
    this.diagnosticMessage = r.diagnosticMessage;
  }
}

export interface SearchEntry {
  dn: string;
  attributes: Record<string, Uint8Array[]>;
}

export class LdapConnection {
  private stream: Duplex;
  private reader = new LdapMessageReader();
  private nextId = 1;
  private waiting: { resolve: (m: LdapMessage) => void; reject: (e: Error) => void } | undefined;
  private queue: LdapMessage[] = [];
  private failure: Error | undefined;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onEnd = () => this.fail(new DecodeError('LDAP', 'the server closed the connection'));
  private readonly onError = (e: Error) => this.fail(e);
  // A socket destroyed without 'end' (a caller's timeout, ldapts' connectTimeout) only says 'close'.
  private readonly onClose = () => this.fail(new DecodeError('LDAP', 'the connection was closed'));
  /** The SASL layer in force after a SASL bind ('none' when the socket is used as it is). */
  layer: SaslClient['layer'];

  constructor(socket: Duplex) {
    this.stream = socket;
    this.attach();
  }

  private attach(): void {
    this.stream.on('data', this.onData);
    this.stream.on('end', this.onEnd);
    this.stream.on('error', this.onError);
    this.stream.on('close', this.onClose);
  }

  private detach(): void {
    this.stream.off('data', this.onData);
    this.stream.off('end', this.onEnd);
    this.stream.off('error', this.onError);
    this.stream.off('close', this.onClose);
  }

  private receive(chunk: Uint8Array): void {
    try {
      for (const m of this.reader.push(chunk)) this.deliver(decodeLdapMessage(m));
    } catch (e) {
      this.fail(e as Error);
      this.stream.destroy();
    }
  }

  private deliver(m: LdapMessage): void {
    // messageID 0 is the unsolicited notice of disconnection (RFC 4511 4.4.1).
    if (m.messageId === 0) {
      this.fail(new LdapResultError('connection (notice of disconnection)', m.op as LdapResult));
      this.stream.destroy();
      return;
    }
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w.resolve(m);
    } else this.queue.push(m);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const w = this.waiting;
    this.waiting = undefined;
    w?.reject(this.failure);
  }

  private next(): Promise<LdapMessage> {
    const q = this.queue.shift();
    if (q) return Promise.resolve(q);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  private async request(bytes: Uint8Array, id: number): Promise<LdapMessage> {
    if (this.failure) throw this.failure;
    this.stream.write(bytes);
    const m = await this.next();
    if (m.messageId !== id) throw new DecodeError('LDAPMessage.messageID', `answer to message ${m.messageId} while waiting for ${id}`);
    return m;
  }

  /**
   * StartTLS (RFC 4511 4.14, RFC 4513 3): the extended operation, then a TLS handshake over the
   * same socket; every later message goes through TLS. Resolves with the TLS socket (its
   * getPeerCertificate().raw is what tls-server-end-point bindings hash).
   */
  async startTls(options: ConnectionOptions = {}): Promise<TLSSocket> {
    if (this.layer) throw new UsageError('StartTLS must come before the bind');
    const id = this.nextId++;
    const m = await this.request(encodeExtendedRequest(id, START_TLS_OID), id);
    if (m.op.type !== 'extendedResponse') throw new DecodeError('LDAP.startTLS', `a ${m.op.type} answered StartTLS`);
    if (m.op.resultCode !== LDAP_RESULT.success) throw new LdapResultError('StartTLS', m.op);
    // RFC 4511 4.14.2: nothing is sent in clear after the response; bytes already here would be injected
    // (a malformed one already failed the connection: never start TLS over it).
    if (this.failure) throw this.failure;
    if (this.reader.pending || this.queue.length) throw new DecodeError('LDAP.startTLS', 'unencrypted bytes after the StartTLS response');
    this.detach();
    const plain = this.stream;
    const secure = tlsConnect({ ...options, socket: plain as never });
    await new Promise<void>((resolve, reject) => {
      const bad = (e: Error) => { secure.off('secureConnect', ok); reject(e); };
      const ok = () => { secure.off('error', bad); resolve(); };
      secure.once('secureConnect', ok);
      secure.once('error', bad);
    }).catch((e: Error) => {
      this.fail(e);
      plain.destroy();
      throw e;
    });
    this.stream = secure;
    this.attach();
    return secure;
  }

  /**
   * Hand the connection over to another LDAP client after the bind: the stream (the socket, the
   * TLS socket or the SaslStream), paused, with nothing of it read here any more.
   */
  release(): Duplex {
    if (this.failure) throw this.failure;
    if (this.reader.pending || this.queue.length) throw new DecodeError('LDAP', 'unread LDAP messages at hand-over');
    this.detach();
    this.stream.pause();
    this.failure = new UsageError('this LdapConnection was released to another client');
    return this.stream;
  }

  /** A simple bind (DN + password). Throws LdapResultError unless the server accepts it. */
  async simpleBind(dn: string, password: string): Promise<void> {
    const id = this.nextId++;
    const m = await this.request(encodeBindRequest(id, { simple: { dn, password } }), id);
    if (m.op.type !== 'bindResponse') throw new DecodeError('LDAP.bind', `a ${m.op.type} answered a bind`);
    if (m.op.resultCode !== LDAP_RESULT.success) throw new LdapResultError('simple bind', m.op);
  }

  /**
   * The SASL bind loop (RFC 4513 5.2.1.2, RFC 4422): BindRequests carrying the client's tokens until
   * the server answers success; then, if a layer was negotiated, the socket is replaced by a SaslStream.
   */
  async saslBind(sasl: SaslClient): Promise<void> {
    let creds: Uint8Array | undefined = await sasl.start();
    for (let round = 0; ; round++) {
      if (round > 16) throw new DecodeError('LDAP.bind', 'more than 16 SASL rounds: giving up');
      const id = this.nextId++;
      const m = await this.request(encodeBindRequest(id, { sasl: { mechanism: sasl.mechanism, credentials: creds } }), id);
      if (m.op.type !== 'bindResponse') throw new DecodeError('LDAP.bind', `a ${m.op.type} answered a bind`);
      if (m.op.resultCode === LDAP_RESULT.saslBindInProgress) {
        creds = await sasl.step(m.op.serverSaslCreds);
        continue;
      }
      if (m.op.resultCode !== LDAP_RESULT.success) throw new LdapResultError(`SASL ${sasl.mechanism} bind`, m.op);
      await sasl.finish(m.op.serverSaslCreds);
      break;
    }
    this.layer = sasl.layer;
    if (sasl.layer && sasl.layer !== 'none') {
      // Nothing may follow the BindResponse in clear: the server starts framing right after it.
      if (this.failure) throw this.failure;
      if (this.reader.pending || this.queue.length) throw new DecodeError('LDAP.bind', 'unframed bytes after the SASL bind response');
      this.detach();
      this.stream = new SaslStream(this.stream, sasl.framing());
      this.attach();
    }
  }

  /** A search; resolves with the entries (references are skipped) once SearchResultDone says success. */
  async search(o: SearchOptions): Promise<SearchEntry[]> {
    if (this.failure) throw this.failure;
    const id = this.nextId++;
    this.stream.write(encodeSearchRequest(id, o));
    const entries: SearchEntry[] = [];
    for (;;) {
      const m = await this.next();
      if (m.messageId !== id) throw new DecodeError('LDAPMessage.messageID', `answer to message ${m.messageId} while waiting for ${id}`);
      if (m.op.type === 'searchResultEntry') {
        const attributes: Record<string, Uint8Array[]> = {};
        for (const a of m.op.attributes) attributes[a.type] = a.values;
        entries.push({ dn: m.op.objectName, attributes });
      } else if (m.op.type === 'searchResultDone') {
        if (m.op.resultCode !== LDAP_RESULT.success) throw new LdapResultError('search', m.op);
        return entries;
      } else if (m.op.type !== 'searchResultReference') {
        throw new DecodeError('LDAP.search', `a ${m.op.type} answered a search`);
      }
    }
  }

  /** UnbindRequest, then close. */
  async unbind(): Promise<void> {
    if (!this.failure && !this.stream.destroyed) {
      const id = this.nextId++;
      await new Promise<void>((resolve) => this.stream.write(encodeUnbindRequest(id), () => resolve()));
    }
    this.close();
  }

  close(): void {
    this.detach();
    this.fail(new DecodeError('LDAP', 'the connection was closed'));
    this.stream.destroy();
  }
}
