// Fuzz (issue 15): the two file formats read from disk that no other fuzz target covers: the keytab
// reader (MIT keytab v5.2/v5.1) and the krb5.conf profile parser with the getters the library uses.
// Seeded (SPNEGO_FUZZ_SEED), SPNEGO_FUZZ_RUNS inputs (krb5.conf a twentieth: each goes through a file);
// only the library's typed errors may come out.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { loadKrb5Config } from '../../lib/krb5/config.js';
import { encodeKeytab, readKeytab } from '../../lib/krb5/keytab.js';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';

let kdc: Kdc;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-fuzz-files-'));
  kdc = await startKdc({ realm: 'FUZZFILES.TEST', principals: [{ name: 'HTTP/localhost' }, { name: 'host/a.fuzzfiles.test' }, { name: 'alice', password: 'pw' }] });
});
after(async () => {
  await kdc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test(`fuzz readKeytab: ${FUZZ_RUNS} inputs from real keytabs, only typed errors; what decodes re-encodes`, { timeout: 300_000 }, () => {
  const samples = [encodeKeytab(kdc.keytab(['HTTP/localhost'])), encodeKeytab(kdc.keytab())];
  for (const s of samples) assert.ok(readKeytab(s).length > 0);
  const r = fuzzDecoder(samples, (b) => {
    const entries = readKeytab(b);
    // Whatever is read must write back to something that reads the same.
    assert.deepEqual(readKeytab(encodeKeytab(entries)).map((e) => [e.realm, e.name.nameString, e.kvno, e.key.enctype]), entries.map((e) => [e.realm, e.name.nameString, e.kvno, e.key.enctype]));
  });
  assert.ok(r.rejected > 0 && r.accepted > 0, JSON.stringify(r));
});

/** Each krb5.conf input goes through a file (~2 ms): a twentieth of the runs. */
const CONF_RUNS = Math.max(1000, Math.floor(FUZZ_RUNS / 20));

test(`fuzz the krb5.conf parser and its getters: ${CONF_RUNS} inputs, only typed errors`, { timeout: 300_000 }, () => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const conf = [
    kdc.krb5Conf({ extraLibdefaults: { clockskew: '5m', ticket_lifetime: '10h 30m', permitted_enctypes: 'aes256-sha1 aes rc4 -rc4', udp_preference_limit: '1' } }),
    '[domain_realm]\n  .fuzzfiles.test = FUZZFILES.TEST\n  fuzzfiles.test = FUZZFILES.TEST\n[capaths]\n  A.TEST = {\n    B.TEST = .\n  }\n',
  ].map((s) => enc.encode(s));
  const path = join(dir, 'krb5.conf');
  let parsed = 0;
  const r = fuzzDecoder(conf, (b) => {
    const text = dec.decode(b);
    // An include of some file on this machine is not what is fuzzed here.
    if (/include/i.test(text)) return;
    writeFileSync(path, text);
    const c = loadKrb5Config({ path, env: {} });
    parsed++;
    void [c.defaultRealm, c.dnsLookupKdc, c.udpPreferenceLimit, c.allowWeakCrypto, c.clockSkew, c.rdns, c.dnsCanonicalizeHostname, c.forwardable, c.ticketLifetime, c.kdcTimeout, c.requestTimeout];
    for (const n of ['permitted_enctypes', 'default_tkt_enctypes', 'default_tgs_enctypes'] as const) c.enctypes(n);
    c.kdcs('FUZZFILES.TEST');
    c.realmForHost('a.fuzzfiles.test');
    c.path('default_keytab_name');
  }, CONF_RUNS);
  assert.ok(parsed > 0, JSON.stringify({ parsed, ...r }));
});
