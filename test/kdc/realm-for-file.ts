/**
 * One embedded-KDC realm for a test file: the KDC (alice and HTTP/localhost unless told), a temp
 * dir, its krb5.conf and a keytab of the given service principals. Started in the file's `before`,
 * stopped and removed in its `after`; the fields are set once `before` ran.
 */
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, type Kdc, type PrincipalSpec } from '../../lib/kdc/index.js';

export interface FileRealm {
  realm: string;
  kdc: Kdc;
  dir: string;
  krb5Config: string;
  keytab: string;
}

export interface FileRealmOptions {
  /** Default: alice (password alice-pw) and HTTP/localhost. */
  principals?: PrincipalSpec[];
  /** The principals written to `keytab` (default HTTP/localhost). */
  keytab?: string[];
  /**
   * More setup once the realm is up, in the same `before` hook (root-level hooks of one file may run
   * concurrently: a second hook could not rely on the KDC), and its undoing, before the KDC stops.
   */
  setup?: (r: FileRealm) => Promise<void> | void;
  teardown?: () => void;
}

export function realmForFile(realm: string, o: FileRealmOptions = {}): FileRealm {
  const r = { realm } as FileRealm;
  before(async () => {
    r.dir = mkdtempSync(join(tmpdir(), `spnego-${realm.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-`));
    r.krb5Config = join(r.dir, 'krb5.conf');
    r.keytab = join(r.dir, 'http.keytab');
    r.kdc = await startKdc({ realm, principals: o.principals ?? [{ name: 'alice', password: 'alice-pw' }, { name: 'HTTP/localhost' }] });
    r.kdc.writeKrb5Conf(r.krb5Config);
    r.kdc.writeKeytab(r.keytab, o.keytab ?? ['HTTP/localhost']);
    await o.setup?.(r);
  });
  after(async () => {
    o.teardown?.();
    await r.kdc?.stop();
    if (r.dir) rmSync(r.dir, { recursive: true, force: true });
  });
  return r;
}
