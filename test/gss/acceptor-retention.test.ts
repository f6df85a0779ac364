// What an established pure acceptor keeps (issue 11, heap per context): the names, flags and the
// ticket's end time; the handshake's full result (the ticket with its PAC bytes, the service and
// ticket keys, the AP-REP) goes to the completion hook once and is then dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Krb5AcceptorMech, Krb5InitiatorMech } from '../../lib/pure/krb5-mech.js';
import type { AcceptedContext } from '../../lib/krb5/acceptor.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { GssFlags } from '../../lib/krb5/gss/checksum.js';
import { generateKey } from '../../lib/krb5/crypto/index.js';
import { client, makeServiceTicket, service } from '../krb5/ticket-fixture.js';

test('an established acceptor mech keeps names, flags and end time only; the hook saw the whole handshake once', async () => {
  const serviceKey = generateKey(18);
  const { ticket, sessionKey } = makeServiceTicket({ serviceKey });
  const seen: AcceptedContext[] = [];
  const am = new Krb5AcceptorMech({ keyFor: () => serviceKey, replayCache: new MemoryReplayCache() }, { complete: (a) => void seen.push(a) });
  const im = new Krb5InitiatorMech(async () => ({ client, ticket, sessionKey, flags: GssFlags.mutual | GssFlags.integ }));
  await im.step(await am.step((await im.step())!));
  assert.ok(am.complete && im.complete);
  await am.finish();
  await am.finish(); // the hook runs once

  assert.equal(seen.length, 1);
  assert.deepEqual(seen[0]!.serviceKey, serviceKey);
  assert.ok(seen[0]!.ticket.authtime instanceof Date);

  const kept = am.accepted!;
  assert.deepEqual(Object.keys(kept).sort(), ['client', 'flags', 'server', 'ticket']);
  assert.deepEqual(Object.keys(kept.ticket), ['endtime']);
  assert.deepEqual(kept.client, client);
  assert.deepEqual(kept.server, service);
  assert.equal(kept.ticket.endtime.getTime(), seen[0]!.ticket.endtime.getTime());
  assert.equal(am.flags, seen[0]!.flags);
  // Nothing else on the mech leads back to the handshake's result.
  for (const v of Object.values(am)) assert.notEqual(v, seen[0]);
  // The context still works.
  im.verifyMIC(new Uint8Array([1, 2, 3]), am.getMIC(new Uint8Array([1, 2, 3])));
});
