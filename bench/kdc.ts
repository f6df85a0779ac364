/**
 * The embedded KDC next to MIT's krb5kdc on the same requests from the same client (our pure
 * one): AS exchanges with pre-authentication (PREAUTH_REQUIRED, then PA-ENC-TIMESTAMP: two round
 * trips) and TGS exchanges, one at a time over TCP on loopback.
 */
import { startKdc } from '../lib/kdc/index.js';
import { requestInitialTicket } from '../lib/krb5/client/as.js';
import { requestServiceTicket } from '../lib/krb5/client/tgs.js';
import { missingPeer, startPeer } from '../test/peers/harness.js';
import { asyncOpsPerSec, printTable } from './util.js';
import { recordGoal } from './goals.js';

interface Realm {
  realm: string;
  host: string;
  port: number;
  user: string;
  password: string;
  service: string;
}

async function measure(r: Realm): Promise<[number, number]> {
  const kdcs = { kdcs: [{ host: r.host, port: r.port, transport: 'tcp' as const }] };
  const client = { realm: r.realm, name: { nameType: 1, nameString: [r.user] } };
  const as = () => requestInitialTicket({ ...kdcs, client, secret: { password: r.password }, etypes: [18] });
  const tgt = await as();
  const server = { realm: r.realm, name: { nameType: 2, nameString: r.service.split('/') } };
  const tgs = () => requestServiceTicket({ tgt, server, kdcsFor: () => kdcs, etypes: [18] });
  return [await asyncOpsPerSec(as), await asyncOpsPerSec(tgs)];
}

export async function benchKdc(): Promise<void> {
  const ours = await startKdc({ realm: 'BENCH.TEST', principals: [{ name: 'alice', password: 'bench-Passw0rd', enctypes: [18, 17] }, { name: 'HTTP/localhost', enctypes: [18, 17] }] });
  let mit: ReturnType<typeof startPeer> | undefined;
  let why = missingPeer('mit-kdc');
  if (!why) {
    try {
      mit = startPeer('mit-kdc');
    } catch (e) {
      why = (e as Error).message.split('\n')[0];
    }
  }
  try {
    const a = await measure({ realm: 'BENCH.TEST', host: ours.host, port: ours.port, user: 'alice', password: 'bench-Passw0rd', service: 'HTTP/localhost' });
    const m = mit
      ? await measure({ realm: mit.env.MITKDC_REALM!, host: mit.env.MITKDC_KDC_ADDR!, port: Number(mit.env.MITKDC_KDC_PORT), user: 'alice', password: mit.env.MITKDC_PASSWORD!, service: 'HTTP/localhost' })
      : [undefined, undefined];
    if (!mit) console.log(`\nMIT krb5kdc unavailable for the comparison: ${why}`);
    printTable('KDC exchanges/s, our pure client, TCP on loopback (AS: with pre-authentication, 2 round trips)', ['embedded', 'MIT-kdc'], [
      ['AS exchange (TGT, aes256-sha1)', [a[0], m[0]]],
      ['TGS exchange (service ticket)', [a[1], m[1]]],
    ]);
    recordGoal({ work: 'embedded KDC: AS exchanges/s (vs MIT krb5kdc)', pure: a[0], native: m[0], ratio: 1 });
    recordGoal({ work: 'embedded KDC: TGS exchanges/s (vs MIT krb5kdc)', pure: a[1], native: m[1], ratio: 1 });
  } finally {
    await ours.stop();
    mit?.stop();
  }
}
