/**
 * SMB2 session setup, enough to authenticate (not a file client): NEGOTIATE SMB 3.1.1 with the
 * pre-auth integrity context (MS-SMB2 3.2.4.2.2.2), the server's NegTokenInit2 from the negotiate
 * response handed to the initiator's first step, SESSION_SETUP rounds while the server answers
 * STATUS_MORE_PROCESSING_REQUIRED (3.2.4.2.3, 3.2.5.3), the 3.1.1 signing key from the session key
 * and the pre-auth hash (3.2.5.3.1), then signed TREE_CONNECT and LOGOFF. Every response after the
 * session is established must be signed with that key (3.2.5.1.3): an unsigned or mis-signed one is
 * an IntegrityError and the connection is closed; nothing after it is read.
 */
import * as net from 'node:net';
import { randomBytes } from 'node:crypto';
import { DecodeError, IntegrityError, SpnegoError, UsageError } from '../errors.js';
import type { SecurityContext } from '../context.js';
import { constantTimeEqual } from '../util/bytes.js';
import { aesCmac, preauthUpdate, smb311SigningKey, smbSessionKey } from './crypto.js';
import {
  Cipher, Command, ContextType, encryptionContext, Dialect, FrameReader, HashAlgorithm, HeaderFlags, SecurityMode, SigningAlgorithm, Status,
  decodeEmptyResponse, decodeErrorResponse, decodeHeader, decodeNegotiateResponse, decodePreauthContext,
  decodeSessionSetupResponse, decodeSigningContext, decodeTreeConnectResponse, encodeEmptyRequest, encodeHeader,
  encodeNegotiateRequest, encodeSessionSetupRequest, encodeTreeConnectRequest, frame, preauthContext, signingContext,
  statusName, type Header, type NegotiateResponse,
} from './messages.js';

/** A command the server answered with a failure NTSTATUS. */
export class Smb2StatusError extends SpnegoError {
  readonly status: number;
  readonly command: number;
  constructor(command: string, cmd: number, status: number) {
    super('ERR_SMB2_STATUS', `SMB2 ${command} failed: ${statusName(status)}${status === Status.LOGON_FAILURE ? ' (the server refused the credentials: check the principal, its password and the target SPN)' : ''}`);
    this.name = 'Smb2StatusError';
    this.status = status;
    this.command = cmd;
  }
}

/** One SPNEGO token as it crossed: in which message, from whom. */
export interface Smb2Token {
  from: 'client' | 'server';
  command: 'NEGOTIATE' | 'SESSION_SETUP';
  status?: number;
  bytes: Uint8Array;
}

export interface Smb2ClientOptions {
  /** Largest SMB2 message accepted from the server (default 1 MiB; session setup needs far less). */
  maxMessage?: number;
}

interface Received {
  header: Header;
  msg: Uint8Array;
}

const CREDITS_ASKED = 8;

export class Smb2Client {
  /** Every SPNEGO token, in order (the NegTokenInit2 of the NEGOTIATE response first). */
  readonly tokens: Smb2Token[] = [];
  negotiated?: NegotiateResponse;
  sessionId = 0n;
  sessionFlags = 0;
  treeId?: number;
  private messageId = 0n;
  private preauth: Uint8Array = new Uint8Array(64);
  private signingKey?: Uint8Array;
  private readonly reader: FrameReader;
  private readonly inbox: Received[] = [];
  private waiter?: { resolve: (r: Received) => void; reject: (e: Error) => void };
  private failure?: Error;

  constructor(private readonly socket: net.Socket, o: Smb2ClientOptions = {}) {
    this.reader = new FrameReader(o.maxMessage);
    socket.on('data', (chunk: Buffer) => {
      if (this.failure) return;
      try {
        for (const msg of this.reader.push(chunk)) {
          const r = { header: decodeHeader(msg), msg };
          if (this.waiter) {
            const w = this.waiter;
            this.waiter = undefined;
            w.resolve(r);
          } else this.inbox.push(r);
        }
      } catch (e) {
        this.fail(e as Error);
      }
    });
    socket.on('error', (e: Error) => this.fail(new SpnegoError('ERR_SMB2_TRANSPORT', `SMB2 connection failed: ${e.message}`)));
    socket.on('close', () => this.fail(new SpnegoError('ERR_SMB2_TRANSPORT', 'the SMB2 server closed the connection')));
  }

  /** Connects to host:port (445) and returns a client over the socket. */
  static async connect(host: string, port = 445, o: Smb2ClientOptions = {}): Promise<Smb2Client> {
    const socket = net.connect(port, host);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', (e: Error) => reject(new SpnegoError('ERR_SMB2_TRANSPORT', `cannot connect to ${host}:${port}: ${e.message}`)));
    });
    return new Smb2Client(socket, o);
  }

  /** The session's signing key, once the session is set up (tests and the probe show it derived). */
  get signed(): boolean {
    return this.signingKey !== undefined;
  }

  /** Closes the connection; any pending wait fails. */
  close(): void {
    this.fail(new SpnegoError('ERR_SMB2_TRANSPORT', 'the SMB2 connection was closed'));
  }

  private fail(e: Error): void {
    if (!this.failure) this.failure = e;
    this.inbox.length = 0;
    this.socket.destroy();
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(this.failure);
  }

  private next(): Promise<Received> {
    if (this.failure) return Promise.reject(this.failure);
    const r = this.inbox.shift();
    if (r) return Promise.resolve(r);
    return new Promise((resolve, reject) => (this.waiter = { resolve, reject }));
  }

  /** Sends one request; returns the exact bytes sent (the pre-auth hash covers them). */
  private send(command: number, body: Uint8Array, sign: boolean): { msg: Uint8Array; messageId: bigint } {
    if (this.failure) throw this.failure;
    const messageId = this.messageId++;
    const h = encodeHeader({
      command, messageId, sessionId: this.sessionId, treeId: command === Command.NEGOTIATE || command === Command.SESSION_SETUP ? 0 : this.treeId ?? 0,
      creditCharge: command === Command.NEGOTIATE ? 0 : 1, credits: CREDITS_ASKED, flags: sign ? HeaderFlags.SIGNED : 0,
    });
    const msg = new Uint8Array(h.length + body.length);
    msg.set(h);
    msg.set(body, h.length);
    if (sign) msg.set(aesCmac(this.signingKey!, msg), 48); // MS-SMB2 3.1.4.1: over the message, signature zeroed
    this.socket.write(frame(msg));
    return { msg, messageId };
  }

  /** The response to messageId (interim STATUS_PENDING skipped); header checks, and the signature when signing. */
  private async receive(command: number, messageId: bigint, mustBeSigned: boolean): Promise<Received> {
    for (;;) {
      const r = await this.next();
      const h = r.header;
      try {
        if (!(h.flags & HeaderFlags.SERVER_TO_REDIR)) throw new DecodeError('SMB2 header.Flags', 'a response without SERVER_TO_REDIR');
        if (h.nextCommand !== 0) throw new DecodeError('SMB2 header.NextCommand', 'a compounded response to a single request');
        if (h.messageId !== messageId || h.command !== command) throw new DecodeError('SMB2 header', `response to message ${h.messageId} command ${h.command}, expected ${messageId} command ${command}`);
        // MS-SMB2 3.2.5.1.5: an interim response; the final one follows with the same MessageId.
        if (h.status === Status.PENDING && h.flags & HeaderFlags.ASYNC_COMMAND) continue;
        if (mustBeSigned) this.verify(r);
        else if (h.flags & HeaderFlags.SIGNED && this.signingKey) this.verify(r);
        return r;
      } catch (e) {
        this.fail(e as Error);
        throw e;
      }
    }
  }

  /** MS-SMB2 3.2.5.1.3: the signature is AES-CMAC(SigningKey, message with the signature zeroed). */
  private verify(r: Received): void {
    const what = `SMB2 ${commandName(r.header.command)} response (${statusName(r.header.status)})`;
    if (!this.signingKey) throw new IntegrityError(`${what}: no signing key to verify it with`);
    if (!(r.header.flags & HeaderFlags.SIGNED)) throw new IntegrityError(`${what} is not signed, and this session requires signing: connection closed`);
    if (r.header.sessionId !== this.sessionId) throw new IntegrityError(`${what} is signed for another session: connection closed`);
    const copy = Uint8Array.from(r.msg);
    copy.fill(0, 48, 64);
    if (!constantTimeEqual(aesCmac(this.signingKey, copy), r.header.signature)) throw new IntegrityError(`${what}: its signature does not verify with the session's signing key: connection closed`);
  }

  private failWith(e: Error): never {
    this.fail(e);
    throw e;
  }

  /** MS-SMB2 3.2.4.2.2.2: NEGOTIATE SMB 3.1.1 with SHA-512 pre-auth integrity and AES-CMAC signing. */
  async negotiate(): Promise<NegotiateResponse> {
    if (this.negotiated) throw new UsageError('NEGOTIATE was already sent on this connection');
    const body = encodeNegotiateRequest({
      dialects: [Dialect.SMB311], securityMode: SecurityMode.SIGNING_ENABLED, capabilities: 0, clientGuid: randomBytes(16),
      contexts: [preauthContext(randomBytes(32)), encryptionContext([Cipher.AES_128_GCM, Cipher.AES_128_CCM]), signingContext([SigningAlgorithm.AES_CMAC])],
    });
    const { msg, messageId } = this.send(Command.NEGOTIATE, body, false);
    const r = await this.receive(Command.NEGOTIATE, messageId, false);
    if (r.header.status !== Status.SUCCESS) this.failWith(new Smb2StatusError('NEGOTIATE', Command.NEGOTIATE, r.header.status));
    let n: NegotiateResponse;
    try {
      n = decodeNegotiateResponse(r.msg);
      if (n.dialect !== Dialect.SMB311) throw new UsageError(`the server chose dialect 0x${n.dialect.toString(16)}; this client speaks SMB 3.1.1 only (check "server max protocol")`);
      const pre = n.contexts.filter((c) => c.type === ContextType.PREAUTH_INTEGRITY_CAPABILITIES);
      if (pre.length !== 1) throw new DecodeError('SMB2 NEGOTIATE response', `${pre.length} pre-auth integrity contexts, exactly one required (MS-SMB2 3.2.5.2)`);
      const algs = decodePreauthContext(pre[0]!.data).hashAlgorithms;
      if (algs.length !== 1 || algs[0] !== HashAlgorithm.SHA512) throw new DecodeError('SMB2_PREAUTH_INTEGRITY_CAPABILITIES', `the server chose hash algorithms [${algs.join(', ')}], SHA-512 (1) expected`);
      for (const c of n.contexts.filter((x) => x.type === ContextType.SIGNING_CAPABILITIES)) {
        const s = decodeSigningContext(c.data);
        if (s.length !== 1 || s[0] !== SigningAlgorithm.AES_CMAC) throw new DecodeError('SMB2_SIGNING_CAPABILITIES', `the server chose signing algorithms [${s.join(', ')}], AES-CMAC (1) offered`);
      }
    } catch (e) {
      this.failWith(e as Error);
    }
    // MS-SMB2 3.2.5.2: Connection.PreauthIntegrityHashValue over the request and the response.
    this.preauth = preauthUpdate(preauthUpdate(new Uint8Array(64), msg), r.msg);
    this.negotiated = n;
    if (n.securityBuffer.length) this.tokens.push({ from: 'server', command: 'NEGOTIATE', bytes: n.securityBuffer });
    return n;
  }

  /**
   * MS-SMB2 3.2.4.2.3 / 3.2.5.3: SESSION_SETUP rounds carrying `ctx`'s tokens. The server's
   * NegTokenInit2 (if any) goes to the first step. Ends with the signing key derived from
   * ctx.info.sessionKey and the session's pre-auth hash, and the final response verified with it.
   */
  async sessionSetup(ctx: SecurityContext): Promise<{ sessionId: bigint; sessionFlags: number }> {
    if (!this.negotiated) throw new UsageError('call negotiate() before sessionSetup()');
    if (this.signingKey) throw new UsageError('this connection already has a session');
    const hint = this.negotiated.securityBuffer;
    let token: Uint8Array | undefined;
    try {
      token = await ctx.step(hint.length ? hint : undefined);
    } catch (e) {
      this.failWith(e as Error);
    }
    let hash = this.preauth;
    for (let round = 0; ; round++) {
      if (!token?.length) this.failWith(new UsageError('the security context produced no token for SESSION_SETUP'));
      if (round > 8) this.failWith(new DecodeError('SMB2 SESSION_SETUP', 'more than 8 rounds: the server never finishes'));
      this.tokens.push({ from: 'client', command: 'SESSION_SETUP', bytes: token });
      const { msg, messageId } = this.send(Command.SESSION_SETUP, encodeSessionSetupRequest({ securityMode: SecurityMode.SIGNING_ENABLED, capabilities: 0, token }), false);
      hash = preauthUpdate(hash, msg);
      const r = await this.receive(Command.SESSION_SETUP, messageId, false);
      const st = r.header.status;
      if (st !== Status.SUCCESS && st !== Status.MORE_PROCESSING_REQUIRED) this.failWith(new Smb2StatusError('SESSION_SETUP', Command.SESSION_SETUP, st));
      let buf: Uint8Array;
      try {
        buf = decodeSessionSetupResponse(r.msg).securityBuffer;
        if (round === 0) this.sessionId = r.header.sessionId;
        else if (r.header.sessionId !== this.sessionId) throw new DecodeError('SMB2 SESSION_SETUP response.SessionId', 'changed during the session setup');
        if (this.sessionId === 0n) throw new DecodeError('SMB2 SESSION_SETUP response.SessionId', 'zero');
      } catch (e) {
        this.failWith(e as Error);
      }
      if (buf.length) this.tokens.push({ from: 'server', command: 'SESSION_SETUP', status: st, bytes: buf });
      if (st === Status.MORE_PROCESSING_REQUIRED) {
        hash = preauthUpdate(hash, r.msg); // 3.2.5.3: every response but the final success
        try {
          token = await ctx.step(buf);
        } catch (e) {
          this.failWith(e as Error);
        }
        continue;
      }
      // STATUS_SUCCESS: the context must complete with what the server sent, with nothing left to send.
      try {
        if (buf.length && !ctx.complete) {
          const last = await ctx.step(buf);
          if (last?.length) throw new DecodeError('SMB2 SESSION_SETUP', 'the server finished but the security context still has a token to send');
        }
        if (!ctx.complete) throw new DecodeError('SMB2 SESSION_SETUP', 'the server finished but the security context is not complete (no mutual authentication)');
        const sk = ctx.info.sessionKey;
        if (!sk) throw new UsageError('the security context has no session key');
        const flags = decodeSessionSetupResponse(r.msg).sessionFlags;
        this.sessionFlags = flags;
        this.signingKey = smb311SigningKey(smbSessionKey(sk.key), hash);
      } catch (e) {
        this.failWith(e as Error);
      }
      // MS-SMB2 3.2.5.3.1: the final SESSION_SETUP response is signed with the new key.
      try {
        this.verify(r);
      } catch (e) {
        this.failWith(e as Error);
      }
      return { sessionId: this.sessionId, sessionFlags: this.sessionFlags };
    }
  }

  /** MS-SMB2 3.2.4.2.4: a signed TREE_CONNECT, e.g. to \\host\IPC$; the response must be signed. */
  async treeConnect(path: string): Promise<{ treeId: number; shareType: number; shareFlags: number; maximalAccess: number }> {
    if (!this.signingKey) throw new UsageError('set up a session before TREE_CONNECT');
    const { messageId } = this.send(Command.TREE_CONNECT, encodeTreeConnectRequest(path), true);
    const r = await this.receive(Command.TREE_CONNECT, messageId, true);
    if (r.header.status !== Status.SUCCESS) this.failWith(new Smb2StatusError('TREE_CONNECT', Command.TREE_CONNECT, r.header.status));
    try {
      const t = decodeTreeConnectResponse(r.msg);
      this.treeId = r.header.treeId ?? 0;
      return { treeId: this.treeId, ...t };
    } catch (e) {
      this.failWith(e as Error);
    }
  }

  /** MS-SMB2 3.2.4.2.5 / 2.2.7: a signed LOGOFF; the response must be signed; then the connection closes. */
  async logoff(): Promise<void> {
    if (!this.signingKey) throw new UsageError('no session to log off');
    const { messageId } = this.send(Command.LOGOFF, encodeEmptyRequest(), true);
    const r = await this.receive(Command.LOGOFF, messageId, true);
    if (r.header.status !== Status.SUCCESS) this.failWith(new Smb2StatusError('LOGOFF', Command.LOGOFF, r.header.status));
    try {
      decodeEmptyResponse('SMB2 LOGOFF response', r.msg);
    } catch (e) {
      this.failWith(e as Error);
    }
    this.signingKey = undefined;
    this.close();
  }
}

export function commandName(c: number): string {
  for (const [k, v] of Object.entries(Command)) if (v === c) return k;
  return `command ${c}`;
}

export { decodeErrorResponse };
