/**
 * The SPNEGO negotiation (RFC 4178 + MS-SPNG) over an inner mechanism, initiator and acceptor,
 * with the mechListMIC rules of RFC 4178 section 5 as MIT, Heimdal and Windows run them.
 * Decision logic: /work/shared/spec/spnego-mechlistmic-checklist.md section 2.5 (copied in spirit
 * into docs/ARCHITECTURE.md). The inner mechanisms are Kerberos and NTLM (MS-NLMP): an initiator
 * may hold both (Kerberos offered first, NTLM as Windows' Negotiate falls back to it), an acceptor
 * takes the first of the initiator's mechanisms it has.
 */
import { GssError, UsageError } from '../errors.js';
import { bytesEqual } from '../util/bytes.js';
import { NegState, encodeNegTokenInit, encodeNegTokenInit2, encodeNegTokenResp, decodeNegotiationToken, type NegTokenResp } from './codec.js';
import { MechOid, isKerberosOid, mechOid } from './oids.js';

/** The mechanisms SPNEGO can run: Kerberos (any of its OIDs) and NTLM. */
export type MechKind = 'krb5' | 'ntlm';

/** Which mechanism an OID names, or undefined for one we do not implement (NegoEx, IAKERB...). */
export function mechKind(oid: string): MechKind | undefined {
  if (isKerberosOid(oid)) return 'krb5';
  if (oid === MechOid.ntlm) return 'ntlm';
  return undefined;
}

/** The mechanisms a negotiator holds; a lone InnerMech is Kerberos. */
export type InnerMechs = Partial<Record<MechKind, InnerMech>>;

function mechsOf(m: InnerMech | InnerMechs): InnerMechs {
  return 'step' in m && typeof (m as InnerMech).step === 'function' ? { krb5: m as InnerMech } : (m as InnerMechs);
}

/** What SPNEGO needs from the mechanism it negotiates. */
export interface InnerMech {
  readonly complete: boolean;
  /** One mechanism step; the output token, or undefined when there is none. */
  step(input?: Uint8Array): Promise<Uint8Array | undefined>;
  getMIC(message: Uint8Array): Uint8Array;
  verifyMIC(message: Uint8Array, token: Uint8Array): void;
  /** False for a mechanism without integrity: no MIC then (RFC 4178 section 5, rule 1). */
  readonly integrity: boolean;
  /**
   * True for RFC 4121 "CFX" keys (AES). RC4 peers may be legacy Windows that never send a MIC
   * (MS-SPNG appendix A <7>); a missing MIC is tolerated for them only with `legacyMicLeniency`.
   */
  readonly cfx: boolean;
  /**
   * True when the mechanism itself demands the mechListMIC once complete: NTLM whose
   * AUTHENTICATE_MESSAGE carries a MIC (MS-SPNG 3.3.5.1; MIT mech_requires_mechlistMIC).
   */
  readonly mechListMicRequired?: boolean;
  /** Called after the mechListMIC was made ('sent') or verified ('received'): NTLM restarts that direction's RC4 handle (MS-SPNG 3.3.5.1). */
  mechListMicDone?(direction: 'sent' | 'received'): void;
}

export interface SpnegoState {
  mechTypes: string[];
  mechTypesDer: Uint8Array;
  /** The OID that was chosen, as it travelled (the MS OID is echoed). */
  chosenMech?: string;
  /** Initiator: why the Kerberos mechanism could not start, when it fell back to NTLM. */
  fallbackReason?: string;
  micSent?: Uint8Array;
  micReceived?: Uint8Array;
}

/** A failed negotiation: what went wrong, with the GSS status. */
function fail(major: 'GSS_S_BAD_MECH' | 'GSS_S_DEFECTIVE_TOKEN' | 'GSS_S_BAD_MIC' | 'GSS_S_FAILURE', msg: string): GssError {
  return new GssError(major, `SPNEGO: ${msg}`);
}

function decodeResp(token: Uint8Array): NegTokenResp {
  const t = decodeNegotiationToken(token);
  if (t.kind !== 'resp') throw fail('GSS_S_DEFECTIVE_TOKEN', `expected a NegTokenResp, got a ${t.kind === 'init' ? 'NegTokenInit' : 'NegTokenInit2'}`);
  return t;
}

/**
 * RFC 4178 section 5 / checklist 7 #1: Windows 2000 repeated the responseToken in the mechListMIC
 * field. A "MIC" byte-equal to the responseToken is not a MIC.
 */
function realMic(resp: NegTokenResp): Uint8Array | undefined {
  if (!resp.mechListMIC) return undefined;
  if (resp.responseToken && bytesEqual(resp.mechListMIC, resp.responseToken)) return undefined;
  return resp.mechListMIC;
}

export interface SpnegoInitiatorOptions {
  /** Preference order, short names or OIDs; default ['ms-krb5', 'krb5'] (Windows' order), then 'ntlm' when an NTLM mechanism is given. */
  mechs?: string[];
  /** Accept a missing acceptor MIC for RC4 contexts (legacy Windows, MS-SPNG <7>). Default true. */
  legacyMicLeniency?: boolean;
}

export class SpnegoInitiator {
  readonly state: SpnegoState;
  private phase: 'start' | 'negotiating' | 'done' = 'start';
  private micRequired = false;
  private optimisticToken?: Uint8Array;
  /** The mechanism the optimistic token (if any) belongs to. */
  private optimisticKind?: MechKind;
  private mechFed = false;
  private readonly mechs: InnerMechs;
  private active?: InnerMech;

  constructor(mech: InnerMech | InnerMechs, private readonly opts: SpnegoInitiatorOptions = {}) {
    this.mechs = mechsOf(mech);
    const defaults = [...(this.mechs.krb5 ? ['ms-krb5', 'krb5'] : []), ...(this.mechs.ntlm ? ['ntlm'] : [])];
    const mechTypes = (opts.mechs ?? defaults).map(mechOid);
    if (!mechTypes.some((m) => { const k = mechKind(m); return k !== undefined && this.mechs[k] !== undefined; })) {
      const have = Object.keys(this.mechs).join(' and ') || 'no mechanism';
      throw new UsageError(`the SPNEGO mech list ${mechTypes.join(', ')} has no mechanism this initiator can run (it has ${have}): list 'krb5'${this.mechs.ntlm ? " or 'ntlm'" : ''}`);
    }
    this.state = { mechTypes, mechTypesDer: new Uint8Array(0) };
  }

  /** The mechanism negotiated (once the acceptor chose), else the one that made the optimistic token. */
  get mech(): InnerMech | undefined {
    return this.active ?? (this.optimisticKind && this.mechs[this.optimisticKind]);
  }

  get complete(): boolean {
    return this.phase === 'done';
  }

  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.phase === 'start') {
      // MS-SPNG 3.1.5.1: the server may speak first (SMB2 NEGOTIATE, LDAP) with a NegTokenInit2
      // listing its mechanisms; the client then sends its NegTokenInit as usual.
      if (input?.length) this.serverHints(input);
      return this.first();
    }
    if (this.phase === 'done') throw fail('GSS_S_FAILURE', 'the negotiation is already complete');
    if (!input || input.length === 0) throw fail('GSS_S_DEFECTIVE_TOKEN', 'expected a NegTokenResp from the acceptor');
    return this.reply(decodeResp(input));
  }

  /** Reads the acceptor's NegTokenInit2: one of its mechanisms must be one we offer and run. */
  private serverHints(input: Uint8Array): void {
    const t = decodeNegotiationToken(input);
    if (t.kind !== 'init2' && t.kind !== 'init') throw fail('GSS_S_DEFECTIVE_TOKEN', "expected the acceptor's NegTokenInit2, got a NegTokenResp");
    const offered = t.mechTypes ?? [];
    const ours = new Set(this.state.mechTypes.map(mechKind).filter((k) => k !== undefined && this.mechs[k]));
    if (offered.length && !offered.some((m) => ours.has(mechKind(m)))) {
      this.phase = 'done';
      throw fail('GSS_S_BAD_MECH', `the acceptor offers ${offered.join(', ')}: none of the mechanisms we offer (${[...ours].join(', ')})`);
    }
  }

  private async first(): Promise<Uint8Array> {
    // The optimistic token is for mechTypes[0] only (RFC 4178 4.2.1).
    const kind = mechKind(this.state.mechTypes[0]!);
    const m = kind && this.mechs[kind];
    if (m) {
      try {
        this.optimisticToken = await m.step();
        this.optimisticKind = kind;
      } catch (err) {
        // Windows' Negotiate: when Kerberos cannot start (no ticket obtainable, no KDC in reach, no
        // SPN for the target), NTLM goes first and the Kerberos OIDs are no longer offered (we could
        // not answer an acceptor that chose them). The mechListMIC still protects the list sent.
        if (kind !== 'krb5' || !this.mechs.ntlm || !this.state.mechTypes.includes(MechOid.ntlm)) throw err;
        this.state.fallbackReason = (err as Error).message;
        this.state.mechTypes = this.state.mechTypes.filter((o) => !isKerberosOid(o));
        this.optimisticToken = await this.mechs.ntlm.step();
        this.optimisticKind = 'ntlm';
      }
    }
    const { token, mechTypesDer } = encodeNegTokenInit({ mechTypes: this.state.mechTypes, mechToken: this.optimisticToken });
    this.state.mechTypesDer = mechTypesDer;
    this.phase = 'negotiating';
    return token;
  }

  private async reply(resp: NegTokenResp): Promise<Uint8Array | undefined> {
    const first = this.state.chosenMech === undefined;
    if (resp.negState === NegState.reject) {
      throw fail('GSS_S_BAD_MECH', 'the acceptor rejected the negotiation (no mechanism in common, or it refused our token)');
    }
    if (first) {
      // Java sends no supportedMech: assume the optimistic mech (MIT init_ctx_nego).
      const chosen = resp.supportedMech ?? this.state.mechTypes[0]!;
      const kind = mechKind(chosen);
      // All Kerberos OIDs are the same mechanism (MIT is_kerb_mech; Samba answers with the old OID).
      if (!this.state.mechTypes.includes(chosen) && !(kind !== undefined && this.state.mechTypes.some((o) => mechKind(o) === kind))) {
        throw fail('GSS_S_BAD_MECH', `the acceptor chose ${chosen}, which we did not offer`);
      }
      const m = kind && this.mechs[kind];
      if (!m) throw fail('GSS_S_BAD_MECH', `the acceptor chose ${chosen}, a mechanism this initiator does not run (it runs ${Object.keys(this.mechs).join(' and ')})`);
      this.active = m;
      this.state.chosenMech = chosen;
      // RFC 4178 5: a counter-proposal (not our first mech) or request-mic makes the MIC exchange mandatory.
      const optimisticTaken = mechKind(this.state.mechTypes[0]!) === kind;
      if (resp.negState === NegState.requestMic || !optimisticTaken) this.micRequired = true;
      // A token made by the mechanism the acceptor did not choose is not resent.
      if (this.optimisticKind !== kind) this.optimisticToken = undefined;
    } else if (resp.supportedMech !== undefined && resp.supportedMech !== this.state.chosenMech) {
      // RFC 4178 4.2.2: supportedMech belongs to the first reply. Samba's gensec repeats it, unchanged,
      // in later replies after a counter-proposal (seen against smbd 4.17): an identical repeat is
      // harmless; a different mechanism mid-negotiation is not.
      throw fail('GSS_S_DEFECTIVE_TOKEN', `the acceptor switched supportedMech to ${resp.supportedMech} after choosing ${this.state.chosenMech}`);
    }

    const mech = this.active!;
    let out: Uint8Array | undefined;
    if (resp.responseToken && resp.responseToken.length) {
      if (mech.complete) throw fail('GSS_S_DEFECTIVE_TOKEN', 'a mechanism token arrived after the mechanism completed');
      out = await mech.step(resp.responseToken);
      this.mechFed = true;
    } else if (first && !mech.complete && !this.mechFed) {
      // The acceptor did not use our optimistic token (or we sent none): send the mech token now.
      out = this.optimisticToken ?? (await mech.step());
    }
    if (!mech.complete) return encodeNegTokenResp({ responseToken: out });
    if (mech.integrity && mech.mechListMicRequired) this.micRequired = true;

    // The mechanism is complete: the mechListMIC (RFC 4178 section 5).
    const mic = mech.integrity ? realMic(resp) : undefined;
    if (mic) {
      try {
        mech.verifyMIC(this.state.mechTypesDer, mic);
        mech.mechListMicDone?.('received');
      } catch (err) {
        throw fail('GSS_S_DEFECTIVE_TOKEN', `the acceptor's mechListMIC does not verify: the mechanism list was altered in transit, or the MIC is corrupt (${(err as Error).message})`);
      }
      this.state.micReceived = mic;
      // "If we got a MIC, we must send a MIC" (MIT process_mic).
      this.micRequired = true;
    }
    if (mech.integrity && this.micRequired && !this.state.micReceived && !out) {
      // Even number of mech tokens: the acceptor sent the last one and owed us its MIC with it.
      if (!mech.cfx && (this.opts.legacyMicLeniency ?? true)) {
        // RC4/DES: maybe Windows 2003 or older, which never sends one (MS-SPNG <7>; Heimdal safe_omit).
        this.phase = 'done';
        return undefined;
      }
      throw fail('GSS_S_DEFECTIVE_TOKEN', 'the acceptor finished without the mechListMIC this negotiation requires (downgrade attempt?)');
    }
    if (mech.integrity && this.micRequired && !this.state.micSent) {
      const ours = mech.getMIC(this.state.mechTypesDer);
      mech.mechListMicDone?.('sent');
      this.state.micSent = ours;
      if (this.state.micReceived) this.phase = 'done';
      return encodeNegTokenResp({ negState: NegState.acceptCompleted, responseToken: out, mechListMIC: ours });
    }
    if (out) {
      // Odd number of mech tokens without MIC: we send the last one, the acceptor answers accept-completed.
      return encodeNegTokenResp({ responseToken: out });
    }
    this.phase = 'done';
    return undefined;
  }
}

export interface SpnegoAcceptorOptions {
  /** Mechanisms this acceptor takes (default: the Kerberos OIDs, and NTLM when an NTLM mechanism is given). */
  mechs?: string[];
  /**
   * 'rfc4178' (MIT, IIS): MIC only when RFC 4178 section 5 requires it or the initiator sends one.
   * 'always' (Windows with AES): AP-REP + MIC with accept-incomplete, then the initiator's MIC.
   */
  mechListMIC?: 'rfc4178' | 'always';
}

export class SpnegoAcceptor {
  state?: SpnegoState;
  private phase: 'start' | 'negotiating' | 'done' = 'start';
  private micRequired = false;
  private readonly mechs: InnerMechs;
  private active?: InnerMech;

  constructor(mech: InnerMech | InnerMechs, private readonly opts: SpnegoAcceptorOptions = {}) {
    this.mechs = mechsOf(mech);
  }

  /** The mechanism chosen (once the initiator's NegTokenInit arrived). */
  get mech(): InnerMech | undefined {
    return this.active;
  }

  private ours(withOld: boolean): string[] {
    if (this.opts.mechs) return this.opts.mechs.map(mechOid);
    return [...(this.mechs.krb5 ? [MechOid['ms-krb5'], MechOid.krb5, ...(withOld ? [MechOid['krb5-old']] : [])] : []), ...(this.mechs.ntlm ? [MechOid.ntlm] : [])];
  }

  get complete(): boolean {
    return this.phase === 'done';
  }

  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    if (this.phase === 'done') throw fail('GSS_S_FAILURE', 'the negotiation is already complete');
    if ((!input || input.length === 0) && this.phase === 'start' && !this.sentHints) return this.negTokenInit2();
    if (!input || input.length === 0) throw fail('GSS_S_DEFECTIVE_TOKEN', 'the acceptor needs the initiator\'s token');
    if (this.phase === 'start') return this.first(input);
    return this.next(decodeResp(input));
  }

  private sentHints = false;

  /**
   * MS-SPNG 3.2.5.2: the server-first token, a NegTokenInit2 with the mechanisms this acceptor
   * takes and negHints.hintName "not_defined_in_RFC4178@please_ignore". It is not the list the
   * mechListMIC covers: that is the initiator's, in its NegTokenInit.
   */
  private negTokenInit2(): Uint8Array {
    this.sentHints = true;
    return encodeNegTokenInit2({ mechTypes: this.ours(false).filter((o) => { const k = mechKind(o); return k && this.mechs[k]; }) }).token;
  }

  private accepts(oid: string): boolean {
    const kind = mechKind(oid);
    if (!kind || !this.mechs[kind]) return false;
    const ours = this.ours(true);
    if (kind === 'ntlm') return ours.includes(oid);
    return ours.some(isKerberosOid) && (ours.includes(oid) || ours.includes(MechOid.krb5));
  }

  private async first(input: Uint8Array): Promise<Uint8Array | undefined> {
    const t = decodeNegotiationToken(input);
    if (t.kind !== 'init') throw fail('GSS_S_DEFECTIVE_TOKEN', `expected a NegTokenInit, got a ${t.kind === 'resp' ? 'NegTokenResp' : 'NegTokenInit2'}`);
    // MIT negotiate_mech: the first of the *initiator's* mechs we support; the MS OID is echoed.
    const index = t.mechTypes.findIndex((m) => this.accepts(m));
    if (index < 0) {
      this.phase = 'done';
      throw fail('GSS_S_BAD_MECH', `no mechanism in common: the initiator offered ${t.mechTypes.join(', ')}`);
    }
    const chosen = t.mechTypes[index]!;
    this.active = this.mechs[mechKind(chosen)!]!;
    this.state = { mechTypes: t.mechTypes, mechTypesDer: t.mechTypesDer, chosenMech: chosen };
    this.phase = 'negotiating';
    if (index !== 0 || !t.mechToken) {
      // RFC 4178 3.2 (c): not the initiator's first choice: request-mic, and wait for its token.
      this.micRequired = true;
      return encodeNegTokenResp({ negState: NegState.requestMic, supportedMech: chosen });
    }
    const out = await this.active!.step(t.mechToken);
    return this.afterMech(out, t.mechListMIC, chosen);
  }

  private async next(resp: NegTokenResp): Promise<Uint8Array | undefined> {
    if (resp.supportedMech !== undefined) throw fail('GSS_S_DEFECTIVE_TOKEN', 'an initiator never sends supportedMech');
    if (resp.negState === NegState.reject) {
      this.phase = 'done';
      throw fail('GSS_S_FAILURE', 'the initiator rejected the negotiation (for instance our mechListMIC did not verify on its side)');
    }
    let out: Uint8Array | undefined;
    if (resp.responseToken && resp.responseToken.length) {
      if (this.active!.complete) throw fail('GSS_S_DEFECTIVE_TOKEN', 'a mechanism token arrived after the mechanism completed');
      out = await this.active!.step(resp.responseToken);
    } else if (!this.active!.complete) {
      throw fail('GSS_S_DEFECTIVE_TOKEN', 'expected a mechanism token');
    }
    return this.afterMech(out, realMic(resp), undefined);
  }

  private afterMech(out: Uint8Array | undefined, mic: Uint8Array | undefined, supportedMech: string | undefined): Uint8Array | undefined {
    const st = this.state!;
    if (!this.active!.complete) return encodeNegTokenResp({ negState: NegState.acceptIncomplete, supportedMech, responseToken: out });
    if (!this.active!.integrity) {
      this.phase = 'done';
      return encodeNegTokenResp({ negState: NegState.acceptCompleted, supportedMech, responseToken: out });
    }
    // NTLM with a MIC in its AUTHENTICATE_MESSAGE: the mechListMIC is exchanged (MS-SPNG 3.3.5.1).
    if (this.active!.mechListMicRequired) this.micRequired = true;
    if (mic) {
      try {
        this.active!.verifyMIC(st.mechTypesDer, mic);
        this.active!.mechListMicDone?.('received');
      } catch (err) {
        this.phase = 'done';
        throw fail('GSS_S_DEFECTIVE_TOKEN', `the initiator's mechListMIC does not verify: the mechanism list was altered in transit, or the MIC is corrupt (${(err as Error).message})`);
      }
      st.micReceived = mic;
      this.micRequired = true;
    }
    // 'always' is the Windows rule with AES keys; RC4 contexts keep the RFC rule (MS-SPNG <7>).
    if (this.opts.mechListMIC === 'always' && this.active!.cfx) this.micRequired = true;
    if (!this.micRequired) {
      this.phase = 'done';
      return encodeNegTokenResp({ negState: NegState.acceptCompleted, supportedMech, responseToken: out });
    }
    if (!st.micSent) {
      st.micSent = this.active!.getMIC(st.mechTypesDer);
      this.active!.mechListMicDone?.('sent');
      if (st.micReceived) {
        this.phase = 'done';
        return encodeNegTokenResp({ negState: NegState.acceptCompleted, supportedMech, responseToken: out, mechListMIC: st.micSent });
      }
      if (!out) {
        // Odd number of mech tokens: the initiator sent the last one and had to add its MIC.
        this.phase = 'done';
        throw fail('GSS_S_DEFECTIVE_TOKEN', 'the initiator sent its last mechanism token without the mechListMIC this negotiation requires');
      }
      return encodeNegTokenResp({ negState: NegState.acceptIncomplete, supportedMech, responseToken: out, mechListMIC: st.micSent });
    }
    if (!st.micReceived) {
      this.phase = 'done';
      throw fail('GSS_S_DEFECTIVE_TOKEN', 'the initiator did not return the mechListMIC this negotiation requires (downgrade attempt?)');
    }
    // Both MICs exchanged: complete, no further token (MIT returns none, Heimdal sends none).
    this.phase = 'done';
    return undefined;
  }
}

