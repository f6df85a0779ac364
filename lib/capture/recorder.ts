/**
 * NegotiationRecorder: collects the tokens of negotiations (tokens only: never a key, a password or
 * a plaintext) and writes them as a pcap of HTTP Negotiate (RFC 4559) over
 * TCP on loopback, one TCP stream per exchange, so Wireshark dissects SPNEGO, Kerberos and the GSS
 * tokens in them.
 *
 *   import { NegotiationRecorder } from 'spnego/capture';
 *   const recorder = new NegotiationRecorder();
 *   app.use(negotiate({ keytab, recorder }));        // or negotiateFetch(url, {}, { recorder }), createInitiator({ ..., recorder })
 *   ...
 *   recorder.writePcap('/tmp/negotiate.pcap');      // wireshark -o kerberos.decrypt:TRUE -o kerberos.file:http.keytab /tmp/negotiate.pcap
 *
 * Wireshark decrypts the tickets with the service's keytab (which you have; the recorder never
 * writes keys), then the authenticators and AP-REPs with the session keys it finds in them.
 *
 * Pass one recorder to one side of an exchange: each side records both directions, so a recorder
 * given to both the client and the server of the same exchange holds it twice.
 */
import { writeFileSync } from 'node:fs';
import { SpnegoError, UsageError } from '../errors.js';
import type { SecurityContext, TokenRecorder } from '../context.js';
import { utf8 } from '../util/bytes.js';
import { DEFAULT_MSS, pcapFile, type TcpMessage, type TcpStream } from './pcap.js';

export type Side = 'initiator' | 'acceptor';

export interface RecordedToken {
  from: Side;
  token: Uint8Array;
  time: Date;
  /** 'negotiate': a context-establishment token; 'wrap': a per-message token added with add(). */
  kind: 'negotiate' | 'wrap';
}

export interface RecordedExchange {
  id: number;
  /** Free text shown nowhere in the capture; for the caller (e.g. "pure -> native"). */
  label?: string;
  /** Which side's context was watched. */
  recordedBy: Side;
  tokens: RecordedToken[];
  /** The first line of the error that ended the exchange, when a step failed. */
  error?: string;
}

export interface RecorderOptions {
  /** The Host header of the HTTP requests in the capture (default "web.spnego.capture"). */
  host?: string;
  /** The request path (default "/"). */
  path?: string;
  /** The largest TCP payload per segment (default 1460). */
  mss?: number;
}

const CRLF = '\r\n';

export class NegotiationRecorder implements TokenRecorder {
  readonly exchanges: RecordedExchange[] = [];
  readonly #opts: RecorderOptions;
  readonly #byContext = new WeakMap<object, RecordedExchange>();

  constructor(opts: RecorderOptions = {}) {
    this.#opts = opts;
  }

  /**
   * A context that behaves as `ctx` and records, as one exchange, every token its step() takes and
   * returns. createInitiator/createAcceptor call it for their `recorder` option.
   */
  watch<T extends SecurityContext>(ctx: T, label?: string): T {
    const ex: RecordedExchange = { id: this.exchanges.length + 1, label, recordedBy: ctx.role, tokens: [] };
    this.exchanges.push(ex);
    const peer: Side = ctx.role === 'initiator' ? 'acceptor' : 'initiator';
    const push = (from: Side, token: Uint8Array) => ex.tokens.push({ from, token: Uint8Array.from(token), time: new Date(), kind: 'negotiate' });
    const step = async (input?: Uint8Array): Promise<Uint8Array | undefined> => {
      if (input) push(peer, input);
      let out: Uint8Array | undefined;
      try {
        out = await ctx.step(input);
      } catch (err) {
        // Typed errors never carry keys, passwords or plaintext (lib/errors.ts); first line only.
        ex.error = (err instanceof SpnegoError || err instanceof Error ? err.message : String(err)).split('\n')[0];
        throw err;
      }
      if (out) push(ctx.role, out);
      return out;
    };
    const proxy = new Proxy(ctx, {
      get(target, prop) {
        if (prop === 'step') return step;
        const v: unknown = Reflect.get(target, prop, target);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    this.#byContext.set(proxy, ex);
    return proxy;
  }

  /** The exchange of a context this recorder watches. */
  exchangeOf(ctx: SecurityContext): RecordedExchange | undefined {
    return this.#byContext.get(ctx);
  }

  /**
   * Adds a per-message token (wrap/MIC) to a watched context's exchange, e.g. the first protected
   * message; it goes in the capture as an HTTP body. Nothing is added unless asked: per-message
   * tokens carry application data (in clear when not sealed).
   */
  add(ctx: SecurityContext, from: Side, token: Uint8Array): void {
    const ex = this.#byContext.get(ctx);
    if (!ex) throw new UsageError('recorder.add() takes a context made with this recorder (the `recorder` option or recorder.watch())');
    ex.tokens.push({ from, token: Uint8Array.from(token), time: new Date(), kind: 'wrap' });
  }

  /** The HTTP messages of one exchange, as RFC 4559 frames the tokens. */
  httpMessages(ex: RecordedExchange): TcpMessage[] {
    const host = this.#opts.host ?? 'web.spnego.capture';
    const path = this.#opts.path ?? '/';
    const msgs: TcpMessage[] = [];
    const text = (from: 'client' | 'server', head: string[], time: Date, body: Uint8Array = new Uint8Array(0)) => {
      const h = utf8.encode(head.join(CRLF) + CRLF + CRLF);
      const data = new Uint8Array(h.length + body.length);
      data.set(h);
      data.set(body, h.length);
      msgs.push({ from, data, time });
    };
    const b64 = (t: Uint8Array) => Buffer.from(t).toString('base64');
    const t = ex.tokens;
    for (let n = 0; n < t.length; n++) {
      const tok = t[n]!;
      const next = t[n + 1];
      const answered = next && next.from === 'acceptor' && next.kind === tok.kind ? next : undefined;
      if (tok.from === 'acceptor') {
        // An acceptor token with no request before it (not RFC 4559's order): framed as an answer to a bare GET.
        text('client', [`GET ${path} HTTP/1.1`, `Host: ${host}`], tok.time);
        text('server', ['HTTP/1.1 401 Unauthorized', `WWW-Authenticate: Negotiate ${b64(tok.token)}`, 'Content-Length: 0'], tok.time);
        continue;
      }
      if (answered) n++;
      const respTime = answered?.time ?? tok.time;
      if (tok.kind === 'wrap') {
        text('client', [`POST ${path} HTTP/1.1`, `Host: ${host}`, 'Content-Type: application/octet-stream', `Content-Length: ${tok.token.length}`], tok.time, tok.token);
        if (answered) text('server', ['HTTP/1.1 200 OK', 'Content-Type: application/octet-stream', `Content-Length: ${answered.token.length}`], respTime, answered.token);
        else text('server', ['HTTP/1.1 204 No Content'], respTime);
        continue;
      }
      text('client', [`GET ${path} HTTP/1.1`, `Host: ${host}`, `Authorization: Negotiate ${b64(tok.token)}`], tok.time);
      // RFC 4559 4.2: 401 while the client has more to send (or after a failure), 200 when done.
      const more = t.slice(n + 1).some((x) => x.from === 'initiator' && x.kind === 'negotiate');
      const failed = !more && ex.error !== undefined;
      const status = more || failed ? 'HTTP/1.1 401 Unauthorized' : 'HTTP/1.1 200 OK';
      const auth = answered ? [`WWW-Authenticate: Negotiate ${b64(answered.token)}`] : failed ? ['WWW-Authenticate: Negotiate'] : [];
      text('server', [status, ...auth, 'Content-Length: 0'], respTime);
    }
    return msgs;
  }

  /** The TCP streams, one per exchange with tokens: the n-th (from 0) from 127.0.1.(n+2), port 49152+n, to 127.0.0.1:80. */
  streams(): TcpStream[] {
    return this.exchanges.filter((ex) => ex.tokens.length).map((ex, n) => ({
      client: { address: `127.0.${1 + Math.floor((n + 1) / 250)}.${1 + ((n + 1) % 250)}`, port: 49152 + (n % 16000) },
      server: { address: '127.0.0.1', port: 80 },
      messages: this.httpMessages(ex),
    }));
  }

  /** The capture: a classic pcap file (LINKTYPE_IPV4). */
  toPcap(): Uint8Array {
    return pcapFile(this.streams(), { mss: this.#opts.mss ?? DEFAULT_MSS });
  }

  writePcap(file: string): void {
    writeFileSync(file, this.toPcap());
  }
}
