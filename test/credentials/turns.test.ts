// The pure acceptor shares the event loop's turns (issue 15: event-loop delay under a flood of
// handshakes; lib/util/turns.ts): with a small turnBudgetMs, AP-REQs accepted from one macrotask
// finish over several turns of the event loop; with turnBudgetMs 0 they all finish in the first.
// Every AP-REQ is still accepted, each once. The option is checked, and refused by the native backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acquireCredentials, createAcceptor, createInitiator } from '../../lib/api.js';
import { UsageError } from '../../lib/errors.js';
import { realmForFile } from '../kdc/realm-for-file.js';

const REALM = 'TURNS.TEST';
const r = realmForFile(REALM);

/** `n` first tokens (new AP-REQs), then all accepted from one macrotask; in which turn of the event loop (counted by a setImmediate chain) each finished. */
async function flood(turnBudgetMs: number, n: number) {
  const ic = await acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config: r.krb5Config, credentials: { principal: 'alice', password: 'alice-pw' } as never });
  const ac = await acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config: r.krb5Config, keytab: r.keytab, turnBudgetMs });
  try {
    const tokens: Buffer[] = [];
    for (let i = 0; i < n; i++) {
      const ini = createInitiator({ credentials: ic, target: 'HTTP@localhost', mech: 'kerberos' });
      tokens.push(Buffer.from((await ini.step())!));
      ini.dispose();
    }
    let turn = 0;
    let counting = true;
    const tick = () => {
      turn++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const finishedIn: number[] = [];
    const users = await Promise.all(tokens.map(async (t) => {
      const a = createAcceptor({ credentials: ac, mech: 'kerberos' });
      try {
        await a.step(t);
        finishedIn.push(turn);
        return a.complete ? a.info.initiatorName : undefined;
      } finally {
        a.dispose();
      }
    }));
    counting = false;
    return { users, turns: new Set(finishedIn).size, finishedIn };
  } finally {
    ic.dispose();
    ac.dispose();
  }
}

test('turnBudgetMs 1: 40 AP-REQs from one macrotask are spread over turns (setImmediate callbacks run in between), all accepted', async () => {
  const { users, turns, finishedIn } = await flood(1, 40);
  assert.deepEqual(users, Array(40).fill(`alice@${REALM}`));
  assert.ok(turns >= 2, `the 40 handshakes finished in turns ${finishedIn.join(' ')}`);
});

test('turnBudgetMs 0 (no yielding), the reference: the 40 handshakes all finish before the next turn', async () => {
  const { users, finishedIn } = await flood(0, 40);
  assert.deepEqual(users, Array(40).fill(`alice@${REALM}`));
  assert.deepEqual(finishedIn, Array(40).fill(0));
});

test('turnBudgetMs: a negative or non-finite value is a UsageError; the native backend refuses it', async () => {
  for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
    await assert.rejects(acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config: r.krb5Config, keytab: r.keytab, turnBudgetMs: bad }), (e: unknown) => e instanceof UsageError && /turnBudgetMs/.test((e as Error).message));
  }
  // Refused before the library is loaded (the option is checked first).
  await assert.rejects(acquireCredentials({ usage: 'accept', backend: 'native', keytab: r.keytab, turnBudgetMs: 5 }), (e: unknown) => e instanceof UsageError && /pure backend only/.test((e as Error).message));
});
