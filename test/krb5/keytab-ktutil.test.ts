// Keytab v2 with MIT's ktutil: keys ktutil makes from a password (with the default salt, no KDC)
// are the keys we make from the same password; ktutil reads the keytabs we write and writes back
// the same entries; klist -k -e lists them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeKeytab, keytabEntryFromPassword, readKeytab } from '../../lib/krb5/keytab.js';
import { toHex } from '../../lib/util/bytes.js';
import { needPeer } from '../peers/harness.js';

const KTUTIL = '/usr/bin/ktutil';
const KLIST = '/usr/bin/klist';
const principal = { realm: 'EXAMPLE.TEST', name: { nameType: 1, nameString: ['alice'] } };
const ENCTYPES: [number, string][] = [[18, 'aes256-cts-hmac-sha1-96'], [17, 'aes128-cts-hmac-sha1-96'], [20, 'aes256-cts-hmac-sha384-192'], [19, 'aes128-cts-hmac-sha256-128'], [23, 'arcfour-hmac']];

function ktutil(script: string, dir: string): string {
  // ktutil reads commands (and the password prompts' answers) from stdin; no KDC is involved.
  const conf = join(dir, 'krb5.conf');
  writeFileSync(conf, '[libdefaults]\n  default_realm = EXAMPLE.TEST\n  allow_weak_crypto = true\n');
  return execFileSync(KTUTIL, [], { input: script, encoding: 'utf8', env: { ...process.env, KRB5_CONFIG: conf } });
}

test('MIT ktutil: password keys equal ours (salt REALM+name), it reads what we write, klist -k lists it', (t) => {
  if (!needPeer(t, 'ktutil')) return;
  const dir = mkdtempSync(join(tmpdir(), 'spnego-ktutil-'));
  try {
    const password = 'Sécret-Passw0rd'; // non-ASCII: UTF-8 into string-to-key
    // 1. ktutil makes the keys from the password; we read its keytab and compare with ours.
    const mitKt = join(dir, 'mit.keytab');
    const adds = ENCTYPES.map(([, name]) => `addent -password -p alice@EXAMPLE.TEST -k 3 -e ${name}\n${password}\n`).join('');
    ktutil(`${adds}wkt ${mitKt}\nquit\n`, dir);
    const theirs = readKeytab(readFileSync(mitKt));
    assert.equal(theirs.length, ENCTYPES.length);
    for (const [enctype] of ENCTYPES) {
      const mine = keytabEntryFromPassword(principal, password, enctype, 3, undefined, { allowWeak: true });
      const entry = theirs.find((e) => e.key.enctype === enctype)!;
      assert.ok(entry, `ktutil wrote enctype ${enctype}`);
      assert.equal(entry.kvno, 3);
      assert.equal(toHex(entry.key.keyvalue), toHex(mine.key.keyvalue), `enctype ${enctype}: same key from the same password and salt`);
    }
    // 2. ktutil reads our keytab and writes it back: the same entries.
    const ours = join(dir, 'ours.keytab');
    const entries = ENCTYPES.map(([e]) => keytabEntryFromPassword(principal, password, e, 7, undefined, { allowWeak: true }));
    writeFileSync(ours, encodeKeytab(entries));
    const copy = join(dir, 'copy.keytab');
    ktutil(`rkt ${ours}\nwkt ${copy}\nquit\n`, dir);
    const back = readKeytab(readFileSync(copy));
    assert.deepEqual(back.map((e) => [e.kvno, e.key.enctype, toHex(e.key.keyvalue)]), entries.map((e) => [e.kvno, e.key.enctype, toHex(e.key.keyvalue)]));
    // 3. klist -k -e -K shows our entries and keys.
    const listed = execFileSync(KLIST, ['-k', '-e', '-K', ours], { encoding: 'utf8' });
    for (const e of entries) assert.ok(listed.includes(toHex(e.key.keyvalue)), `klist shows the enctype ${e.key.enctype} key`);
    assert.equal((listed.match(/alice@EXAMPLE\.TEST/g) ?? []).length, ENCTYPES.length);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
