/**
 * Handshakes and per-message work through the public API, per backend pairing, next to the npm
 * `kerberos` addon (mongodb-js, MIT's libgssapi) on the same work: the same realm (the embedded
 * KDC), the same tickets (one ccache, filled once: no KDC traffic while timing), the same keytab.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { acquireCredentials, createAcceptor, createInitiator } from '../lib/api.js';
import type { Credential } from '../lib/credentials.js';
import type { Backend, SecurityContext } from '../lib/context.js';
import { startKdc } from '../lib/kdc/index.js';
import { requestInitialTicket } from '../lib/krb5/client/as.js';
import { requestServiceTicket } from '../lib/krb5/client/tgs.js';
import { FileCcache } from '../lib/krb5/ccache.js';
import { nativeInfo } from '../lib/native/index.js';
import { useEnv } from '../lib/util/env.js';
import { exchange } from '../lib/cli/pairings.js';
import { loadKerberosAddon, type KerberosAddon } from './kerberos-addon.js';
import { asyncOpsPerSec, opsPerSec, printTable } from './util.js';
import { recordGoal } from './goals.js';
import { heapPerContext, pureAcceptsPerSec } from './acceptor.js';

const REALM = 'BENCH.TEST';
const SPN = 'HTTP/web.bench.test';

const handshake = (i: SecurityContext, a: SecurityContext) => exchange(i, a);

/** The npm `kerberos` addon's client/server pair (its API: base64 tokens, step, wrap/unwrap). */
async function kerberosHandshake(k: KerberosAddon, mechOID: unknown): Promise<{ client: any; server: any }> {
  const client = await k.initializeClient(`HTTP@web.bench.test`, { mechOID });
  const server = await k.initializeServer('HTTP@web.bench.test');
  let c = await client.step('');
  while (c) {
    const s = await server.step(c);
    if (!s || client.contextComplete) break;
    c = await client.step(s);
    if (client.contextComplete) break;
  }
  return { client, server };
}

export async function benchGss(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-bench-'));
  const kdc = await startKdc({ realm: REALM, principals: [{ name: 'alice', password: 'bench-pw', enctypes: [18], pac: { userRid: 1104, groupRids: [513, 512] } }, { name: SPN, enctypes: [18] }] });
  let restoreEnv = () => {};
  let disposeCreds = () => {};
  try {
    const conf = join(dir, 'krb5.conf');
    const keytab = join(dir, 'http.keytab');
    const ccache = join(dir, 'ccache');
    kdc.writeKrb5Conf(conf);
    kdc.writeKeytab(keytab, [SPN]);
    restoreEnv = useEnv({ KRB5_CONFIG: conf, KRB5_KTNAME: `FILE:${keytab}`, KRB5CCNAME: `FILE:${ccache}`, KRB5RCACHEDIR: dir });
    const kdcs = { kdcs: [{ host: kdc.host, port: kdc.port }] };
    const client = { realm: REALM, name: { nameType: 1, nameString: ['alice'] } };
    const tgt = await requestInitialTicket({ ...kdcs, client, secret: { password: 'bench-pw' }, etypes: [18] });
    const svc = await requestServiceTicket({ tgt, server: { realm: REALM, name: { nameType: 2, nameString: SPN.split('/') } }, kdcsFor: () => kdcs, etypes: [18] });
    FileCcache.create(ccache, client, [tgt, svc]);

    const native = nativeInfo();
    const backends: Backend[] = native.loaded ? ['pure', 'native'] : ['pure'];
    console.log(`\nhandshakes through the public API (realm from the embedded KDC, credentials acquired once per side, service ticket cached, aes256-sha1)`);
    if (!native.loaded) console.log(`native backend absent: ${native.error}`);
    let kerberos: KerberosAddon | undefined;
    try {
      kerberos = await loadKerberosAddon();
      console.log(`npm kerberos addon ${kerberos.version ?? ''} loaded (MIT libgssapi)`);
    } catch (e) {
      console.log(`npm kerberos addon unavailable: ${(e as Error).message.split('\n')[0]}`);
    }
    // Credentials acquired once per backend and side, as a server or client would hold them: the
    // handshake rows then measure handshakes, not krb5.conf/keytab/ccache reads per context.
    const icred: Partial<Record<Backend, Credential>> = {};
    const acred: Partial<Record<Backend, Credential>> = {};
    for (const b of backends) {
      icred[b] = await acquireCredentials({ usage: 'initiate', backend: b, credentials: { ccache: `FILE:${ccache}` }, krb5Config: b === 'pure' ? conf : undefined });
      acred[b] = await acquireCredentials({ usage: 'accept', backend: b, keytab, krb5Config: b === 'pure' ? conf : undefined });
    }
    disposeCreds = () => [...Object.values(icred), ...Object.values(acred)].forEach((c) => c.dispose());
    const ini = (b: Backend, o: Partial<Parameters<typeof createInitiator>[0]> = {}) =>
      createInitiator({ backend: b, target: `${SPN}@${REALM}`, credentials: icred[b], ...o });
    const acc = (b: Backend, o: Partial<Parameters<typeof createAcceptor>[0]> = {}) => createAcceptor({ backend: b, credentials: acred[b], ...o });

    // 1. Complete handshakes per second, each pairing (initiator and acceptor both counted).
    const pairRows: [string, (number | undefined)[]][] = [];
    const flows: [string, Partial<Parameters<typeof createInitiator>[0]>, Partial<Parameters<typeof createAcceptor>[0]>, string | undefined][] = [
      ['raw Kerberos (AP-REQ, AP-REP)', { mech: 'kerberos' }, { mech: 'kerberos' }, 'krb5'],
      ['SPNEGO, 2 tokens (no mechListMIC)', {}, {}, 'spnego'],
      ['SPNEGO seed flow, mechListMIC both ways', { spnego: { mechs: ['ms-krb5', 'krb5', 'ntlm'] } }, { spnego: { mechListMIC: 'always' } }, undefined],
    ];
    for (const [label, io, ao, kMech] of flows) {
      const cols: (number | undefined)[] = [];
      for (const ib of ['pure', 'native'] as Backend[]) {
        for (const ab of ['pure', 'native'] as Backend[]) {
          cols.push(backends.includes(ib) && backends.includes(ab) ? await asyncOpsPerSec(() => handshake(ini(ib, io), acc(ab, ao))) : undefined);
        }
      }
      if (kerberos && kMech) {
        const oid = kMech === 'krb5' ? kerberos.GSS_MECH_OID_KRB5 : kerberos.GSS_MECH_OID_SPNEGO;
        cols.push(await asyncOpsPerSec(() => kerberosHandshake(kerberos!, oid)));
      } else cols.push(undefined);
      pairRows.push([label, cols]);
    }
    recordGoal({ work: 'seed-flow handshake pure>pure (SPNEGO, both mechListMICs)', pure: pairRows[2]![1][0], native: pairRows[2]![1][3], min: 3000 });
    printTable('complete handshakes/s (one at a time), columns initiator>acceptor', ['pure>pure', 'pure>nat', 'nat>pure', 'nat>nat', 'npm-krb'], pairRows);

    // 2. The Kerberos AP exchange alone: AP-REQ construction (initiator first step) and verification.
    const apRows: [string, (number | undefined)[]][] = [];
    for (const [label, fn] of [
      ['initiator: build the AP-REQ (ticket cached)', (b: Backend) => asyncOpsPerSec(() => ini(b, { mech: 'kerberos' }).step())],
      ['acceptor: verify an AP-REQ, send the AP-REP', async (b: Backend) => {
        // Fresh AP-REQs (the replay caches refuse a second use), made beforehand by the pure initiator.
        const tokens: Uint8Array[] = [];
        for (let n = 0; n < 1500; n++) tokens.push((await ini('pure', { mech: 'kerberos' }).step())!);
        const start = performance.now();
        let k = 0;
        while (k < tokens.length && performance.now() - start < 1000) await acc(b, { mech: 'kerberos' }).step(tokens[k++]);
        return (k * 1000) / (performance.now() - start);
      }],
    ] as const) {
      // One backend after the other: run together, each one's timing would include the other's work.
      const cols: (number | undefined)[] = [];
      for (const b of ['pure', 'native'] as Backend[]) cols.push(backends.includes(b) ? await fn(b) : undefined);
      apRows.push([label, cols]);
    }
    // The acceptor's own work, without per-context setup: Krb5Acceptor with the replay cache and PAC verification.
    const direct = await pureAcceptsPerSec({ client: svc.client, ticket: svc.ticket, key: svc.key }, kdc.keys(SPN).find((k) => k.enctype === 18)!);
    apRows.push([`acceptor, Krb5Acceptor reused (replay cache, ${direct.withPac ? 'PAC verified' : 'no PAC'}, AP-REP)`, [direct.rate, apRows[1]![1][1]]]);
    printTable('Kerberos AP exchange, ops/s (acceptor: replay cache on; native = MIT file rcache)', ['pure', 'native'], apRows);
    recordGoal({ work: 'acceptor: AP-REQ verify + PAC + AP-REP, one core', pure: direct.rate, native: apRows[1]![1][1], min: 10000, ratio: 1.5 });

    // 3. Per-message tokens on an established context (1 KiB).
    const msg = new Uint8Array(1024).fill(0x61);
    const ctxs: Partial<Record<Backend, [SecurityContext, SecurityContext]>> = {};
    for (const b of backends) {
      const i = ini(b, { mech: 'kerberos' });
      const a = acc(b, { mech: 'kerberos', spnego: undefined });
      await handshake(i, a);
      ctxs[b] = [i, a];
    }
    let kctx: { client: any; server: any } | undefined;
    if (kerberos) kctx = await kerberosHandshake(kerberos, kerberos.GSS_MECH_OID_KRB5);
    const b64 = Buffer.from(msg).toString('base64');
    const permsg: [string, (number | undefined)[]][] = [
      ['getMIC 1 KiB', [...(['pure', 'native'] as Backend[]).map((b) => (ctxs[b] ? opsPerSec(() => ctxs[b]![0].getMIC(msg)) : undefined)), undefined]],
      ['getMIC + verifyMIC 1 KiB', [...(['pure', 'native'] as Backend[]).map((b) => (ctxs[b] ? opsPerSec(() => { const [i, a] = ctxs[b]!; a.verifyMIC(msg, i.getMIC(msg)); }) : undefined)), undefined]],
      ['wrap 1 KiB (sealed)', [...(['pure', 'native'] as Backend[]).map((b) => (ctxs[b] ? opsPerSec(() => ctxs[b]![0].wrap(msg)) : undefined)),
        kctx ? await asyncOpsPerSec(() => kctx!.client.wrap(b64, { encrypt: true })) : undefined]],
      ['wrap + unwrap 1 KiB (sealed)', [...(['pure', 'native'] as Backend[]).map((b) => (ctxs[b] ? opsPerSec(() => { const [i, a] = ctxs[b]!; a.unwrap(i.wrap(msg)); }) : undefined)),
        undefined /* the npm addon's server object has no unwrap */]],
    ];
    const k64 = new Uint8Array(65536).fill(0x62);
    permsg.push(['wrap + unwrap 64 KiB (sealed)', [...(['pure', 'native'] as Backend[]).map((b) => (ctxs[b] ? opsPerSec(() => { const [i, a] = ctxs[b]!; a.unwrap(i.wrap(k64)); }) : undefined)), undefined]]);
    printTable('per-message tokens, ops/s (npm kerberos: async, base64 strings, as its API works)', ['pure', 'native', 'npm-krb'], permsg);
    const row = (label: string) => permsg.find(([l]) => l === label)![1];
    recordGoal({ work: 'getMIC 1 KiB', pure: row('getMIC 1 KiB')[0], native: row('getMIC 1 KiB')[1], ratio: 0.8 });
    recordGoal({ work: 'wrap 1 KiB (sealed)', pure: row('wrap 1 KiB (sealed)')[0], native: row('wrap 1 KiB (sealed)')[1], ratio: 0.6 });
    recordGoal({ work: 'wrap + unwrap 64 KiB (sealed)', pure: row('wrap + unwrap 64 KiB (sealed)')[0], native: row('wrap + unwrap 64 KiB (sealed)')[1], within: 1.25 });

    // 4. Heap kept per established pure acceptor context.
    const count = Number(process.env.BENCH_CONTEXTS ?? 100000);
    const t0 = performance.now();
    const perCtx = await heapPerContext({ client: svc.client, ticket: svc.ticket, key: svc.key }, { keytab, krb5Config: conf, count });
    console.log(`\nheap per established pure acceptor context: ${perCtx.toFixed(0)} bytes (${count} contexts held, heapUsed after GC, ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
    recordGoal({ work: `retained heap per pure context (${count} held)`, pure: perCtx, unit: 'B', max: 2048 });
  } finally {
    disposeCreds();
    restoreEnv();
    await kdc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
