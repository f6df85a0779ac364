/**
 * Per-message sequence checking, RFC 2743 section 1.2.3 and RFC 4121 section 4.2.3 (MIT's
 * g_seqstate): a sliding window of the last 64 numbers received. Which statuses are errors depends on
 * the context flags: replay detection reports duplicates, sequencing also reports old, early and
 * missing tokens. 64-bit sequence numbers (RFC 4121); RFC 4757 tokens carry 32 bits, masked by the caller.
 */
import { GssError } from '../../errors.js';

const WINDOW = 64n;

export class SequenceWindow {
  /** The next number expected in order. */
  private next: bigint;
  /** Bit i set = (next - 1 - i) was received. */
  private seen = 0n;
  private readonly replay: boolean;
  private readonly sequence: boolean;

  constructor(o: { initial: bigint; replay: boolean; sequence: boolean }) {
    this.next = o.initial;
    this.replay = o.replay;
    this.sequence = o.sequence;
  }

  /**
   * Records `seq`. Throws GSS_S_DUPLICATE_TOKEN (replay), GSS_S_OLD_TOKEN (before the window) and,
   * with sequencing, GSS_S_UNSEQ_TOKEN (earlier than one already received). Returns 'GSS_S_GAP_TOKEN'
   * when tokens were skipped (a good token; the caller may report it).
   */
  check(seq: bigint): 'GSS_S_GAP_TOKEN' | undefined {
    if (!this.replay && !this.sequence) return undefined;
    if (seq === this.next) {
      this.seen = ((this.seen << 1n) | 1n) & ((1n << WINDOW) - 1n);
      this.next = seq + 1n;
      return undefined;
    }
    if (seq > this.next) {
      // A gap: later token than expected (some were lost or reordered).
      const gap = seq - this.next;
      this.seen = gap + 1n >= WINDOW ? 1n : ((this.seen << (gap + 1n)) | 1n) & ((1n << WINDOW) - 1n);
      this.next = seq + 1n;
      // GSS_S_GAP_TOKEN is supplementary information, not an error (RFC 2743 1.2.1.1): the message is good.
      return this.sequence ? 'GSS_S_GAP_TOKEN' : undefined;
    }
    const back = this.next - 1n - seq;
    if (back >= WINDOW) {
      throw new GssError('GSS_S_OLD_TOKEN', `token #${seq} is older than the replay window`);
    }
    const bit = 1n << back;
    if (this.seen & bit) throw new GssError('GSS_S_DUPLICATE_TOKEN', `token #${seq} was already received (replay)`);
    this.seen |= bit;
    if (this.sequence) throw new GssError('GSS_S_UNSEQ_TOKEN', `token #${seq} arrived after a later one`);
    return undefined;
  }
}
