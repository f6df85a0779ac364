// Real NTLM clients against our negotiate() middleware (pure NTLM acceptor with a user file), on
// 127.0.0.1: curl --ntlm (curl's own NTLMv2 code, raw `NTLM` scheme, OEM strings), curl
// --negotiate with MIT's libgssapi and gss-ntlmssp (SPNEGO with NTLM inside, three legs), and
// headless Chromium's own NTLMv2 code (`NTLM` scheme). Each skips with its reason when the peer is
// missing, and fails under SPNEGO_REQUIRE_PEERS=1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { negotiate, type NegotiateOptions } from '../../lib/http/index.js';
import { needPeer } from '../peers/harness.js';

const NTLM_OID = '1.3.6.1.4.1.311.2.2.10';
const PASSWORD = 'Peer pw 1!';
const USERS = `EXAMPLE:alice:${PASSWORD}\n`;
let dir = '';
let userFile = '';
let tlsCert: { key: Buffer; cert: Buffer };

/** gss-ntlmssp's mech.d file (the one naming the NTLMSSP OID), for GSS_MECH_CONFIG. */
function ntlmsspMechFile(): string {
  const d = '/etc/gss/mech.d';
  const f = existsSync(d) ? readdirSync(d).find((n) => readFileSync(join(d, n), 'utf8').includes(NTLM_OID)) : undefined;
  return f ? join(d, f) : '/etc/gss/mech.d/mech.ntlmssp.conf';
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-ntlm-peers-'));
  userFile = join(dir, 'users');
  writeFileSync(userFile, USERS);
  // A krb5.conf whose KDC refuses connections (MIT's SPNEGO then settles on NTLM; Chromium's
  // GSSAPI setup fails on KRB5_CONFIG=/dev/null).
  writeFileSync(join(dir, 'krb5.conf'), '[libdefaults]\n default_realm = EXAMPLE\n dns_lookup_kdc = false\n[realms]\n EXAMPLE = {\n  kdc = tcp/127.0.0.1:1\n }\n');
  const key = join(dir, 'k.pem'), cert = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  tlsCert = { key: readFileSync(key), cert: readFileSync(cert) };
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

interface Seen { sockets: Set<Socket>; schemes: string[]; users: string[]; errors: unknown[] }

async function origin(o: Partial<NegotiateOptions> = {}, https = false, page?: string) {
  const seen: Seen = { sockets: new Set(), schemes: [], users: [], errors: [] };
  const mw = negotiate({ ntlm: { userFile }, ...o, onError: (e) => seen.errors.push(e) });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    if (page && req.url === '/') {
      res.setHeader('content-type', 'text/html');
      res.end(page);
      return;
    }
    seen.sockets.add(req.socket);
    if (req.headers.authorization) seen.schemes.push(req.headers.authorization.split(' ')[0]!);
    mw(req, res, () => {
      seen.users.push(req.negotiate!.user);
      res.end(`hello ${req.negotiate!.user} ${req.negotiate!.info.mech === NTLM_OID ? 'ntlm' : req.negotiate!.info.mech} ${req.negotiate!.info.spnego ? 'spnego' : 'raw'} ${req.negotiate!.info.flags.channelBound ? 'bound' : 'unbound'}`);
    });
  };
  const server = https ? createHttpsServer(tlsCert, handler) : createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    seen, port, url: `${https ? 'https' : 'http'}://127.0.0.1:${port}/`,
    close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }),
  };
}

function curl(args: string[], env: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    execFile('curl', ['-s', '-w', '\n%{http_code}', ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`curl failed: ${err.message} ${stderr}`));
      const i = stdout.lastIndexOf('\n');
      resolve({ body: stdout.slice(0, i), status: Number(stdout.slice(i + 1)) });
    });
  });
}


for (const https of [false, true]) {
  test(`curl --ntlm (its own NTLMv2) signs in to negotiate() with a user file${https ? ' over HTTPS' : ''}`, async (t) => {
    if (!needPeer(t, 'curl')) return;
    const o = await origin({}, https);
    try {
      const r = await curl(['--ntlm', '-u', `EXAMPLE\\alice:${PASSWORD}`, ...(https ? ['--cacert', join(dir, 'c.pem')] : []), o.url]);
      assert.equal(r.status, 200, JSON.stringify(o.seen.errors.map(String)));
      // Raw NTLM has no SPNEGO: info.mech is the NTLM OID itself; curl sends no channel bindings.
      assert.equal(r.body, 'hello EXAMPLE\\alice ntlm raw unbound');
      assert.deepEqual(o.seen.schemes, ['NTLM', 'NTLM'], 'NEGOTIATE_MESSAGE then AUTHENTICATE_MESSAGE');
      assert.equal(o.seen.sockets.size, 1, 'both legs on one connection');
      assert.deepEqual(o.seen.errors, []);
      // A wrong password is refused.
      const bad = await curl(['--ntlm', '-u', 'EXAMPLE\\alice:wrong', ...(https ? ['--cacert', join(dir, 'c.pem')] : []), o.url]);
      assert.equal(bad.status, 401);
      assert.equal(o.seen.errors.length, 1);
      assert.equal((o.seen.errors[0] as Error).name, 'NtlmBadCredentialsError');
    } finally {
      await o.close();
    }
  });
}

test("curl --ntlm is refused under channelBindings 'require' (it sends no MsvAvChannelBindings)", async (t) => {
  if (!needPeer(t, 'curl')) return;
  const o = await origin({ channelBindings: 'require' }, true);
  try {
    const r = await curl(['--ntlm', '-u', `EXAMPLE\\alice:${PASSWORD}`, '--cacert', join(dir, 'c.pem'), o.url]);
    assert.equal(r.status, 401);
    assert.equal((o.seen.errors[0] as Error).name, 'NtlmChannelBindingsError');
  } finally {
    await o.close();
  }
});

test('curl --negotiate with gss-ntlmssp (MIT SPNEGO, NTLM inside) signs in to negotiate()', async (t) => {
  const mech = ntlmsspMechFile();
  if (!needPeer(t, 'curl', [mech])) return;
  const o = await origin();
  try {
    // gss-ntlmssp's initiator takes its default credential from NTLM_USER_FILE (the entry of $USER).
    const env = { GSS_MECH_CONFIG: mech, NTLM_USER_FILE: userFile, USER: 'alice', LOGNAME: 'alice', KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'none')}` };
    const r = await curl(['--negotiate', '-u', ':', o.url], env);
    assert.equal(r.status, 200, JSON.stringify(o.seen.errors.map(String)));
    assert.equal(r.body, 'hello EXAMPLE\\alice ntlm spnego unbound');
    assert.deepEqual(o.seen.schemes, ['Negotiate', 'Negotiate'], 'NegTokenInit(NEGOTIATE), then NegTokenResp(AUTHENTICATE + mechListMIC)');
    assert.equal(o.seen.sockets.size, 1);
    assert.deepEqual(o.seen.errors, []);
  } finally {
    await o.close();
  }
});

// Chromium navigates to /whoami with the credentials in the URL (no prompt headless): its
// network stack answers the NTLM 401 with them, with its own NTLMv2 code.
/** Runs headless Chromium on `url` (fenced to localhost) and returns the DOM it ends with. */
function chromium(url: string, args: string[], env: Record<string, string> = {}, profile = mkdtempSync(join(dir, 'profile-'))): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile('/usr/bin/chromium', [
      '--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${profile}`,
      '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost', '--auth-server-allowlist=localhost',
      ...args, '--virtual-time-budget=10000', '--dump-dom', url,
    ], { env: { ...process.env, ...env }, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr.slice(-800)}`)) : resolve(stdout)));
  });
}

for (const https of [false, true]) {
  test(`headless Chromium (its own NTLMv2) signs in to negotiate() with the NTLM scheme${https ? " over HTTPS, bound (channelBindings 'require')" : ''}`, async (t) => {
    if (!needPeer(t, 'chromium')) return;
    const o = await origin(https ? { channelBindings: 'require' } : {}, https);
    try {
      const url = `${https ? 'https' : 'http'}://EXAMPLE%5Calice:${encodeURIComponent(PASSWORD)}@localhost:${o.port}/whoami`;
      // Over HTTPS Chromium trusts our self-signed certificate by its SPKI hash, and sends
      // MsvAvChannelBindings (tls-server-end-point of that certificate) in its AUTHENTICATE_MESSAGE.
      const spki = https ? execFileSync('bash', ['-c', `openssl x509 -in ${join(dir, 'c.pem')} -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`]).toString().trim() : '';
      const dom = await chromium(url, ['--auth-schemes=ntlm', ...(https ? [`--ignore-certificate-errors-spki-list=${spki}`] : [])]);
      assert.match(dom, new RegExp(`hello EXAMPLE\\\\alice ntlm raw ${https ? 'bound' : 'unbound'}`), `${dom.slice(0, 300)} ${JSON.stringify(o.seen.errors.map(String))}`);
      assert.ok(o.seen.users.includes('EXAMPLE\\alice'));
      assert.ok(o.seen.schemes.includes('NTLM'));
    } finally {
      await o.close();
    }
  });
}

test('headless Chromium with --auth-schemes=negotiate through gss-ntlmssp (SPNEGO, NTLM inside) signs in to negotiate()', async (t) => {
  const mech = ntlmsspMechFile();
  if (!needPeer(t, 'chromium', [mech])) return;
  const o = await origin();
  try {
    // Chromium's Negotiate on Linux is MIT's libgssapi: gss-ntlmssp takes the credential from NTLM_USER_FILE.
    const env = { GSS_MECH_CONFIG: mech, NTLM_USER_FILE: userFile, USER: 'alice', LOGNAME: 'alice', KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'none')}` };
    // A fresh profile's first Negotiate challenge comes before Chromium has its GSSAPI library
    // (ERR_UNSUPPORTED_AUTH_SCHEME, the page fails); the second run on that profile has it.
    const profile = mkdtempSync(join(dir, 'profile-'));
    const args = ['--auth-schemes=negotiate', '--disable-auth-negotiate-cname-lookup'];
    await chromium(`http://localhost:${o.port}/whoami`, args, env, profile).catch(() => '');
    const dom = await chromium(`http://localhost:${o.port}/whoami`, args, env, profile);
    assert.match(dom, /hello EXAMPLE\\alice ntlm spnego unbound/, `${dom.slice(0, 300)} ${JSON.stringify(o.seen.errors.map(String))}`);
    assert.ok(o.seen.schemes.includes('Negotiate'));
  } finally {
    await o.close();
  }
});
