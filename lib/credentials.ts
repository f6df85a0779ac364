/**
 * Credentials as objects, acquired once and used by many contexts: what gss_acquire_cred (RFC 2743
 * 2.1.1) and SSPI's AcquireCredentialsHandle are to their contexts. A credential belongs to one
 * backend and one usage ('initiate' or 'accept'); createInitiator({ credentials: cred }) and
 * createAcceptor({ credentials: cred }) take it, and the HTTP middleware and fetch client acquire
 * one and reuse it for every request.
 *
 * This file holds the public types and the dispatch; the backends implement them in
 * lib/pure/credentials.ts and lib/native/credential.ts.
 */
import type { Backend, BackendChoice, Credentials } from './context.js';
import type { ReplayCache } from './krb5/replay-cache.js';

/** What a credential says about itself (RFC 2743 gss_inquire_cred: name, lifetime, usage). */
export interface CredentialInfo {
  usage: 'initiate' | 'accept';
  backend: Backend;
  /**
   * The principal: the client for 'initiate' (e.g. 'alice@EXAMPLE.TEST'); for 'accept' the one service
   * principal it is restricted to, or undefined when it accepts any principal of its keytab.
   */
  principal?: string;
  /** When the initiator's TGT (or the ccache's) ends; undefined for an acceptor (keys do not expire). */
  expiresAt?: Date;
  /** Native only: the library that holds the credential (e.g. 'MIT 1.20.1'). */
  library?: string;
}

interface AcquireCommon {
  backend?: BackendChoice;
  /** Pure only: krb5.conf path (default env KRB5_CONFIG, then /etc/krb5.conf). */
  krb5Config?: string;
  /** Native only: 'mit' | 'heimdal' | a path (default env SPNEGO_GSSAPI_LIBRARY, then MIT). */
  gssapiLibrary?: string;
  /** Accept rc4-hmac (RFC 4757). Off by default (RFC 8429). */
  allowWeakCrypto?: boolean;
}

export interface InitiateCredentialOptions extends AcquireCommon {
  usage: 'initiate';
  /** A ccache, a password or a client keytab; default: KRB5CCNAME / the default ccache. */
  credentials?: Credentials;
  /**
   * Pure only: how long one KDC attempt (one KDC, one transport) waits for a reply, in ms.
   * Overrides krb5.conf's kdc_timeout (Heimdal's setting); default 3000.
   */
  kdcTimeoutMs?: number;
  /**
   * Pure only: the most one KDC request may take over all its KDCs and transports, in ms; the
   * attempt in flight at the deadline is abandoned. Overrides krb5.conf's request_timeout (MIT
   * 1.22); 0 or unset there: no total beyond the attempts' own timeouts.
   */
  requestTimeoutMs?: number;
}

export interface AcceptCredentialOptions extends AcquireCommon {
  usage: 'accept';
  /** Keytab path (FILE:/path or a bare path). Default env KRB5_KTNAME, then krb5.conf's default_keytab_name. */
  keytab?: string;
  /** Accept only this service principal (default: any principal in the keytab). */
  principal?: string;
  /**
   * Pure only: where authenticators are remembered (RFC 4120 3.2.3). Default: the process's
   * in-memory cache for the service principal, shared by every credential and every
   * createAcceptor call for that principal (as MIT shares its rcache file).
   */
  replayCache?: ReplayCache;
  /** Where delegated credentials are written (a ccache name), when an initiator delegates. */
  delegatedCcache?: string;
  /**
   * Pure only: at most this many ms of one event-loop turn go to this credential's handshakes
   * (decrypting AP-REQs, building AP-REPs); past it the others wait for the next turn (setImmediate),
   * in order, so timers and other sockets run in between under a flood of handshakes
   * (lib/util/turns.ts). Default: one 10 ms budget shared by every pure accept credential of the
   * process; 0: no yielding (each handshake runs as soon as its bytes are read).
   */
  turnBudgetMs?: number;
}

export type AcquireCredentialsOptions = InitiateCredentialOptions | AcceptCredentialOptions;

/**
 * The options only the pure backend honours, per usage, with why the native library cannot. With
 * backend 'auto' any of them given picks pure (lib/api.ts, as the ntlm option does); backend
 * 'native' refuses each with this reason (lib/native/credential.ts), never ignores it.
 */
const KDC_TIMEOUTS_WHY = 'the native library takes its KDC timeouts from the krb5.conf it reads (KRB5_CONFIG; MIT 1.22: request_timeout), for the whole process';
const PURE_ONLY = {
  initiate: { kdcTimeoutMs: KDC_TIMEOUTS_WHY, requestTimeoutMs: KDC_TIMEOUTS_WHY },
  accept: {
    replayCache: 'the native library keeps its own replay cache (KRB5RCACHEDIR)',
    turnBudgetMs: "the native library's calls run on the libuv thread pool, outside the event loop",
  },
} as const;

/** The pure-only options given in `o`, each with why the native library cannot honour it. */
export function pureOnlyOptions(o: AcquireCredentialsOptions): { option: string; why: string }[] {
  const table: Record<string, string> = PURE_ONLY[o.usage] ?? {};
  return Object.entries(table).filter(([k]) => (o as unknown as Record<string, unknown>)[k] !== undefined).map(([option, why]) => ({ option, why }));
}

/** A credential handle. Contexts made from it keep working until they end, even after dispose(). */
export interface Credential {
  readonly usage: 'initiate' | 'accept';
  readonly backend: Backend;
  readonly info: CredentialInfo;
  /** True once dispose() ran: new contexts from it are refused with UsageError. */
  readonly disposed: boolean;
  /** Frees the native handle, stops watching the keytab, drops cached tickets. Idempotent. */
  dispose(): void;
}

/** Whether a value is a Credential (as opposed to the `Credentials` option forms). */
export function isCredential(x: unknown): x is Credential {
  return typeof x === 'object' && x !== null && 'usage' in x && 'backend' in x && typeof (x as Credential).dispose === 'function';
}
