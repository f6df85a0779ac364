/**
 * The one security-context interface both backends implement (native over GSSAPI/SSPI, pure
 * TypeScript), and the options users pass to createInitiator / createAcceptor.
 * See docs/ARCHITECTURE.md "Public API".
 */
import type { ChannelBindings } from './krb5/gss/channel-bindings.js';
import type { Credential } from './credentials.js';
import type { ReplayCache } from './krb5/replay-cache.js';
import type { NtlmUserStore } from './ntlm/users.js';

export type Backend = 'native' | 'pure';
export type BackendChoice = Backend | 'auto';
/** 'ntlm': raw NTLMSSP messages without SPNEGO (HTTP `WWW-Authenticate: NTLM`); pure backend only. */
export type MechChoice = 'spnego' | 'kerberos' | 'ntlm';

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

/**
 * NTLM (MS-NLMP, NTLMv2 only) for an initiator, pure backend: offered after Kerberos under SPNEGO,
 * and used first when Kerberos cannot start (no ticket obtainable, no KDC in reach, a target given
 * as an IP address), as Windows' Negotiate does.
 */
export interface NtlmInitiatorSettings {
  /**
   * NTLM's own credentials; default: `credentials` when it is { principal, password }. The
   * principal is 'user@DOMAIN' or 'DOMAIN\\user'; ntHash is the 16-byte MD4 of the UTF-16LE password.
   */
  credentials?: { principal: string; password: string } | { principal: string; ntHash: Uint8Array };
  /** The workstation name sent in the AUTHENTICATE_MESSAGE (default none). */
  workstation?: string;
}

/** NTLM for an acceptor, pure backend: validated against the application's user store (no domain controller). */
export interface NtlmAcceptorSettings {
  /** (user, domain) => the user's 16-byte NT hash, or undefined for an unknown user. */
  users?: NtlmUserStore;
  /** Or a file in either format gss-ntlmssp reads from NTLM_USER_FILE (DOMAIN:USER:PASSWORD, smbpasswd). */
  userFile?: string;
  /** Our SPN (e.g. 'HTTP/www.example.test'): a client's MsvAvTargetName must name it. Default: from `principal`, when given. */
  targetName?: string;
  /** Refuse clients that send no MsvAvTargetName. Default false. */
  requireTargetName?: boolean;
  /** With channelBindings: accept a client that sends none. Default false. */
  allowMissingChannelBindings?: boolean;
  /** NetBIOS domain name in the CHALLENGE (default WORKGROUP). */
  domain?: string;
  /** Server challenges and NTProofStrs seen (default: the process's NTLM cache). */
  replayCache?: ReplayCache;
}

export interface InitiatorOptions extends CommonOptions {
  /** 'HTTP@host' (host-based service) or 'HTTP/host@REALM' (principal). */
  target: string;
  /** A credential object from acquireCredentials({ usage: 'initiate' }) (reused: no KDC request for a target it has a ticket for), or a form acquired for this context alone. */
  credentials?: Credentials | Credential;
  flags?: ContextFlags;
  /** Pure only: path to krb5.conf (default env KRB5_CONFIG, then /etc/krb5.conf). */
  krb5Config?: string;
  /** Pure only: NTLM as the fallback mechanism (true: with `credentials`' password). */
  ntlm?: boolean | NtlmInitiatorSettings;
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
  /**
   * Pure only: accept NTLM too, against this user store. Kerberos stays on (and is chosen when the
   * initiator lists it first) unless spnego.mechs lists no Kerberos OID: e.g. { mechs: ['ntlm'] }
   * for a server without a keytab.
   */
  ntlm?: NtlmAcceptorSettings;
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
  /** fallbackReason (pure initiator): why Kerberos could not start, when NTLM was offered alone instead. */
  spnego?: { mechTypes: Uint8Array; micSent?: Uint8Array; micReceived?: Uint8Array; fallbackReason?: string };
  pac?: PacInfo;
  /**
   * NTLM contexts: the user and domain of the AUTHENTICATE_MESSAGE (the acceptor's are verified
   * against its user store), and the client's workstation name (acceptor). initiatorName is then
   * 'DOMAIN\\user' (gss-ntlmssp's display form), or 'user' when the domain is empty.
   */
  ntlm?: { user: string; domain: string; workstation?: string };
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
