/**
 * The pure Kerberos mechanism as SPNEGO's InnerMech and as a plain GSS context: adapts
 * Krb5Initiator / Krb5Acceptor (which work on tickets and keys) to step() / getMIC / wrap.
 */
import { GssError } from '../errors.js';
import type { InnerMech } from '../spnego/negotiator.js';
import { Krb5Initiator, type Krb5InitiatorParams } from '../krb5/initiator.js';
import { Krb5Acceptor, type AcceptedContext, type Krb5AcceptorParams } from '../krb5/acceptor.js';
import type { Krb5Session } from '../krb5/session.js';
import { GssFlags } from '../krb5/gss/checksum.js';
import type { PacInfo } from '../context.js';
import type { PrincipalName } from '../krb5/types.js';

/** What the initiator knows once it has its ticket: the names and the ticket's end time. */
export interface InitiatorNames {
  initiatorName: string;
  acceptorName: string;
  ticketEndtime: Date;
}

abstract class Krb5MechBase implements InnerMech {
  session?: Krb5Session;
  abstract readonly complete: boolean;
  abstract step(input?: Uint8Array): Promise<Uint8Array | undefined>;
  /** Run by the context once it is complete (SPNEGO included); a throw fails the context. */
  async finish(): Promise<void> {}

  protected established(): Krb5Session {
    if (!this.session) throw new GssError('GSS_S_NO_CONTEXT', 'the security context is not established yet');
    return this.session;
  }
  get integrity(): boolean {
    return true;
  }
  get cfx(): boolean {
    return (this.session?.key.enctype ?? 0) !== 23;
  }
  getMIC(m: Uint8Array): Uint8Array {
    return this.established().getMIC(m);
  }
  verifyMIC(m: Uint8Array, t: Uint8Array): void {
    this.established().verifyMIC(m, t);
  }
}

/** Initiator: the ticket is fetched lazily on the first step (async: KDC round trips). */
export class Krb5InitiatorMech extends Krb5MechBase {
  private inner?: Krb5Initiator;
  private known?: InitiatorNames;
  /** `params` resolves to the ticket and keys, and the names they carry (for ctx.info). */
  constructor(private readonly params: () => Promise<Krb5InitiatorParams & { names?: InitiatorNames }>) {
    super();
  }
  get complete(): boolean {
    return this.inner?.complete ?? false;
  }
  get flags(): number {
    return this.inner?.requestedFlags ?? 0;
  }
  /** Set once the service ticket is known (first step). */
  get names(): InitiatorNames | undefined {
    return this.known;
  }
  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.inner) {
      const { names, ...params } = await this.params();
      this.known = names;
      this.inner = new Krb5Initiator(params);
    }
    const r = this.inner.step(input);
    if (r.complete) this.session = this.inner.session;
    return r.token;
  }
}

/** The acceptor's hooks: what its credential does around each AP-REQ. */
export interface AcceptorHooks {
  /** Awaited before the AP-REQ is processed (the credential's keytab check). */
  before?: () => Promise<void> | undefined;
  /** Once the context is complete: verifies the PAC (returns what it says), stores delegated credentials. */
  complete?: (a: AcceptedContext) => PacInfo | undefined;
}

/**
 * What an established acceptor context keeps of its handshake: the names, flags and the ticket's
 * end time. The rest of the AP-REQ's result (the ticket with its PAC bytes, keys, the AP-REP) is
 * held only until finish() has run, so that each of many held contexts stays small.
 */
export interface AcceptedNames {
  client: { realm: string; name: PrincipalName };
  server: { realm: string; name: PrincipalName };
  flags: number;
  ticket: { endtime: Date };
}

export class Krb5AcceptorMech extends Krb5MechBase {
  accepted?: AcceptedNames;
  /** Until finish(): the AP-REQ's full result, for the completion hook. */
  private handshake?: AcceptedContext;
  /** Until the AP-REQ is accepted (one per context): dropped with its parameters afterwards. */
  private inner?: Krb5Acceptor;
  private hooks?: AcceptorHooks;
  private verified?: PacInfo;
  constructor(params: Krb5AcceptorParams, hooks: AcceptorHooks = {}) {
    super();
    this.inner = new Krb5Acceptor(params);
    this.hooks = hooks;
  }
  get complete(): boolean {
    return this.accepted !== undefined;
  }
  get flags(): number {
    return this.accepted?.flags ?? 0;
  }
  /** The PAC's contents once verified (MS-PAC 2.8). */
  get pac(): PacInfo | undefined {
    return this.verified;
  }
  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.accepted || !this.inner) throw new GssError('GSS_S_FAILURE', 'context already established');
    if (!input) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'the acceptor needs the AP-REQ');
    await this.hooks?.before?.();
    const a = await this.inner.accept(input);
    this.inner = undefined;
    this.handshake = a;
    // The client's realm string is usually the service's: one copy kept instead of two equal ones.
    const client = a.client.realm === a.server.realm ? { realm: a.server.realm, name: a.client.name } : a.client;
    this.accepted = { client, server: a.server, flags: a.flags, ticket: { endtime: a.ticket.endtime } };
    this.session = a.session;
    return a.token;
  }
  override async finish(): Promise<void> {
    const a = this.handshake;
    if (!a) return;
    const hooks = this.hooks;
    this.handshake = undefined;
    this.hooks = undefined;
    this.verified = hooks?.complete?.(a);
  }
}

export { GssFlags };
