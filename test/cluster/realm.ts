/**
 * The cluster tests' realm: the embedded KDC (in the test process) with alice and HTTP/localhost,
 * a keytab and a krb5.conf in a temp dir the workers read, and alice's pure initiate credential
 * (its service ticket is reused: each new context is a new AP-REQ, a new authenticator).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireCredentials, createInitiator } from '../../lib/api.js';
import type { Credential } from '../../lib/credentials.js';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { FileCcache } from '../../lib/krb5/ccache.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';

export interface ClusterRealm {
  realm: string;
  kdc: Kdc;
  dir: string;
  krb5Config: string;
  keytab: string;
  alice: Credential;
  /** For MIT clients (curl --negotiate): KRB5_CONFIG and KRB5CCNAME with alice's TGT. */
  clientEnv: NodeJS.ProcessEnv;
  /** A new context's first token, as an Authorization header value, and the context (to finish mutual auth). */
  negotiate(): Promise<{ header: string; ctx: ReturnType<typeof createInitiator> }>;
}

export async function startClusterRealm(realm: string): Promise<ClusterRealm> {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-cluster-'));
  const krb5Config = join(dir, 'krb5.conf');
  const keytab = join(dir, 'http.keytab');
  const kdc = await startKdc({ realm, principals: [{ name: 'alice', password: 'alice-pw' }, { name: 'HTTP/localhost' }] });
  kdc.writeKrb5Conf(krb5Config);
  kdc.writeKeytab(keytab, ['HTTP/localhost']);
  const name = { realm, name: { nameType: 1, nameString: ['alice'] } };
  const tgt = await requestInitialTicket({ kdcs: [{ host: kdc.host, port: kdc.port }], client: name, secret: { password: 'alice-pw' }, etypes: [18] });
  FileCcache.create(join(dir, 'ccache'), name, [tgt]);
  const clientEnv = { ...process.env, KRB5_CONFIG: krb5Config, KRB5CCNAME: `FILE:${join(dir, 'ccache')}`, GSS_MECH_CONFIG: '/dev/null' };
  const alice = await acquireCredentials({ usage: 'initiate', backend: 'pure', krb5Config, credentials: { principal: 'alice', password: 'alice-pw' } as never });
  return {
    realm, kdc, dir, krb5Config, keytab, alice, clientEnv,
    async negotiate() {
      const ctx = createInitiator({ credentials: alice, target: 'HTTP@localhost' });
      const token = await ctx.step();
      return { header: `Negotiate ${Buffer.from(token!).toString('base64')}`, ctx };
    },
  };
}

/** Stops the KDC and removes the temp dir. */
export async function stopClusterRealm(r: ClusterRealm | undefined): Promise<void> {
  if (!r) return;
  r.alice.dispose();
  await r.kdc.stop();
  rmSync(r.dir, { recursive: true, force: true });
}
