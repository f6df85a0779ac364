/**
 * Sans-I/O SASL client for the mechanisms GSSAPI (RFC 4752) and GSS-SPNEGO (MS-SPNG carried in
 * SASL, as Active Directory and Samba offer it), over a SecurityContext of either backend.
 *
 * The caller carries the bytes (an LDAP BindRequest's sasl credentials, ...):
 *   const sasl = new SaslClient({ mechanism: 'GSS-SPNEGO', context, layer: 'confidentiality' });
 *   let creds = await sasl.start();
 *   while (server says "in progress")  creds = await sasl.step(serverCreds);
 *   on success:                        await sasl.finish(serverCreds);
 *   then wrap the socket:              new SaslStream(socket, sasl.framing())
 */
import { DecodeError, SpnegoError, UsageError } from '../errors.js';
import type { ContextFlags, InitiatorOptions, SecurityContext } from '../context.js';
import { createInitiator } from '../api.js';
import { SaslFraming } from './framing.js';

export type SaslMechanism = 'GSSAPI' | 'GSS-SPNEGO';
/** The SASL security layer: none, integrity (signed frames) or confidentiality (sealed frames). */
export type SecurityLayer = 'none' | 'integrity' | 'confidentiality';

/** A SASL exchange that cannot go on (wrong offer, layer refused, step out of order). */
export class SaslError extends SpnegoError {
  constructor(code: string, message: string) {
    super(code, message);
    this.name = 'SaslError';
  }
}

/** RFC 4752 section 3.3: the security-layer bit mask. */
export const LAYER_BIT = { none: 1, integrity: 2, confidentiality: 4 } as const;
/** The largest max-buffer a 3-octet field can state (RFC 4752 section 3.3). */
export const MAX_BUFFER_LIMIT = 0xffffff;

export interface SaslClientOptions {
  mechanism: SaslMechanism;
  /** An initiator: mech 'kerberos' for GSSAPI, 'spnego' for GSS-SPNEGO (see saslInitiatorOptions). */
  context: SecurityContext;
  /** The layer required (default 'confidentiality'). A server that offers less fails the bind. */
  layer?: SecurityLayer;
  /** RFC 4752: the authorization identity sent with the layer choice (default: none, act as the authenticated user). */
  authzid?: string;
  /** The largest frame (Wrap token) we accept, stated to the server (GSSAPI) and enforced (default 0xffffff). */
  maxReceive?: number;
  /**
   * GSS-SPNEGO has no max-buffer negotiation: the largest Wrap token we send (default 0xffffff,
   * what Samba's and Windows' LDAP servers accept).
   */
  maxSend?: number;
  /**
   * The bind runs inside TLS (LDAPS, StartTLS): the layer must be 'none' (MS-ADTS 5.1.2.1: no SASL
   * layer inside TLS) and none is installed after the bind whatever flags the context was granted.
   * Create the context with saslInitiatorOptions(mechanism, 'none') and tls-server-end-point bindings.
   */
  tls?: boolean;
}

/** The createInitiator options a SASL mechanism and layer need: merge them into yours. */
export function saslInitiatorOptions(mechanism: SaslMechanism, layer: SecurityLayer = 'confidentiality'): Pick<InitiatorOptions, 'mech' | 'flags'> {
  checkMechanism(mechanism);
  checkLayer(layer);
  // The 0x8003 checksum carries these flags: a DC requiring signing looks for INTEG there. With
  // GSSAPI the layer is chosen later (RFC 4752 3.1), so both are asked for whenever a layer is wanted;
  // with GSS-SPNEGO the flags ARE the layer (Samba's gensec and Windows seal when CONF is granted).
  const wantConf = layer === 'confidentiality' || (mechanism === 'GSSAPI' && layer !== 'none');
  const flags: ContextFlags = { mutual: true, sequence: true, replay: true, integrity: layer !== 'none', confidentiality: wantConf };
  return { mech: mechanism === 'GSSAPI' ? 'kerberos' : 'spnego', flags };
}

/** createInitiator with the mech and flags the SASL mechanism and layer need. */
export function createSaslInitiator(mechanism: SaslMechanism, layer: SecurityLayer, opts: InitiatorOptions): SecurityContext {
  const need = saslInitiatorOptions(mechanism, layer);
  return createInitiator({ ...opts, ...need, flags: { ...opts.flags, ...need.flags } });
}

function checkMechanism(m: unknown): asserts m is SaslMechanism {
  if (m !== 'GSSAPI' && m !== 'GSS-SPNEGO') throw new UsageError(`SASL mechanism must be 'GSSAPI' or 'GSS-SPNEGO', not '${String(m)}'`);
}
function checkLayer(l: unknown): asserts l is SecurityLayer {
  if (l !== 'none' && l !== 'integrity' && l !== 'confidentiality') throw new UsageError(`SASL layer must be 'none', 'integrity' or 'confidentiality', not '${String(l)}'`);
}
function checkBuffer(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > MAX_BUFFER_LIMIT) throw new UsageError(`${name} must be an integer in 1..${MAX_BUFFER_LIMIT}`);
}

type State = 'new' | 'context' | 'layer-offer' | 'layer-sent' | 'done' | 'failed';

const EMPTY = new Uint8Array(0);

export class SaslClient {
  readonly mechanism: SaslMechanism;
  readonly context: SecurityContext;
  /** The layer asked for. */
  readonly wanted: SecurityLayer;
  private readonly authzid: string | undefined;
  private readonly maxReceive: number;
  private readonly maxSendDefault: number;
  private readonly tls: boolean;
  private state: State = 'new';
  private negotiated: SecurityLayer | undefined;
  private peerMax = 0;

  constructor(o: SaslClientOptions) {
    if (!o || typeof o !== 'object') throw new UsageError('SaslClient needs { mechanism, context }');
    checkMechanism(o.mechanism);
    if (!o.context || o.context.role !== 'initiator') throw new UsageError('SaslClient needs an initiator context (createSaslInitiator)');
    this.mechanism = o.mechanism;
    this.context = o.context;
    this.wanted = o.layer ?? 'confidentiality';
    checkLayer(this.wanted);
    this.authzid = o.authzid;
    this.maxReceive = o.maxReceive ?? MAX_BUFFER_LIMIT;
    checkBuffer('maxReceive', this.maxReceive);
    this.maxSendDefault = o.maxSend ?? MAX_BUFFER_LIMIT;
    checkBuffer('maxSend', this.maxSendDefault);
    this.tls = o.tls === true;
    if (this.tls && this.wanted !== 'none') throw new UsageError('inside TLS the SASL layer must be none (MS-ADTS 5.1.2.1)');
  }

  /** True once the bind is over on our side (finish() succeeded). */
  get complete(): boolean { return this.state === 'done'; }
  /** The layer in force after the bind. */
  get layer(): SecurityLayer | undefined { return this.negotiated; }
  /** The largest Wrap token the server accepts (RFC 4752 offer, or maxSend for GSS-SPNEGO). */
  get peerMaxBuffer(): number { return this.peerMax; }

  /** The initial response (the first context token), sent with the first BindRequest. */
  async start(): Promise<Uint8Array> {
    if (this.state !== 'new') throw new UsageError('SaslClient.start() may be called once, first');
    return this.guard(async () => {
      this.state = 'context';
      return (await this.context.step()) ?? EMPTY;
    });
  }

  /** The response to a server challenge (serverSaslCreds of a "SASL bind in progress" answer). */
  async step(challenge: Uint8Array | undefined): Promise<Uint8Array> {
    return this.guard(async () => {
      if (this.state === 'context') {
        if (!this.context.complete) {
          const out = await this.context.step(challenge ?? EMPTY);
          if (this.context.complete && this.mechanism === 'GSSAPI') this.state = 'layer-offer';
          return out ?? EMPTY;
        }
        if (this.mechanism === 'GSSAPI') {
          this.state = 'layer-offer';
        } else {
          throw new SaslError('ERR_SASL_STATE', 'the server asked for another GSS-SPNEGO round after the context was established: it is not a SASL peer this client understands');
        }
      }
      if (this.state === 'layer-offer') {
        // RFC 4752 3.1: with the context established the server sends a wrapped 4-octet offer; an empty
        // challenge here is the round where the client's last context token was consumed.
        if (!challenge || challenge.length === 0) throw new SaslError('ERR_SASL_OFFER', 'the server sent no security-layer offer after the GSSAPI context was established (RFC 4752 3.1)');
        return this.answerOffer(challenge);
      }
      throw new SaslError('ERR_SASL_STATE', `unexpected server challenge in state ${this.state}`);
    });
  }

  /**
   * The server said the bind succeeded: feed it its final credentials (if any). Throws when our
   * side is not done, or when the layer in force is not the one wanted.
   */
  async finish(serverCreds?: Uint8Array): Promise<void> {
    return this.guard(async () => {
      if (this.state === 'context' && !this.context.complete) {
        const out = await this.context.step(serverCreds ?? EMPTY);
        if (out && out.length) throw new SaslError('ERR_SASL_STATE', 'the server ended the bind while the context still had a token to send');
      } else if (serverCreds && serverCreds.length) {
        throw new SaslError('ERR_SASL_STATE', 'the server sent credentials with its success after the exchange was over');
      }
      if (!this.context.complete) throw new SaslError('ERR_SASL_STATE', 'the server reported success before the security context was established: refusing to trust the connection');
      if (this.mechanism === 'GSSAPI') {
        if (this.state !== 'layer-sent') throw new SaslError('ERR_SASL_STATE', 'the server reported success before the RFC 4752 security-layer negotiation');
      } else {
        // MS-ADTS 5.1.2.1: inside TLS the flags are asked for but no GSS-SPNEGO layer is installed.
        this.negotiated = this.tls ? 'none' : layerFromFlags(this.context.info.flags);
        if (rank(this.negotiated) < rank(this.wanted)) {
          throw new SaslError('ERR_SASL_LAYER', `the context grants ${this.negotiated} but ${this.wanted} was required: ask createInitiator for the flags of saslInitiatorOptions()`);
        }
        this.peerMax = this.negotiated === 'none' ? 0 : this.maxSendDefault;
      }
      this.state = 'done';
    });
  }

  /** The framing of the layer in force (sans-I/O); SaslStream wraps a socket with it. */
  framing(): SaslFraming {
    if (this.state !== 'done' || !this.negotiated) throw new UsageError('framing() is available once finish() succeeded');
    if (this.negotiated === 'none') throw new UsageError('no security layer was negotiated: use the socket as it is');
    return new SaslFraming(this.context, { confidentiality: this.negotiated === 'confidentiality', maxSend: this.peerMax, maxReceive: this.maxReceive });
  }

  private answerOffer(challenge: Uint8Array): Uint8Array {
    const { message } = this.context.unwrap(challenge);
    // RFC 4752 3.1: the offer is exactly four octets: layer bit mask, then the 3-octet max buffer.
    if (message.length !== 4) throw new DecodeError('SASL.GSSAPI.offer', `the security-layer offer is ${message.length} octets, not 4`);
    const offered = message[0]!;
    const max = (message[1]! << 16) | (message[2]! << 8) | message[3]!;
    const chosen = this.choose(offered);
    if (chosen !== 'none' && max === 0) throw new SaslError('ERR_SASL_OFFER', 'the server offers a security layer with a max buffer of 0');
    this.negotiated = chosen;
    this.peerMax = chosen === 'none' ? 0 : max;
    const authz = new TextEncoder().encode(this.authzid ?? '');
    const reply = new Uint8Array(4 + authz.length);
    reply[0] = LAYER_BIT[chosen];
    // RFC 4752 3.1: with no layer the client's max buffer is 0.
    const ourMax = chosen === 'none' ? 0 : this.maxReceive;
    reply[1] = (ourMax >>> 16) & 0xff;
    reply[2] = (ourMax >>> 8) & 0xff;
    reply[3] = ourMax & 0xff;
    reply.set(authz, 4);
    this.state = 'layer-sent';
    // RFC 4752 3.1: wrapped with conf_flag FALSE.
    return this.context.wrap(reply, { encrypt: false });
  }

  /** The wanted layer if offered, else the next stronger one offered; never a weaker one. */
  private choose(offered: number): SecurityLayer {
    if (offered === 0 || offered > 7) throw new SaslError('ERR_SASL_OFFER', `the server's security-layer bit mask 0x${offered.toString(16)} is not an RFC 4752 offer`);
    if (this.tls) {
      // MS-ADTS 5.1.2.1: no SASL layer inside TLS; a server that insists on one is not followed.
      if (offered & LAYER_BIT.none) return 'none';
      throw new SaslError('ERR_SASL_LAYER', `inside TLS only "no security layer" may be chosen, and the server offers 0x${offered.toString(16)}`);
    }
    for (const l of ['none', 'integrity', 'confidentiality'] as const) {
      if (rank(l) < rank(this.wanted) || !(offered & LAYER_BIT[l])) continue;
      if (l !== 'none' && !this.context.info.flags[l]) continue; // not granted by the context
      return l;
    }
    throw new SaslError('ERR_SASL_LAYER', `the server offers no ${this.wanted} layer (offer 0x${offered.toString(16)}): refusing a weaker connection`);
  }

  /** Fail closed: after any error the exchange is over. */
  private async guard<T>(f: () => Promise<T>): Promise<T> {
    if (this.state === 'failed') throw new UsageError('this SASL exchange failed earlier: start a new one with a new context');
    if (this.state === 'done') throw new UsageError('this SASL exchange is complete');
    try {
      return await f();
    } catch (e) {
      this.state = 'failed';
      throw e;
    }
  }
}

function rank(l: SecurityLayer): number {
  return l === 'none' ? 0 : l === 'integrity' ? 1 : 2;
}

function layerFromFlags(f: ContextFlags): SecurityLayer {
  return f.confidentiality ? 'confidentiality' : f.integrity ? 'integrity' : 'none';
}
