// Native credentials (issue 11): acquired once (gss_acquire_cred / gss_acquire_cred_from on the
// pool), then used by many contexts of both libraries, in every pairing with the pure backend;
// dispose() while contexts run; wrong usage, backend or state refused; allowWeakCrypto enforced by
// the library with an rc4-only ticket; info from gss_inquire_cred. Peer: MIT's KDC on loopback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KRB5_ENV, needNative, needPeer, peerForFile } from '../peers/harness.js';
import { createAcceptor, createInitiator } from '../../lib/api.js';
import type { SecurityContext } from '../../lib/context.js';
import type { AcquireCredentialsOptions, Credential } from '../../lib/credentials.js';
import { GssError, UsageError } from '../../lib/errors.js';
import { exchange } from '../../lib/cli/pairings.js';
import { acquireNativeCredentials } from '../../lib/native/index.js';
import { toHex, utf8 } from '../../lib/util/bytes.js';

const kdcPeer = peerForFile('mit-kdc', KRB5_ENV);
const LIBS = ['mit', 'heimdal'] as const;
const env = () => kdcPeer.current!.env;

async function ready(t: import('node:test').TestContext, lib: string): Promise<boolean> {
  return needPeer(t, 'mit-kdc') && kdcPeer.current !== undefined && (await needNative(t, lib));
}

const acquire = (o: AcquireCredentialsOptions): Promise<Credential> => acquireNativeCredentials(o);

async function handshake(i: SecurityContext, a: SecurityContext): Promise<void> {
  await exchange(i, a);
  assert.ok(i.complete && a.complete, 'both sides complete');
  assert.equal(a.info.initiatorName, env().MITKDC_USER);
  assert.equal(toHex(i.info.sessionKey!.key), toHex(a.info.sessionKey!.key));
  const m = utf8.encode('through a shared credential');
  a.verifyMIC(m, i.getMIC(m));
  assert.equal(toHex(i.unwrap(a.wrap(m)).message), toHex(m));
}

for (const lib of LIBS) {
  test(`${lib}: one acceptor and one initiator credential, acquired once, serve N contexts of every kind and pairing`, async (t) => {
    if (!(await ready(t, lib))) return;
    const acc = await acquire({ usage: 'accept', backend: 'native', gssapiLibrary: lib, keytab: env().KRB5_KTNAME });
    const ini = await acquire({ usage: 'initiate', backend: 'native', gssapiLibrary: lib, credentials: { ccache: env().KRB5CCNAME! } });
    assert.equal(acc.backend, 'native');
    assert.equal(acc.usage, 'accept');
    assert.equal(ini.usage, 'initiate');
    assert.match(ini.info.library!, lib === 'mit' ? /^MIT 1\./ : /^Heimdal /);
    const target = env().MITKDC_SERVICE_HOSTBASED!;
    const kinds = [{ mech: 'spnego' as const }, { mech: 'kerberos' as const }, { spnego: { mechs: ['ms-krb5', 'krb5', 'ntlm'] } }];
    for (let n = 0; n < 4; n++) {
      for (const k of kinds) {
        // native x native, both from the credentials
        await handshake(createInitiator({ backend: 'native', target, credentials: ini, ...k }), createAcceptor({ backend: 'native', credentials: acc, ...k }));
        // native (credential) x pure (option forms), both directions
        await handshake(createInitiator({ backend: 'native', target, credentials: ini, ...k }),
          createAcceptor({ backend: 'pure', keytab: env().KRB5_KTNAME, ...k }));
        await handshake(createInitiator({ backend: 'pure', target, credentials: { ccache: env().KRB5CCNAME! }, krb5Config: env().KRB5_CONFIG, ...k }),
          createAcceptor({ backend: 'native', credentials: acc, ...k }));
      }
    }
    // pure x pure still works next to them (option forms)
    await handshake(createInitiator({ backend: 'pure', target, credentials: { ccache: env().KRB5CCNAME! }, krb5Config: env().KRB5_CONFIG }),
      createAcceptor({ backend: 'pure', keytab: env().KRB5_KTNAME }));
    acc.dispose();
    ini.dispose();
  });

  test(`${lib}: info from gss_inquire_cred: the initiator's principal and expiry; the acceptor's restriction`, async (t) => {
    if (!(await ready(t, lib))) return;
    const before = Date.now();
    const ini = await acquire({ usage: 'initiate', backend: 'native', gssapiLibrary: lib, credentials: { principal: env().MITKDC_USER!, password: env().MITKDC_PASSWORD! } });
    assert.equal(ini.info.principal, env().MITKDC_USER);
    assert.ok(ini.info.expiresAt instanceof Date, 'an expiry');
    // The test KDC issues tickets for hours, not for ever.
    assert.ok(ini.info.expiresAt.getTime() > before + 60_000 && ini.info.expiresAt.getTime() < before + 8 * 86_400_000, `${ini.info.expiresAt.toISOString()}`);
    const fromCcache = await acquire({ usage: 'initiate', backend: 'native', gssapiLibrary: lib, credentials: { ccache: env().KRB5CCNAME! } });
    assert.equal(fromCcache.info.principal, env().MITKDC_USER);
    const any = await acquire({ usage: 'accept', backend: 'native', gssapiLibrary: lib, keytab: env().KRB5_KTNAME });
    assert.equal(any.info.principal, undefined, 'any principal of the keytab');
    assert.equal(any.info.expiresAt, undefined);
    // A restricted acceptor (raw Kerberos: Heimdal's SPNEGO acceptor cannot be restricted).
    const one = await acquire({ usage: 'accept', backend: 'native', gssapiLibrary: lib, keytab: env().KRB5_KTNAME, principal: env().MITKDC_SERVICE });
    assert.equal(one.info.principal, env().MITKDC_SERVICE);
    await handshake(createInitiator({ backend: 'native', gssapiLibrary: lib, target: env().MITKDC_SERVICE_HOSTBASED!, credentials: ini, mech: 'kerberos' }),
      createAcceptor({ backend: 'native', credentials: one, mech: 'kerberos' }));
    for (const c of [ini, fromCcache, any, one]) c.dispose();
  });

  test(`${lib}: dispose() while contexts are in flight: they finish; new contexts are refused; dispose is idempotent`, async (t) => {
    if (!(await ready(t, lib))) return;
    const acc = await acquire({ usage: 'accept', backend: 'native', gssapiLibrary: lib, keytab: env().KRB5_KTNAME });
    const ini = await acquire({ usage: 'initiate', backend: 'native', gssapiLibrary: lib, credentials: { principal: env().MITKDC_USER!, password: env().MITKDC_PASSWORD! } });
    const i = createInitiator({ backend: 'native', target: env().MITKDC_SERVICE_HOSTBASED!, credentials: ini });
    const a = createAcceptor({ backend: 'native', credentials: acc });
    const first = i.step(); // running on the pool while the credential goes away
    ini.dispose();
    acc.dispose();
    ini.dispose();
    assert.ok(ini.disposed && acc.disposed);
    const back = await a.step((await first)!);
    await i.step(back);
    assert.ok(i.complete && a.complete);
    assert.equal(a.info.initiatorName, env().MITKDC_USER);
    const m = utf8.encode('after dispose');
    i.verifyMIC(m, a.getMIC(m));
    assert.throws(() => createAcceptor({ backend: 'native', credentials: acc }), (e: unknown) => e instanceof UsageError && /disposed/.test(e.message));
    assert.throws(() => createInitiator({ backend: 'native', target: 'HTTP@localhost', credentials: ini }), (e: unknown) => e instanceof UsageError && /disposed/.test(e.message));
    i.dispose();
    a.dispose();
  });
}

test('wrong usage, wrong backend, conflicting options: UsageError', async (t) => {
  if (!(await ready(t, 'mit'))) return;
  const acc = await acquire({ usage: 'accept', backend: 'native', gssapiLibrary: 'mit', keytab: env().KRB5_KTNAME });
  const ini = await acquire({ usage: 'initiate', backend: 'native', gssapiLibrary: 'mit', credentials: { ccache: env().KRB5CCNAME! } });
  const target = env().MITKDC_SERVICE_HOSTBASED!;
  const usage = (e: unknown) => e instanceof UsageError;
  assert.throws(() => createInitiator({ backend: 'native', target, credentials: acc }), (e: unknown) => usage(e) && /createInitiator needs a credential acquired with usage 'initiate', not 'accept'/.test((e as Error).message));
  assert.throws(() => createAcceptor({ backend: 'native', credentials: ini }), (e: unknown) => usage(e) && /createAcceptor needs a credential acquired with usage 'accept', not 'initiate'/.test((e as Error).message));
  assert.throws(() => createAcceptor({ backend: 'native', credentials: acc, keytab: env().KRB5_KTNAME }), (e: unknown) => usage(e) && /keytab and principal from it/.test((e as Error).message));
  assert.throws(() => createAcceptor({ backend: 'native', credentials: acc, gssapiLibrary: 'heimdal' }), (e: unknown) => usage(e) && /gssapiLibrary/.test((e as Error).message));
  assert.throws(() => createAcceptor({ backend: 'native', credentials: acc, allowWeakCrypto: true }), (e: unknown) => usage(e) && /allowWeakCrypto/.test((e as Error).message));
  const pure: Credential = { usage: 'accept', backend: 'pure', info: { usage: 'accept', backend: 'pure' }, disposed: false, dispose() {} };
  assert.throws(() => createAcceptor({ backend: 'native', credentials: pure }), (e: unknown) => usage(e) && /backend 'native' was asked for with a pure credential/.test((e as Error).message));
  // Options the native library cannot honour are refused, not ignored.
  await assert.rejects(acquire({ usage: 'accept', backend: 'native', keytab: env().KRB5_KTNAME, replayCache: { check: () => true } as never }), (e: unknown) => usage(e) && /replayCache/.test((e as Error).message));
  await assert.rejects(acquire({ usage: 'initiate', backend: 'native', krb5Config: '/nonexistent/krb5.conf' }), (e: unknown) => usage(e) && /KRB5_CONFIG/.test((e as Error).message));
  // A failed acquisition is a typed error from the library.
  await assert.rejects(acquire({ usage: 'initiate', backend: 'native', gssapiLibrary: 'mit', credentials: { principal: env().MITKDC_USER!, password: 'wrong' } }),
    (e: unknown) => e instanceof GssError && (e as { minorName?: string }).minorName === 'KRB5KDC_ERR_PREAUTH_FAILED');
  acc.dispose();
  ini.dispose();
});

test('MIT: allowWeakCrypto reaches the library: an rc4-only ticket is refused by default, accepted with allowWeakCrypto', async (t) => {
  if (!(await ready(t, 'mit'))) return;
  // carol's ccache holds an rc4-hmac (23) ticket for HTTP/rc4.example.test, whose only key is rc4.
  const initiator = () => createInitiator({ backend: 'native', gssapiLibrary: 'mit', target: env().MITKDC_SERVICE_RC4!, mech: 'kerberos', allowWeakCrypto: true, credentials: { ccache: env().MITKDC_CCACHE_RC4! } });
  const strict = await acquire({ usage: 'accept', backend: 'native', gssapiLibrary: 'mit', keytab: env().KRB5_KTNAME });
  const weak = await acquire({ usage: 'accept', backend: 'native', gssapiLibrary: 'mit', keytab: env().KRB5_KTNAME, allowWeakCrypto: true });
  await assert.rejects(createAcceptor({ backend: 'native', credentials: strict, mech: 'kerberos' }).step((await initiator().step())!),
    (e: unknown) => e instanceof GssError && /MIT/.test(e.message), 'the rc4 ticket is refused by the default credential');
  // The transient form (no credential object) behaves the same.
  await assert.rejects(createAcceptor({ backend: 'native', gssapiLibrary: 'mit', keytab: env().KRB5_KTNAME, mech: 'kerberos' }).step((await initiator().step())!),
    (e: unknown) => e instanceof GssError);
  const i = initiator();
  const a = createAcceptor({ backend: 'native', credentials: weak, mech: 'kerberos' });
  await exchange(i, a);
  assert.ok(i.complete && a.complete, 'accepted with allowWeakCrypto');
  assert.equal(a.info.initiatorName, env().MITKDC_USER_RC4);
  // The initiator side: without allowWeakCrypto the library will not use the rc4 ticket.
  await assert.rejects(createInitiator({ backend: 'native', gssapiLibrary: 'mit', target: env().MITKDC_SERVICE_RC4!, mech: 'kerberos', credentials: { ccache: env().MITKDC_CCACHE_RC4! } }).step(),
    (e: unknown) => e instanceof GssError);
  strict.dispose();
  weak.dispose();
});
