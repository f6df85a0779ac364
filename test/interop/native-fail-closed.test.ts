// Fail closed with the native backend (issue 10 section 2): when our SPNEGO runs around the
// library's Kerberos mechanism (a chosen mech list, or the 'always' MIC policy), the library
// completes its part before the mechListMIC is checked. A MIC that does not verify must still leave
// the NativeContext failed: complete === false, info without names, keys or MICs, every later call
// throwing GSS_S_NO_CONTEXT. The peer is the embedded KDC; MIT's libgssapi reads it via KRB5_CONFIG.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { createAcceptor, createInitiator } from '../../lib/api.js';
import type { SecurityContext } from '../../lib/context.js';
import { GssError } from '../../lib/errors.js';
import { decodeNegotiationToken, encodeNegTokenResp } from '../../lib/spnego/codec.js';
import { utf8 } from '../../lib/util/bytes.js';
import { needNative, useEnv } from '../peers/harness.js';

let dir: string;
let kdc: Kdc;
let restoreEnv: () => void;
const TARGET = 'HTTP/web.failclosed.test@FAILCLOSED.TEST';
const USER = { principal: 'carol@FAILCLOSED.TEST', password: 'pw' };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-native-fail-'));
  kdc = await startKdc({ realm: 'FAILCLOSED.TEST', principals: [{ name: 'carol', password: 'pw' }, { name: 'HTTP/web.failclosed.test' }] });
  kdc.writeKrb5Conf(join(dir, 'krb5.conf'));
  kdc.writeKeytab(join(dir, 'kt'), ['HTTP/web.failclosed.test']);
  restoreEnv = useEnv({ KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5RCACHEDIR: dir, KRB5CCNAME: `FILE:${join(dir, 'ccache')}` });
});
after(async () => {
  restoreEnv();
  await kdc.stop();
  rmSync(dir, { recursive: true, force: true });
});

function tamperMic(token: Uint8Array): Uint8Array {
  const t = decodeNegotiationToken(token);
  assert.ok(t.kind === 'resp' && t.mechListMIC, 'a NegTokenResp with a mechListMIC');
  const mic = t.mechListMIC.slice();
  mic[mic.length - 1]! ^= 0x01;
  return encodeNegTokenResp({ negState: t.negState, supportedMech: t.supportedMech, responseToken: t.responseToken, mechListMIC: mic });
}

async function assertFailed(ctx: SecurityContext, retry: Uint8Array): Promise<void> {
  assert.equal(ctx.complete, false, 'a failed context is not complete');
  const info = ctx.info;
  assert.equal(info.backend, 'native');
  for (const k of ['initiatorName', 'acceptorName', 'sessionKey', 'spnego', 'pac', 'expiresAt', 'mech'] as const) assert.equal(info[k], undefined, k);
  const failed = (e: unknown) => e instanceof GssError && e.major === 'GSS_S_NO_CONTEXT' && e.message.includes('the context failed (GSS_S_DEFECTIVE_TOKEN)');
  const m = utf8.encode('after the failure');
  assert.throws(() => ctx.getMIC(m), failed, 'getMIC');
  assert.throws(() => ctx.verifyMIC(m, new Uint8Array(28)), failed, 'verifyMIC');
  assert.throws(() => ctx.wrap(m), failed, 'wrap');
  assert.throws(() => ctx.unwrap(new Uint8Array(60)), failed, 'unwrap');
  await assert.rejects(ctx.step(retry), failed, 'step');
}

const badMic = (e: unknown) => e instanceof GssError && e.major === 'GSS_S_DEFECTIVE_TOKEN' && /mechListMIC does not verify/.test(e.message);

test("MIT native acceptor (our SPNEGO, 'always'): the initiator's mechListMIC does not verify -> failed", async (t) => {
  if (!(await needNative(t, 'mit'))) return;
  const i = createInitiator({ backend: 'pure', target: TARGET, krb5Config: join(dir, 'krb5.conf'), credentials: USER, spnego: { mechs: ['ms-krb5', 'krb5', 'ntlm'] } });
  const a = createAcceptor({ backend: 'native', gssapiLibrary: 'mit', keytab: join(dir, 'kt'), spnego: { mechListMIC: 'always' } });
  const t3 = (await i.step((await a.step((await i.step())!))!))!;
  assert.ok(i.complete);
  await assert.rejects(a.step(tamperMic(t3)), badMic);
  await assertFailed(a, t3);
  a.dispose();
  i.dispose();
});

test("MIT native initiator (our SPNEGO, chosen mechs): the acceptor's mechListMIC does not verify -> failed", async (t) => {
  if (!(await needNative(t, 'mit'))) return;
  const i = createInitiator({ backend: 'native', gssapiLibrary: 'mit', target: TARGET, credentials: USER, spnego: { mechs: ['ms-krb5', 'krb5', 'ntlm'] } });
  const a = createAcceptor({ backend: 'pure', keytab: join(dir, 'kt'), spnego: { mechListMIC: 'always' } });
  const t2 = (await a.step((await i.step())!))!;
  await assert.rejects(i.step(tamperMic(t2)), badMic);
  await assertFailed(i, t2);
  i.dispose();
  a.dispose();
});

test('MIT native acceptor and initiator: an untouched exchange with our SPNEGO still completes', async (t) => {
  if (!(await needNative(t, 'mit'))) return;
  const i = createInitiator({ backend: 'native', gssapiLibrary: 'mit', target: TARGET, credentials: USER, spnego: { mechs: ['ms-krb5', 'krb5', 'ntlm'] } });
  const a = createAcceptor({ backend: 'native', gssapiLibrary: 'mit', keytab: join(dir, 'kt'), spnego: { mechListMIC: 'always' } });
  const t3 = await i.step((await a.step((await i.step())!))!);
  await a.step(t3!);
  assert.ok(i.complete && a.complete);
  assert.equal(a.info.initiatorName, USER.principal);
  const m = utf8.encode('ok');
  a.verifyMIC(m, i.getMIC(m));
  i.dispose();
  a.dispose();
});
