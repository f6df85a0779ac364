// NTLM at the proxy (407 Proxy-Authenticate: NTLM): NegotiateProxyAgent runs the NTLM legs on the
// one proxy connection that becomes the CONNECT tunnel (NTLM is connection-bound). The real peer is
// Debian's squid with its ntlm_fake_auth helper: squid's own NTLMSSP handling, which accepts any user
// (so these tests show the flow and the message formats are accepted by an independent implementation,
// and that squid takes the user name we sent, not that a password is checked). Loopback only.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect as netConnect, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { negotiate, negotiateFetch, NegotiateProxyAgent } from '../../lib/http/index.js';
import { createInitiator } from '../../lib/api.js';
import { decodeAuthenticate, decodeChallenge } from '../../lib/ntlm/messages.js';
import { needPeer, startPeer, waitForLine, type RunningPeer } from '../peers/harness.js';
import { httpRealmForFile } from './realm.js';

const REALM = 'PROXYNTLM.TEST';
const realm = httpRealmForFile(REALM);
const NTLM_USER = { principal: 'NTDOM\\ntuser', password: 'nt-pw' };
let dir = '';
let tls: { key: Buffer; cert: Buffer };
let squid: RunningPeer | undefined;
let squidError: unknown;

function setup(): void {
  if (dir) return;
  dir = mkdtempSync(join(tmpdir(), 'spnego-proxy-ntlm-'));
  execFileSync('openssl', ['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'o.key'), '-out', join(dir, 'o.crt')], { stdio: 'ignore' });
  tls = { key: readFileSync(join(dir, 'o.key')), cert: readFileSync(join(dir, 'o.crt')) };
}
after(() => {
  squid?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function needSquid(t: Parameters<typeof needPeer>[0]): RunningPeer | undefined {
  setup();
  if (!needPeer(t, 'squid-ntlm')) return undefined;
  if (!squid && !squidError) {
    try {
      squid = startPeer('squid-ntlm');
    } catch (err) {
      squidError = err;
    }
  }
  if (!squid) needPeer(t, 'squid-ntlm');
  return squid;
}

function listen(server: { listen: (port: number, host: string, cb: () => void) => unknown; address: () => unknown }): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
}

/** A TCP relay in front of squid that counts the client's connections to the proxy. */
async function relay(to: string) {
  const u = new URL(to);
  let connections = 0;
  const server: TcpServer = createTcpServer((c) => {
    connections++;
    const s = netConnect({ host: u.hostname, port: Number(u.port) });
    c.pipe(s).pipe(c);
    c.on('error', () => s.destroy());
    s.on('error', () => c.destroy());
  });
  const port = await listen(server);
  return { server, url: `http://127.0.0.1:${port}`, connections: () => connections };
}

/** An origin (HTTPS unless secure is false), with our middleware (Kerberos, channel bindings required over TLS) or open. */
async function origin(auth: boolean, secure = true) {
  setup();
  const mw = negotiate({ backend: 'pure', keytab: realm.keytab, krb5Config: realm.krb5Config, channelBindings: secure ? 'require' : 'if-present' });
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const done = () => res.end(JSON.stringify({ user: req.negotiate?.user ?? null, via: req.headers.via ?? null, proxyAuth: req.headers['proxy-authorization'] ?? null }));
    if (auth) mw(req, res, done);
    else done();
  };
  const server = secure ? createHttpsServer(tls, handler) : createHttpServer(handler);
  let connections = 0;
  server.on(secure ? 'secureConnection' : 'connection', () => connections++);
  const port = await listen(server);
  return { server, url: `${secure ? 'https' : 'http'}://localhost:${port}/`, connections: () => connections };
}

for (const scheme of ['ntlm', 'negotiate'] as const) {
  test(`HTTPS through squid asking for NTLM (scheme '${scheme}'): the NTLM legs and the tunnel on one proxy connection, kept for two requests; squid logs our user`, async (t) => {
    const sq = needSquid(t);
    if (!sq) return;
    const r = await relay(sq.env.SQUID_URL!);
    const o = await origin(false);
    // Pure NTLM credentials: no Kerberos at the proxy (with 'negotiate', SPNEGO's first token is refused by squid).
    const proxy = new NegotiateProxyAgent({ proxy: r.url, backend: 'pure', krb5Config: realm.krb5Config, ntlm: { credentials: NTLM_USER }, scheme, tls: { ca: tls.cert } });
    try {
      for (let i = 0; i < 2; i++) {
        await new Promise((res) => setImmediate(res));
        const res = await fetch(o.url, { dispatcher: proxy } as RequestInit);
        assert.equal(res.status, 200);
        assert.equal((await res.json() as { via: string | null }).via, null, 'tunnelled: squid sees no request');
      }
      assert.equal(r.connections(), 1, 'every NTLM leg and the kept tunnel on one proxy connection');
      assert.equal(o.connections(), 1);
    } finally {
      await proxy.close();
      o.server.close();
      r.server.close();
    }
    const tunnel = /TCP_TUNNEL\/200 .* CONNECT localhost:\d+ \S*ntuser/;
    assert.match(await waitForLine(join(sq.state, 'logs', 'access.log'), tunnel), tunnel, 'squid logged the NTLM user we sent');
  });
}

for (const scheme of ['ntlm', 'negotiate'] as const) {
  test(`plain HTTP through squid asking for NTLM (scheme '${scheme}'): every leg of a request's exchange on one dedicated proxy connection`, async (t) => {
    const sq = needSquid(t);
    if (!sq) return;
    const r = await relay(sq.env.SQUID_URL!);
    const o = await origin(false, false);
    const proxy = new NegotiateProxyAgent({ proxy: r.url, backend: 'pure', krb5Config: realm.krb5Config, ntlm: { credentials: NTLM_USER }, scheme });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await fetch(o.url, { dispatcher: proxy } as RequestInit);
        assert.equal(res.status, 200);
        const body = await res.json() as { via: string | null; proxyAuth: string | null };
        assert.match(String(body.via), /squid/, 'it went through squid');
        assert.equal(body.proxyAuth, null, 'squid consumed Proxy-Authorization');
      }
      assert.equal(r.connections(), 2, 'one proxy connection per request carries all its NTLM legs');
    } finally {
      await proxy.close();
      o.server.close();
      r.server.close();
    }
    const miss = /TCP_MISS\/200 .* GET http:\/\/localhost:\d+\/ \S*ntuser/;
    assert.match(await waitForLine(join(sq.state, 'logs', 'access.log'), miss), miss, 'squid logged the NTLM user we sent');
  });
}

test('negotiateFetch({ proxy }) over plain HTTP: NTLM at squid, Kerberos at the origin', async (t) => {
  const sq = needSquid(t);
  if (!sq) return;
  const o = await origin(true, false);
  const proxy = new NegotiateProxyAgent({ proxy: sq.env.SQUID_URL!, backend: 'pure', ntlm: { credentials: NTLM_USER }, scheme: 'ntlm' });
  try {
    const res = await negotiateFetch(o.url, {}, { backend: 'pure', krb5Config: realm.krb5Config, proxy });
    assert.equal(res.status, 200);
    const body = await res.json() as { user: string; via: string };
    assert.equal(body.user, `alice@${REALM}`);
    assert.match(body.via, /squid/);
  } finally {
    await proxy.close();
    o.server.close();
  }
});

test('negotiateFetch({ proxy }): NTLM at squid (pure NTLM credentials), Kerberos with channel bindings at the HTTPS origin, in one request', async (t) => {
  const sq = needSquid(t);
  if (!sq) return;
  const o = await origin(true);
  const proxy = new NegotiateProxyAgent({ proxy: sq.env.SQUID_URL!, backend: 'pure', ntlm: { credentials: NTLM_USER }, scheme: 'ntlm' });
  try {
    const res = await negotiateFetch(o.url, {}, { backend: 'pure', krb5Config: realm.krb5Config, proxy, tls: { ca: tls.cert } });
    assert.equal(res.status, 200);
    assert.equal((await res.json() as { user: string }).user, `alice@${REALM}`);
  } finally {
    await proxy.close();
    o.server.close();
  }
});

test('squid offers only NTLM and the agent has no NTLM credentials: CONNECT and plain HTTP fail with a GssError (GSS_S_NO_CRED) that says what to set', async (t) => {
  const sq = needSquid(t);
  if (!sq) return;
  // Kerberos credentials only: the Negotiate token goes out, squid answers 407 Proxy-Authenticate: NTLM.
  const proxy = new NegotiateProxyAgent({ proxy: sq.env.SQUID_URL!, target: 'HTTP@localhost', backend: 'pure', krb5Config: realm.krb5Config });
  try {
    await assert.rejects(proxy.connectTunnel(new URL('https://localhost:65000/')), (err: Error & { major?: string }) => {
      assert.equal(err.name, 'GssError', err.message);
      assert.equal(err.major, 'GSS_S_NO_CRED');
      assert.match(err.message, /asks for NTLM only .* set ntlm: \{ credentials/);
      return true;
    });
    for (const url of ['https://localhost:65000/', 'http://localhost:65000/']) {
      await assert.rejects(fetch(url, { dispatcher: proxy } as RequestInit), (err: Error & { cause?: Error & { major?: string } }) => {
        assert.equal(err.cause?.major, 'GSS_S_NO_CRED', `${url}: ${String(err.cause)}`);
        assert.match(err.cause!.message, /asks for NTLM only/);
        return true;
      });
    }
  } finally {
    await proxy.close();
  }
});

test("scheme 'ntlm' without the ntlm option is a UsageError", async () => {
  const proxy = new NegotiateProxyAgent({ proxy: 'http://127.0.0.1:9', scheme: 'ntlm' });
  try {
    await assert.rejects(proxy.connectTunnel(new URL('https://localhost:443/')), (err: Error) => err.name === 'UsageError');
  } finally {
    await proxy.close();
  }
});

test("squid's ntlm_fake_auth CHALLENGE (TargetNameFields' BufferOffset past the message) is answered: the unreadable TargetName is taken as ''", async () => {
  // Captured from squid's ntlm_fake_auth answering our NEGOTIATE_MESSAGE: Unicode, no TargetInfo, a
  // 40-byte header, and TargetNameFields Len 9 (OEM "WORKGROUP") at BufferOffset 0xAAAAAAAE.
  const challenge = new Uint8Array(Buffer.from('TlRMTVNTUAACAAAACQAJAK6qqqo1ggjib90JtFNEnhgAAAAAAAA6AFdPUktHUk9VUA==', 'base64'));
  const m = decodeChallenge(challenge);
  assert.equal(m.targetName, '');
  assert.equal(Buffer.from(m.serverChallenge).toString('hex'), '6fdd09b453449e18');
  const ini = createInitiator({ target: 'HTTP@127.0.0.1', backend: 'pure', mech: 'ntlm', ntlm: { credentials: NTLM_USER } });
  try {
    await ini.step();
    const auth = decodeAuthenticate((await ini.step(challenge))!);
    assert.equal(auth.user, 'ntuser');
    assert.equal(auth.domain, 'NTDOM');
  } finally {
    ini.dispose();
  }
});
