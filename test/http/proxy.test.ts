// Through a proxy that asks for Negotiate (407): NegotiateProxyAgent as fetch's dispatcher, and
// negotiateFetch({ proxy }) with Negotiate at the proxy and at the origin in one request. The real
// peer is Debian's squid with negotiate_kerberos_auth (MIT), its keytab from the embedded KDC; the
// origins are our middleware. Everything on loopback. A fake proxy checks refusals and loops.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { Pool } from 'undici';
import { negotiate, negotiateFetch, NegotiateProxyAgent } from '../../lib/http/index.js';
import { acquireCredentials } from '../../lib/api.js';
import { needNative, needPeer, startPeer, waitForLine, type RunningPeer } from '../peers/harness.js';
import { httpRealmForFile } from './realm.js';
import type { Backend } from '../../lib/context.js';

const REALM = 'PROXY.TEST';
const realm = httpRealmForFile(REALM);
let dir = '';
let tls: { key: Buffer; cert: Buffer };
let squid: RunningPeer | undefined;
let squidError: unknown;

let ready = false;
/** Certificates and the proxy's principal and keytab, once the realm (its own before hook) is up. */
function setup(): void {
  if (ready) return;
  ready = true;
  dir = mkdtempSync(join(tmpdir(), 'spnego-proxy-'));
  execFileSync('openssl', ['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(dir, 'o.key'), '-out', join(dir, 'o.crt')], { stdio: 'ignore' });
  tls = { key: readFileSync(join(dir, 'o.key')), cert: readFileSync(join(dir, 'o.crt')) };
  // The proxy is 127.0.0.1 (HTTP/127.0.0.1), the origins localhost (HTTP/localhost): two services.
  realm.kdc.addPrincipal({ name: 'HTTP/127.0.0.1' });
  realm.kdc.writeKeytab(join(dir, 'proxy.keytab'), ['HTTP/127.0.0.1']);
}
after(() => {
  squid?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** squid, started on first use (its recipe runs synchronously; the KDC is not needed by it). */
function needSquid(t: Parameters<typeof needPeer>[0]): RunningPeer | undefined {
  setup();
  if (!needPeer(t, 'squid-negotiate')) return undefined;
  if (!squid && !squidError) {
    try {
      squid = startPeer('squid-negotiate', { SQUID_KEYTAB: join(dir, 'proxy.keytab') });
    } catch (err) {
      squidError = err;
    }
  }
  if (!squid) needPeer(t, 'squid-negotiate'); // skips (or fails under SPNEGO_REQUIRE_PEERS=1) with the recipe's reason
  return squid;
}

function listen(server: Server | ReturnType<typeof createHttpsServer> | ReturnType<typeof createTcpServer>): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
}

/** An origin: with our middleware (auth) or open; counts its TCP connections. */
async function origin(o: { secure: boolean; auth: boolean; backend?: Backend }) {
  setup();
  const mw = negotiate({ backend: o.backend ?? 'pure', keytab: realm.keytab, krb5Config: o.backend === 'native' ? undefined : realm.krb5Config, channelBindings: o.secure ? 'require' : 'if-present' });
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const done = () => res.end(JSON.stringify({ user: req.negotiate?.user ?? null, via: req.headers.via ?? null, proxyAuth: req.headers['proxy-authorization'] ?? null }));
    if (o.auth) mw(req, res, done);
    else done();
  };
  const server = o.secure ? createHttpsServer(tls, handler) : createHttpServer(handler);
  let connections = 0;
  server.on(o.secure ? 'secureConnection' : 'connection', () => connections++);
  const port = await listen(server);
  return { server, url: `${o.secure ? 'https' : 'http'}://localhost:${port}/`, connections: () => connections };
}

const clientOptions = (backend: Backend) => ({ backend, krb5Config: backend === 'pure' ? realm.krb5Config : undefined });

test('squid asks for Negotiate: a request without Proxy-Authorization gets 407 Proxy-Authenticate: Negotiate', async (t) => {
  const sq = needSquid(t);
  if (!sq) return;
  const o = await origin({ secure: false, auth: false });
  const pool = new Pool(sq.env.SQUID_URL!);
  try {
    const r = await pool.request({ method: 'GET', path: o.url, headers: { host: new URL(o.url).host } });
    assert.equal(r.statusCode, 407);
    assert.match(String(r.headers['proxy-authenticate']), /Negotiate/);
    await r.body.dump();
  } finally {
    await pool.close();
    o.server.close();
  }
});

for (const backend of ['pure', 'native'] as Backend[]) {
  test(`fetch(url, { dispatcher: NegotiateProxyAgent }) through squid (${backend}): plain HTTP, and HTTPS through one authenticated CONNECT kept for two requests`, async (t) => {
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const sq = needSquid(t);
    if (!sq) return;
    const plain = await origin({ secure: false, auth: false });
    const secure = await origin({ secure: true, auth: false });
    const proxy = new NegotiateProxyAgent({ proxy: sq.env.SQUID_URL!, ...clientOptions(backend), tls: { ca: tls.cert } });
    try {
      assert.equal(proxy.target, 'HTTP@127.0.0.1');
      const a = await fetch(plain.url, { dispatcher: proxy } as RequestInit);
      assert.equal(a.status, 200);
      const body = await a.json() as { via: string | null; proxyAuth: string | null };
      assert.match(String(body.via), /squid/, 'it went through squid');
      assert.equal(body.proxyAuth, null, 'squid consumed Proxy-Authorization (it was for the proxy)');
      for (let i = 0; i < 2; i++) {
        // undici returns a connection to its pool a turn after the body ends.
        await new Promise((r) => setImmediate(r));
        const b = await fetch(secure.url, { dispatcher: proxy } as RequestInit);
        assert.equal(b.status, 200);
        assert.equal((await b.json() as { via: string | null }).via, null, 'HTTPS is tunnelled, squid sees no request');
      }
      assert.equal(secure.connections(), 1, 'the authenticated tunnel is kept for the second request');
    } finally {
      await proxy.close();
      plain.server.close();
      secure.server.close();
    }
    const user = new RegExp(`alice@${REALM}`);
    assert.match(await waitForLine(join(sq.state, 'logs', 'access.log'), user), user, 'squid logged the Kerberos user');
  });

  test(`negotiateFetch({ proxy }) through squid (${backend}): Negotiate at the proxy and at the origin in one request, HTTP and HTTPS with channel bindings required`, async (t) => {
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const sq = needSquid(t);
    if (!sq) return;
    const credentials = await acquireCredentials({ usage: 'initiate', ...clientOptions(backend) });
    const proxy = new NegotiateProxyAgent({ proxy: sq.env.SQUID_URL!, backend, credentials });
    const plain = await origin({ secure: false, auth: true, backend });
    const secure = await origin({ secure: true, auth: true, backend });
    try {
      const a = await negotiateFetch(plain.url, {}, { backend, credentials, proxy });
      assert.equal(a.status, 200);
      const ab = await a.json() as { user: string; via: string };
      assert.equal(ab.user, `alice@${REALM}`);
      assert.match(ab.via, /squid/);
      const b = await negotiateFetch(secure.url, {}, { backend, credentials, proxy, tls: { ca: tls.cert } });
      assert.equal(b.status, 200, 'the bindings are the origin certificate seen through the tunnel');
      assert.equal((await b.json() as { user: string }).user, `alice@${REALM}`);
    } finally {
      await proxy.close();
      credentials.dispose();
      plain.server.close();
      secure.server.close();
    }
  });
}

test("squid refuses a token for another service: HTTP and HTTPS (CONNECT) requests fail with a GssError as the cause of fetch's TypeError, never a hang", async (t) => {
  const sq = needSquid(t);
  if (!sq) return;
  const plain = await origin({ secure: false, auth: false });
  // HTTP/localhost exists, but squid's keytab has only HTTP/127.0.0.1.
  const proxy = new NegotiateProxyAgent({ proxy: sq.env.SQUID_URL!, target: 'HTTP@localhost', ...clientOptions('pure') });
  try {
    await assert.rejects(fetch(plain.url, { dispatcher: proxy } as RequestInit), (err: Error & { cause?: Error }) => {
      assert.equal(err.cause?.name, 'GssError', String(err.cause));
      assert.match(err.cause!.message, /refused Negotiate authentication \(407\)/);
      return true;
    });
    await assert.rejects(fetch('https://localhost:65000/', { dispatcher: proxy } as RequestInit), (err: Error & { cause?: Error }) => {
      assert.equal(err.cause?.name, 'GssError', String(err.cause));
      assert.match(err.cause!.message, /refused Negotiate authentication/);
      return true;
    });
  } finally {
    await proxy.close();
    plain.server.close();
  }
});

test('a fake proxy answering every CONNECT with 407 and a Negotiate token (a 407 loop): the leg limit (maxLegs) ends it with a GssError, no hang', async () => {
  setup();
  let connects = 0;
  const fake = createTcpServer((s: Socket) => {
    s.on('data', (d) => {
      for (const _ of d.toString('latin1').matchAll(/^CONNECT /gm)) {
        connects++;
        // A NegTokenResp (accept-incomplete, krb5 mech) without a mechanism token: the initiator
        // answers it with another leg, and the proxy asks again, forever.
        s.write('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Negotiate oRQwEqADCgEBoQsGCSqGSIb3EgECAg==\r\nContent-Length: 0\r\n\r\n');
      }
    });
    s.on('error', () => {});
  });
  const port = await listen(fake);
  const proxy = new NegotiateProxyAgent({ proxy: `http://127.0.0.1:${port}`, target: 'HTTP@localhost', ...clientOptions('pure'), maxLegs: 3 });
  try {
    await assert.rejects(proxy.connectTunnel(new URL('https://localhost:443/')), (err: Error) => {
      assert.equal(err.name, 'GssError', err.message);
      assert.match(err.message, /did not complete in 3 round trips/);
      return true;
    });
    assert.equal(connects, 3, 'maxLegs CONNECTs, on one connection');
  } finally {
    await proxy.close();
    fake.close();
  }
});
