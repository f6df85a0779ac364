/**
 * Profiling driver (not part of `npm run bench`): N seed-flow SPNEGO handshakes pure>pure on
 * credentials acquired once (both sides), then N Krb5Acceptor accepts with PAC verification.
 * Run: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-handshake.ts [N]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireCredentials, createAcceptor, createInitiator } from '../lib/api.js';
import { startKdc } from '../lib/kdc/index.js';
import { requestInitialTicket } from '../lib/krb5/client/as.js';
import { requestServiceTicket } from '../lib/krb5/client/tgs.js';
import { FileCcache } from '../lib/krb5/ccache.js';
import { useEnv } from '../lib/util/env.js';
import { exchange } from '../lib/cli/pairings.js';
import { pureAcceptsPerSec } from './acceptor.js';

const REALM = 'BENCH.TEST';
const SPN = 'HTTP/web.bench.test';
const N = Number(process.argv[2] ?? 5000);
const only = process.env.PROFILE_ONLY ?? 'handshake,accept';

const dir = mkdtempSync(join(tmpdir(), 'spnego-prof-'));
const kdc = await startKdc({ realm: REALM, principals: [{ name: 'alice', password: 'bench-pw', enctypes: [18], pac: { userRid: 1104, groupRids: [513, 512] } }, { name: SPN, enctypes: [18] }] });
const conf = join(dir, 'krb5.conf');
const keytab = join(dir, 'http.keytab');
const ccache = join(dir, 'ccache');
kdc.writeKrb5Conf(conf);
kdc.writeKeytab(keytab, [SPN]);
const restore = useEnv({ KRB5_CONFIG: conf, KRB5_KTNAME: `FILE:${keytab}`, KRB5CCNAME: `FILE:${ccache}`, KRB5RCACHEDIR: dir });
try {
  const kdcs = { kdcs: [{ host: kdc.host, port: kdc.port }] };
  const client = { realm: REALM, name: { nameType: 1, nameString: ['alice'] } };
  const tgt = await requestInitialTicket({ ...kdcs, client, secret: { password: 'bench-pw' }, etypes: [18] });
  const svc = await requestServiceTicket({ tgt, server: { realm: REALM, name: { nameType: 2, nameString: SPN.split('/') } }, kdcsFor: () => kdcs, etypes: [18] });
  FileCcache.create(ccache, client, [tgt, svc]);
  if (only.includes('handshake')) {
    const icred = await acquireCredentials({ usage: 'initiate', backend: 'pure', credentials: { ccache: `FILE:${ccache}` }, krb5Config: conf });
    const acred = await acquireCredentials({ usage: 'accept', backend: 'pure', keytab, krb5Config: conf });
    const one = () => exchange(
      createInitiator({ backend: 'pure', target: `${SPN}@${REALM}`, credentials: icred, spnego: { mechs: ['ms-krb5', 'krb5', 'ntlm'] } }),
      createAcceptor({ backend: 'pure', credentials: acred, spnego: { mechListMIC: 'always' } }),
    );
    for (let i = 0; i < 500; i++) await one();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0; i < N; i++) await one();
    const cpu = process.cpuUsage(c0);
    // CPU time per handshake as well: on a shared machine it moves less than the wall-clock rate.
    console.log(`seed-flow handshakes pure>pure: ${((N * 1000) / (performance.now() - t0)).toFixed(0)}/s, ${((cpu.user + cpu.system) / N).toFixed(0)} us CPU each`);
    icred.dispose();
    acred.dispose();
  }
  if (only.includes('accept')) {
    const c0 = process.cpuUsage();
    const r = await pureAcceptsPerSec({ client: svc.client, ticket: svc.ticket, key: svc.key }, kdc.keys(SPN).find((k) => k.enctype === 18)!);
    const cpu = process.cpuUsage(c0);
    console.log(`Krb5Acceptor accepts: ${r.rate.toFixed(0)}/s (PAC ${r.withPac}); the whole run (AP-REQs made too): ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms CPU`);
  }
} finally {
  restore();
  await kdc.stop();
  rmSync(dir, { recursive: true, force: true });
}
