/**
 * The context-establishment loop the demo, the bench and the tests share: initiator and acceptor
 * in one process, each token handed straight to the other side until neither has one to send.
 */
import type { SecurityContext } from './context.js';

/** Runs `i` against `a` to completion; returns the tokens in the order they crossed. */
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
