// `spnego decode --keytab`: a real SPNEGO token from the pure initiator and the embedded KDC, the
// ticket and authenticator decrypted (PAC, 0x8003 checksum), no key material in the output, and the
// error entries and exit status for a keytab without the key, a wrong key and a missing keytab.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { createInitiator } from '../../lib/api.js';
import { main } from '../../lib/cli/main.js';
import { Keytab, keytabEntryFromPassword } from '../../lib/krb5/keytab.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';
import { decrypt } from '../../lib/krb5/crypto/index.js';
import { KeyUsage } from '../../lib/krb5/constants.js';
import { decodeAuthenticator, decodeEncTicketPart } from '../../lib/krb5/asn1/index.js';

type J = Record<string, any>;
const REALM = 'DEC.TEST';
const SPN = 'HTTP/web.dec.test';

let kdc: Kdc;
let dir: string;
let keytab: string;
let tokenHex: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-decode-kt-'));
  kdc = await startKdc({
    realm: REALM,
    principals: [
      { name: 'alice', password: 'pw', pac: { userRid: 1105, groupRids: [512] } },
      { name: SPN },
      { name: 'HTTP/other.dec.test' },
    ],
  });
  const conf = join(dir, 'krb5.conf');
  kdc.writeKrb5Conf(conf);
  keytab = join(dir, 'http.keytab');
  kdc.writeKeytab(keytab, [SPN]);
  const ini = createInitiator({ backend: 'pure', target: `${SPN}@${REALM}`, krb5Config: conf, credentials: { principal: `alice@${REALM}`, password: 'pw' } });
  const tok = await ini.step();
  assert.ok(tok, 'the initiator produced no token');
  tokenHex = toHex(tok);
});

after(async () => {
  await kdc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Runs the CLI's main() in-process, capturing stdout and stderr. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => void out.push(a.map(String).join(' '));
  console.error = (...a: unknown[]) => void err.push(a.map(String).join(' '));
  try {
    const code = await main(args);
    return { code, stdout: out.join('\n'), stderr: err.join('\n') };
  } finally {
    console.log = log;
    console.error = error;
  }
}

async function decode(kt: string): Promise<{ j: J; stdout: string }> {
  const r = await cli(['decode', tokenHex, '--keytab', kt]);
  assert.equal(r.code, 0, r.stderr);
  return { j: JSON.parse(r.stdout), stdout: r.stdout };
}

const apReqOf = (j: J): J => {
  assert.equal(j.type, 'SPNEGO InitialContextToken');
  const mt = j['inner-token']['mech-token'];
  assert.equal(mt.type, 'krb5 AP-REQ token');
  return mt['inner-token'];
};

test('the ticket and the authenticator are decrypted with the keytab; PAC and 0x8003 checksum decoded', async () => {
  const { j, stdout } = await decode(keytab);
  const ap = apReqOf(j);
  const ticket = ap.ticket;
  assert.equal(ticket.sname.principal, SPN);
  assert.ok(ticket['enc-part'], 'enc-part kept');
  const etp = ticket['enc-part-decrypted'];
  assert.equal(etp.error, undefined, etp.error);
  assert.equal(etp.crealm, REALM);
  assert.equal(etp.cname.principal, 'alice');
  assert.ok(Array.isArray(etp.flags.names) && etp.flags.names.length > 0, JSON.stringify(etp.flags));
  assert.equal(typeof etp.key.etype.name, 'string');
  assert.match(etp.key.keyvalue, /^\(\d+ bytes\)$/);
  assert.match(etp.authtime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
  assert.match(etp.endtime, /Z$/);

  // authorization-data: AD-IF-RELEVANT { AD-WIN2K-PAC }
  const ifRel = etp['authorization-data'].find((e: J) => e['ad-type'].value === 1);
  assert.ok(ifRel, JSON.stringify(etp['authorization-data']));
  const pacEntry = ifRel['ad-data'].find((e: J) => e['ad-type'].value === 128);
  assert.ok(pacEntry, JSON.stringify(ifRel));
  const pac = pacEntry['ad-data'];
  assert.ok(pac.buffers.some((b: J) => b.type.name === 'LOGON_INFO'), JSON.stringify(pac.buffers));
  assert.equal(pac['logon-info']['effective-name'], 'alice');
  assert.match(pac['logon-info']['user-sid'], /^S-1-5-21-.*-1105$/);
  assert.ok(pac['logon-info']['group-sids'].some((s: string) => /^S-1-5-21-.*-512$/.test(s)), JSON.stringify(pac['logon-info']['group-sids']));
  assert.equal(pac['client-info'].name.replace(/@.*/, ''), 'alice');
  assert.equal(typeof pac['server-signature']['signature-type'].value, 'number');
  assert.equal(typeof pac['kdc-signature']['signature-type'].value, 'number');

  const auth = ap['authenticator-decrypted'];
  assert.equal(auth.error, undefined, auth.error);
  assert.equal(auth.cname.principal, 'alice');
  assert.equal(auth.crealm, REALM);
  assert.equal(typeof auth.cusec, 'number');
  assert.match(auth.ctime, /Z$/);
  if (auth.subkey) assert.deepEqual(Object.keys(auth.subkey), ['etype']);
  assert.equal(auth.cksum.cksumtype.value, 0x8003);
  const ck = auth.cksum.checksum;
  assert.equal(ck.Lgth, 16);
  assert.match(ck.Bnd, /^[0-9a-f]{32}$/);
  assert.ok(ck.Flags.names.includes('mutual'), JSON.stringify(ck.Flags));
  assert.equal(typeof ck.Deleg.present, 'boolean');

  // No key material: neither the keytab keys, nor the ticket session key, nor the authenticator
  // subkey (hex or base64), and no keyvalue other than "(N bytes)".
  const keys = kdc.keytab([SPN]).map((e) => e.key);
  const service = keys.find((k) => k.enctype === ticket['enc-part'].etype.value)!;
  const sessionKey = decodeEncTicketPart(decrypt(service, KeyUsage.KDC_REP_TICKET, fromHex(ticket['enc-part'].cipher))).key;
  keys.push(sessionKey);
  const subkey = decodeAuthenticator(decrypt(sessionKey, KeyUsage.AP_REQ_AUTH, fromHex(ap.authenticator.cipher))).subkey;
  if (subkey) keys.push(subkey);
  for (const k of keys) {
    assert.ok(!stdout.includes(toHex(k.keyvalue)), `a key (hex, enctype ${k.enctype}) is in the output`);
    assert.ok(!stdout.includes(Buffer.from(k.keyvalue).toString('base64')), `a key (base64, enctype ${k.enctype}) is in the output`);
  }
  for (const m of stdout.matchAll(/"keyvalue": ("[^"]*")/g)) assert.match(JSON.parse(m[1]!), /^\(\d+ bytes\)$/);
});

test('a keytab without the ticket principal gives an "error" entry naming principal, kvno and enctype', async () => {
  const other = join(dir, 'other.keytab');
  kdc.writeKeytab(other, ['HTTP/other.dec.test']);
  const { j } = await decode(other);
  const ap = apReqOf(j);
  const err = ap.ticket['enc-part-decrypted'].error as string;
  assert.ok(err, JSON.stringify(ap.ticket['enc-part-decrypted']));
  assert.match(err, new RegExp(`${SPN}@${REALM}`.replace(/[./]/g, '\\$&')));
  assert.match(err, /kvno \d+/);
  assert.match(err, /enctype \S+ \(\d+\)/);
  assert.ok(ap['authenticator-decrypted'].error, 'no authenticator without the ticket session key');
});

test('a wrong key for the right principal gives "integrity check failed: wrong key"', async () => {
  const real = kdc.keytab([SPN]);
  const wrong = new Keytab(real.map((e) => ({ ...keytabEntryFromPassword({ realm: e.realm, name: e.name }, 'not-the-password', e.key.enctype, e.kvno, undefined, { allowWeak: true }) })), join(dir, 'wrong.keytab'));
  wrong.save();
  const { j } = await decode(join(dir, 'wrong.keytab'));
  const err = apReqOf(j).ticket['enc-part-decrypted'].error as string;
  assert.match(err, /^integrity check failed: wrong key/);
});

test('a keytab that cannot be read: status 1 and one line on stderr', async () => {
  const r = await cli(['decode', tokenHex, '--keytab', join(dir, 'missing.keytab')]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr.split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^spnego decode: .*missing\.keytab/);
});

test('without --keytab nothing is decrypted', async () => {
  const r = await cli(['decode', tokenHex]);
  assert.equal(r.code, 0, r.stderr);
  const ap = apReqOf(JSON.parse(r.stdout));
  assert.equal(ap.ticket['enc-part-decrypted'], undefined);
  assert.equal(ap['authenticator-decrypted'], undefined);
});
