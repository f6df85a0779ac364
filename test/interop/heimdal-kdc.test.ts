// Heimdal's KDC (7.8) as the realm: our pure client gets tickets from it (password, typed errors),
// tickets from Heimdal's kinit are used by both backends, and the seed SPNEGO flow runs in all four
// pairings with MIT's and with Heimdal's libgssapi, every mechListMIC recomputed byte for byte.
// Heimdal's kinit and kgetcred also get tickets from our embedded KDC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { KRB5_ENV, needNative, needPeer, peerForFile, useEnv } from '../peers/harness.js';
import { runChild } from '../peers/child.js';
import { runPairing, pairingOk } from '../../lib/cli/pairings.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { KerberosError } from '../../lib/errors.js';
import { ErrorCode } from '../../lib/krb5/constants.js';
import { startKdc } from '../../lib/kdc/index.js';
import type { Backend } from '../../lib/context.js';

const run = promisify(execFile);
const kdcPeer = peerForFile('heimdal-kdc', KRB5_ENV);
const ready = (t: import('node:test').TestContext) => needPeer(t, 'heimdal-kdc') && kdcPeer.current !== undefined;
const who = (p: string) => {
  const [n, realm] = p.split('@');
  return { realm: realm!, name: { nameType: 1, nameString: n!.split('/') } };
};

test('pure client against Heimdal\'s KDC: TGT with the password (ETYPE-INFO2 salt), typed errors for a bad password and an unknown client', async (t) => {
  if (!ready(t)) return;
  const e = kdcPeer.current!.env;
  const kdcs = () => ({ kdcs: [{ host: e.HEIMDALKDC_KDC_ADDR!, port: Number(e.HEIMDALKDC_KDC_PORT), transport: 'tcp' as const }] });
  const tgt = await requestInitialTicket({ ...kdcs(), client: who(e.HEIMDALKDC_USER!), secret: { password: e.HEIMDALKDC_PASSWORD! }, etypes: [18, 17] });
  assert.equal(tgt.server.name.nameString[0], 'krbtgt');
  await assert.rejects(requestInitialTicket({ ...kdcs(), client: who(e.HEIMDALKDC_USER!), secret: { password: 'wrong' }, etypes: [18, 17] }),
    (x: unknown) => x instanceof KerberosError && x.errorCode === ErrorCode.KDC_ERR_PREAUTH_FAILED);
  await assert.rejects(requestInitialTicket({ ...kdcs(), client: who(`mallory@${e.HEIMDALKDC_REALM}`), secret: { password: 'x' }, etypes: [18, 17] }),
    (x: unknown) => x instanceof KerberosError && x.errorCode === ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN);
});

// One test per acceptor: the native leg is never dropped silently when the addon does not load
// (needNative skips it with the reason, or fails it under SPNEGO_REQUIRE_PEERS=1 as in CI).
for (const ab of ['pure', 'native'] as const) {
  test(`Heimdal's KDC, principals with aes-sha1, aes-sha2 (RFC 8009) and rc4 keys: our AS with only those enctypes, then a handshake with the ${ab} acceptor`, async (t) => {
    if (!ready(t) || (ab === 'native' && !(await needNative(t, 'mit')))) return;
    const e = kdcPeer.current!.env;
    const kdcs = () => ({ kdcs: [{ host: e.HEIMDALKDC_KDC_ADDR!, port: Number(e.HEIMDALKDC_KDC_PORT), transport: 'tcp' as const }] });
    for (const [user, password, etypes] of [
      [e.HEIMDALKDC_USER!, e.HEIMDALKDC_PASSWORD!, [18, 17]],
      [e.HEIMDALKDC_USER_SHA2!, e.HEIMDALKDC_PASSWORD_SHA2!, [20, 19]],
      [e.HEIMDALKDC_USER_RC4!, e.HEIMDALKDC_PASSWORD_RC4!, [23]],
    ] as const) {
      // The reply key is the user's long-term key: offering only these enctypes proves the user has them.
      const tgt = await requestInitialTicket({ ...kdcs(), client: who(user), secret: { password }, etypes: [...etypes], allowWeak: true });
      assert.equal(tgt.client.name.nameString[0], user.split('@')[0]);
      const r = await runPairing('pure', ab, {
        target: e.HEIMDALKDC_SERVICE!, keytab: e.HEIMDALKDC_KEYTAB, mechs: ['ms-krb5', 'krb5'], krb5Config: e.KRB5_CONFIG,
        credentials: { principal: user, password }, allowWeakCrypto: true,
      });
      assert.ok(pairingOk(r), `${user} -> ${ab}: ${r.error ?? JSON.stringify(r.mics.map((m) => m.equal))}`);
    }
  });
}

for (const lib of ['mit', 'heimdal'] as const) {
  test(`Heimdal's KDC, ${lib} libgssapi: the seed flow in all four pairings, mechListMICs recomputed byte for byte`, async (t) => {
    if (!ready(t) || !(await needNative(t, lib))) return;
    const e = kdcPeer.current!.env;
    const restore = useEnv({ SPNEGO_GSSAPI_LIBRARY: lib });
    try {
      for (const ib of ['native', 'pure'] as Backend[]) {
        for (const ab of ['native', 'pure'] as Backend[]) {
          for (const credentials of [{ ccache: e.KRB5CCNAME! }, { principal: e.HEIMDALKDC_USER!, password: e.HEIMDALKDC_PASSWORD! }]) {
            const r = await runPairing(ib, ab, { target: e.HEIMDALKDC_SERVICE_HOSTBASED!, keytab: e.HEIMDALKDC_KEYTAB, mechs: ['ms-krb5', 'krb5', 'ntlm'], krb5Config: e.KRB5_CONFIG, credentials });
            assert.equal(r.error, undefined, `${ib} -> ${ab} ${Object.keys(credentials)[0]}: ${r.error}`);
            assert.ok(pairingOk(r), `${ib} -> ${ab}: ${JSON.stringify(r.mics.map((m) => m.equal))}`);
            assert.equal(r.enctype, 18);
          }
        }
      }
    } finally {
      restore();
    }
  });
}

test('Heimdal\'s kinit and kgetcred get tickets from the embedded KDC', async (t) => {
  if (!needPeer(t, 'heimdal-kdc')) return;
  const dir = mkdtempSync(join(tmpdir(), 'spnego-heimdal-clients-'));
  const ours = await startKdc({ realm: 'EMBEDDED.TEST', principals: [{ name: 'dave', password: 'dave-pw' }, { name: 'HTTP/web.embedded.test' }] });
  try {
    ours.writeKrb5Conf(join(dir, 'krb5.conf'));
    const env = { ...process.env, KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'cc')}` };
    const bin = '/opt/spnego-heimdal/usr/bin';
    // The KDC runs in this process: the clients are spawned asynchronously.
    const kinit = await runChild(`${bin}/kinit.heimdal`, ['--password-file=STDIN', 'dave@EMBEDDED.TEST'], { input: 'dave-pw\n', env });
    assert.equal(kinit.status, 0, `kinit.heimdal: ${kinit.stderr}`);
    await run(`${bin}/kgetcred`, ['HTTP/web.embedded.test@EMBEDDED.TEST'], { env });
    const { stdout } = await run(`${bin}/heimtools`, ['klist'], { env }); // klist.heimdal is a link that heimtools dispatches on
    assert.match(stdout, /krbtgt\/EMBEDDED\.TEST@EMBEDDED\.TEST/);
    assert.match(stdout, /HTTP\/web\.embedded\.test@EMBEDDED\.TEST/);
    assert.ok(ours.stats.as >= 1 && ours.stats.tgs >= 1);
  } finally {
    await ours.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
