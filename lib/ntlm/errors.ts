/**
 * The NTLM refusals, each its own class (all GssError, so callers can switch on `major` as for
 * Kerberos, or on the class / `reason` for the exact cause). Messages never carry keys or hashes.
 */
import { GssError, type GssMajorName } from '../errors.js';

export type NtlmRefusal =
  | 'downgrade' | 'bad-credentials' | 'unknown-user' | 'mic-mismatch' | 'mic-missing' | 'channel-bindings'
  | 'target-name' | 'replay' | 'skew' | 'anonymous' | 'protocol';

export class NtlmError extends GssError {
  readonly reason: NtlmRefusal;
  constructor(reason: NtlmRefusal, major: GssMajorName, message: string) {
    super(major, message);
    this.name = 'NtlmError';
    this.reason = reason;
  }
}

/** The peer asked for LM, NTLMv1, or NTLM without extended session security: never done here. */
export class NtlmDowngradeError extends NtlmError {
  constructor(message: string) {
    super('downgrade', 'GSS_S_UNAVAILABLE', `${message}; only NTLMv2 with extended session security is supported (LM and NTLMv1 are refused)`);
    this.name = 'NtlmDowngradeError';
  }
}

/** NTProofStr did not verify: wrong password (or NT hash) for that user and domain, or an altered response. */
export class NtlmBadCredentialsError extends NtlmError {
  constructor(message = 'the NTLMv2 response does not verify: wrong password for this user and domain, or the message was altered in transit') {
    super('bad-credentials', 'GSS_S_DEFECTIVE_CREDENTIAL', message);
    this.name = 'NtlmBadCredentialsError';
  }
}

/** The user store knows no such user in that domain. */
export class NtlmUnknownUserError extends NtlmError {
  constructor() {
    super('unknown-user', 'GSS_S_NO_CRED', 'the user store has no NT hash for this user and domain');
    this.name = 'NtlmUnknownUserError';
  }
}

/** The AUTHENTICATE_MESSAGE MIC does not match the three messages: one of them was tampered with. */
export class NtlmMicError extends NtlmError {
  constructor() {
    super('mic-mismatch', 'GSS_S_BAD_MIC', 'the AUTHENTICATE_MESSAGE MIC does not verify: the NEGOTIATE, CHALLENGE or AUTHENTICATE message was altered');
    this.name = 'NtlmMicError';
  }
}

/** MsvAvFlags says a MIC is present (or the acceptor requires one) but the message has none. */
export class NtlmMissingMicError extends NtlmError {
  constructor(message: string) {
    super('mic-missing', 'GSS_S_DEFECTIVE_TOKEN', message);
    this.name = 'NtlmMissingMicError';
  }
}

/** MsvAvChannelBindings does not match the acceptor's channel bindings (Extended Protection). */
export class NtlmChannelBindingsError extends NtlmError {
  constructor(message: string) {
    super('channel-bindings', 'GSS_S_BAD_BINDINGS', message);
    this.name = 'NtlmChannelBindingsError';
  }
}

/** MsvAvTargetName (the SPN the client meant) is not this acceptor's. */
export class NtlmTargetNameError extends NtlmError {
  constructor(message: string) {
    super('target-name', 'GSS_S_BAD_NAME', message);
    this.name = 'NtlmTargetNameError';
  }
}

/** An AUTHENTICATE_MESSAGE for a server challenge already answered (or never issued here). */
export class NtlmReplayError extends NtlmError {
  constructor(message: string) {
    super('replay', 'GSS_S_DUPLICATE_TOKEN', message);
    this.name = 'NtlmReplayError';
  }
}

/** The NTLMv2 response's timestamp is outside the allowed clock skew. */
export class NtlmSkewError extends NtlmError {
  constructor(message: string) {
    super('skew', 'GSS_S_CONTEXT_EXPIRED', message);
    this.name = 'NtlmSkewError';
  }
}
