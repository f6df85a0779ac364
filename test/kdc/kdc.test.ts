// The embedded KDC against real clients (MIT kinit, kvno, kinit -k with its keytab, MIT's GSSAPI
// acceptor) and our own pure client, for aes-sha1, aes-sha2 and rc4 principals; malformed requests
// answered with KRB-ERRORs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Socket } from 'node:net';
import fc from 'fast-check';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { needPeer } from '../peers/harness.js';
import { GssPeer, PY_GSSAPI } from '../peers/gss-peer.js';
import { runChild } from '../peers/child.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { requestServiceTicket } from '../../lib/krb5/client/tgs.js';
import { sendToKdc } from '../../lib/krb5/client/transport.js';
import { decodeKrb5Message } from '../../lib/krb5/asn1/index.js';
import { createPureAcceptor, createPureInitiator } from '../../lib/pure/index.js';
import { KerberosError, UsageError } from '../../lib/errors.js';
import { ErrorCode } from '../../lib/krb5/constants.js';
import { inputs, FUZZ_SEED } from '../asn1/fuzz-inputs.js';
import { tcpKdc, forwardTo } from './tcp-kdc.js';

const REALM = 'EMBEDDED.TEST';

/** Runs a client asynchronously (the KDC lives in this process); a child that exits without reading its stdin is a result, not an EPIPE crash. */
const run = runChild;
let kdc: Kdc;
let dir: string;
let conf: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-kdc-'));
  kdc = await startKdc({
    realm: REALM, allowWeakCrypto: true,
    principals: [
      { name: 'alice', password: 'alice-pw' },
      { name: 'bob', password: 'bob-pw', enctypes: [20, 19] },
      { name: 'carol', password: 'carol-pw', enctypes: [23] },
      { name: 'HTTP/web.embedded.test' },
      { name: 'HTTP/sha2.embedded.test', enctypes: [20, 19] },
      { name: 'HTTP/rc4.embedded.test', enctypes: [23] },
    ],
  });
  conf = join(dir, 'krb5.conf');
  kdc.writeKrb5Conf(conf);
  kdc.writeKeytab(join(dir, 'http.keytab'));
});
after(async () => {
  await kdc.stop();
  rmSync(dir, { recursive: true, force: true });
});
const env = (cc: string) => ({ ...process.env, KRB5_CONFIG: conf, KRB5CCNAME: `FILE:${join(dir, cc)}`, KRB5_KTNAME: `FILE:${join(dir, 'http.keytab')}` });
const who = (n: string) => ({ realm: REALM, name: { nameType: 1, nameString: n.split('/') } });
const target = () => ({ kdcs: [{ host: '127.0.0.1', port: kdc.port }] });

// The user's keys are the reply keys (kinit works only if pre-auth and the AS-REP use them); the
// service's keys show in klist -e as the ticket enctype.
for (const [user, pw, svc, enctype] of [['alice', 'alice-pw', 'web', 'aes256-cts-hmac-sha1-96'], ['bob', 'bob-pw', 'sha2', 'aes256-cts-hmac-sha384-192'], ['carol', 'carol-pw', 'rc4', 'arcfour-hmac']] as const) {
  test(`MIT kinit and kvno get tickets from the embedded KDC (${user}, ${enctype})`, async (t) => {
    if (!needPeer(t, 'mit-kdc')) return;
    const e = env(`cc-${user}`);
    const k = await run('kinit', [`${user}@${REALM}`], { input: `${pw}\n`, env: e });
    assert.equal(k.status, 0, k.stderr);
    const v = await run('kvno', [`HTTP/${svc}.embedded.test@${REALM}`], { env: e });
    assert.equal(v.status, 0, v.stderr);
    const l = await run('klist', ['-e'], { env: e });
    assert.match(l.stdout, new RegExp(`krbtgt/${REALM}@${REALM}`));
    assert.match(l.stdout, new RegExp(`HTTP/${svc}.embedded.test@${REALM}\\n\\tEtype \\(skey, tkt\\): [^,]+, (DEPRECATED:)?${enctype}`));
    const bad = await run('kinit', [`${user}@${REALM}`], { input: 'wrong\n', env: env(`cc-bad-${user}`) });
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /Password incorrect|Preauthentication failed/);
  });
}

test('MIT kinit -k with the keytab the embedded KDC exported', async (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const r = await run('kinit', ['-k', '-t', join(dir, 'http.keytab'), `HTTP/web.embedded.test@${REALM}`], { env: env('cc-kt') });
  assert.equal(r.status, 0, r.stderr);
});

test('MIT\'s GSSAPI acceptor accepts a service ticket the embedded KDC issued (MIT initiator from kinit)', async (t) => {
  if (!needPeer(t, 'mit-kdc', [PY_GSSAPI])) return;
  const e = env('cc-gss');
  assert.equal((await run('kinit', [`alice@${REALM}`], { input: 'alice-pw\n', env: e })).status, 0);
  const strEnv = Object.fromEntries(Object.entries(e).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
  const ini = new GssPeer('initiator', strEnv, { target: 'HTTP@web.embedded.test' });
  const acc = new GssPeer('acceptor', strEnv);
  try {
    let tok = (await ini.step()).token;
    let done = false;
    while (tok && !done) {
      const a = await acc.step(tok);
      if (!a.token) break;
      const i = await ini.step(a.token);
      tok = i.token;
      done = !!i.info.complete;
    }
    const m = new TextEncoder().encode('hello');
    assert.deepEqual(await acc.verifyMic(m, await ini.getMic(m)), { ok: true });
  } finally {
    ini.close();
    acc.close();
  }
});

test('our pure client and acceptor against the embedded KDC, every enctype, SPNEGO with the Windows MIC policy', async () => {
  for (const [user, pw, spn] of [['alice', 'alice-pw', 'HTTP/web.embedded.test'], ['bob', 'bob-pw', 'HTTP/sha2.embedded.test'], ['carol', 'carol-pw', 'HTTP/web.embedded.test']] as const) {
    const ini = createPureInitiator({ target: `${spn}@${REALM}`, krb5Config: conf, credentials: { principal: `${user}@${REALM}`, password: pw }, allowWeakCrypto: true });
    const acc = createPureAcceptor({ keytab: join(dir, 'http.keytab'), krb5Config: conf, spnego: { mechListMIC: 'always' }, allowWeakCrypto: true });
    let tok = await ini.step();
    while (tok) {
      const back = await acc.step(tok);
      if (!back) break;
      tok = await ini.step(back);
    }
    assert.ok(ini.complete && acc.complete, user);
    assert.equal(acc.info.initiatorName, `${user}@${REALM}`);
    assert.deepEqual(ini.info.sessionKey, acc.info.sessionKey);
  }
});

test('typed errors from the embedded KDC: bad password, unknown client, unknown service, skew, no common enctype', async () => {
  await assert.rejects(requestInitialTicket({ ...target(), client: who('alice'), secret: { password: 'nope' }, etypes: [18] }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KDC_ERR_PREAUTH_FAILED);
  await assert.rejects(requestInitialTicket({ ...target(), client: who('mallory'), secret: { password: 'x' }, etypes: [18] }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN);
  await assert.rejects(requestInitialTicket({ ...target(), client: who('alice'), secret: { password: 'alice-pw' }, etypes: [18], now: () => new Date(Date.now() + 3600_000) }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_SKEW);
  await assert.rejects(requestInitialTicket({ ...target(), client: who('bob'), secret: { password: 'bob-pw' }, etypes: [18, 17] }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KDC_ERR_ETYPE_NOSUPP);
  const tgt = await requestInitialTicket({ ...target(), client: who('alice'), secret: { password: 'alice-pw' }, etypes: [18] });
  await assert.rejects(requestServiceTicket({ tgt, server: who('HTTP/nowhere'), kdcsFor: () => target(), etypes: [18] }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN);
  await assert.rejects(startKdc({ realm: 'X', host: '10.0.0.1' }), UsageError);
});

test('UDP: a reply too big for a datagram makes the client retry over TCP', async () => {
  // Plenty of enctypes and a long name make the AS-REP large; the client must still get it.
  const tgt = await requestInitialTicket({ kdcs: [{ host: '127.0.0.1', port: kdc.port, transport: undefined }], transport: { udpPreferenceLimit: 65535 }, client: who('alice'), secret: { password: 'alice-pw' }, etypes: [18, 17, 20, 19] });
  assert.equal(tgt.key.enctype, 18);
});

test('fuzz: the KDC answers any request with a KRB-ERROR or a reply, and keeps serving', async () => {
  const samples: Uint8Array[] = [];
  // Real requests to mutate: our client's AS-REQs (without and with PA-ENC-TIMESTAMP) and TGS-REQ
  // (PA-TGS-REQ with the TGT and an authenticator), recorded on their way to the KDC.
  const rec = await tcpKdc(forwardTo(REALM, kdc.port));
  try {
    const kdcs = [{ host: '127.0.0.1', port: rec.port, transport: 'tcp' as const }];
    const tgt = await requestInitialTicket({ kdcs, client: who('alice'), secret: { password: 'alice-pw' }, etypes: [18] });
    await requestServiceTicket({ tgt, server: who('HTTP/web.embedded.test'), kdcsFor: () => ({ kdcs }), etypes: [18] });
  } finally {
    await rec.close();
  }
  assert.deepEqual(rec.requests.map((r) => decodeKrb5Message(r).type), ['AS-REQ', 'AS-REQ', 'TGS-REQ']);
  samples.push(...rec.requests);
  const { encodeAsReq } = await import('../../lib/krb5/asn1/index.js');
  samples.push(encodeAsReq({ reqBody: { kdcOptions: 0, cname: who('alice').name, realm: REALM, sname: { nameType: 2, nameString: ['krbtgt', REALM] }, till: new Date(Date.now() + 3600_000), nonce: 1, etype: [18] } }));
  const runs = Number(process.env.SPNEGO_FUZZ_RUNS ?? 100000) / 50;
  await fc.assert(fc.asyncProperty(inputs(samples), async (b) => {
    const rep = await sendToKdc(REALM, [{ host: '127.0.0.1', port: kdc.port, transport: 'tcp' }], b, { timeoutMs: 2000 });
    const m = decodeKrb5Message(rep);
    assert.ok(m.type === 'KRB-ERROR' || m.type === 'AS-REP' || m.type === 'TGS-REP');
  }), { seed: FUZZ_SEED, numRuns: Math.max(200, Math.floor(runs)) });
  // A bogus TCP length prefix just closes that connection.
  await new Promise<void>((resolve) => {
    const s = new Socket();
    s.connect(kdc.port, '127.0.0.1', () => s.end(Buffer.from([0xff, 0xff, 0xff, 0xff])));
    s.on('close', () => resolve());
    s.on('error', () => resolve());
  });
  await requestInitialTicket({ ...target(), client: who('alice'), secret: { password: 'alice-pw' }, etypes: [18] });
});
