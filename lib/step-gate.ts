/**
 * The rules every SecurityContext's step() follows, for both backends: one step at a time (a
 * second call while one runs is a UsageError, never a queued or interleaved step), none after
 * dispose() or once the context is complete.
 */
import { UsageError } from './errors.js';

export class StepGate {
  private busy = false;
  disposed = false;

  async run<T>(complete: boolean, step: () => Promise<T>): Promise<T> {
    if (this.disposed) throw new UsageError('the context was disposed');
    if (this.busy) throw new UsageError('step() called while another step() on this context is still running');
    if (complete) throw new UsageError('the context is already complete');
    this.busy = true;
    try {
      return await step();
    } finally {
      this.busy = false;
    }
  }
}
