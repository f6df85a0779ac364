/**
 * The rules every SecurityContext's step() follows, for both backends: one step at a time (a
 * second call while one runs is a UsageError, never a queued or interleaved step), none after
 * dispose() or once the context is complete, and none after a step failed.
 *
 * Fail closed (RFC 2743 2.2.1/2.2.2: a failed establishment leaves no usable context): the first
 * error a step throws marks the context failed for good. The contexts then report complete ===
 * false and an info without names, keys, PAC or MICs, and every later call (step, getMIC,
 * verifyMIC, wrap, unwrap) throws GssError GSS_S_NO_CONTEXT naming that first error.
 */
import { GssError, SpnegoError, UsageError } from './errors.js';

export class StepGate {
  private busy = false;
  disposed = false;
  /** The first error a step threw; set once, never cleared. */
  private failure?: { error: unknown };

  get failed(): boolean {
    return this.failure !== undefined;
  }

  /** The code of the error that failed the context (a SpnegoError's code, else the error's name). */
  get failureCode(): string | undefined {
    if (!this.failure) return undefined;
    const e = this.failure.error;
    if (e instanceof SpnegoError) return e.code;
    return e instanceof Error ? e.name : typeof e;
  }

  /** Throws when the context was disposed or failed: the first check of every call. */
  check(): void {
    if (this.disposed) throw new UsageError('the context was disposed');
    if (this.failure) {
      throw new GssError('GSS_S_NO_CONTEXT', `the context failed (${this.failureCode}) and cannot be used any more: create a new context`, 0, { cause: this.failure.error });
    }
  }

  async run<T>(complete: boolean, step: () => Promise<T>): Promise<T> {
    this.check();
    if (this.busy) throw new UsageError('step() called while another step() on this context is still running');
    if (complete) throw new UsageError('the context is already complete');
    this.busy = true;
    try {
      return await step();
    } catch (err) {
      this.failure ??= { error: err };
      throw err;
    } finally {
      this.busy = false;
    }
  }
}
