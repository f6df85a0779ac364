// ccache and keytab files against the MIT tools: we read what kinit/kadmin wrote byte for byte,
// klist/kvno/kinit use what we write. Plus krb5.conf parsing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { needPeer, startPeer, type RunningPeer } from '../peers/harness.js';
import { readCcache, encodeCcache, openCcache, FileCcache, ccachePath } from '../../lib/krb5/ccache.js';
import { readKeytab, encodeKeytab, openKeytab, keytabEntryFromPassword, Keytab } from '../../lib/krb5/keytab.js';
import { loadKrb5Config, parseTimeValue } from '../../lib/krb5/config.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { requestServiceTicket } from '../../lib/krb5/client/tgs.js';
import { DecodeError, KerberosError, UsageError } from '../../lib/errors.js';
import { parsePrincipal, formatPrincipal } from '../../lib/krb5/types.js';
import { fuzzDecoder } from '../asn1/fuzz-inputs.js';

let kdc: RunningPeer | undefined;
let dir: string;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-store-'));
  try {
    kdc = startPeer('mit-kdc');
  } catch (e) {
    if (process.env.SPNEGO_REQUIRE_PEERS === '1') throw e;
  }
});
after(() => {
  kdc?.stop();
  rmSync(dir, { recursive: true, force: true });
});
const who = (p: string) => {
  const x = parsePrincipal(p);
  return { realm: x.realm, name: { nameType: x.nameType, nameString: x.nameString } };
};
const env = () => ({ ...process.env, ...kdc!.env });

test('the ccache kinit wrote: read, re-encoded byte for byte, fields as klist shows them', (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const path = ccachePath(kdc!.env.KRB5CCNAME!);
  const bytes = readFileSync(path);
  const cc = readCcache(bytes);
  assert.deepEqual(encodeCcache(cc), new Uint8Array(bytes));
  assert.equal(formatPrincipal({ ...cc.defaultPrincipal.name, realm: cc.defaultPrincipal.realm }), kdc!.env.MITKDC_USER);
  const klist = execFileSync('klist', ['-e', '-c', path], { env: env(), encoding: 'utf8' });
  for (const c of cc.credentials.filter((c) => c.server.realm !== 'X-CACHECONF:')) {
    assert.ok(klist.includes(formatPrincipal({ ...c.server.name, realm: c.server.realm })), `klist lists ${formatPrincipal({ ...c.server.name, realm: c.server.realm })}`);
  }
  assert.ok(openCcache(kdc!.env.KRB5CCNAME!).tgt());
});

test('a ccache we write from our own AS/TGS exchange: klist lists it, kvno uses its TGT', async (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const kdcs = [{ host: kdc!.env.MITKDC_KDC_ADDR!, port: Number(kdc!.env.MITKDC_KDC_PORT) }];
  const client = who(kdc!.env.MITKDC_USER!);
  const tgt = await requestInitialTicket({ kdcs, client, secret: { password: kdc!.env.MITKDC_PASSWORD! }, etypes: [18, 17] });
  const path = join(dir, 'our-ccache');
  const cc = FileCcache.create(path, client, [tgt]);
  const svc = await requestServiceTicket({ tgt, server: who(kdc!.env.MITKDC_SERVICE!), kdcsFor: () => ({ kdcs }), etypes: [18] });
  cc.store(svc);
  const klist = execFileSync('klist', ['-c', `FILE:${path}`], { env: env(), encoding: 'utf8' });
  assert.match(klist, new RegExp(`Default principal: ${kdc!.env.MITKDC_USER}`));
  assert.match(klist, /HTTP\/localhost@/);
  // kvno of a service we have no ticket for: MIT must use our TGT for the TGS exchange.
  const r = spawnSync('kvno', ['-c', `FILE:${path}`, kdc!.env.MITKDC_SERVICE_SHA2!], { env: env(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // ... and what MIT added is readable by us.
  assert.ok(openCcache(path).find(who(kdc!.env.MITKDC_SERVICE_SHA2!)));
});

test('the keytab kadmin wrote: read, re-encoded byte for byte, same entries as klist -k', (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const bytes = readFileSync(kdc!.env.MITKDC_KEYTAB!);
  const entries = readKeytab(bytes);
  assert.deepEqual(encodeKeytab(entries), new Uint8Array(bytes));
  const klist = execFileSync('klist', ['-k', '-e', '-K', kdc!.env.MITKDC_KEYTAB!], { env: env(), encoding: 'utf8' });
  const rows = klist.split('\n').filter((l) => /^\s*\d+ /.test(l));
  assert.equal(rows.length, entries.length);
  for (const e of entries) {
    const hex = Buffer.from(e.key.keyvalue).toString('hex');
    assert.ok(rows.some((r) => r.includes(formatPrincipal({ ...e.name, realm: e.realm })) && r.toLowerCase().includes(hex) && r.trim().startsWith(String(e.kvno))), `klist -k has ${formatPrincipal({ ...e.name, realm: e.realm })} kvno ${e.kvno}`);
  }
});

test('a keytab we make from a password: kinit -k accepts it; findKey reports what is missing', (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const alice = who(kdc!.env.MITKDC_USER!);
  const kvno = Number(/vno (\d+)/.exec(execFileSync('kvno', ['-c', kdc!.env.KRB5CCNAME!, kdc!.env.MITKDC_USER!], { env: env(), encoding: 'utf8' }))?.[1] ?? 1);
  const kt = new Keytab([18, 17].map((e) => keytabEntryFromPassword(alice, kdc!.env.MITKDC_PASSWORD!, e, kvno)), join(dir, 'alice.keytab'));
  kt.save();
  const r = spawnSync('kinit', ['-k', '-t', kt.path!, '-c', `FILE:${join(dir, 'kt-cc')}`, kdc!.env.MITKDC_USER!], { env: env(), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const svc = openKeytab(kdc!.env.MITKDC_KEYTAB!);
  assert.throws(() => svc.findKey(who(`HTTP/nope@${kdc!.env.MITKDC_REALM}`), 2, 18), (e: unknown) => e instanceof KerberosError && /has no key for HTTP\/nope/.test(e.message) && /wrong SPN/.test(e.message));
  assert.throws(() => svc.findKey(who(kdc!.env.MITKDC_SERVICE!), 99, 18), (e: unknown) => e instanceof KerberosError && e.errorName === 'KRB_AP_ERR_BADKEYVER' && /stale/.test(e.message));
});

test('krb5.conf: sections, subsections, includes, enctype lists, durations, domain_realm', () => {
  const inc = join(dir, 'inc.conf');
  writeFileSync(inc, '[libdefaults]\n  clockskew = 5m\n');
  const main = join(dir, 'krb5.conf');
  writeFileSync(main, [
    `include ${inc}`,
    '[libdefaults]',
    '  default_realm = EXAMPLE.TEST   ',
    '  # comment',
    '  permitted_enctypes = aes DEFAULT -aes128-sha2',
    '  default_tgs_enctypes = aes256-cts rc4-hmac',
    '  allow_weak_crypto = true',
    '  dns_canonicalize_hostname = fallback',
    '[realms]',
    '  EXAMPLE.TEST = {',
    '    kdc = 127.0.0.1:61088',
    '    kdc = tcp/[::1]:88',
    '  }',
    '[domain_realm]',
    '  .example.test = EXAMPLE.TEST',
    '  special.example.test = OTHER.TEST',
  ].join('\n'));
  const c = loadKrb5Config({ path: main });
  assert.equal(c.defaultRealm, 'EXAMPLE.TEST');
  assert.equal(c.clockSkew, 300);
  assert.deepEqual(c.kdcs('EXAMPLE.TEST'), ['127.0.0.1:61088', 'tcp/[::1]:88']);
  assert.deepEqual(c.enctypes('permitted_enctypes'), [18, 17, 20, 23]);
  assert.deepEqual(c.enctypes('default_tgs_enctypes'), [18, 23]);
  assert.equal(c.dnsCanonicalizeHostname, 'fallback');
  assert.equal(c.realmForHost('web.example.test'), 'EXAMPLE.TEST');
  assert.equal(c.realmForHost('special.example.test'), 'OTHER.TEST');
  assert.equal(c.realmForHost('elsewhere.org'), undefined);
  assert.equal(parseTimeValue('1h30m'), 5400);
  // clockskew and ticket_lifetime take both implementations' syntax; a bad one names the setting and the file.
  writeFileSync(join(dir, 'times.conf'), '[libdefaults]\n  clockskew = 5 min\n  ticket_lifetime = 10h\n');
  const times = loadKrb5Config({ path: join(dir, 'times.conf') });
  assert.equal(times.clockSkew, 300);
  assert.equal(times.ticketLifetime, 36000);
  writeFileSync(join(dir, 'skew.conf'), '[libdefaults]\n  clockskew = 5 fortnights\n');
  assert.throws(() => loadKrb5Config({ path: join(dir, 'skew.conf') }).clockSkew, (e: unknown) => e instanceof UsageError && /clockskew = "5 fortnights".*skew\.conf/.test(e.message));
  assert.throws(() => loadKrb5Config({ path: join(dir, 'missing.conf') }), UsageError);
  writeFileSync(join(dir, 'bad.conf'), '[libdefaults]\n  what is this\n');
  assert.throws(() => loadKrb5Config({ path: join(dir, 'bad.conf') }), (e: unknown) => e instanceof UsageError && /bad\.conf:2/.test(e.message));
});

test('unsupported ccache and keytab types are named', () => {
  assert.throws(() => ccachePath('KEYRING:persistent:0'), (e: unknown) => e instanceof UsageError && /KEYRING/.test(e.message));
  assert.throws(() => openKeytab('MEMORY:x'), (e: unknown) => e instanceof UsageError && /MEMORY/.test(e.message));
});

// readCcache is fuzzed from a real TGT + service ticket cache in test/fuzz/ccache.test.ts.
test('fuzz: readKeytab gives only DecodeError', () => {
  const kt = encodeKeytab([keytabEntryFromPassword(who('a/b@R'), 'pw', 17, 3)]);
  fuzzDecoder([kt], (b) => readKeytab(b));
  fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
    try { readKeytab(b); } catch (e) { if (!(e instanceof DecodeError)) throw e; }
  }), { seed: 7, numRuns: 2000 });
});
