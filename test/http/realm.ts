/**
 * The realm the HTTP tests share: the embedded KDC with alice and HTTP/localhost, a keytab, a
 * krb5.conf, and alice's TGT in a FILE ccache (for curl, Chromium and the native client, which
 * read KRB5_CONFIG / KRB5CCNAME). Started once per test file, stopped after it.
 */
import { after, before } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, type Kdc, type PrincipalSpec } from '../../lib/kdc/index.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { FileCcache } from '../../lib/krb5/ccache.js';
import { useEnv } from '../peers/harness.js';

export interface HttpRealm {
  realm: string;
  kdc: Kdc;
  dir: string;
  krb5Conf: string;
  keytab: string;
}

export function httpRealmForFile(realm: string, alice: Partial<PrincipalSpec> = {}): HttpRealm {
  const r = { realm } as HttpRealm;
  let restoreEnv = () => {};
  before(async () => {
    r.dir = mkdtempSync(join(tmpdir(), 'spnego-http-'));
    r.krb5Conf = join(r.dir, 'krb5.conf');
    r.keytab = join(r.dir, 'http.keytab');
    r.kdc = await startKdc({ realm, principals: [{ name: 'alice', password: 'alice-pw', ...alice }, { name: 'HTTP/localhost' }] });
    r.kdc.writeKrb5Conf(r.krb5Conf);
    r.kdc.writeKeytab(r.keytab, ['HTTP/localhost']);
    const client = { realm, name: { nameType: 1, nameString: ['alice'] } };
    const tgt = await requestInitialTicket({ kdcs: [{ host: r.kdc.host, port: r.kdc.port }], client, secret: { password: 'alice-pw' }, etypes: [18] });
    FileCcache.create(join(r.dir, 'ccache'), client, [tgt]);
    restoreEnv = useEnv({ KRB5_CONFIG: r.krb5Conf, KRB5CCNAME: `FILE:${join(r.dir, 'ccache')}`, KRB5RCACHEDIR: r.dir });
  });
  after(async () => {
    restoreEnv();
    await r.kdc?.stop();
    if (r.dir) rmSync(r.dir, { recursive: true, force: true });
  });
  return r;
}
