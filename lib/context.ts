/**
 * The one security-context interface both backends implement (native over GSSAPI/SSPI, pure
 * TypeScript), and the options users pass to createInitiator / createAcceptor.
 * See docs/ARCHITECTURE.md "Public API".
 */
import type { ChannelBindings } from './krb5/gss/channel-bindings.js';
import type { Credential } from './credentials.js';

export type Backend = 'native' | 'pure';
export type BackendChoice = Backend | 'auto';
export type MechChoice = 'spnego' | 'kerberos';

/** GSS request/return flags (RFC 2743 section 2.2.1), one boolean each. */
export interface ContextFlags {
  delegate?: boolean;
  mutual?: boolean;
  replay?: boolean;
  sequence?: boolean;
  confidentiality?: boolean;
  integrity?: boolean;
  /** Acceptor, returned only: the initiator's channel bindings matched the acceptor's (GSS_C_CHANNEL_BOUND_FLAG). */
  channelBound?: boolean;
}

export type Credentials =
  | { ccache: string }
  | { principal: string; password: string }
  | { principal: string; keytab: string };

/** Channel bindings: the RFC 5929 tls-server-end-point of a certificate, or raw application data. */
export type ChannelBindingsOption = { tlsServerEndPoint: Uint8Array } | Uint8Array | ChannelBindings;

export interface SpnegoOptions {
  /** Mechanisms offered, in preference order. Default ['ms-krb5', 'krb5']. */
  mechs?: string[];
  /**
   * Acceptor policy. 'rfc4178': MIC exchanged when RFC 4178 section 5 requires it (or the peer sends one).
   * 'always': the Windows behaviour with AES: the acceptor always sends its MIC with accept-incomplete
   * and requires the initiator's.
   */
  mechListMIC?: 'rfc4178' | 'always';
}

export interface CommonOptions {
  backend?: BackendChoice;
  mech?: MechChoice;
  channelBindings?: ChannelBindingsOption;
  spnego?: SpnegoOptions;
  /** Native only: 'mit' | 'heimdal' | a path to the GSSAPI library (default env SPNEGO_GSSAPI_LIBRARY, then MIT). */
  gssapiLibrary?: string;
  /** Accept rc4-hmac (RFC 4757). Off by default (RFC 8429). */
  allowWeakCrypto?: boolean;
  /** Records the context's tokens (e.g. a NegotiationRecorder from 'spnego/capture', for a pcap). */
  recorder?: TokenRecorder;
}

/** What the `recorder` option takes: something that wraps a context to watch its tokens (lib/capture). */
export interface TokenRecorder {
  watch<T extends SecurityContext>(ctx: T): T;
}

export interface InitiatorOptions extends CommonOptions {
  /** 'HTTP@host' (host-based service) or 'HTTP/host@REALM' (principal). */
  target: string;
  /** A credential object from acquireCredentials({ usage: 'initiate' }) (reused: no KDC request for a target it has a ticket for), or a form acquired for this context alone. */
  credentials?: Credentials | Credential;
  flags?: ContextFlags;
  /** Pure only: path to krb5.conf (default env KRB5_CONFIG, then /etc/krb5.conf). */
  krb5Config?: string;
}

export interface AcceptorOptions extends CommonOptions {
  /** A credential object from acquireCredentials({ usage: 'accept' }); then keytab/principal/delegatedCcache come from it. */
  credentials?: Credential;
  /** Keytab path (FILE:/path or a bare path). Default env KRB5_KTNAME, then the library default. */
  keytab?: string;
  /** Accept only this service principal (default: any principal in the keytab). */
  principal?: string;
  /** Where delegated credentials are written (a ccache name), when the initiator delegates. */
  delegatedCcache?: string;
  /**
   * With channelBindings: accept an initiator that sent none (all zeros), as MIT does; matching
   * bindings then show as info.flags.channelBound. Pure only: the native backend (MIT) always
   * accepts a token without bindings, so check flags.channelBound to require them there. Default false.
   */
  allowMissingChannelBindings?: boolean;
}

export interface PacInfo {
  userSid: string;
  groupSids: string[];
  logonName: string;
  domainName: string;
  upn?: string;
}

export interface ContextInfo {
  backend: Backend;
  /** Negotiated mechanism OID (dotted), once known. */
  mech?: string;
  initiatorName?: string;
  acceptorName?: string;
  /** Flags granted (return flags). */
  flags: ContextFlags;
  expiresAt?: Date;
  sessionKey?: { enctype: number; key: Uint8Array };
  spnego?: { mechTypes: Uint8Array; micSent?: Uint8Array; micReceived?: Uint8Array };
  pac?: PacInfo;
  /** Native only: the library that ran (e.g. 'MIT 1.20.1'). */
  library?: string;
}

export interface WrapResult {
  message: Uint8Array;
  encrypted: boolean;
}

export interface SecurityContext {
  readonly role: 'initiator' | 'acceptor';
  readonly complete: boolean;
  readonly info: ContextInfo;
  /**
   * One round of the context establishment. Returns the token for the peer, or undefined when
   * there is none to send. Never blocks the event loop; a second call while one runs throws UsageError.
   */
  step(input?: Uint8Array): Promise<Uint8Array | undefined>;
  getMIC(message: Uint8Array): Uint8Array;
  /** Throws GssError('GSS_S_BAD_MIC' | 'GSS_S_DUPLICATE_TOKEN' | ...) on failure. */
  verifyMIC(message: Uint8Array, token: Uint8Array): void;
  wrap(message: Uint8Array, opts?: { encrypt?: boolean }): Uint8Array;
  unwrap(token: Uint8Array): WrapResult;
  dispose(): void;
}
