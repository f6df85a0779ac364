/**
 * An established NTLM context's session security (MS-NLMP 3.4): signing and sealing with extended
 * session security, one RC4 handle and one sequence number per direction (connection-oriented
 * mode, 3.4.1). Same method shapes as Krb5Session (getMIC / verifyMIC / wrap / unwrap), so it can
 * sit behind the SPNEGO negotiator as an inner mechanism.
 *
 * Signature (2.2.2.9.1): Version (1) | Checksum (8) | SeqNum (4), little-endian;
 * Checksum = HMAC_MD5(SigningKey, SeqNum || Message)[0..7], RC4-encrypted with the sealing handle
 * when NTLMSSP_NEGOTIATE_KEY_EXCH was negotiated (3.4.4.2). A wrap token is the signature followed
 * by the sealed message (3.4.3: the message is sealed first, then the checksum is encrypted).
 */
import { GssError } from '../errors.js';
import { concatBytes, constantTimeEqual, le32 } from '../util/bytes.js';
import { NegotiateFlags } from './constants.js';
import { hmacMd5, Rc4Stream, sealKey, signKey } from './crypto.js';

export interface NtlmSessionParams {
  exportedSessionKey: Uint8Array;
  /** The negotiated NegotiateFlags. */
  flags: number;
  isInitiator: boolean;
}

const SIG_LEN = 16;

interface Direction {
  signKey: Uint8Array;
  sealKey: Uint8Array;
  seal: Rc4Stream;
  seq: number;
}

export class NtlmSession {
  readonly flags: number;
  readonly isInitiator: boolean;
  /** ExportedSessionKey (what GSS_C_INQ_SSPI_SESSION_KEY returns; keys the SPNEGO mechListMIC later). */
  readonly sessionKey: Uint8Array;
  private readonly send: Direction;
  private readonly recv: Direction;
  private readonly keyExch: boolean;

  constructor(p: NtlmSessionParams) {
    if (!(p.flags & NegotiateFlags.NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY)) {
      throw new GssError('GSS_S_UNAVAILABLE', 'NTLM session security without extended session security (NTLMv1) is not supported');
    }
    if (p.exportedSessionKey.length !== 16) throw new GssError('GSS_S_FAILURE', 'the exported session key is not 16 bytes');
    this.flags = p.flags;
    this.isInitiator = p.isInitiator;
    this.sessionKey = new Uint8Array(p.exportedSessionKey);
    this.keyExch = (p.flags & NegotiateFlags.NTLMSSP_NEGOTIATE_KEY_EXCH) !== 0;
    const dir = (client: boolean): Direction => {
      const k = sealKey(p.exportedSessionKey, p.flags, client);
      return { signKey: signKey(p.exportedSessionKey, client), sealKey: k, seal: new Rc4Stream(k), seq: 0 };
    };
    this.send = dir(p.isInitiator);
    this.recv = dir(!p.isInitiator);
  }

  /** The next sequence number we will send. */
  get nextSendSeq(): bigint {
    return BigInt(this.send.seq);
  }

  /**
   * MS-SPNG 3.3.5.1 ("NTLM RC4 Key State for MechListMIC and First Signed Message"): once the SPNEGO
   * mechListMIC is made (send) or checked (receive), that direction's RC4 handle starts again from
   * its sealing key; the sequence number goes on (gss-ntlmssp's reset-crypto option, Samba's
   * gensec_may_reset_crypto), so the first application message has sequence number 1.
   */
  resetCipherState(direction: 'send' | 'receive'): void {
    const d = direction === 'send' ? this.send : this.recv;
    d.seal = new Rc4Stream(d.sealKey);
  }

  private mac(d: Direction, seq: number, message: Uint8Array): Uint8Array {
    let checksum = hmacMd5(d.signKey, concatBytes(le32(seq), message)).subarray(0, 8);
    if (this.keyExch) checksum = d.seal.update(checksum);
    return concatBytes(le32(1), checksum, le32(seq));
  }

  private need(flag: number, what: string): void {
    if (!(this.flags & flag)) throw new GssError('GSS_S_UNAVAILABLE', `${what} was not negotiated on this NTLM context`);
  }

  private checkHeader(token: Uint8Array, what: string): number {
    if (token.length < SIG_LEN) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `NTLM ${what}: ${token.length} bytes, the signature alone is 16`);
    const dv = new DataView(token.buffer, token.byteOffset, SIG_LEN);
    if (dv.getUint32(0, true) !== 1) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `NTLM ${what}: signature version is not 1`);
    const seq = dv.getUint32(12, true);
    if (seq !== this.recv.seq) {
      // Checked before the RC4 handle moves, so a replayed or reordered token leaves the context usable.
      throw new GssError(seq < this.recv.seq ? 'GSS_S_DUPLICATE_TOKEN' : 'GSS_S_GAP_TOKEN',
        `NTLM ${what}: sequence number ${seq}, expected ${this.recv.seq} (NTLM requires messages in order)`);
    }
    return seq;
  }

  /** A 16-byte NTLMSSP_MESSAGE_SIGNATURE over `message` (GSS_GetMIC). */
  getMIC(message: Uint8Array): Uint8Array {
    this.need(NegotiateFlags.NTLMSSP_NEGOTIATE_SIGN, 'signing');
    const sig = this.mac(this.send, this.send.seq, message);
    this.send.seq = (this.send.seq + 1) >>> 0;
    return sig;
  }

  /** Throws GssError (GSS_S_BAD_MIC, GSS_S_DEFECTIVE_TOKEN, GSS_S_DUPLICATE_TOKEN, GSS_S_GAP_TOKEN). */
  verifyMIC(message: Uint8Array, token: Uint8Array): void {
    this.need(NegotiateFlags.NTLMSSP_NEGOTIATE_SIGN, 'signing');
    if (token.length !== SIG_LEN) throw new GssError('GSS_S_DEFECTIVE_TOKEN', `NTLM MIC token of ${token.length} bytes, expected 16`);
    const seq = this.checkHeader(token, 'MIC');
    const saved = this.recv.seal.clone();
    const expected = this.mac(this.recv, seq, message);
    if (!constantTimeEqual(expected, token)) {
      this.recv.seal = saved;
      throw new GssError('GSS_S_BAD_MIC', 'NTLM message signature does not verify: the message or its signature was altered, or the keys differ');
    }
    this.recv.seq = (this.recv.seq + 1) >>> 0;
  }

  /** GSS_Wrap: signature || RC4-sealed message. NTLM has no integrity-only wrap token: `encrypt` must be true. */
  wrap(message: Uint8Array, encrypt = true): Uint8Array {
    if (!encrypt) throw new GssError('GSS_S_UNAVAILABLE', 'NTLM wrap tokens are always sealed; use getMIC for integrity only');
    this.need(NegotiateFlags.NTLMSSP_NEGOTIATE_SEAL, 'sealing');
    const sealed = this.send.seal.update(message);
    const sig = this.mac(this.send, this.send.seq, message);
    this.send.seq = (this.send.seq + 1) >>> 0;
    return concatBytes(sig, sealed);
  }

  unwrap(token: Uint8Array): { message: Uint8Array; encrypted: boolean } {
    this.need(NegotiateFlags.NTLMSSP_NEGOTIATE_SEAL, 'sealing');
    const seq = this.checkHeader(token, 'wrap token');
    const saved = this.recv.seal.clone();
    const message = this.recv.seal.update(token.subarray(SIG_LEN));
    const expected = this.mac(this.recv, seq, message);
    if (!constantTimeEqual(expected, token.subarray(0, SIG_LEN))) {
      this.recv.seal = saved;
      throw new GssError('GSS_S_BAD_MIC', 'NTLM sealed message does not verify: it was altered, or the keys differ');
    }
    this.recv.seq = (this.recv.seq + 1) >>> 0;
    return { message, encrypted: true };
  }
}

