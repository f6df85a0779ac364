/**
 * The negotiation the demo and `spnego compare` run: one SPNEGO exchange per backend pairing
 * (pure|native initiator x pure|native acceptor) with the Windows-style list (ms-krb5, krb5, ntlm)
 * and the acceptor's 'always' MIC policy, then a first protected message. Every mechListMIC that
 * crosses is recomputed by the pure code from the session key and the sequence number it carries
 * (RFC 4121 4.2.6.1), which is what "native and pure agree to the byte" means.
 */
import { createAcceptor, createInitiator } from '../api.js';
import type { Backend, Credentials, SecurityContext } from '../context.js';
import { getMic, verifyMic } from '../krb5/gss/mic.js';
import { toHex, utf8 } from '../util/bytes.js';
import { describeError } from './main.js';

export interface PairingOptions {
  target: string;
  keytab?: string;
  mechs: string[];
  credentials?: Credentials;
  /** For the pure backend; the native one reads KRB5_CONFIG. */
  krb5Config?: string;
  allowWeakCrypto?: boolean;
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
  verifiedBy: Backend;
}

export interface PairingResult {
  initiator: Backend;
  acceptor: Backend;
  tokens: TokenStep[];
  mechTypes?: Uint8Array;
  mics: MicCheck[];
  enctype?: number;
  sessionKeysEqual?: boolean;
  wrapToken?: Uint8Array;
  unwrapped?: string;
  error?: string;
}

/** RFC 4121 4.2.6.1: the MIC token the pure code makes for the key and the token's own sequence number. */
export function recomputeMic(key: { enctype: number; key: Uint8Array }, fromAcceptor: boolean, message: Uint8Array, token: Uint8Array): Uint8Array {
  const k = { enctype: key.enctype, keyvalue: key.key };
  const acceptorSubkey = key.enctype !== 23 && (token[2]! & 0x04) !== 0;
  const seq = verifyMic({ key: k, fromAcceptor, acceptorSubkey }, message, token);
  return getMic({ key: k, seqNumber: seq, fromAcceptor, acceptorSubkey }, message);
}

/**
 * Passes tokens between an initiator and an acceptor until neither has one to send; returns them
 * in order (initiator first, then alternating). Completion is the caller's to check.
 */
export async function exchange(i: SecurityContext, a: SecurityContext): Promise<Uint8Array[]> {
  const tokens: Uint8Array[] = [];
  let tok = await i.step();
  while (tok) {
    tokens.push(tok);
    const back = await a.step(tok);
    if (!back) break;
    tokens.push(back);
    if (i.complete) break;
    tok = await i.step(back);
  }
  return tokens;
}

export const FIRST_MESSAGE = 'GET /reports/q3 HTTP/1.1';

export async function runPairing(ib: Backend, ab: Backend, o: PairingOptions): Promise<PairingResult> {
  const r: PairingResult = { initiator: ib, acceptor: ab, tokens: [], mics: [] };
  let i: SecurityContext | undefined;
  let a: SecurityContext | undefined;
  try {
    i = createInitiator({
      backend: ib, target: o.target, credentials: o.credentials, spnego: { mechs: o.mechs },
      krb5Config: ib === 'pure' ? o.krb5Config : undefined, allowWeakCrypto: o.allowWeakCrypto,
    });
    a = createAcceptor({ backend: ab, keytab: o.keytab, spnego: { mechListMIC: 'always' }, allowWeakCrypto: o.allowWeakCrypto });
    r.tokens = (await exchange(i, a)).map((bytes, n) => ({ from: n % 2 ? 'acceptor' : 'initiator', bytes }));
    if (!i.complete || !a.complete) throw new Error(`the negotiation did not complete (initiator ${i.complete}, acceptor ${a.complete})`);
    const ik = i.info.sessionKey;
    const ak = a.info.sessionKey;
    if (!ik || !ak) throw new Error('a session key is missing');
    r.enctype = ak.enctype;
    r.sessionKeysEqual = ik.enctype === ak.enctype && toHex(ik.key) === toHex(ak.key);
    const sp = a.info.spnego;
    r.mechTypes = sp?.mechTypes;
    if (sp?.mechTypes) {
      for (const [from, bytes, backend, verifiedBy] of [
        ['acceptor', sp.micSent, ab, ib],
        ['initiator', sp.micReceived, ib, ab],
      ] as const) {
        if (!bytes) continue;
        const recomputed = recomputeMic(ak, from === 'acceptor', sp.mechTypes, bytes);
        r.mics.push({ from, backend, bytes, recomputed, equal: toHex(recomputed) === toHex(bytes), verifiedBy });
      }
    }
    // Step 6: the application's first message, protected (RFC 4121 Wrap, sealed).
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

/** Whether a pairing proved agreement: completed, same keys, at least one MIC each way, all equal. */
export function pairingOk(r: PairingResult): boolean {
  return !r.error && r.sessionKeysEqual === true && r.mics.length === 2 && r.mics.every((m) => m.equal) && r.unwrapped === FIRST_MESSAGE;
}

/** The table of mechListMIC bytes: who sent it, its bytes, the pure recomputation, the verdict. */
export function micTable(results: PairingResult[]): string {
  const rows: string[][] = [['pairing (initiator -> acceptor)', 'mechListMIC from', 'bytes sent', 'pure recomputation', 'match', 'verified by']];
  for (const r of results) {
    const pairing = `${r.initiator} -> ${r.acceptor}`;
    if (r.error) {
      rows.push([pairing, '-', `FAILED: ${r.error}`, '', 'NO', '']);
      continue;
    }
    for (const m of r.mics) {
      rows.push([pairing, `${m.from} (${m.backend})`, toHex(m.bytes), m.equal ? '(same bytes)' : toHex(m.recomputed), m.equal ? 'yes' : 'NO', `${m.from === 'acceptor' ? 'initiator' : 'acceptor'} (${m.verifiedBy})`]);
    }
    if (r.mics.length < 2) rows.push([pairing, '-', `only ${r.mics.length} mechListMIC(s) exchanged`, '', 'NO', '']);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
  return rows.map((row, n) => {
    const line = row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd();
    return n === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
  }).join('\n');
}
