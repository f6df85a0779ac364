/**
 * The realm the HTTP tests share: the embedded KDC with alice and HTTP/localhost, a keytab, a
 * krb5.conf, and alice's TGT in a FILE ccache (for curl, Chromium and the native client, which
 * read KRB5_CONFIG / KRB5CCNAME). Started once per test file, stopped after it.
 */
import { join } from 'node:path';
import type { PrincipalSpec } from '../../lib/kdc/index.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { FileCcache } from '../../lib/krb5/ccache.js';
import { useEnv } from '../peers/harness.js';
import { type FileRealm, realmForFile } from '../kdc/realm-for-file.js';

export type HttpRealm = FileRealm;

/** realmForFile (alice's spec overridable) plus alice's TGT in a FILE ccache and the env pointing at them. */
export function httpRealmForFile(realm: string, alice: Partial<PrincipalSpec> = {}): HttpRealm {
  let restoreEnv = () => {};
  return realmForFile(realm, {
    principals: [{ name: 'alice', password: 'alice-pw', ...alice }, { name: 'HTTP/localhost' }],
    async setup(r) {
      const client = { realm, name: { nameType: 1, nameString: ['alice'] } };
      const tgt = await requestInitialTicket({ kdcs: [{ host: r.kdc.host, port: r.kdc.port }], client, secret: { password: 'alice-pw' }, etypes: [18] });
      FileCcache.create(join(r.dir, 'ccache'), client, [tgt]);
      restoreEnv = useEnv({ KRB5_CONFIG: r.krb5Config, KRB5CCNAME: `FILE:${join(r.dir, 'ccache')}`, KRB5RCACHEDIR: r.dir });
    },
    teardown: () => restoreEnv(),
  });
}
