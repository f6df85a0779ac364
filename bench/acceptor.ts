/**
 * The pure acceptor measured through Krb5Acceptor itself (the work the goal names: AP-REQ
 * verification with the replay cache, PAC verification, the AP-REP), so that per-context setup
 * (krb5.conf, keytab) is not counted; and the heap an established pure context keeps.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Krb5Acceptor } from '../lib/krb5/acceptor.js';
import { Krb5Initiator } from '../lib/krb5/initiator.js';
import { MemoryReplayCache } from '../lib/krb5/replay-cache.js';
import { decodePac, pacInfo, verifyPac } from '../lib/krb5/pac/index.js';
import { GssFlags } from '../lib/krb5/gss/checksum.js';
import { formatPrincipal, type Key, type PrincipalName } from '../lib/krb5/types.js';
import type { Ticket } from '../lib/krb5/asn1/index.js';
import { createPureAcceptor } from '../lib/pure/index.js';
import type { SecurityContext } from '../lib/context.js';
import { BUDGET_MS } from './util.js';

export interface ServiceTicket {
  client: { realm: string; name: PrincipalName };
  ticket: Ticket;
  key: Key;
}

const FLAGS = GssFlags.mutual | GssFlags.replay | GssFlags.sequence | GssFlags.integ | GssFlags.conf;

/** Fresh AP-REQ tokens (each authenticator once: the replay cache refuses a second use). */
export function apReqs(svc: ServiceTicket, n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(new Krb5Initiator({ client: svc.client, ticket: svc.ticket, sessionKey: svc.key, flags: FLAGS }).step().token!);
  return out;
}

/** AP-REQ verify + PAC verify + AP-REP per second, one at a time, on one acceptor. */
export async function pureAcceptsPerSec(svc: ServiceTicket, serviceKey: Key): Promise<{ rate: number; withPac: boolean }> {
  const acceptor = new Krb5Acceptor({ keyFor: () => serviceKey, replayCache: new MemoryReplayCache() });
  const accept = async (token: Uint8Array) => {
    const a = await acceptor.accept(token);
    if (a.pac) {
      // What the pure context does on completion (lib/pure/index.ts).
      const pac = decodePac(a.pac);
      verifyPac(pac, a.serviceKey, { clientName: formatPrincipal({ ...a.client.name, realm: a.client.realm }), authtime: a.ticket.authtime });
      pacInfo(pac);
    }
    return a;
  };
  const warm = apReqs(svc, 2000);
  for (const t of warm) await accept(t);
  const budget = Math.max(1000, BUDGET_MS * 3);
  let done = 0;
  let elapsed = 0;
  let withPac = false;
  // Tokens are made in batches outside the timed part.
  while (elapsed < budget) {
    const batch = apReqs(svc, 2000);
    const start = performance.now();
    for (const t of batch) withPac = (await accept(t)).pac !== undefined;
    elapsed += performance.now() - start;
    done += batch.length;
  }
  return { rate: (done * 1000) / elapsed, withPac };
}

function heapAfterGc(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/**
 * Heap kept per established pure acceptor context (public API, mech kerberos): `count` contexts
 * held, heapUsed after GC minus before, divided by count. The shared replay cache's entries (one
 * per context, ~70 bytes) are included.
 */
export async function heapPerContext(svc: ServiceTicket, o: { keytab: string; krb5Config: string; count: number }): Promise<number> {
  const replayCache = new MemoryReplayCache({ maxEntries: o.count + 10 });
  const held: SecurityContext[] = [];
  const make = () => createPureAcceptor({ mech: 'kerberos', keytab: o.keytab, krb5Config: o.krb5Config, replayCache });
  const first = make();
  await first.step(apReqs(svc, 1)[0]!);
  const before = heapAfterGc();
  for (let done = 0; done < o.count; ) {
    const batch = apReqs(svc, Math.min(5000, o.count - done));
    for (const t of batch) {
      const ctx = make();
      await ctx.step(t);
      if (!ctx.complete) throw new Error('the bench context did not complete');
      held.push(ctx);
    }
    done += batch.length;
  }
  const after = heapAfterGc();
  const per = (after - before) / held.length;
  held.length = 0;
  return per;
}
