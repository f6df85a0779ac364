/**
 * An established Kerberos GSS context (RFC 4121 section 4.2): the context key, who holds the
 * acceptor subkey, and the two sequence numbers. MIC and Wrap tokens are made and checked here;
 * received sequence numbers go through the replay / ordering window the context flags ask for.
 */
import { GssFlags } from './gss/checksum.js';
import { getMic, verifyMic } from './gss/mic.js';
import { wrapToken, unwrapToken } from './gss/wrap.js';
import { SequenceWindow } from './gss/sequence.js';
import type { Key } from './types.js';

export interface Krb5SessionParams {
  key: Key;
  /** RFC 4121 4.2.2: the key is the acceptor's subkey (the AcceptorSubkey flag of every token). */
  acceptorSubkey: boolean;
  isInitiator: boolean;
  /** Our first sequence number and the peer's. */
  sendSeq: number;
  recvSeq: number;
  /** GssFlags granted. */
  flags: number;
  allowWeak?: boolean;
}

export class Krb5Session {
  readonly key: Key;
  readonly acceptorSubkey: boolean;
  readonly isInitiator: boolean;
  readonly flags: number;
  /**
   * A number, not a bigint (it starts below 2^32 and grows by one per token: 2^53 is out of reach),
   * written as the 64-bit SND_SEQ by the token code.
   */
  private sendSeq: number;
  private readonly window: SequenceWindow;

  constructor(p: Krb5SessionParams) {
    this.key = p.key;
    this.acceptorSubkey = p.acceptorSubkey;
    this.isInitiator = p.isInitiator;
    this.flags = p.flags;
    this.sendSeq = p.sendSeq;
    this.window = new SequenceWindow({
      initial: BigInt(p.recvSeq),
      replay: (p.flags & GssFlags.replay) !== 0,
      sequence: (p.flags & GssFlags.sequence) !== 0,
    });
  }

  /** The next sequence number we will send (what the next getMIC/wrap uses). */
  get nextSendSeq(): bigint {
    return BigInt(this.sendSeq);
  }

  private params(fromAcceptor: boolean) {
    return { key: this.key, fromAcceptor, acceptorSubkey: this.acceptorSubkey };
  }

  getMIC(message: Uint8Array): Uint8Array {
    const token = getMic({ key: this.key, fromAcceptor: !this.isInitiator, acceptorSubkey: this.acceptorSubkey, seqNumber: this.sendSeq++ }, message);
    return token;
  }

  /** Throws GssError (GSS_S_BAD_MIC, GSS_S_DUPLICATE_TOKEN, GSS_S_OLD_TOKEN, ...). */
  verifyMIC(message: Uint8Array, token: Uint8Array): void {
    const seq = verifyMic(this.params(this.isInitiator), message, token);
    this.window.check(seq);
  }

  wrap(message: Uint8Array, encrypt = true): Uint8Array {
    const token = wrapToken({ key: this.key, fromAcceptor: !this.isInitiator, acceptorSubkey: this.acceptorSubkey, seqNumber: this.sendSeq++ }, message, { encrypt });
    return token;
  }

  unwrap(token: Uint8Array): { message: Uint8Array; encrypted: boolean } {
    const r = unwrapToken(this.params(this.isInitiator), token);
    this.window.check(r.seqNumber);
    return { message: r.message, encrypted: r.encrypted };
  }
}
