/**
 * The NTLMv2 acceptor (MS-NLMP 3.2.5) validating against a user store given by the application
 * (no Netlogon to a domain controller). NEGOTIATE in, CHALLENGE out; AUTHENTICATE in: the NTLMv2
 * response checked with the user's NT hash, then the MIC, MsvAvTargetName, MsvAvChannelBindings,
 * the timestamp and replay, each refusal with its own error (lib/ntlm/errors.ts).
 *
 * Replay: each server challenge answers one AUTHENTICATE only (one-shot, also across acceptors that
 * share the replay cache), and an NTProofStr already accepted is refused within the skew window, so
 * a captured AUTHENTICATE replayed to a fresh challenge is reported as a replay.
 */
import { hostname } from 'node:os';
import { GssError, UsageError } from '../errors.js';
import { getCryptoProvider } from '../krb5/crypto/index.js';
import { channelBindingsHash, type ChannelBindings } from '../krb5/gss/channel-bindings.js';
import { MemoryReplayCache, type ReplayCache } from '../krb5/replay-cache.js';
import { constantTimeEqual, toHex } from '../util/bytes.js';
import { AvId, MsvAvFlagBits, NegotiateFlags as F } from './constants.js';
import { computeMic, decryptRandomSessionKey, kxkey, ntlmv2Response, ntowfv2 } from './crypto.js';
import {
  NtlmBadCredentialsError, NtlmChannelBindingsError, NtlmDowngradeError, NtlmError, NtlmMicError, NtlmMissingMicError,
  NtlmReplayError, NtlmSkewError, NtlmTargetNameError, NtlmUnknownUserError,
} from './errors.js';
import { INITIATOR_FLAGS, checkServerFlags } from './initiator.js';
import {
  decodeAuthenticate, decodeNegotiate, decodeNtlmV2Response, encodeChallenge, fileTimeFromMs, findAv, fromUtf16le,
  MIC_OFFSET, msFromFileTime, OUR_VERSION, utf16le, type AuthenticateMessage, type AvPair,
} from './messages.js';
import { NtlmSession } from './session.js';
import type { NtlmUserStore } from './users.js';

export interface NtlmAcceptorOptions {
  userStore: NtlmUserStore;
  /** Our SPN (e.g. 'HTTP/www.example.com'): a client's MsvAvTargetName must name it. */
  targetName?: string;
  /** Refuse a client that sends no MsvAvTargetName (default false: old clients send none). */
  requireTargetName?: boolean;
  /** Our channel bindings: a client's MsvAvChannelBindings must be their MD5 (RFC 2744 structure). */
  channelBindings?: ChannelBindings;
  /** With channelBindings: accept a client that sends none (all zeros or absent). Default false. */
  allowMissingChannelBindings?: boolean;
  /** Refuse an AUTHENTICATE without a MIC even when MsvAvFlags does not announce one. Default false. */
  requireMic?: boolean;
  /** Allowed clock skew for the NTLMv2 response timestamp, ms (default 300000). */
  clockSkewMs?: number;
  /** Names in the CHALLENGE's TargetInfo (defaults: the host name, domain WORKGROUP). */
  netbiosComputerName?: string;
  netbiosDomainName?: string;
  dnsComputerName?: string;
  dnsDomainName?: string;
  /** Shared by acceptors so that challenges are one-shot and responses are not replayed across them. */
  replayCache?: ReplayCache;
  /** Tests only: fixed server challenge (8 bytes) and clock. */
  serverChallenge?: Uint8Array;
  now?: () => number;
}

export interface NtlmAcceptorInfo {
  user: string;
  domain: string;
  workstation: string;
  flags: number;
  /** The client's MsvAvChannelBindings matched ours (GSS_C_CHANNEL_BOUND_FLAG). */
  channelBound: boolean;
}

/** Flags the acceptor can grant (the client's request is intersected with these). */
const ACCEPTOR_FLAGS = (INITIATOR_FLAGS & ~F.NTLMSSP_REQUEST_TARGET) >>> 0;

let sharedCache: ReplayCache | undefined;
/** The process-wide cache acceptors share unless given their own. */
export function defaultNtlmReplayCache(): ReplayCache {
  return (sharedCache ??= new MemoryReplayCache());
}

const u32le = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true);
/** SPNs compare case-insensitively, without an '@REALM' suffix. */
const spnKey = (s: string) => s.replace(/@[^@/]*$/, '').toLowerCase();

/**
 * A client's flags: extended session security (NTLMv2) always; strings in Unicode or, when it
 * offers only that, OEM (MS-NLMP 2.2.2.5 flags A/B: the strings' encoding alone, not the crypto,
 * which uses the Unicode names either way).
 */
function checkClientFlags(flags: number): void {
  if (!(flags & (F.NTLMSSP_NEGOTIATE_UNICODE | F.NTLM_NEGOTIATE_OEM))) {
    throw new NtlmError('protocol', 'GSS_S_DEFECTIVE_TOKEN', 'the client negotiated neither Unicode nor OEM strings');
  }
  checkServerFlags((flags | F.NTLMSSP_NEGOTIATE_UNICODE) >>> 0, 'the client');
}

export class NtlmAcceptor {
  private state: 'start' | 'sent-challenge' | 'done' | 'failed' = 'start';
  private readonly cache: ReplayCache;
  negotiateMessage?: Uint8Array;
  challengeMessage?: Uint8Array;
  authenticateMessage?: Uint8Array;
  private serverChallenge?: Uint8Array;
  private answered = false;
  session?: NtlmSession;
  info?: NtlmAcceptorInfo;

  constructor(private readonly opts: NtlmAcceptorOptions) {
    if (typeof opts?.userStore !== 'function') throw new UsageError('the NTLM acceptor needs a userStore: (user, domain) => NT hash | undefined');
    if (opts.serverChallenge && opts.serverChallenge.length !== 8) throw new UsageError('serverChallenge must be 8 bytes');
    this.cache = opts.replayCache ?? defaultNtlmReplayCache();
  }

  get complete(): boolean {
    return this.state === 'done';
  }

  private get skew() {
    return this.opts.clockSkewMs ?? 300_000;
  }

  /** NEGOTIATE in, CHALLENGE out; then AUTHENTICATE in, nothing out (the context is complete). */
  async step(input: Uint8Array): Promise<Uint8Array | undefined> {
    try {
      if (this.state === 'start') {
        const out = this.challenge(input);
        this.state = 'sent-challenge';
        return out;
      }
      if (this.state === 'sent-challenge') {
        this.answered = true; // one-shot: whatever happens, this challenge is answered once
        await this.authenticate(input);
        this.state = 'done';
        return undefined;
      }
      if (!this.answered) throw new GssError('GSS_S_NO_CONTEXT', 'this NTLM acceptor failed before its challenge; start a new context');
      // A second AUTHENTICATE for the same challenge.
      throw new NtlmReplayError('this acceptor already received an AUTHENTICATE_MESSAGE for its server challenge; start a new context');
    } catch (err) {
      if (this.state !== 'done') this.state = 'failed';
      throw err;
    }
  }

  private challenge(input: Uint8Array): Uint8Array {
    const neg = decodeNegotiate(input);
    checkClientFlags(neg.flags);
    this.negotiateMessage = new Uint8Array(input); // a copy: a Buffer's slice() is a view (of a pooled Buffer, reused)
    // MS-NLMP 3.2.5.1.1: Unicode when the client offers it, else OEM (curl's NTLM offers OEM only).
    const charset = neg.flags & F.NTLMSSP_NEGOTIATE_UNICODE ? 0 : F.NTLM_NEGOTIATE_OEM;
    const flags = ((neg.flags & ACCEPTOR_FLAGS) | charset | F.NTLMSSP_NEGOTIATE_TARGET_INFO | F.NTLMSSP_TARGET_TYPE_SERVER |
      F.NTLMSSP_NEGOTIATE_VERSION | (neg.flags & F.NTLMSSP_REQUEST_TARGET)) >>> 0;
    this.serverChallenge = this.opts.serverChallenge ?? getCryptoProvider().randomBytes(8);
    const o = this.opts;
    const host = (o.netbiosComputerName ?? hostname().split('.')[0] ?? 'HOST').toUpperCase().slice(0, 15);
    const dom = (o.netbiosDomainName ?? 'WORKGROUP').toUpperCase();
    const ts = new Uint8Array(8);
    new DataView(ts.buffer).setBigUint64(0, fileTimeFromMs((o.now ?? Date.now)()), true);
    const pairs: AvPair[] = [
      { id: AvId.MsvAvNbDomainName, value: utf16le(dom) },
      { id: AvId.MsvAvNbComputerName, value: utf16le(host) },
      { id: AvId.MsvAvDnsDomainName, value: utf16le(o.dnsDomainName ?? dom.toLowerCase()) },
      { id: AvId.MsvAvDnsComputerName, value: utf16le(o.dnsComputerName ?? hostname()) },
      { id: AvId.MsvAvTimestamp, value: ts },
    ];
    this.challengeMessage = encodeChallenge({ flags, targetName: dom, serverChallenge: this.serverChallenge, avPairs: pairs, version: OUR_VERSION });
    return this.challengeMessage;
  }

  private async authenticate(input: Uint8Array): Promise<void> {
    const m = decodeAuthenticate(input);
    const now = (this.opts.now ?? Date.now)();
    const expires = new Date(now + 2 * this.skew);
    // The challenge is one-shot across every acceptor sharing the cache (fixed challenges included).
    if (!(await this.cache.checkAndStore(`ntlm-challenge:${toHex(this.serverChallenge!)}`, expires))) {
      throw new NtlmReplayError('this server challenge was already answered; an AUTHENTICATE_MESSAGE is accepted once per challenge');
    }
    if (m.flags & F.NTLMSSP_ANONYMOUS || (!m.user && m.ntChallengeResponse.length === 0)) {
      throw new NtlmError('anonymous', 'GSS_S_DEFECTIVE_CREDENTIAL', 'anonymous NTLM is not accepted');
    }
    checkClientFlags(m.flags);
    if (m.ntChallengeResponse.length === 24) throw new NtlmDowngradeError('the client sent an NTLMv1 response');
    const r = decodeNtlmV2Response(m.ntChallengeResponse);

    const nt = await this.opts.userStore(m.user, m.domain);
    if (nt === undefined) throw new NtlmUnknownUserError();
    if (!(nt instanceof Uint8Array) || nt.length !== 16) throw new UsageError('the NTLM user store must return a 16-byte NT hash or undefined');
    const { ntProofStr, sessionBaseKey } = ntlmv2Response(ntowfv2(nt, m.user, m.domain), this.serverChallenge!, r.temp);
    if (!constantTimeEqual(ntProofStr, r.ntProofStr)) throw new NtlmBadCredentialsError();

    const exported = this.exportedKey(m, kxkey(sessionBaseKey));
    this.checkMic(m, r.avPairs, exported, input);
    this.checkTargetName(r.avPairs);
    const channelBound = this.checkChannelBindings(r.avPairs);
    const skewMs = Math.abs(msFromFileTime(r.timestamp) - now);
    if (!(skewMs <= this.skew)) {
      throw new NtlmSkewError(`the NTLMv2 response timestamp is ${Math.round(skewMs / 1000)} s from our clock (allowed ${this.skew / 1000} s); check both clocks`);
    }
    // A response accepted once is never accepted again (replayed to a fresh challenge it would fail the proof anyway).
    if (!(await this.cache.checkAndStore(`ntlm-proof:${toHex(r.ntProofStr)}`, expires))) {
      throw new NtlmReplayError('this AUTHENTICATE_MESSAGE was already accepted (replay)');
    }
    this.authenticateMessage = new Uint8Array(input);
    const flags = m.flags >>> 0;
    this.session = new NtlmSession({ exportedSessionKey: exported, flags, isInitiator: false });
    this.info = { user: m.user, domain: m.domain, workstation: m.workstation, flags, channelBound };
  }

  private exportedKey(m: AuthenticateMessage, kx: Uint8Array): Uint8Array {
    if (!(m.flags & F.NTLMSSP_NEGOTIATE_KEY_EXCH)) return kx;
    if (m.encryptedRandomSessionKey.length !== 16) {
      throw new NtlmError('protocol', 'GSS_S_DEFECTIVE_TOKEN', `EncryptedRandomSessionKey of ${m.encryptedRandomSessionKey.length} bytes with NTLMSSP_NEGOTIATE_KEY_EXCH (16 expected)`);
    }
    return decryptRandomSessionKey(kx, m.encryptedRandomSessionKey);
  }

  private checkMic(m: AuthenticateMessage, pairs: AvPair[], exported: Uint8Array, input: Uint8Array): void {
    const av = findAv(pairs, AvId.MsvAvFlags);
    const announced = av !== undefined && (u32le(av) & MsvAvFlagBits.MIC_PRESENT) !== 0;
    if (!announced) {
      if (this.opts.requireMic) throw new NtlmMissingMicError('the client sent no MIC and this acceptor requires one (requireMic)');
      return;
    }
    if (!m.mic) throw new NtlmMissingMicError('MsvAvFlags announces a MIC but the AUTHENTICATE_MESSAGE has no MIC field');
    const zeroed = new Uint8Array(input); // a copy (Buffer.slice would zero the caller's bytes)
    zeroed.fill(0, MIC_OFFSET, MIC_OFFSET + 16);
    const mic = computeMic(exported, this.negotiateMessage!, this.challengeMessage!, zeroed);
    if (!constantTimeEqual(mic, m.mic)) throw new NtlmMicError();
  }

  private checkTargetName(pairs: AvPair[]): void {
    const want = this.opts.targetName;
    const v = findAv(pairs, AvId.MsvAvTargetName);
    if (!v || v.length === 0) {
      if (want && this.opts.requireTargetName) throw new NtlmTargetNameError('the client sent no MsvAvTargetName and this acceptor requires one');
      return;
    }
    if (!want) return;
    const got = fromUtf16le(v, 'MsvAvTargetName');
    if (spnKey(got) !== spnKey(want)) {
      throw new NtlmTargetNameError(`the client authenticated to '${got}', not to this service '${want}'`);
    }
  }

  /** Whether the client's bindings matched ours (false when we have none or it sent none and that is allowed). */
  private checkChannelBindings(pairs: AvPair[]): boolean {
    const cb = this.opts.channelBindings;
    if (!cb) return false;
    const v = findAv(pairs, AvId.MsvAvChannelBindings);
    if (!v || v.every((x) => x === 0)) {
      if (this.opts.allowMissingChannelBindings) return false;
      throw new NtlmChannelBindingsError('the client sent no channel bindings and this acceptor requires them (Extended Protection)');
    }
    if (!constantTimeEqual(v, channelBindingsHash(cb))) {
      throw new NtlmChannelBindingsError('the client\'s channel bindings do not match this channel (a different TLS connection or a relay)');
    }
    return true;
  }
}
