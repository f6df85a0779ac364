/**
 * `spnego demo`: the whole negotiation on this machine with nothing installed. It starts the
 * embedded KDC (lib/kdc) on loopback, then for every backend pairing available runs the six steps
 * (NegTokenInit with ms-krb5, krb5, ntlm + AP-REQ; supportedMech; the AP-REP inside NegTokenResp;
 * the acceptor's mechListMIC with accept-incomplete; the initiator's with accept-completed; a first
 * protected message), prints each token decoded, and ends with the table of mechListMIC bytes, each
 * recomputed by the pure code. Exit status 1 on any mismatch or failure.
 * Then the NTLM pairings (pure -> pure always; with the native backend when gss-ntlmssp is loaded by
 * MIT's mechglue): a target without an SPN (an IP address), so the initiator's Kerberos cannot start
 * and it offers NTLM alone; three NTLM legs inside SPNEGO and the mechListMICs keyed with NTLM's keys.
 *
 * With --realm-dir DIR the demo starts no KDC: a parent process did (prepareDemoRealm), wrote
 * DIR/realm.json, DIR/krb5.conf and DIR/http.keytab, and started this process with KRB5_CONFIG,
 * KRB5_KTNAME and KRB5CCNAME pointing there. That is how the SSPI backend runs under Wine: Wine's
 * Kerberos package runs the host's MIT libkrb5, which reads those from the environment node.exe
 * was started with (variables set later inside node.exe stay in Wine's Windows environment), and
 * SSPI takes no keytab argument. The SSPI pairings are SSPI -> pure and pure -> SSPI; SSPI -> SSPI
 * is not run (under Wine neither side reports the session key, so the pure code has nothing to
 * recompute the MICs from).
 *
 * SPNEGO_DEMO_FAULT=mic-byte is a test fault injection (test/cli/demo.test.ts): it flips one checksum
 * byte of each acceptor mechListMIC before the cross-check, to prove the table can say "NO". Any other
 * non-empty value is refused; the run announces the fault so its output is never taken for a real one.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend } from '../context.js';
import { startKdc, type Kdc } from '../kdc/index.js';
import { NegotiationRecorder } from '../capture/recorder.js';
import { nativeInfo } from '../native/index.js';
import { EncType } from '../krb5/constants.js';
import { UsageError } from '../errors.js';
import { toHex } from '../util/bytes.js';
import { useEnv } from '../util/env.js';
import { describeToken } from './describe.js';
import type { Command } from './main.js';
import { FIRST_MESSAGE, micTable, pairingOk, runNtlmPairing, runPairing, type PairingResult } from './pairings.js';
import { ntHash } from '../ntlm/crypto.js';
import { MechOid } from '../spnego/oids.js';

const REALM = 'SPNEGO.DEMO';
const SERVICE = 'HTTP/web.spnego.demo';
const USER = 'alice';
const PASSWORD = 'demo-Passw0rd';
const NTLM_DOMAIN = 'SPNEGODEMO';

/** Long hex strings shortened for the screen: the first bytes and the length. */
function trimHex(v: unknown): unknown {
  if (typeof v === 'string' && /^[0-9a-f]{97,}$/.test(v)) return `${v.slice(0, 48)}... (${v.length / 2} bytes)`;
  if (Array.isArray(v)) return v.map(trimHex);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, trimHex(x)]));
  return v;
}

const STEP_TITLES = [
  '1. client -> server: NegTokenInit, mechanisms in preference order (ms-krb5, krb5, ntlm) + the Kerberos AP-REQ',
  '2-4. server -> client: NegTokenResp, supportedMech (the first it supports), the AP-REP inside responseToken, its mechListMIC, accept-incomplete',
  '5. client -> server: NegTokenResp, its own mechListMIC, accept-completed',
];

const NTLM_STEP_TITLES = [
  '1. client -> server: NegTokenInit listing NTLM alone (Kerberos could not start: no SPN for an IP address) + NTLM NEGOTIATE',
  '2. server -> client: NegTokenResp, supportedMech NTLM, the CHALLENGE inside responseToken, accept-incomplete',
  '3. client -> server: NegTokenResp, the AUTHENTICATE (NTLMv2 response, MIC, channel bindings) + its mechListMIC',
  '4. server -> client: NegTokenResp, accept-completed + its mechListMIC',
];

/**
 * Whether MIT's mechglue loads gss-ntlmssp here: its mech file names the NTLM OID (GSS_MECH_CONFIG
 * when set, e.g. /dev/null in the test suite, else /etc/gss/mech.d).
 */
function ntlmsspLoaded(): string | undefined {
  const files = process.env.GSS_MECH_CONFIG !== undefined
    ? [process.env.GSS_MECH_CONFIG]
    : existsSync('/etc/gss/mech.d') ? readdirSync('/etc/gss/mech.d').map((n) => join('/etc/gss/mech.d', n)) : [];
  return files.find((f) => {
    try {
      return readFileSync(f, 'utf8').includes(MechOid.ntlm);
    } catch {
      return false;
    }
  });
}

/** What a parent writes to DIR/realm.json for `spnego demo --realm-dir DIR`. */
export interface DemoRealm {
  realm: string;
  service: string;
  user: string;
  password: string;
  enctype: number;
}

/**
 * Starts the demo's KDC and writes its realm to `dir` (realm.json, krb5.conf, http.keytab): what
 * `spnego demo` does for itself, and what a parent does before starting `spnego demo --realm-dir
 * dir` with KRB5_CONFIG=dir/krb5.conf, KRB5_KTNAME=FILE:dir/http.keytab, KRB5CCNAME=FILE:dir/ccache.
 */
export async function prepareDemoRealm(dir: string, enctype: number = EncType.aes256_cts_hmac_sha1_96): Promise<{ kdc: Kdc; env: Record<string, string> }> {
  const kdc = await startKdc({
    realm: REALM,
    principals: [
      { name: USER, password: PASSWORD, enctypes: [enctype], pac: { userRid: 1105, groupRids: [513, 1120] } },
      { name: SERVICE, enctypes: [enctype] },
    ],
  });
  kdc.writeKrb5Conf(join(dir, 'krb5.conf'));
  kdc.writeKeytab(join(dir, 'http.keytab'), [SERVICE]);
  const realm: DemoRealm = { realm: REALM, service: SERVICE, user: USER, password: PASSWORD, enctype };
  writeFileSync(join(dir, 'realm.json'), `${JSON.stringify(realm)}\n`);
  return {
    kdc,
    env: { KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5_KTNAME: `FILE:${join(dir, 'http.keytab')}`, KRB5CCNAME: `FILE:${join(dir, 'ccache')}`, KRB5RCACHEDIR: dir },
  };
}

function readDemoRealm(dir: string): DemoRealm {
  let r: Partial<DemoRealm>;
  try {
    r = JSON.parse(readFileSync(join(dir, 'realm.json'), 'utf8')) as Partial<DemoRealm>;
  } catch (e) {
    throw new UsageError(`--realm-dir ${dir}: cannot read realm.json (${(e as Error).message}); the parent writes it with prepareDemoRealm`);
  }
  for (const k of ['realm', 'service', 'user', 'password'] as const) {
    if (typeof r[k] !== 'string' || !r[k]) throw new UsageError(`--realm-dir ${dir}: realm.json has no "${k}"`);
  }
  if (typeof r.enctype !== 'number') throw new UsageError(`--realm-dir ${dir}: realm.json has no "enctype"`);
  return r as DemoRealm;
}

function printSteps(r: PairingResult, verbose: boolean): void {
  const titles = r.mech === 'ntlm' ? NTLM_STEP_TITLES : STEP_TITLES;
  r.tokens.forEach((t, n) => {
    console.log(`\n  ${titles[n] ?? `${n + 1}. ${t.from}`}  [${t.bytes.length} bytes]`);
    if (verbose) console.log(JSON.stringify(trimHex(describeToken(t.bytes)), null, 2).replace(/^/gm, '    '));
  });
  if (r.wrapToken) {
    console.log(`\n  ${r.mech === 'ntlm' ? '5. client -> server: the first protected message, NTLM sealed (RC4 handle restarted after the mechListMIC, sequence 1)' : '6. client -> server: the first protected message, RFC 4121 Wrap (sealed)'}  [${r.wrapToken.length} bytes]`);
    // An NTLM sealed message is a bare NTLMSSP_MESSAGE_SIGNATURE (version 1, checksum, sequence) + RC4 output.
    if (verbose && r.mech === 'ntlm') console.log(`    signature ${toHex(r.wrapToken.subarray(0, 16))} (version 1 | checksum | sequence number), sealed ${toHex(r.wrapToken.subarray(16))}`);
    else if (verbose) console.log(JSON.stringify(trimHex(describeToken(r.wrapToken)), null, 2).replace(/^/gm, '    '));
    console.log(`     the acceptor unwraps: ${JSON.stringify(r.unwrapped)}`);
  }
}

export const demoCommand: Command = {
  summary: 'run the whole SPNEGO negotiation against an embedded KDC, native and pure, and compare the MICs',
  usage: [
    'usage: spnego demo [--brief] [--enctype aes256-cts-hmac-sha1-96|aes256-cts-hmac-sha384-192|...] [--pcap FILE] [--realm-dir DIR]',
    '',
    'Starts a KDC in this process (loopback), then runs SPNEGO with every available pairing of the',
    'native (system GSSAPI) and pure backends and prints each step decoded, then the mechListMIC table.',
    '--brief    print the decoded tokens of the first pairing only',
    '--pcap     write the exchanges as HTTP Negotiate over TCP on loopback (one stream per pairing) to FILE,',
    '           and the demo realm\'s throwaway keys (service, krbtgt) to FILE.keytab, for Wireshark:',
    '           wireshark -o kerberos.decrypt:TRUE -o kerberos.file:FILE.keytab FILE',
    '--realm-dir  use the realm a parent prepared in DIR (realm.json, krb5.conf, http.keytab; its KDC running)',
    '           instead of starting one: for the SSPI backend under Wine, whose Kerberos package reads',
    '           KRB5_CONFIG, KRB5_KTNAME and KRB5CCNAME from the environment node.exe was started with',
    'Exit status 1 when a pairing fails or any mechListMIC differs from its recomputation.',
  ].join('\n'),
  async run(argv) {
    const { values } = parseArgs({ args: argv, options: { brief: { type: 'boolean' }, enctype: { type: 'string' }, pcap: { type: 'string' }, 'realm-dir': { type: 'string' } }, allowPositionals: false });
    const realmDir = values['realm-dir'];
    if (realmDir && (values.enctype || values.pcap)) throw new UsageError('--realm-dir takes the realm as the parent made it: no --enctype or --pcap with it');
    const given = realmDir ? readDemoRealm(realmDir) : undefined;
    const enctype = given ? given.enctype : values.enctype ? EncType[values.enctype.replace(/-/g, '_') as keyof typeof EncType] : EncType.aes256_cts_hmac_sha1_96;
    if (enctype === undefined) throw new Error(`unknown enctype ${values.enctype}`);
    const faultEnv = process.env.SPNEGO_DEMO_FAULT;
    if (faultEnv && faultEnv !== 'mic-byte') throw new UsageError(`SPNEGO_DEMO_FAULT=${JSON.stringify(faultEnv)} is not a known test fault (only mic-byte); unset it for a real run`);
    const fault = faultEnv === 'mic-byte' ? 'mic-byte' : undefined;
    const dir = realmDir ?? mkdtempSync(join(tmpdir(), 'spnego-demo-'));
    const started = given ? undefined : await prepareDemoRealm(dir, enctype);
    const kdc = started?.kdc;
    const conf = join(dir, 'krb5.conf');
    const keytab = join(dir, 'http.keytab');
    const realm = given?.realm ?? REALM;
    const service = given?.service ?? SERVICE;
    const user = given?.user ?? USER;
    const password = given?.password ?? PASSWORD;
    // gss-ntlmssp (a native NTLM acceptor) reads its users from NTLM_USER_FILE at each logon.
    const ntlmUsers = join(dir, 'ntlm-users');
    if (started) writeFileSync(ntlmUsers, `${NTLM_DOMAIN}:${USER}:${PASSWORD}\n`);
    // With --realm-dir the parent set the Kerberos variables before this process started.
    // The native acceptors get the keytab as an argument (KRB5_KTNAME is left as it is).
    const { KRB5_KTNAME: _keytabVar, ...own } = started?.env ?? {};
    const restoreEnv = started ? useEnv({ ...own, NTLM_USER_FILE: ntlmUsers }) : () => undefined;
    try {
      if (kdc) console.log(`spnego demo: embedded KDC for ${REALM} on ${kdc.host}:${kdc.port} (TCP+UDP, loopback); ${USER}@${REALM} -> ${SERVICE}@${REALM}, enctype ${enctype}`);
      else console.log(`spnego demo: the realm ${realm} prepared by the parent in ${dir} (its KDC per krb5.conf); ${user}@${realm} -> ${service}@${realm}, enctype ${enctype}`);
      if (fault) console.log('TEST FAULT INJECTION (SPNEGO_DEMO_FAULT=mic-byte): one checksum byte of each acceptor mechListMIC is flipped before the cross-check');
      const native = nativeInfo();
      const backends: Backend[] = ['pure'];
      if (native.loaded) {
        backends.unshift('native');
        console.log(`native backend: ${native.library} ${native.version ?? ''} (${native.path})`);
      } else {
        console.log(`native backend absent, running pure only: ${native.error}`);
      }
      const results: PairingResult[] = [];
      // The demo's own first message is a request for /reports/q3: the capture asks for the same path.
      const recorder = values.pcap ? new NegotiationRecorder({ host: 'web.spnego.demo', path: '/reports/q3' }) : undefined;
      let first = true;
      const sspi = native.loaded && native.library === 'SSPI';
      if (sspi && !given) {
        console.log('SSPI pairings need --realm-dir (SSPI takes no keytab, and the Kerberos package reads KRB5_* from the environment the process started with): running pure only');
        backends.splice(backends.indexOf('native'), 1);
      }
      for (const ib of backends) {
        for (const ab of backends) {
          if (sspi && ib === 'native' && ab === 'native') {
            console.log('\n== native initiator -> native acceptor: not run (SSPI reports no session key under Wine; the pure code would have nothing to recompute the MICs from)');
            continue;
          }
          console.log(`\n== ${ib} initiator -> ${ab} acceptor`);
          const r = await runPairing(ib, ab, {
            target: `${service}@${realm}`, keytab, mechs: ['ms-krb5', 'krb5', 'ntlm'], krb5Config: conf,
            credentials: { principal: `${user}@${realm}`, password }, fault, recorder, nativeAcceptorWithoutKeytab: sspi,
          });
          printSteps(r, !values.brief || first);
          first = false;
          if (r.error) console.log(`  FAILED: ${r.error}`);
          else console.log(`  session key: enctype ${r.enctype}, ${r.keyOnlyFrom ? `reported by the ${r.keyOnlyFrom} only (the other side is SSPI, which does not report it here): the MICs are recomputed from it, and the other side verified them` : r.sessionKeysEqual ? 'the same on both sides' : 'DIFFERENT on the two sides'}; mechTypes DER ${toHex(r.mechTypes ?? new Uint8Array())}`);
          results.push(r);
        }
      }
      // NTLM: pure -> pure always; the native backend's pairings when MIT loads gss-ntlmssp.
      const ntlmsspFile = native.loaded && native.library === 'MIT' ? ntlmsspLoaded() : undefined;
      const ntlmBackends: Backend[] = ntlmsspFile ? ['native', 'pure'] : ['pure'];
      console.log(`\nNTLM (NTLMv2 inside SPNEGO): ${NTLM_DOMAIN}\\${USER} -> HTTP@127.0.0.1, ${ntlmsspFile ? `native pairings with gss-ntlmssp (${ntlmsspFile})` : `pure only (${!native.loaded ? 'no native backend' : native.library !== 'MIT' ? `gss-ntlmssp plugs into MIT, the library is ${native.library}` : 'gss-ntlmssp is not in the mechglue configuration'})`}`);
      for (const ib of ntlmBackends) {
        for (const ab of ntlmBackends) {
          console.log(`\n== NTLM: ${ib} initiator -> ${ab} acceptor`);
          const r = await runNtlmPairing(ib, ab, {
            target: 'HTTP@127.0.0.1',
            credentials: { principal: `${NTLM_DOMAIN}\\${USER}`, password: PASSWORD },
            users: (u, d) => (u.toLowerCase() === USER && d.toUpperCase() === NTLM_DOMAIN ? ntHash(PASSWORD) : undefined),
          });
          printSteps(r, !values.brief);
          if (r.error) console.log(`  FAILED: ${r.error}`);
          else console.log(`  NTLM exported session key: ${r.sessionKeysEqual ? 'the same on both sides' : 'DIFFERENT on the two sides'}; mechTypes DER ${toHex(r.mechTypes ?? new Uint8Array())}`);
          results.push(r);
        }
      }
      console.log(`\nmechListMIC bytes, each recomputed by the pure code (without verifying it) from the session key, the sender and the token's sequence number (Kerberos: RFC 4121 / RFC 4757; NTLM: MS-NLMP signature, sequence 0):\n`);
      console.log(micTable(results));
      const ok = results.every(pairingOk);
      if (recorder && values.pcap && kdc) {
        recorder.writePcap(values.pcap);
        // Only the embedded realm's throwaway keys (made for this run, gone with it): the service key opens the tickets,
        // whose session keys open the rest; krbtgt's lets Wireshark verify the PAC's KDC signature too.
        kdc.writeKeytab(`${values.pcap}.keytab`, [SERVICE, `krbtgt/${REALM}`]);
        console.log(`\ncapture: ${values.pcap} (${recorder.exchanges.length} TCP stream(s), HTTP on 127.0.0.1:80), keys of this throwaway realm: ${values.pcap}.keytab`);
        console.log(`  wireshark -o kerberos.decrypt:TRUE -o kerberos.file:${values.pcap}.keytab ${values.pcap}`);
      }
      const served = kdc ? `; KDC served ${kdc.stats.as} AS and ${kdc.stats.tgs} TGS requests` : '';
      console.log(`\n${ok ? 'OK' : 'MISMATCH'}: ${results.length} pairing(s), ${results.reduce((n, r) => n + r.mics.length, 0)} mechListMICs, first protected message "${FIRST_MESSAGE}"${served}`);
      return ok ? 0 : 1;
    } finally {
      restoreEnv();
      if (kdc) {
        await kdc.stop();
        rmSync(dir, { recursive: true, force: true });
      }
    }
  },
};
