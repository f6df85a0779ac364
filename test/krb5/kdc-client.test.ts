// Our AS and TGS client against MIT's krb5kdc: TGTs with a password (pre-auth with the salt from
// ETYPE-INFO2) for aes-sha1, aes-sha2 and rc4 accounts, service tickets, and each typed error a user
// meets: bad password, unknown client, unknown service, clock skew, dead KDC. Against the embedded
// KDC: the pure initiator's TGT cache never stands in for a wrong secret, and a forged ETYPE-INFO2
// with absurd or malformed s2kparams gives a typed error instead of a stalled PBKDF2.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { needPeer, startPeer, type RunningPeer } from '../peers/harness.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { requestServiceTicket } from '../../lib/krb5/client/tgs.js';
import { sendToKdc, parseKdcAddress } from '../../lib/krb5/client/transport.js';
import { KerberosError } from '../../lib/errors.js';
import { parsePrincipal, formatPrincipal } from '../../lib/krb5/types.js';
import { ErrorCode, PaDataType } from '../../lib/krb5/constants.js';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { createPureInitiator } from '../../lib/pure/index.js';
import type { Credentials } from '../../lib/context.js';
import { TgtCache, secretTag } from '../../lib/krb5/client/tgt-cache.js';
import type { Credential } from '../../lib/krb5/client/credential.js';
import { Keytab, keytabEntryFromPassword } from '../../lib/krb5/keytab.js';
import { stringToKey, stringToKeyAsync } from '../../lib/krb5/crypto/index.js';
import { MAX_PBKDF2_ITERATIONS, pbkdf2Iterations } from '../../lib/krb5/crypto/profile.js';
import { SpnegoError, UsageError } from '../../lib/errors.js';
import { decodeKrb5Message, decodeMethodData, encodeMethodData, decodeETypeInfo2, encodeETypeInfo2, encodeKrbError } from '../../lib/krb5/asn1/index.js';
import { tcpKdc, forwardTo } from '../kdc/tcp-kdc.js';

let kdc: RunningPeer | undefined;
const skipReason = () => (kdc ? false : 'MIT KDC not available');

before(() => {
  try {
    kdc = startPeer('mit-kdc');
  } catch (e) {
    if (process.env.SPNEGO_REQUIRE_PEERS === '1') throw e;
  }
});
after(() => kdc?.stop());

const target = () => ({ kdcs: [{ host: kdc!.env.MITKDC_KDC_ADDR!, port: Number(kdc!.env.MITKDC_KDC_PORT) }], transport: { timeoutMs: 5000 } });
const who = (p: string) => {
  const x = parsePrincipal(p);
  return { realm: x.realm, name: { nameType: x.nameType, nameString: x.nameString } };
};

async function tgtFor(user: string, password: string, etypes: number[], extra: object = {}) {
  return requestInitialTicket({ ...target(), client: who(user), secret: { password }, etypes, allowWeak: true, ...extra });
}

for (const [label, userVar, pwVar, etypes, want] of [
  ['aes256-sha1', 'MITKDC_USER', 'MITKDC_PASSWORD', [18, 17], 18],
  ['aes-sha2', 'MITKDC_USER_SHA2', 'MITKDC_PASSWORD_SHA2', [20, 19], 20],
  ['rc4', 'MITKDC_USER_RC4', 'MITKDC_PASSWORD_RC4', [23], 23],
] as const) {
  test(`AS exchange with a password against MIT (${label})`, async (t) => {
    if (!needPeer(t, 'mit-kdc')) return;
    const cred = await tgtFor(kdc!.env[userVar]!, kdc!.env[pwVar]!, [...etypes]);
    assert.equal(formatPrincipal({ ...cred.server.name, realm: cred.server.realm }), `krbtgt/${kdc!.env.MITKDC_REALM}@${kdc!.env.MITKDC_REALM}`);
    assert.equal(formatPrincipal({ ...cred.client.name, realm: cred.client.realm }), kdc!.env[userVar]);
    assert.equal(cred.ticket.encPart.etype > 0, true);
    assert.ok(cred.endtime.getTime() > Date.now());
    // MIT picks the TGT session key as the first of our enctypes the krbtgt key supports.
    assert.equal(cred.key.enctype, want);
  });
}

test('TGS exchange against MIT: a service ticket for HTTP/localhost', async (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const tgt = await tgtFor(kdc!.env.MITKDC_USER!, kdc!.env.MITKDC_PASSWORD!, [18, 17]);
  const svc = await requestServiceTicket({ tgt, server: who(kdc!.env.MITKDC_SERVICE!), kdcsFor: () => target(), etypes: [18, 17] });
  assert.equal(formatPrincipal({ ...svc.server.name, realm: svc.server.realm }), kdc!.env.MITKDC_SERVICE);
  assert.equal(svc.key.enctype, 18);
  assert.equal(svc.ticket.encPart.etype, 18);
});

test('typed errors from MIT: bad password, unknown client, unknown service, clock skew', async (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const realm = kdc!.env.MITKDC_REALM!;
  await assert.rejects(tgtFor(kdc!.env.MITKDC_USER!, 'wrong-password', [18, 17]), (e: unknown) => {
    assert.ok(e instanceof KerberosError);
    assert.ok([ErrorCode.KDC_ERR_PREAUTH_FAILED, ErrorCode.KRB_AP_ERR_BAD_INTEGRITY].includes(e.errorCode as 24 | 31), e.message);
    assert.match(e.message, /password/);
    assert.doesNotMatch(e.message, /wrong-password/);
    return true;
  });
  await assert.rejects(tgtFor(`nobody@${realm}`, 'x', [18]), (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KDC_ERR_C_PRINCIPAL_UNKNOWN && /not found/.test(e.message));
  const tgt = await tgtFor(kdc!.env.MITKDC_USER!, kdc!.env.MITKDC_PASSWORD!, [18, 17]);
  await assert.rejects(
    requestServiceTicket({ tgt, server: who(`HTTP/nowhere.example.test@${realm}`), kdcsFor: () => target(), etypes: [18] }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KDC_ERR_S_PRINCIPAL_UNKNOWN && /SPN/.test(e.message),
  );
  // A client clock one hour ahead: the KDC refuses the pre-authentication timestamp.
  await assert.rejects(
    tgtFor(kdc!.env.MITKDC_USER!, kdc!.env.MITKDC_PASSWORD!, [18, 17], { now: () => new Date(Date.now() + 3600_000) }),
    (e: unknown) => e instanceof KerberosError && e.errorCode === ErrorCode.KRB_AP_ERR_SKEW && /clock/.test(e.message),
  );
});

test('a silent KDC gives a typed error within the timeout, and failover reaches the next KDC', async (t) => {
  // A TCP server that accepts and never answers, on loopback.
  const silent: Server = createServer(() => {});
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  try {
    await assert.rejects(
      sendToKdc('EXAMPLE.TEST', [{ host: '127.0.0.1', port, transport: 'tcp' }], new Uint8Array(10), { timeoutMs: 200 }),
      (e: unknown) => e instanceof KerberosError && e.errorName === 'KDC_UNREACHABLE' && /within 200 ms/.test(e.message),
    );
    if (skipReason()) return;
    const kdcs = [{ host: '127.0.0.1', port, transport: 'tcp' as const }, ...target().kdcs];
    const cred = await requestInitialTicket({ kdcs, transport: { timeoutMs: 300 }, client: who(kdc!.env.MITKDC_USER!), secret: { password: kdc!.env.MITKDC_PASSWORD! }, etypes: [18] });
    assert.equal(cred.key.enctype, 18);
  } finally {
    silent.close();
  }
});

test('parseKdcAddress reads krb5.conf kdc forms', () => {
  assert.deepEqual(parseKdcAddress('kdc.example.test'), { host: 'kdc.example.test', port: 88, transport: undefined });
  assert.deepEqual(parseKdcAddress('127.0.0.1:61088'), { host: '127.0.0.1', port: 61088, transport: undefined });
  assert.deepEqual(parseKdcAddress('tcp/[::1]:750'), { host: '::1', port: 750, transport: 'tcp' });
  assert.throws(() => parseKdcAddress('host:99999'), RangeError);
});

// ---- the embedded KDC: the pure initiator's TGT cache, and forged ETYPE-INFO2 s2kparams ----

const ER = 'CACHE.TEST';
let emb: Kdc;
let dir: string;
let conf: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-kdc-client-'));
  emb = await startKdc({
    realm: ER,
    principals: [
      { name: 'alice', password: 'alice-pw' },
      { name: 'bob', password: 'bob-pw' },
      { name: 'dave', password: 'dave-pw', enctypes: [18, 17] },
      { name: 'erin', password: 'erin-pw' },
      { name: 'sha2', password: 'sha2-pw', enctypes: [20, 19] },
      { name: 'HTTP/web.cache.test' },
    ],
  });
  conf = join(dir, 'krb5.conf');
  emb.writeKrb5Conf(conf);
});
after(async () => {
  await emb?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A pure initiator's first token: the AS (unless a cached TGT is reused) and TGS exchanges happen here. */
async function logon(credentials: Credentials, krb5Config = conf): Promise<void> {
  const ini = createPureInitiator({ target: `HTTP/web.cache.test@${ER}`, krb5Config, credentials });
  const tok = await ini.step();
  assert.ok(tok && tok.length > 0);
}
const refused = (secret: string) => (e: unknown) => {
  assert.ok(e instanceof KerberosError, String(e));
  assert.equal(e.errorCode, ErrorCode.KDC_ERR_PREAUTH_FAILED, e.message);
  assert.doesNotMatch(e.message, new RegExp(secret));
  return true;
};

test('pure initiator: after a good logon, the same principal with a WRONG password is refused by the KDC', async () => {
  const principal = `alice@${ER}`;
  await logon({ principal, password: 'alice-pw' });
  const asBefore = emb.stats.as;
  await assert.rejects(logon({ principal, password: 'WRONG' }), refused('WRONG'));
  assert.ok(emb.stats.as > asBefore, 'the wrong password went to the KDC');
  // The good TGT stays cached: the right password reuses it without an AS exchange.
  const asAfter = emb.stats.as;
  await logon({ principal, password: 'alice-pw' });
  assert.equal(emb.stats.as, asAfter);
  await assert.rejects(logon({ principal, password: 'alice-pw ' }), refused('alice-pw '));
});

test('pure initiator: a WRONG password first, then the good one, then WRONG again', async () => {
  const principal = `bob@${ER}`;
  await assert.rejects(logon({ principal, password: 'WRONG' }), refused('WRONG'));
  await logon({ principal, password: 'bob-pw' });
  await assert.rejects(logon({ principal, password: 'WRONG' }), refused('WRONG'));
});

test('pure initiator: a client keytab rewritten with wrong keys is not covered by the TGT its old keys got', async () => {
  const principal = `dave@${ER}`;
  const kt = join(dir, 'dave.keytab');
  emb.writeKeytab(kt, ['dave']);
  await logon({ principal, keytab: kt });
  const asAfter = emb.stats.as;
  await logon({ principal, keytab: kt });
  assert.equal(emb.stats.as, asAfter, 'the same keytab reuses the TGT');
  // Same path, other keys (the kvno the KDC has, so only the key bytes differ).
  const kvno = new Keytab(emb.keytab(['dave'])).entries[0]!.kvno;
  new Keytab([18, 17].map((e) => keytabEntryFromPassword(who(principal), 'not-daves-password', e, kvno)), kt).save();
  await assert.rejects(logon({ principal, keytab: kt }), refused('not-daves-password'));
  // A wrong keytab under another name, while the good TGT is cached, fails too.
  emb.writeKeytab(kt, ['dave']);
  await logon({ principal, keytab: kt });
  const bad = join(dir, 'dave-bad.keytab');
  new Keytab([18, 17].map((e) => keytabEntryFromPassword(who(principal), 'other', e, kvno)), bad).save();
  await assert.rejects(logon({ principal, keytab: bad }), refused('other'));
});

test('pure initiator: another krb5.conf (path or contents) does not reuse a cached TGT', async () => {
  const principal = `erin@${ER}`;
  await logon({ principal, password: 'erin-pw' });
  let n = emb.stats.as;
  await logon({ principal, password: 'erin-pw' });
  assert.equal(emb.stats.as, n, 'same krb5.conf: reused');
  const copy = join(dir, 'copy.conf');
  copyFileSync(conf, copy);
  await logon({ principal, password: 'erin-pw' }, copy);
  assert.ok(emb.stats.as > n, 'a krb5.conf at another path: a new AS exchange');
  n = emb.stats.as;
  emb.writeKrb5Conf(copy, { extraLibdefaults: { ticket_lifetime: '9h' } });
  await logon({ principal, password: 'erin-pw' }, copy);
  assert.ok(emb.stats.as > n, 'the same path with other contents: a new AS exchange');
});

test('TgtCache: bounded (LRU), expired entries dropped, keyed on principal, krb5.conf and secret', () => {
  let now = Date.parse('2030-01-01T00:00:00Z');
  const tgt = (minutes: number) => ({ endtime: new Date(now + minutes * 60_000) }) as Credential;
  const c = new TgtCache(2, () => now);
  assert.equal(new TgtCache().maxEntries, 256);
  const pw = { password: 'pw' };
  const a = tgt(600);
  const b = tgt(600);
  c.set('a@R', 'conf', pw, a);
  c.set('b@R', 'conf', pw, b);
  assert.equal(c.get('a@R', 'conf', pw), a); // a is now the most recently used
  c.set('c@R', 'conf', pw, tgt(600));
  assert.equal(c.size, 2);
  assert.equal(c.get('b@R', 'conf', pw), undefined, 'the least recently used went');
  assert.equal(c.get('a@R', 'conf', pw), a);
  assert.equal(c.get('a@R', 'other-conf', pw), undefined);
  assert.equal(c.get('a@R', 'conf', { password: 'PW' }), undefined);
  assert.equal(c.get('a@R', 'conf', { keytab: '/k', keys: [] }), undefined);
  // Expired (or within a minute of it): not handed out, and dropped.
  const c2 = new TgtCache(10, () => now);
  c2.set('x@R', 'conf', pw, tgt(2));
  c2.set('y@R', 'conf', pw, tgt(600));
  now += 90_000;
  assert.equal(c2.get('x@R', 'conf', pw), undefined);
  assert.equal(c2.size, 1);
  now += 600 * 60_000;
  c2.set('z@R', 'conf', pw, tgt(600));
  assert.equal(c2.size, 1, 'setting prunes the expired');
  // Tags: keyed, never the secret itself.
  const t1 = secretTag({ password: 'hunter2' });
  assert.equal(t1.length, 32);
  assert.deepEqual(secretTag({ password: 'hunter2' }), t1);
  assert.notDeepEqual(secretTag({ password: 'hunter3' }), t1);
  assert.equal(Buffer.from(t1).includes(Buffer.from('hunter2')), false);
  const k = { enctype: 18, keyvalue: new Uint8Array(32).fill(1) };
  assert.notDeepEqual(secretTag({ keytab: '/a', keys: [k] }), secretTag({ keytab: '/b', keys: [k] }));
  assert.notDeepEqual(secretTag({ keytab: '/a', keys: [k] }), secretTag({ keytab: '/a', keys: [{ ...k, keyvalue: new Uint8Array(32).fill(2) }] }));
});

// RFC 3962 section 4 / RFC 8009 section 4: s2kparams is a 4-byte big-endian PBKDF2 iteration count;
// MIT refuses 0x1000000 or more (and 0, which RFC 3962 defines as 2^32) with KRB5_ERR_BAD_S2K_PARAMS.
const be32 = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
const badParams: [string, Uint8Array, RegExp][] = [
  ['16777216 iterations', be32(0x1000000), /16777216 PBKDF2 iterations.*cap of 16777215/],
  ['2^32-1 iterations', be32(0xffffffff), /4294967295 PBKDF2 iterations.*cap of 16777215/],
  ['0 (2^32) iterations', be32(0), /4294967296 PBKDF2 iterations \(0 means 2\^32\).*cap of 16777215/],
  ['3 bytes', Uint8Array.of(0, 0x10, 0), /4-byte iteration count, got 3 bytes/],
  ['5 bytes', Uint8Array.of(0, 0, 0, 0x10, 0), /4-byte iteration count, got 5 bytes/],
];

test('string-to-key: s2kparams over the cap, zero or of the wrong length give a UsageError', async () => {
  assert.equal(MAX_PBKDF2_ITERATIONS, 0xffffff);
  assert.equal(pbkdf2Iterations('x', be32(0xffffff), 4096), 0xffffff);
  assert.equal(pbkdf2Iterations('x', undefined, 4096), 4096);
  assert.equal(pbkdf2Iterations('x', new Uint8Array(0), 32768), 32768);
  assert.equal(pbkdf2Iterations('x', be32(1), 4096), 1);
  for (const enctype of [17, 18, 19, 20]) {
    for (const [label, params, re] of badParams) {
      const check = (e: unknown) => e instanceof UsageError && re.test(e.message) && !/pw-secret/.test(e.message);
      assert.throws(() => stringToKey(enctype, 'pw-secret', 'SALT', params), check, `${enctype} ${label}`);
      await assert.rejects(stringToKeyAsync(enctype, 'pw-secret', 'SALT', params), check, `${enctype} ${label} (async)`);
    }
  }
});

/** Rewrites the s2kparams of every ETYPE-INFO2 entry in a PREAUTH_REQUIRED KRB-ERROR (a forged, unauthenticated hint). */
const forgeS2kParams = (s2kparams: Uint8Array) => (rep: Uint8Array): Uint8Array => {
  const m = decodeKrb5Message(rep);
  if (m.type !== 'KRB-ERROR' || m.value.errorCode !== ErrorCode.KDC_ERR_PREAUTH_REQUIRED) return rep;
  const md = decodeMethodData(m.value.eData!).map((pa) => pa.padataType === PaDataType.PA_ETYPE_INFO2
    ? { ...pa, padataValue: encodeETypeInfo2(decodeETypeInfo2(pa.padataValue).map((e) => ({ ...e, s2kparams }))) }
    : pa);
  return encodeKrbError({ ...m.value, eData: encodeMethodData(md) });
};

for (const [user, pw, etypes] of [['alice', 'alice-pw', [18, 17]], ['sha2', 'sha2-pw', [20, 19]]] as const) {
  test(`AS exchange: a KDC reply with forged s2kparams gives KRB5_ERR_BAD_S2K_PARAMS, never a stall (${user}, ${etypes[0]})`, { timeout: 60_000 }, async () => {
    // Control: the real count through the same forging proxy works.
    const ok = await tcpKdc(forwardTo(ER, emb.port, forgeS2kParams(be32(etypes[0] === 18 ? 4096 : 32768))));
    try {
      const cred = await requestInitialTicket({ kdcs: [{ host: '127.0.0.1', port: ok.port, transport: 'tcp' }], client: who(`${user}@${ER}`), secret: { password: pw }, etypes: [...etypes] });
      assert.equal(cred.client.realm, ER);
    } finally {
      await ok.close();
    }
    for (const [label, params, re] of badParams) {
      const evil = await tcpKdc(forwardTo(ER, emb.port, forgeS2kParams(params)));
      try {
        const started = Date.now();
        await assert.rejects(
          requestInitialTicket({ kdcs: [{ host: '127.0.0.1', port: evil.port, transport: 'tcp' }], client: who(`${user}@${ER}`), secret: { password: pw }, etypes: [...etypes] }),
          (e: unknown) => {
            assert.ok(e instanceof SpnegoError, `${label}: ${String(e)}`);
            assert.ok(e instanceof KerberosError && e.errorName === 'KRB5_ERR_BAD_S2K_PARAMS', `${label}: ${e.message}`);
            assert.match(e.message, re);
            assert.match(e.message, /invalid key generation parameters from the KDC/);
            assert.doesNotMatch(e.message, new RegExp(pw));
            return true;
          },
        );
        assert.ok(Date.now() - started < 5000, `${label}: refused before any PBKDF2`);
        assert.equal(evil.requests.length, 1, `${label}: no pre-authenticated AS-REQ was sent`);
      } finally {
        await evil.close();
      }
    }
  });
}
