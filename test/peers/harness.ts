/**
 * Starts real Kerberos/SPNEGO peers for the tests (like Python's k5test): each in its own temp
 * dir, on loopback only, stopped at the end by PID file (never by name). The shell recipes beside
 * this file do the work and print `export K=V` lines, which are parsed here.
 *
 * Without the peer's binaries, a test using it skips with the reason printed; with
 * SPNEGO_REQUIRE_PEERS=1 (CI) a missing peer fails instead. The same holds for a peer whose
 * binaries are there but which fails to start: never a test that returns early and passes.
 * Peers are never installed by tests: .ci/run installs them (scripts/install-peers.sh).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, type TestContext } from 'node:test';

const HERE = dirname(fileURLToPath(import.meta.url));
export const requirePeers = process.env.SPNEGO_REQUIRE_PEERS === '1';

export type PeerEnv = Record<string, string>;

/** Parses `export K='V'` lines. */
export function parseExports(out: string): PeerEnv {
  const env: PeerEnv = {};
  for (const line of out.split('\n')) {
    const m = /^export ([A-Za-z_][A-Za-z0-9_]*)=(?:'([^']*)'|"([^"]*)"|(\S*))$/.exec(line.trim());
    if (m) env[m[1]!] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return env;
}

/** Which binaries each peer needs; a missing one means "not installed". */
const NEEDS: Record<string, string[]> = {
  'mit-kdc': ['/usr/sbin/krb5kdc', '/usr/sbin/kdb5_util', '/usr/bin/kinit'],
  'apache-negotiate': ['/usr/sbin/krb5kdc', '/usr/sbin/apache2', '/usr/lib/apache2/modules/mod_auth_gssapi.so'],
  // mod_auth_gssapi with gss-ntlmssp (NTLM users from NTLM_USER_FILE), no KDC.
  'apache-ntlm': ['/usr/sbin/apache2', '/usr/lib/apache2/modules/mod_auth_gssapi.so', '/usr/lib/x86_64-linux-gnu/gssntlmssp/gssntlmssp.so'],
  'samba-ad': ['/usr/bin/samba-tool', '/usr/sbin/samba'],
  // Squid with Negotiate proxy authentication (Debian package squid); its keytab comes from the test.
  'squid-negotiate': ['/usr/sbin/squid', '/usr/lib/squid/negotiate_kerberos_auth', '/usr/bin/curl'],
  // Squid with NTLM proxy authentication through its ntlm_fake_auth helper (accepts any user).
  'squid-ntlm': ['/usr/sbin/squid', '/usr/lib/squid/ntlm_fake_auth', '/usr/bin/curl'],
  // Unpacked next to MIT's by scripts/heimdal-extract.sh (the packages conflict with MIT's).
  'heimdal-kdc': ['/opt/spnego-heimdal/usr/lib/heimdal-servers/kdc', '/opt/spnego-heimdal/usr/bin/kadmin.heimdal', '/opt/spnego-heimdal/usr/bin/kinit.heimdal'],
  // The shared replay cache (lib/redis, test/cluster): the Debian redis-server.
  redis: ['/usr/bin/redis-server'],
  // Clients and tools the tests run (nothing to start).
  curl: ['/usr/bin/curl', '/usr/lib/x86_64-linux-gnu/libgssapi_krb5.so.2'],
  chromium: ['/usr/bin/chromium'],
  ktutil: ['/usr/bin/ktutil', '/usr/bin/klist'],
  // Wireshark's dissectors check the captures of lib/capture (test/capture).
  tshark: ['/usr/bin/tshark'],
  // Wine 8 (scripts/install-peers.sh) for test/windows; the layer adds node.exe
  // (scripts/install-windows-node.sh), the SSPI DLL (npm run sspi:compile) and dist/ as extras.
  wine: ['/usr/lib/wine/wine64', '/usr/lib/wine/wineserver'],
};
/** Peers that bind daemons or system addresses and so need root. */
const ROOT_PEERS = new Set(['apache-negotiate', 'apache-ntlm', 'samba-ad', 'squid-negotiate', 'squid-ntlm']);

/** Peers of this process whose recipe failed to start them, with the reason (see startPeer). */
const startFailures = new Map<string, string>();

/** Why `peer` cannot run here, or undefined when it can. */
export function missingPeer(peer: string, extra: string[] = []): string | undefined {
  const missing = [...(NEEDS[peer] ?? []), ...extra].filter((p) => !existsSync(p));
  if (process.getuid?.() !== 0 && ROOT_PEERS.has(peer)) return `${peer} needs root`;
  if (missing.length) return `${peer} not installed (missing ${missing.join(', ')})`;
  return startFailures.get(peer);
}

/**
 * Skips the test (or fails it when SPNEGO_REQUIRE_PEERS=1) when the peer cannot run.
 * Returns true when the caller should go on.
 */
export function needPeer(t: TestContext, peer: string, extra: string[] = []): boolean {
  // One line: the reason goes into TAP's skip directive (a start failure carries the recipe's stderr).
  const why = missingPeer(peer, extra)?.trim().replace(/\s*\n\s*/g, ' | ');
  return why ? notHere(t, why) : true;
}

/**
 * Something a test needs is not here (a peer, a dev dependency): skips the test with `why`, or
 * fails it when SPNEGO_REQUIRE_PEERS=1. Returns false (go no further).
 */
export function notHere(t: { skip(why: string): void }, why: string): false {
  if (requirePeers) throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${why}`);
  console.log(`# skip: ${why}`);
  t.skip(why);
  return false;
}

export interface RunningPeer {
  env: PeerEnv;
  state: string;
  stop(): void;
}

/**
 * Starts a peer recipe (`mit-kdc`, `apache-negotiate`, `samba-ad`) in a fresh temp dir. A failure
 * throws and is remembered: needPeer() for that peer then skips (or fails under
 * SPNEGO_REQUIRE_PEERS=1) with the recipe's exit status and stderr. `recipe` overrides the
 * script's path (the harness's own tests use a recipe whose daemon exits at once).
 */
export function startPeer(peer: string, knobs: Record<string, string> = {}, o: { recipe?: string } = {}): RunningPeer {
  const script = o.recipe ?? join(HERE, `${peer}.sh`);
  const state = mkdtempSync(join(tmpdir(), `spnego-${peer}-`));
  const r = spawnSync('bash', [script, 'up', state], {
    env: { ...process.env, ...knobs, SPNEGO_NO_APT: '1' },
    encoding: 'utf8',
    timeout: 240_000, // a Samba DC provisions and starts in 20-60 s, longer on a loaded machine
  });
  if (r.status !== 0) {
    rmSync(state, { recursive: true, force: true });
    const why = `${peer} is installed but failed to start (${r.error ? r.error.message : r.signal ?? `exit ${r.status}`}):\n${r.stderr?.slice(-3000) ?? ''}`;
    startFailures.set(peer, why);
    throw new Error(why);
  }
  const env = parseExports(r.stdout);
  let stopped = false;
  return {
    env,
    state,
    stop() {
      if (stopped) return;
      stopped = true;
      try {
        execFileSync('bash', [script, 'clean', state], { stdio: 'ignore', timeout: 60_000 });
      } finally {
        rmSync(state, { recursive: true, force: true });
      }
    },
  };
}

/**
 * Skips (or, with SPNEGO_REQUIRE_PEERS=1, fails) when the native addon or the GSSAPI library
 * `library` ('mit' | 'heimdal') cannot be loaded here. Returns true when the caller should go on.
 */
export async function needNative(t: TestContext, library: string): Promise<boolean> {
  const { nativeInfo } = await import('../../lib/native/index.js');
  const info = nativeInfo(library);
  if (info.loaded) return true;
  const why = `native backend with ${library} unavailable: ${info.error}`;
  if (requirePeers) throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${why}`);
  console.log(`# skip: ${why}`);
  t.skip(why);
  return false;
}


// Environment for the native libraries: see lib/util/env.ts.
import { useEnv } from '../../lib/util/env.js';
export { useEnv };

/** The variables that point MIT's and Heimdal's libraries at a peer's realm. */
export const KRB5_ENV = ['KRB5_CONFIG', 'KRB5CCNAME', 'KRB5_KTNAME', 'KRB5RCACHEDIR'];

/**
 * Starts `peer` once for the test file (node:test before/after hooks) and points the listed
 * environment variables at its values while the file runs. `current` stays undefined when the
 * peer cannot start: needPeer(t, peer) then skips with the reason, and under
 * SPNEGO_REQUIRE_PEERS=1 the failing hook fails every test of the file.
 */
export function peerForFile(peer: string, envKeys: string[] = [], o: { recipe?: string } = {}): { current?: RunningPeer } {
  const holder: { current?: RunningPeer } = {};
  let restore = () => {};
  before(() => {
    try {
      holder.current = startPeer(peer, {}, o);
      const env = holder.current.env;
      restore = useEnv(Object.fromEntries(envKeys.map((k) => [k, env[k]])));
    } catch (e) {
      if (requirePeers) throw e;
    }
  });
  after(() => {
    holder.current?.stop();
    restore();
  });
  return holder;
}

/**
 * Waits until `file` has a line matching `re` and returns the file's text (the last text read when
 * `ms` pass first, so the caller's assert.match shows what was there). A daemon writes some log lines
 * after the client is done: squid logs a CONNECT tunnel when the tunnel closes, which is after our
 * side closed it.
 */
export async function waitForLine(file: string, re: RegExp, ms = 10_000): Promise<string> {
  const end = Date.now() + ms;
  for (;;) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (re.test(text) || Date.now() > end) return text;
    await new Promise((r) => setTimeout(r, 50));
  }
}
