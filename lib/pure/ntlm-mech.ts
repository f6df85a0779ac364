/**
 * The pure NTLM mechanism (lib/ntlm) as SPNEGO's InnerMech and as a plain GSS context: adapts
 * NtlmInitiator / NtlmAcceptor to step() / getMIC / wrap, with what SPNEGO must know about NTLM:
 * the mechListMIC is required when the AUTHENTICATE_MESSAGE carries its MIC (MS-SPNG 3.3.5.1, MIT
 * mech_requires_mechlistMIC), and each direction's RC4 handle restarts after the mechListMIC.
 */
import { GssError } from '../errors.js';
import type { InnerMech } from '../spnego/negotiator.js';
import { GssFlags } from '../krb5/gss/checksum.js';
import { NegotiateFlags as F, MsvAvFlagBits, AvId } from '../ntlm/constants.js';
import { NtlmInitiator, type NtlmInitiatorOptions } from '../ntlm/initiator.js';
import { NtlmAcceptor, type NtlmAcceptorOptions } from '../ntlm/acceptor.js';
import { decodeAuthenticate, decodeNtlmV2Response, findAv } from '../ntlm/messages.js';
import type { NtlmSession } from '../ntlm/session.js';

/** NegotiateFlags -> GSS flags: sign gives integrity plus replay and sequence detection (NTLM refuses out-of-order tokens); seal gives confidentiality. NTLM has no mutual authentication. */
function gssFlags(f: number): number {
  let v = 0;
  if (f & F.NTLMSSP_NEGOTIATE_SIGN) v |= GssFlags.integ | GssFlags.replay | GssFlags.sequence;
  if (f & F.NTLMSSP_NEGOTIATE_SEAL) v |= GssFlags.conf;
  return v;
}

/** 'DOMAIN\\user' (gss-ntlmssp's display form); a bare 'user' without a domain. */
export function ntlmDisplayName(user: string, domain: string): string {
  return domain ? `${domain}\\${user}` : user;
}

abstract class NtlmMechBase implements InnerMech {
  abstract readonly complete: boolean;
  abstract get session(): NtlmSession | undefined;
  abstract step(input?: Uint8Array): Promise<Uint8Array | undefined>;
  /** Whether the AUTHENTICATE_MESSAGE carried a MIC (MsvAvFlags bit 0x2): then SPNEGO's mechListMIC is required. */
  protected withMic = false;
  async finish(): Promise<void> {}

  protected established(): NtlmSession {
    if (!this.session) throw new GssError('GSS_S_NO_CONTEXT', 'the NTLM context is not established yet');
    return this.session;
  }
  get flags(): number {
    return this.session ? gssFlags(this.session.flags) | (this.channelBound ? GssFlags.channelBound : 0) : 0;
  }
  /** The acceptor saw matching channel bindings (MsvAvChannelBindings). */
  protected get channelBound(): boolean {
    return false;
  }
  get integrity(): boolean {
    return ((this.session?.flags ?? 0) & F.NTLMSSP_NEGOTIATE_SIGN) !== 0;
  }
  /**
   * Not a Kerberos key: the legacy-Windows leniency for a missing acceptor MIC (RC4 Kerberos,
   * MS-SPNG <7>) does not apply; an NTLM exchange with a MIC requires the mechListMIC both ways.
   */
  get cfx(): boolean {
    return true;
  }
  get mechListMicRequired(): boolean {
    return this.withMic;
  }
  mechListMicDone(direction: 'sent' | 'received'): void {
    this.established().resetCipherState(direction === 'sent' ? 'send' : 'receive');
  }
  getMIC(m: Uint8Array): Uint8Array {
    return this.established().getMIC(m);
  }
  verifyMIC(m: Uint8Array, t: Uint8Array): void {
    this.established().verifyMIC(m, t);
  }
}

export class NtlmInitiatorMech extends NtlmMechBase {
  readonly inner: NtlmInitiator;
  constructor(opts: NtlmInitiatorOptions) {
    super();
    this.inner = new NtlmInitiator(opts);
  }
  get complete(): boolean {
    return this.inner.complete;
  }
  get session(): NtlmSession | undefined {
    return this.inner.session;
  }
  get initiatorName(): string {
    return ntlmDisplayName(this.inner.user, this.inner.domain);
  }
  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    const out = this.inner.step(input);
    // Ours always carries the MIC (MS-NLMP 3.1.5.1.2, MsvAvFlags 0x2).
    if (this.inner.complete) this.withMic = true;
    return out;
  }
}

export class NtlmAcceptorMech extends NtlmMechBase {
  readonly inner: NtlmAcceptor;
  constructor(opts: NtlmAcceptorOptions) {
    super();
    this.inner = new NtlmAcceptor(opts);
  }
  get complete(): boolean {
    return this.inner.complete;
  }
  get session(): NtlmSession | undefined {
    return this.inner.session;
  }
  protected override get channelBound(): boolean {
    return this.inner.info?.channelBound === true;
  }
  /** The authenticated user and domain (from the AUTHENTICATE_MESSAGE, verified against the user store). */
  get user(): { user: string; domain: string; workstation: string } | undefined {
    const i = this.inner.info;
    return i && { user: i.user, domain: i.domain, workstation: i.workstation };
  }
  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    if (!input?.length) throw new GssError('GSS_S_DEFECTIVE_TOKEN', 'the NTLM acceptor needs the NEGOTIATE_MESSAGE, then the AUTHENTICATE_MESSAGE');
    const out = await this.inner.step(input);
    if (this.inner.complete) {
      // The acceptor checked the message already; read whether it announced its MIC.
      const m = decodeAuthenticate(input);
      const pairs = decodeNtlmV2Response(m.ntChallengeResponse).avPairs;
      const f = findAv(pairs, AvId.MsvAvFlags);
      this.withMic = f !== undefined && f.length >= 4 && (new DataView(f.buffer, f.byteOffset, 4).getUint32(0, true) & MsvAvFlagBits.MIC_PRESENT) !== 0;
    }
    return out;
  }
}
