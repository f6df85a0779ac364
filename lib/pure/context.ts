/**
 * The pure backend's SecurityContext: the Kerberos mechanism, alone or under SPNEGO.
 * One step() at a time; per-message calls go to the established Kerberos session.
 */
import { GssError, UsageError } from '../errors.js';
import { StepGate } from '../step-gate.js';
import type { ContextFlags, ContextInfo, PacInfo, SecurityContext, WrapResult } from '../context.js';
import { SpnegoAcceptor, SpnegoInitiator } from '../spnego/negotiator.js';
import { MechOid } from '../spnego/oids.js';
import { GssFlags } from '../krb5/gss/checksum.js';
import { formatPrincipal } from '../krb5/types.js';
import type { Krb5AcceptorMech, Krb5InitiatorMech } from './krb5-mech.js';

export function gssFlagsToOptions(f: number): ContextFlags {
  return {
    delegate: (f & GssFlags.deleg) !== 0,
    mutual: (f & GssFlags.mutual) !== 0,
    replay: (f & GssFlags.replay) !== 0,
    sequence: (f & GssFlags.sequence) !== 0,
    confidentiality: (f & GssFlags.conf) !== 0,
    integrity: (f & GssFlags.integ) !== 0,
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

type Mech = Krb5InitiatorMech | Krb5AcceptorMech;

export class PureContext implements SecurityContext {
  private readonly gate = new StepGate();
  private readonly spnego?: SpnegoInitiator | SpnegoAcceptor;
  /** Set by the acceptor factory once the PAC is verified. */
  pac?: PacInfo;
  /** Called once when the context completes (the acceptor verifies the PAC, stores delegated creds). */
  onComplete?: () => Promise<void> | void;

  constructor(
    readonly role: 'initiator' | 'acceptor',
    private readonly mech: Mech,
    useSpnego: boolean,
    spnegoOpts: { mechs?: string[]; mechListMIC?: 'rfc4178' | 'always' } = {},
  ) {
    if (useSpnego) {
      this.spnego = role === 'initiator'
        ? new SpnegoInitiator(mech, { mechs: spnegoOpts.mechs })
        : new SpnegoAcceptor(mech, { mechs: spnegoOpts.mechs, mechListMIC: spnegoOpts.mechListMIC });
    }
  }

  get complete(): boolean {
    return this.spnego ? this.spnego.complete : this.mech.complete;
  }

  step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    return this.gate.run(this.complete, async () => {
      const out = this.spnego ? await this.spnego.step(input) : await this.mech.step(input);
      if (this.complete && this.onComplete) await this.onComplete();
      return out;
    });
  }

  private session() {
    if (this.gate.disposed) throw new UsageError('the context was disposed');
    if (!this.complete || !this.mech.session) throw new GssError('GSS_S_NO_CONTEXT', 'the security context is not complete');
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
    const s = this.mech.session;
    const info: ContextInfo = {
      backend: 'pure',
      mech: this.spnego ? this.spnego.state?.chosenMech : MechOid.krb5,
      flags: gssFlagsToOptions(this.mech.flags),
    };
    if (s) info.sessionKey = { enctype: s.key.enctype, key: s.key.keyvalue };
    if ('accepted' in this.mech && this.mech.accepted) {
      const a = this.mech.accepted;
      info.initiatorName = formatPrincipal({ ...a.client.name, realm: a.client.realm });
      info.acceptorName = formatPrincipal({ ...a.server.name, realm: a.server.realm });
      info.expiresAt = a.ticket.endtime;
    }
    if (this.names) Object.assign(info, this.names);
    if (this.spnego?.state) {
      const st = this.spnego.state;
      info.spnego = { mechTypes: st.mechTypesDer, micSent: st.micSent, micReceived: st.micReceived };
    }
    if (this.pac) info.pac = this.pac;
    return info;
  }

  /** Initiator names, set by the factory once the ticket is known. */
  names?: { initiatorName?: string; acceptorName?: string; expiresAt?: Date };

  dispose(): void {
    this.gate.disposed = true;
  }
}
