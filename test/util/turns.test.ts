// lib/util/turns.ts: the event loop's turns shared among CPU-heavy steps (issue 15, event-loop delay
// under a flood of handshakes). A fake clock makes the spreading deterministic: each step "costs" 1 ms.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TurnBudget } from '../../lib/util/turns.js';

/** Counts turns of the event loop: one increment per check phase, for as long as `running`. */
function turnCounter() {
  const c = { turn: 0, running: true };
  const tick = () => {
    c.turn++;
    if (c.running) setImmediate(tick);
  };
  setImmediate(tick);
  return c;
}

async function flood(budget: TurnBudget, clock: { t: number }, n: number, turns: { turn: number }) {
  const ranIn: number[] = [];
  const order: number[] = [];
  await Promise.all(Array.from({ length: n }, async (_, i) => {
    const wait = budget.take();
    if (wait) await wait;
    order.push(i);
    ranIn.push(turns.turn);
    clock.t += 1; // the step's synchronous work
  }));
  return { ranIn, order };
}

test('under its budget a step runs at once; past it, in a later turn', async () => {
  const clock = { t: 0 };
  const b = new TurnBudget(10, () => clock.t);
  assert.equal(b.take(), undefined);
  clock.t += 9;
  assert.equal(b.take(), undefined);
  clock.t += 1;
  const wait = b.take();
  assert.ok(wait instanceof Promise, 'past the budget the step must wait');
  assert.equal(b.queued, 1);
  let released = false;
  void wait.then(() => { released = true; });
  await Promise.resolve();
  assert.equal(released, false, 'not within the same turn');
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  assert.equal(released, true);
  assert.equal(b.queued, 0);
  // A new turn: under budget again.
  await new Promise((r) => setImmediate(r));
  assert.equal(b.take(), undefined);
});

test('a flood of 50 steps of 1 ms with a 10 ms budget runs over several turns, at most 11 per turn, in order', async () => {
  const clock = { t: 0 };
  const turns = turnCounter();
  const { ranIn, order } = await flood(new TurnBudget(10, () => clock.t), clock, 50, turns);
  turns.running = false;
  assert.deepEqual(order, Array.from({ length: 50 }, (_, i) => i), 'no step reordered');
  const perTurn = new Map<number, number>();
  for (const t of ranIn) perTurn.set(t, (perTurn.get(t) ?? 0) + 1);
  assert.ok(perTurn.size >= 5, `spread over ${perTurn.size} turns`);
  // The budget is checked before each step: a turn holds its budget's worth plus the one that crossed it.
  assert.ok(Math.max(...perTurn.values()) <= 11, `a turn ran ${Math.max(...perTurn.values())} steps`);
});

test('without a budget (the reference: what turnBudgetMs 0 does) all 50 run in the first turn', async () => {
  const clock = { t: 0 };
  const turns = turnCounter();
  const ranIn: number[] = [];
  await Promise.all(Array.from({ length: 50 }, async () => {
    ranIn.push(turns.turn);
    clock.t += 1;
  }));
  turns.running = false;
  assert.equal(new Set(ranIn).size, 1);
});

test('a step asking while others wait goes after them, even with budget left in a new turn', async () => {
  const clock = { t: 0 };
  const b = new TurnBudget(2, () => clock.t);
  const order: string[] = [];
  const step = async (name: string) => {
    const w = b.take();
    if (w) await w;
    order.push(name);
    clock.t += 1;
  };
  const first = ['a', 'b', 'c', 'd', 'e'].map(step);
  // Before those drained, a newcomer.
  await new Promise((r) => setImmediate(r));
  const late = step('late');
  await Promise.all([...first, late]);
  assert.deepEqual(order, ['a', 'b', 'c', 'd', 'e', 'late']);
});
