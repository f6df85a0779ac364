/**
 * Turns of the event loop shared among CPU-heavy steps (the pure acceptor decrypting an AP-REQ,
 * then building its AP-REP), so that a flood of handshakes cannot hold the loop: with 100 AP-REQs
 * read in one poll phase, or 100 Redis answers in one reply, the loop would otherwise run all of
 * them before any timer, health check or other socket (issue 15: event-loop delay under load).
 *
 * A step calls `take()` before its synchronous work. While the running turn (measured from the
 * first take() in it) is younger than `budgetMs`, and nobody waits, the answer is `undefined`: go
 * on, no extra hop. Past the budget the step gets a promise; waiting steps are let through in
 * order in later turns (setImmediate: after the next poll phase), one at a time in a microtask
 * chain that stops when that turn's budget is spent. No work is dropped or reordered, only spread.
 */
export class TurnBudget {
  /** performance.now() when the running turn's first take() came; -1 between turns. */
  private turnStart = -1;
  private readonly waiting: (() => void)[] = [];

  /** `now`: a monotonic clock in ms (performance.now; injectable for tests). */
  constructor(readonly budgetMs: number, private readonly now: () => number = () => performance.now()) {}

  /** Undefined: run now. A promise: run when it resolves (a later turn). */
  take(): Promise<void> | undefined {
    const now = this.now();
    if (this.turnStart < 0) {
      this.turnStart = now;
      setImmediate(this.endTurn);
    }
    if (this.waiting.length === 0 && now - this.turnStart < this.budgetMs) return undefined;
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
    });
  }

  /** Steps waiting for a later turn (for stats and tests). */
  get queued(): number {
    return this.waiting.length;
  }

  /**
   * In the check phase, after the poll phase that started the turn: a new turn for the waiting
   * steps. At most one is pending, and none while release() runs (turnStart stays set until it ends).
   */
  private readonly endTurn = (): void => {
    this.turnStart = this.now();
    this.release();
  };

  /**
   * Lets one waiting step go; queued after it as a microtask, looks at the clock again once that
   * step's synchronous part ran. Spent budget: the rest waits for the next turn.
   */
  private readonly release = (): void => {
    if (this.waiting.length === 0) {
      // Nobody left: the next take() starts a turn of its own (and schedules its end).
      this.turnStart = -1;
      return;
    }
    if (this.now() - this.turnStart >= this.budgetMs) {
      setImmediate(this.endTurn);
      return;
    }
    this.waiting.shift()!();
    queueMicrotask(this.release);
  };
}

/** The process's default: every pure accept credential not given its own `turnBudgetMs` shares it (one event loop). */
export const DEFAULT_TURN_BUDGET_MS = 10;
export const sharedTurns = new TurnBudget(DEFAULT_TURN_BUDGET_MS);
