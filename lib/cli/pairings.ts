/**
 * The negotiation the demo and `spnego compare` run: one SPNEGO exchange per backend pairing
 * (pure|native initiator x pure|native acceptor) with the Windows-style list (ms-krb5, krb5, ntlm)
 * and the acceptor's 'always' MIC policy, then a first protected message. Every mechListMIC that
 * crosses is recomputed by the pure code from the session key, the expected sender and the sequence
 * number its header carries (RFC 4121 4.2.6.1, RFC 4757 7.2), without verifying it, and compared
 * byte for byte: that is what "native and pure agree to the byte" means.
 */
import { createAcceptor, createInitiator } from '../api.js';
import type { Backend, ContextInfo, Credentials, SecurityContext } from '../context.js';
import { EncType } from '../krb5/constants.js';
import { getMic, readMicHeader } from '../krb5/gss/mic.js';
import type { Key } from '../krb5/types.js';
import { constantTimeEqual, toHex, utf8 } from '../util/bytes.js';
import type { NegotiationRecorder } from '../capture/recorder.js';
import { describeError } from './error-text.js';
import { exchange } from '../exchange.js';
import { decodeNegotiationToken } from '../spnego/codec.js';
import { decodeAuthenticate, MessageType, NtlmSession, type NtlmUserStore } from '../ntlm/index.js';

export interface PairingOptions {
  target: string;
  keytab?: string;
  mechs: string[];
  credentials?: Credentials;
  /** For the pure backend; the native one reads KRB5_CONFIG. */
  krb5Config?: string;
  allowWeakCrypto?: boolean;
  /**
   * Test fault injection only (the demo sets it from SPNEGO_DEMO_FAULT=mic-byte): flips the last
   * byte, a checksum byte, of the acceptor's mechListMIC as its info reports it, after the exchange
   * and before the cross-check, to prove the cross-check says "NO" through its real path.
   */
  fault?: 'mic-byte';
  /** Records the initiator's tokens, and the first protected message, as one exchange (a pcap, lib/capture). */
  recorder?: NegotiationRecorder;
  /**
   * The native acceptor takes no keytab option: SSPI (Windows, Wine) has none; under Wine its
   * Kerberos package reads KRB5_KTNAME from the environment node.exe was started with.
   */
  nativeAcceptorWithoutKeytab?: boolean;
  /**
   * The native initiator is SSPI, which takes no ccache: given `{ ccache }` credentials it starts
   * with the logon session's (under Wine: the default ccache, KRB5CCNAME of node.exe's start environment).
   */
  nativeInitiatorWithoutCcache?: boolean;
}

export interface TokenStep {
  from: 'initiator' | 'acceptor';
  bytes: Uint8Array;
}

export interface MicCheck {
  from: 'initiator' | 'acceptor';
  backend: Backend;
  bytes: Uint8Array;
  recomputed: Uint8Array;
  equal: boolean;
  /** Index of the first byte where `bytes` and `recomputed` differ; -1 when equal. */
  firstDifference: number;
  /** Why there is no recomputation (the token is not a MIC token of the key's format). */
  note?: string;
  verifiedBy: Backend;
}

export interface PairingResult {
  initiator: Backend;
  acceptor: Backend;
  /** The mechanism negotiated inside SPNEGO (default Kerberos). */
  mech?: 'kerberos' | 'ntlm';
  tokens: TokenStep[];
  mechTypes?: Uint8Array;
  mics: MicCheck[];
  enctype?: number;
  sessionKeysEqual?: boolean;
  /**
   * Set when only one side reports the session key (SSPI under Wine answers no SECPKG_ATTR_SESSION_KEY):
   * the MICs are recomputed from that side's key, and the other side proved it holds the same key
   * by verifying them and the first protected message.
   */
  keyOnlyFrom?: 'initiator' | 'acceptor';
  wrapToken?: Uint8Array;
  unwrapped?: string;
  error?: string;
}

/** A context key as a context's info reports it ({ enctype, key }) or as the crypto code takes it (Key). */
export type MicKey = { enctype: number; key: Uint8Array } | Key;

/**
 * The MIC token the pure code makes for `message` from the context key, the expected sender and the
 * token's own header (sequence number, AcceptorSubkey flag) read WITHOUT verifying it (RFC 4121
 * 4.2.6.1, RFC 4757 7.2). It never calls verifyMic, so a wrong byte anywhere in `token` (checksum,
 * filler, direction) makes the result differ from it; compare with micDifference.
 */
export function recomputeMic(key: MicKey, fromAcceptor: boolean, message: Uint8Array, token: Uint8Array): Uint8Array {
  const k: Key = 'keyvalue' in key ? key : { enctype: key.enctype, keyvalue: key.key };
  // RFC 4757 7.2: SGN_CKSUM covers neither SND_SEQ nor the direction, and it keys SND_SEQ's
  // encryption; computed here first, it reads SND_SEQ as the sender should have encrypted it.
  const rc4Checksum = key.enctype === EncType.rc4_hmac ? getMic({ key: k, seqNumber: 0, fromAcceptor, acceptorSubkey: false }, message).subarray(-8) : undefined;
  const h = readMicHeader(token, k, { rc4Checksum });
  return getMic({ key: k, seqNumber: h.seqNumber, fromAcceptor, acceptorSubkey: h.acceptorSubkey }, message);
}

/** Index of the first byte where a and b differ (the shorter length if one extends the other); -1 when equal. */
export function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}

/** Recomputes `token` (recomputeMic) and compares: equal in constant time, and where the bytes part. */
export function checkMic(key: MicKey, fromAcceptor: boolean, message: Uint8Array, token: Uint8Array): { recomputed: Uint8Array; equal: boolean; firstDifference: number; note?: string } {
  let recomputed: Uint8Array;
  try {
    recomputed = recomputeMic(key, fromAcceptor, message, token);
  } catch (e) {
    return { recomputed: new Uint8Array(0), equal: false, firstDifference: 0, note: describeError(e) };
  }
  const equal = constantTimeEqual(recomputed, token);
  return { recomputed, equal, firstDifference: equal ? -1 : firstDifference(token, recomputed) };
}

export { exchange };

/** The fault of PairingOptions.fault: a copy with its last byte (in SGN_CKSUM, both token formats) flipped. */
function flipLastByte(bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[copy.length - 1]! ^= 0x01;
  return copy;
}

/**
 * The cross-check of both mechListMICs as the acceptor's info reports them (the one it sent, the one
 * it received), each by `check`: the pure recomputation for the pairing's mechanism.
 */
function micChecks(
  info: ContextInfo, ab: Backend, ib: Backend,
  check: (fromAcceptor: boolean, mechTypes: Uint8Array, bytes: Uint8Array) => Pick<MicCheck, 'bytes' | 'recomputed' | 'equal' | 'firstDifference' | 'note'>,
): MicCheck[] {
  const sp = info.spnego;
  if (!sp?.mechTypes) return [];
  const out: MicCheck[] = [];
  for (const [from, bytes, backend, verifiedBy] of [['acceptor', sp.micSent, ab, ib], ['initiator', sp.micReceived, ib, ab]] as const) {
    if (bytes) out.push({ from, backend, verifiedBy, ...check(from === 'acceptor', sp.mechTypes, bytes) });
  }
  return out;
}

export const FIRST_MESSAGE = 'GET /reports/q3 HTTP/1.1';

export async function runPairing(ib: Backend, ab: Backend, o: PairingOptions): Promise<PairingResult> {
  const r: PairingResult = { initiator: ib, acceptor: ab, tokens: [], mics: [] };
  let i: SecurityContext | undefined;
  let a: SecurityContext | undefined;
  try {
    const credentials = ib === 'native' && o.nativeInitiatorWithoutCcache && o.credentials && 'ccache' in o.credentials ? undefined : o.credentials;
    i = createInitiator({
      backend: ib, target: o.target, credentials, spnego: { mechs: o.mechs },
      krb5Config: ib === 'pure' ? o.krb5Config : undefined, allowWeakCrypto: o.allowWeakCrypto, recorder: o.recorder,
    });
    const recorded = o.recorder?.exchangeOf(i);
    if (recorded) recorded.label = `${ib} -> ${ab}`;
    const keytab = ab === 'native' && o.nativeAcceptorWithoutKeytab ? undefined : o.keytab;
    a = createAcceptor({ backend: ab, keytab, spnego: { mechListMIC: 'always' }, allowWeakCrypto: o.allowWeakCrypto });
    r.tokens = (await exchange(i, a)).map((bytes, n) => ({ from: n % 2 ? 'acceptor' : 'initiator', bytes }));
    if (!i.complete || !a.complete) throw new Error(`the negotiation did not complete (initiator ${i.complete}, acceptor ${a.complete})`);
    const ik = i.info.sessionKey;
    const ak = a.info.sessionKey;
    const key = ak ?? ik;
    if (!key) throw new Error('neither side reports the session key: nothing to recompute the MICs from');
    r.enctype = key.enctype;
    if (ik && ak) r.sessionKeysEqual = ik.enctype === ak.enctype && toHex(ik.key) === toHex(ak.key);
    else r.keyOnlyFrom = ak ? 'acceptor' : 'initiator';
    r.mechTypes = a.info.spnego?.mechTypes;
    r.mics = micChecks(a.info, ab, ib, (fromAcceptor, mechTypes, bytes) => {
      const sent = o.fault === 'mic-byte' && fromAcceptor ? flipLastByte(bytes) : bytes;
      return { bytes: sent, ...checkMic(key, fromAcceptor, mechTypes, sent) };
    });
    // Step 6: the application's first message, protected (RFC 4121 Wrap, sealed).
    r.wrapToken = i.wrap(utf8.encode(FIRST_MESSAGE), { encrypt: true });
    if (o.recorder) o.recorder.add(i, 'initiator', r.wrapToken);
    r.unwrapped = new TextDecoder().decode(a.unwrap(r.wrapToken).message);
  } catch (e) {
    r.error = describeError(e);
    const recorded = i && o.recorder?.exchangeOf(i);
    if (recorded) recorded.error ??= r.error;
  } finally {
    i?.dispose();
    a?.dispose();
  }
  return r;
}

/** Whether a pairing proved agreement: completed, same keys, at least one MIC each way, all equal. */
export function pairingOk(r: PairingResult): boolean {
  return !r.error && (r.sessionKeysEqual === true || (r.sessionKeysEqual === undefined && r.keyOnlyFrom !== undefined)) && r.mics.length === 2 && r.mics.every((m) => m.equal) && r.unwrapped === FIRST_MESSAGE;
}

/**
 * The table of mechListMIC bytes: who sent it, its bytes, the pure recomputation, the verdict; then,
 * for every mismatch, both byte strings one above the other with the first differing byte marked.
 */
export function micTable(results: PairingResult[]): string {
  const rows: string[][] = [['pairing (initiator -> acceptor)', 'mechListMIC from', 'bytes sent', 'pure recomputation', 'match', 'verified by']];
  const details: string[] = [];
  for (const r of results) {
    const pairing = `${r.mech === 'ntlm' ? 'NTLM ' : ''}${r.initiator} -> ${r.acceptor}`;
    if (r.error) {
      rows.push([pairing, '-', `FAILED: ${r.error}`, '', 'NO', '']);
      continue;
    }
    for (const m of r.mics) {
      const verdict = m.equal ? 'yes' : m.note ? `NO, not recomputed: ${m.note}` : `NO, first difference at byte ${m.firstDifference}`;
      rows.push([pairing, `${m.from} (${m.backend})`, toHex(m.bytes), m.equal ? '(same bytes)' : toHex(m.recomputed), verdict, `${m.from === 'acceptor' ? 'initiator' : 'acceptor'} (${m.verifiedBy})`]);
      if (!m.equal && !m.note) {
        details.push(
          `${pairing}, mechListMIC from the ${m.from} (${m.backend}): first difference at byte ${m.firstDifference}`,
          `  sent        ${toHex(m.bytes)}`,
          `  recomputed  ${toHex(m.recomputed)}`,
          `              ${' '.repeat(2 * m.firstDifference)}^^`,
        );
      }
    }
    if (r.mics.length < 2) rows.push([pairing, '-', `only ${r.mics.length} mechListMIC(s) exchanged`, '', 'NO', '']);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  const table = rows.map((row, n) => {
    const line = row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
    return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
  return details.length ? `${table}\n\n${details.join('\n')}` : table;
}

export interface NtlmPairingOptions {
  /** 'HTTP@host': an IP address or a host without an SPN, where Windows falls back to NTLM. */
  target: string;
  /** 'DOMAIN\\user' and its password (the native initiator's name type for gss-ntlmssp). */
  credentials: { principal: string; password: string };
  /** The pure acceptor's user store; the native one (gss-ntlmssp) reads NTLM_USER_FILE. */
  users: NtlmUserStore;
}

/** The NTLM message inside a SPNEGO token, when there is one. */
function ntlmInside(t: Uint8Array): Uint8Array | undefined {
  try {
    const d = decodeNegotiationToken(t);
    const m = d.kind === 'resp' ? d.responseToken : d.kind === 'init' ? d.mechToken : undefined;
    return m && new TextDecoder().decode(m.subarray(0, 8)) === 'NTLMSSP\0' ? m : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The NTLM mechListMIC the pure code makes from the exported session key and the negotiated flags:
 * the NTLMSSP_MESSAGE_SIGNATURE of the mechTypes with sequence number 0 (MS-NLMP 3.4.4.2, the first
 * signature of each direction; MS-SPNG 3.3.5.1), without verifying the token.
 */
export function recomputeNtlmMic(key: Uint8Array, flags: number, fromAcceptor: boolean, mechTypes: Uint8Array): Uint8Array {
  return new NtlmSession({ exportedSessionKey: key, flags, isInitiator: !fromAcceptor }).getMIC(mechTypes);
}

/**
 * One SPNEGO exchange where NTLM is negotiated: the initiator's Kerberos cannot start (the target
 * has no SPN), so it offers NTLM alone with NEGOTIATE as the optimistic token; three NTLM legs; the
 * mechListMICs both ways, recomputed; then the first sealed message.
 */
export async function runNtlmPairing(ib: Backend, ab: Backend, o: NtlmPairingOptions): Promise<PairingResult> {
  const r: PairingResult = { initiator: ib, acceptor: ab, mech: 'ntlm', tokens: [], mics: [] };
  let i: SecurityContext | undefined;
  let a: SecurityContext | undefined;
  try {
    i = ib === 'pure'
      ? createInitiator({ backend: 'pure', target: o.target, credentials: o.credentials, ntlm: true })
      : createInitiator({ backend: 'native', target: o.target, credentials: o.credentials });
    a = ab === 'pure'
      ? createAcceptor({ backend: 'pure', spnego: { mechs: ['ntlm'] }, ntlm: { users: o.users } })
      : createAcceptor({ backend: 'native' });
    r.tokens = (await exchange(i, a)).map((bytes, n) => ({ from: n % 2 ? 'acceptor' : 'initiator', bytes }));
    if (!i.complete || !a.complete) throw new Error(`the negotiation did not complete (initiator ${i.complete}, acceptor ${a.complete})`);
    const ik = i.info.sessionKey;
    const ak = a.info.sessionKey;
    if (!ik || !ak) throw new Error('a session key is missing');
    r.enctype = 0;
    r.sessionKeysEqual = toHex(ik.key) === toHex(ak.key);
    const auth = r.tokens.map((t) => ntlmInside(t.bytes)).find((m) => m?.[8] === MessageType.AUTHENTICATE);
    if (!auth) throw new Error('no AUTHENTICATE_MESSAGE crossed');
    const flags = decodeAuthenticate(auth).flags;
    r.mechTypes = a.info.spnego?.mechTypes;
    r.mics = micChecks(a.info, ab, ib, (fromAcceptor, mechTypes, bytes) => {
      const recomputed = recomputeNtlmMic(ak.key, flags, fromAcceptor, mechTypes);
      const equal = constantTimeEqual(recomputed, bytes);
      return { bytes, recomputed, equal, firstDifference: equal ? -1 : firstDifference(bytes, recomputed) };
    });
    // The first sealed message: after the mechListMICs both sides restarted their RC4 handles (MS-SPNG 3.3.5.1).
    r.wrapToken = i.wrap(utf8.encode(FIRST_MESSAGE), { encrypt: true });
    r.unwrapped = new TextDecoder().decode(a.unwrap(r.wrapToken).message);
  } catch (e) {
    r.error = describeError(e);
  } finally {
    i?.dispose();
    a?.dispose();
  }
  return r;
}
