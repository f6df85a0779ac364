/**
 * NTLM (issue 13) handshakes/s: the pure NTLMv2 code against gss-ntlmssp through MIT's mechglue
 * (the native backend), NTLM inside SPNEGO (three legs, mechListMIC both ways) per pairing, plus
 * the pure raw NTLM exchange (HTTP `WWW-Authenticate: NTLM`) and per-message signing. MIT's SPNEGO
 * initiator tries Kerberos first (here: a KDC that refuses the connection) and cannot be told
 * otherwise, so the main row times the pure initiator in the same fallback; a second row times the
 * pure initiator with NTLM listed alone (spnego.mechs), the cost of NTLM itself.
 *
 * gss-ntlmssp needs: its mech.d file (MIT reads /etc/gss/mech.d by default; GSS_MECH_CONFIG when
 * set must name it), NTLM_USER_FILE for its acceptor (read per logon), and a Kerberos that cannot
 * start (no keytab, a KDC that refuses connections) so that SPNEGO settles on NTLM. These are set
 * for this section only and restored after. Without gss-ntlmssp or the addon: pure rows alone, and why.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAcceptor, createInitiator } from '../lib/api.js';
import type { Backend, SecurityContext } from '../lib/context.js';
import { MemoryReplayCache } from '../lib/krb5/replay-cache.js';
import { nativeInfo } from '../lib/native/index.js';
import { useEnv } from '../lib/util/env.js';
import { exchange } from '../lib/cli/pairings.js';
import { asyncOpsPerSec, opsPerSec, printTable } from './util.js';

const NTLM_OID = '1.3.6.1.4.1.311.2.2.10';
const TARGET = 'HTTP@localhost';
const PRINCIPAL = 'EXAMPLE\\alice';
const PASSWORD = 'bench pw';

function ntlmsspMechFile(): string | undefined {
  const d = '/etc/gss/mech.d';
  if (!existsSync(d)) return undefined;
  const f = readdirSync(d).find((n) => readFileSync(join(d, n), 'utf8').includes(NTLM_OID));
  return f ? join(d, f) : undefined;
}

export async function benchNtlm(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ntlm-'));
  const users = join(dir, 'users');
  writeFileSync(users, `EXAMPLE:alice:${PASSWORD}\n`);
  writeFileSync(join(dir, 'krb5.conf'), '[libdefaults]\n default_realm = EXAMPLE\n dns_lookup_kdc = false\n[realms]\n EXAMPLE = {\n  kdc = tcp/127.0.0.1:1\n }\n');
  const mech = ntlmsspMechFile();
  const restore = useEnv({
    GSS_MECH_CONFIG: mech ?? process.env.GSS_MECH_CONFIG, NTLM_USER_FILE: users, KRB5_CONFIG: join(dir, 'krb5.conf'),
    KRB5_KTNAME: `FILE:${join(dir, 'no.keytab')}`, KRB5CCNAME: `FILE:${join(dir, 'ccache')}`,
  });
  try {
    const n = nativeInfo();
    const why = !mech ? 'gss-ntlmssp not installed (apt-get install gss-ntlmssp)'
      : !n.loaded ? `native addon unavailable: ${n.error}` : n.library !== 'MIT' ? `gss-ntlmssp needs MIT, the library is ${n.library}` : undefined;
    const native = why === undefined;
    // One cache per acceptor would hide the cost; one shared, renewed now and then to bound memory.
    let cache = new MemoryReplayCache();
    let uses = 0;
    const pureCache = () => (++uses % 20_000 === 0 ? (cache = new MemoryReplayCache()) : cache);
    const initiator = (b: Backend, ntlmOnly = false): SecurityContext => b === 'pure'
      ? createInitiator({ backend: 'pure', target: TARGET, ...(ntlmOnly ? { spnego: { mechs: ['ntlm'] } } : {}), ntlm: { credentials: { principal: PRINCIPAL, password: PASSWORD } } })
      : createInitiator({ backend: 'native', target: TARGET, credentials: { principal: PRINCIPAL, password: PASSWORD } });
    const acceptor = (b: Backend): SecurityContext => b === 'pure'
      ? createAcceptor({ backend: 'pure', spnego: { mechs: ['ntlm'] }, ntlm: { users: userStore, replayCache: pureCache() } })
      : createAcceptor({ backend: 'native' });
    const { userStoreFromFile } = await import('../lib/ntlm/users.js');
    const userStore = userStoreFromFile(readFileSync(users, 'utf8'));
    const pair = (i: Backend, a: Backend, ntlmOnly = false) => async () => {
      const ini = initiator(i, ntlmOnly), acc = acceptor(a);
      try {
        await exchange(ini, acc);
        if (!acc.complete || !ini.complete) throw new Error(`NTLM ${i}>${a} did not complete`);
      } finally {
        ini.dispose();
        acc.dispose();
      }
    };
    // Checked once before timing: the native pairing really ran NTLM.
    if (native) {
      const ini = initiator('native'), acc = acceptor('native');
      await exchange(ini, acc);
      if (acc.info.mech !== NTLM_OID) throw new Error(`native pairing negotiated ${acc.info.mech}, not NTLM`);
    }
    const row = async (i: Backend, a: Backend) => (i === 'native' || a === 'native') && !native ? undefined : asyncOpsPerSec(pair(i, a));
    const nn = await row('native', 'native');
    const pp = await row('pure', 'pure');
    const pn = await row('pure', 'native');
    const np = await row('native', 'pure');
    const ppAlone = await asyncOpsPerSec(pair('pure', 'pure', true));
    const raw = await asyncOpsPerSec(async () => {
      const ini = createInitiator({ backend: 'pure', target: TARGET, mech: 'ntlm', ntlm: { credentials: { principal: PRINCIPAL, password: PASSWORD } } });
      const acc = createAcceptor({ backend: 'pure', mech: 'ntlm', ntlm: { users: userStore, replayCache: pureCache() } });
      await exchange(ini, acc);
    });
    // Per-message: getMIC + verifyMIC of 1 KiB on an established pair (NTLM signing: HMAC-MD5, RC4).
    const msg = new Uint8Array(1024);
    const mic = async (b: Backend) => {
      const ini = initiator(b, b === 'pure'), acc = acceptor(b);
      await exchange(ini, acc);
      return opsPerSec(() => acc.verifyMIC(msg, ini.getMIC(msg)));
    };
    const micN = native ? await mic('native') : undefined;
    const micP = await mic('pure');
    printTable('NTLM (gss-ntlmssp = native), ops/s; ratio pure/native', ['native', 'pure'], [
      ['SPNEGO/NTLM handshake, Kerberos tried first', [nn, pp]],
      ['  mixed: pure>native, native>pure', [pn, np]],
      ['SPNEGO/NTLM handshake, NTLM listed alone', [undefined, ppAlone]],
      ['raw NTLM handshake (HTTP NTLM scheme, pure only)', [undefined, raw]],
      ['getMIC+verifyMIC 1 KiB', [micN, micP]],
    ]);
    if (why) console.log(`(native NTLM column empty: ${why})`);
  } finally {
    restore();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Run alone: node --import tsx bench/ntlm.ts
if (import.meta.url === `file://${process.argv[1]}`) await benchNtlm();
