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

abstract class Krb5MechBase implements InnerMech {
  session?: Krb5Session;
  abstract readonly complete: boolean;
  abstract step(input?: Uint8Array): Promise<Uint8Array | undefined>;

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
  constructor(private readonly params: () => Promise<Krb5InitiatorParams>) {
    super();
  }
  get complete(): boolean {
    return this.inner?.complete ?? false;
  }
  get flags(): number {
    return this.inner?.requestedFlags ?? 0;
  }
  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    if (!this.inner) this.inner = new Krb5Initiator(await this.params());
    const r = this.inner.step(input);
    if (r.complete) this.session = this.inner.session;
    return r.token;
  }
}

export class Krb5AcceptorMech extends Krb5MechBase {
  accepted?: AcceptedContext;
  private readonly inner: Krb5Acceptor;
  constructor(params: Krb5AcceptorParams) {
    super();
    this.inner = new Krb5Acceptor(params);
  }
  get complete(): boolean {
    return this.accepted !== undefined;
  }
  get flags(): number {
    return this.accepted?.flags ?? 0;
  }
  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.accepted) throw new GssError('GSS_S_FAILURE', 'context already established');
    if (!input) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'the acceptor needs the AP-REQ');
    this.accepted = await this.inner.accept(input);
    this.session = this.accepted.session;
    return this.accepted.token;
  }
}

export { GssFlags };
