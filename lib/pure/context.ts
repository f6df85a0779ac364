/**
 * The pure backend's SecurityContext: the Kerberos or NTLM mechanism, alone or under SPNEGO (which
 * may hold both and runs the one negotiated).
 * One step() at a time; per-message calls go to the established Kerberos session until the
 * ticket's end time plus the clock skew (then GSS_S_CONTEXT_EXPIRED). A step that fails (a bad
 * mechListMIC, a PAC that does not verify...) leaves the context failed for good (StepGate).
 */
import { GssError } from '../errors.js';
import { StepGate } from '../step-gate.js';
import type { ContextFlags, ContextInfo, SecurityContext, WrapResult } from '../context.js';
import { SpnegoAcceptor, SpnegoInitiator } from '../spnego/negotiator.js';
import { MechOid } from '../spnego/oids.js';
import { GssFlags } from '../krb5/gss/checksum.js';
import { Principal } from '../krb5/types.js';
import { Krb5AcceptorMech, Krb5InitiatorMech } from './krb5-mech.js';
import { NtlmAcceptorMech, NtlmInitiatorMech, ntlmDisplayName } from './ntlm-mech.js';

export function gssFlagsToOptions(f: number): ContextFlags {
  return {
    delegate: (f & GssFlags.deleg) !== 0,
    mutual: (f & GssFlags.mutual) !== 0,
    replay: (f & GssFlags.replay) !== 0,
    sequence: (f & GssFlags.sequence) !== 0,
    confidentiality: (f & GssFlags.conf) !== 0,
    integrity: (f & GssFlags.integ) !== 0,
    channelBound: (f & GssFlags.channelBound) !== 0,
  };
}

/** ContextFlags -> GssFlags bits; defaults as MIT's gss_init_sec_context callers use (mutual, replay, sequence, conf, integ). */
export function optionsToGssFlags(f: ContextFlags = {}): number {
  let v = 0;
  if (f.delegate) v |= GssFlags.deleg;
  if (f.mutual ?? true) v |= GssFlags.mutual;
  if (f.replay ?? true) v |= GssFlags.replay;
  if (f.sequence ?? true) v |= GssFlags.sequence;
  if (f.confidentiality ?? true) v |= GssFlags.conf;
  if (f.integrity ?? true) v |= GssFlags.integ;
  return v;
}

type Mech = Krb5InitiatorMech | Krb5AcceptorMech | NtlmInitiatorMech | NtlmAcceptorMech;

/** The mechanisms of one context: a lone mechanism is Kerberos. */
export type PureMechs = { krb5?: Krb5InitiatorMech | Krb5AcceptorMech; ntlm?: NtlmInitiatorMech | NtlmAcceptorMech };

/** The clock an established context's expiry is checked against (injectable for tests). */
export interface PureClock {
  now?: () => Date;
  /** Seconds (krb5.conf clockskew); default 300. */
  clockSkew?: number;
}

export class PureContext implements SecurityContext {
  private readonly gate = new StepGate();
  private readonly spnego?: SpnegoInitiator | SpnegoAcceptor;
  private readonly mechs: PureMechs;
  constructor(
    readonly role: 'initiator' | 'acceptor',
    mech: Mech | PureMechs,
    useSpnego: boolean,
    spnegoOpts: { mechs?: string[]; mechListMIC?: 'rfc4178' | 'always' } = {},
    private readonly clock: PureClock = {},
  ) {
    this.mechs = 'step' in mech ? (mech instanceof NtlmInitiatorMech || mech instanceof NtlmAcceptorMech ? { ntlm: mech } : { krb5: mech }) : mech;
    if (useSpnego) {
      this.spnego = role === 'initiator'
        ? new SpnegoInitiator(this.mechs, { mechs: spnegoOpts.mechs })
        : new SpnegoAcceptor(this.mechs, { mechs: spnegoOpts.mechs, mechListMIC: spnegoOpts.mechListMIC });
    } else if (Object.keys(this.mechs).length !== 1) {
      throw new GssError('GSS_S_BAD_MECH', 'a context without SPNEGO runs exactly one mechanism');
    }
  }

  /** The mechanism in use: the one SPNEGO negotiated (or started optimistically), else the only one. */
  private get mech(): Mech {
    const m = this.spnego ? this.spnego.mech : undefined;
    return (m as Mech | undefined) ?? this.mechs.krb5 ?? this.mechs.ntlm!;
  }

  get complete(): boolean {
    if (this.gate.failed) return false;
    return this.spnego ? this.spnego.complete : this.mech.complete;
  }

  /**
   * When the established context stops working: the ticket's end time plus the clock skew (the
   * acceptor accepts a ticket until then, RFC 4120 3.2.3). The acceptor reads it from the ticket
   * it decrypted, the initiator from its credential.
   */
  get expiresAt(): Date | undefined {
    const ms = this.expiresAtMs();
    return ms === undefined ? undefined : new Date(ms);
  }

  /** expiresAt in ms since the epoch: what every per-message call checks (no Date made there). */
  private expiresAtMs(): number | undefined {
    const m = this.mech;
    const end = m instanceof Krb5AcceptorMech ? m.accepted?.ticket.endtime : m instanceof Krb5InitiatorMech ? m.names?.ticketEndtime : undefined;
    return end && end.getTime() + (this.clock.clockSkew ?? 300) * 1000;
  }

  step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    return this.gate.run(this.complete, async () => {
      const out = this.spnego ? await this.spnego.step(input) : await this.mech.step(input);
      // Runs inside the gate: a throw here (a PAC that does not verify) leaves the context failed.
      if (this.complete) await this.mech.finish();
      return out;
    });
  }

  private session() {
    this.gate.check();
    if (!this.complete || !this.mech.session) throw new GssError('GSS_S_NO_CONTEXT', 'the security context is not complete');
    const exp = this.expiresAtMs();
    const now = this.clock.now ? this.clock.now().getTime() : Date.now();
    if (exp !== undefined && now > exp) {
      throw new GssError('GSS_S_CONTEXT_EXPIRED', `the context expired at ${new Date(exp).toISOString()} (its ticket's end time plus the clock skew): establish a new one with a fresh ticket`);
    }
    return this.mech.session;
  }

  getMIC(message: Uint8Array): Uint8Array {
    return this.session().getMIC(message);
  }
  verifyMIC(message: Uint8Array, token: Uint8Array): void {
    this.session().verifyMIC(message, token);
  }
  wrap(message: Uint8Array, opts: { encrypt?: boolean } = {}): Uint8Array {
    return this.session().wrap(message, opts.encrypt ?? true);
  }
  unwrap(token: Uint8Array): WrapResult {
    return this.session().unwrap(token);
  }

  get info(): ContextInfo {
    // A failed context vouches for nothing: no names, key, PAC or MICs.
    if (this.gate.failed) return { backend: 'pure', flags: gssFlagsToOptions(0) };
    const m = this.mech;
    const info: ContextInfo = {
      backend: 'pure',
      mech: this.spnego ? this.spnego.state?.chosenMech : m instanceof NtlmInitiatorMech || m instanceof NtlmAcceptorMech ? MechOid.ntlm : MechOid.krb5,
      flags: gssFlagsToOptions(m.flags),
    };
    if (m instanceof Krb5AcceptorMech || m instanceof Krb5InitiatorMech) {
      const s = m.session;
      if (s) info.sessionKey = { enctype: s.key.enctype, key: s.key.keyvalue };
    } else if (m.session) {
      // NTLM: the ExportedSessionKey (what gss-ntlmssp returns for GSS_C_INQ_SSPI_SESSION_KEY); no enctype.
      info.sessionKey = { enctype: 0, key: m.session.sessionKey };
    }
    if (m instanceof Krb5AcceptorMech && m.accepted) {
      const a = m.accepted;
      info.initiatorName = Principal.toString(a.client);
      info.acceptorName = Principal.toString(a.server);
    }
    if (m instanceof Krb5InitiatorMech && m.names) {
      info.initiatorName = m.names.initiatorName;
      info.acceptorName = m.names.acceptorName;
    }
    if (m instanceof NtlmAcceptorMech && m.complete && m.user) {
      info.initiatorName = ntlmDisplayName(m.user.user, m.user.domain);
      info.ntlm = { ...m.user };
    }
    if (m instanceof NtlmInitiatorMech && m.complete) {
      info.initiatorName = m.initiatorName;
      info.ntlm = { user: m.inner.user, domain: m.inner.domain };
    }
    const exp = this.expiresAt;
    if (exp) info.expiresAt = exp;
    if (this.spnego?.state) {
      const st = this.spnego.state;
      info.spnego = { mechTypes: st.mechTypesDer, micSent: st.micSent, micReceived: st.micReceived };
      if (st.fallbackReason) info.spnego.fallbackReason = st.fallbackReason;
    }
    if (m instanceof Krb5AcceptorMech && m.pac) info.pac = m.pac;
    return info;
  }

  dispose(): void {
    this.gate.disposed = true;
  }
}
