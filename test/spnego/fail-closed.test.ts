// Fail closed (issue 10 section 2): a step() that fails leaves the pure context failed for good,
// in both roles: complete === false, info without names, keys, PAC or MICs, and every later call
// throws GssError GSS_S_NO_CONTEXT naming the first error. The PAC case is in test/krb5/pac.test.ts,
// the native backend's in test/interop/native-fail-closed.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PureContext } from '../../lib/pure/context.js';
import { Krb5AcceptorMech, Krb5InitiatorMech } from '../../lib/pure/krb5-mech.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { GssFlags } from '../../lib/krb5/gss/checksum.js';
import { generateKey } from '../../lib/krb5/crypto/index.js';
import { decodeNegotiationToken, encodeNegTokenResp } from '../../lib/spnego/codec.js';
import { GssError } from '../../lib/errors.js';
import type { SecurityContext } from '../../lib/context.js';
import { utf8 } from '../../lib/util/bytes.js';
import { client, makeServiceTicket } from '../krb5/ticket-fixture.js';

const FLAGS = GssFlags.mutual | GssFlags.replay | GssFlags.sequence | GssFlags.conf | GssFlags.integ;

/** The seed flow: ms-krb5, krb5, ntlm offered; the acceptor's 'always' policy: MICs both ways. */
function pair() {
  const serviceKey = generateKey(18);
  const { ticket, sessionKey } = makeServiceTicket({ serviceKey });
  const names = { initiatorName: 'alice@EXAMPLE.TEST', acceptorName: 'HTTP/web.example.test@EXAMPLE.TEST', ticketEndtime: new Date(Date.now() + 3600_000) };
  const i = new PureContext('initiator', new Krb5InitiatorMech(async () => ({ client, ticket, sessionKey, flags: FLAGS, names })), true, { mechs: ['ms-krb5', 'krb5', 'ntlm'] });
  const a = new PureContext('acceptor', new Krb5AcceptorMech({ keyFor: () => serviceKey, replayCache: new MemoryReplayCache() }), true, { mechListMIC: 'always' });
  return { i, a };
}

/** The same NegTokenResp with one bit of its mechListMIC's checksum flipped. */
function tamperMic(token: Uint8Array): Uint8Array {
  const t = decodeNegotiationToken(token);
  assert.ok(t.kind === 'resp' && t.mechListMIC, 'a NegTokenResp with a mechListMIC');
  const mic = t.mechListMIC.slice();
  mic[mic.length - 1]! ^= 0x01;
  return encodeNegTokenResp({ negState: t.negState, supportedMech: t.supportedMech, responseToken: t.responseToken, mechListMIC: mic });
}

const failed = (first: string) => (e: unknown) =>
  e instanceof GssError && e.major === 'GSS_S_NO_CONTEXT' && e.message.includes(`the context failed (${first})`);

function assertFailed(ctx: SecurityContext, first: string, retry: Uint8Array): Promise<void> {
  assert.equal(ctx.complete, false, 'a failed context is not complete');
  const info = ctx.info;
  assert.equal(info.initiatorName, undefined);
  assert.equal(info.acceptorName, undefined);
  assert.equal(info.sessionKey, undefined);
  assert.equal(info.spnego, undefined);
  assert.equal(info.pac, undefined);
  assert.equal(info.expiresAt, undefined);
  assert.deepEqual(Object.values(info.flags).filter(Boolean), [], 'no flags granted');
  const m = utf8.encode('after the failure');
  assert.throws(() => ctx.getMIC(m), failed(first), 'getMIC');
  assert.throws(() => ctx.verifyMIC(m, new Uint8Array(28)), failed(first), 'verifyMIC');
  assert.throws(() => ctx.wrap(m), failed(first), 'wrap');
  assert.throws(() => ctx.unwrap(new Uint8Array(60)), failed(first), 'unwrap');
  return assert.rejects(ctx.step(retry), failed(first), 'step');
}

test("the initiator's mechListMIC does not verify: the acceptor is failed, not complete, and vouches for nobody", async () => {
  const { i, a } = pair();
  const t2 = await a.step(await i.step());
  const t3 = await i.step(t2);
  assert.ok(i.complete && t3);
  await assert.rejects(a.step(tamperMic(t3)), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_DEFECTIVE_TOKEN' && /mechListMIC does not verify/.test(e.message));
  await assertFailed(a, 'GSS_S_DEFECTIVE_TOKEN', t3);
});

test("the acceptor's mechListMIC does not verify: the initiator is failed, with no session key or MICs left in info", async () => {
  const { i, a } = pair();
  const t2 = await a.step(await i.step());
  assert.ok(t2);
  await assert.rejects(i.step(tamperMic(t2)), (e: unknown) => e instanceof GssError && e.major === 'GSS_S_DEFECTIVE_TOKEN' && /mechListMIC does not verify/.test(e.message));
  await assertFailed(i, 'GSS_S_DEFECTIVE_TOKEN', t2);
});

test('a failure in the first step (an AP-REQ for another key) fails the acceptor the same way', async () => {
  const { i } = pair();
  const other = new PureContext('acceptor', new Krb5AcceptorMech({ keyFor: () => generateKey(18), replayCache: new MemoryReplayCache() }), true, { mechListMIC: 'always' });
  const t1 = (await i.step())!;
  await assert.rejects(other.step(t1));
  await assertFailed(other, 'KRB_AP_ERR_BAD_INTEGRITY', t1);
});

test('an untouched exchange still completes, and a UsageError for a concurrent step does not fail the context', async () => {
  const { i, a } = pair();
  const t1 = await i.step();
  const first = a.step(t1);
  await assert.rejects(a.step(t1), (e: unknown) => e instanceof Error && /still running/.test(e.message));
  const t3 = await i.step(await first);
  await a.step(t3!);
  assert.ok(i.complete && a.complete);
  assert.equal(a.info.initiatorName, 'alice@EXAMPLE.TEST');
  const m = utf8.encode('ok');
  a.verifyMIC(m, i.getMIC(m));
});
