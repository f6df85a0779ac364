// HTTP Negotiate (RFC 4559): our middleware and fetch client, native and pure, against each other
// and against real peers: curl --negotiate (MIT's libgssapi through libcurl) as the client of our
// middleware, Apache mod_auth_gssapi as the server of our client. The realm is the embedded KDC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { Agent, createServer, request, type Server, type ServerOptions } from 'node:http';
import type { Socket } from 'node:net';
import { negotiate, negotiateFetch, type NegotiateOptions } from '../../lib/http/index.js';
import { pendingNegotiations } from '../../lib/http/server.js';
import { createInitiator } from '../../lib/api.js';
import { DecodeError, GssError } from '../../lib/errors.js';
import { needNative, needPeer } from '../peers/harness.js';
import { httpRealmForFile } from './realm.js';
import type { Backend } from '../../lib/context.js';

const REALM = 'HTTP.TEST';
const realm = httpRealmForFile(REALM, { pac: { userRid: 1105, groupRids: [512] } });

async function serve(backend: Backend, errors: unknown[] = [], o: { mw?: Partial<NegotiateOptions>; server?: ServerOptions } = {}): Promise<{ url: string; server: Server }> {
  const mw = negotiate({ backend, keytab: realm.keytab, krb5Config: realm.krb5Config, onError: (e) => errors.push(e), ...o.mw } as Parameters<typeof negotiate>[0]);
  const server = createServer(o.server ?? {}, (req, res) => mw(req, res, () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ user: req.negotiate!.user, backend: req.negotiate!.info.backend, groups: req.negotiate!.info.pac?.groupSids ?? [] }));
  }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://localhost:${(server.address() as { port: number }).port}/whoami`, server };
}

for (const sb of ['pure', 'native'] as Backend[]) {
  for (const cb of ['pure', 'native'] as Backend[]) {
    test(`negotiateFetch (${cb}) -> negotiate middleware (${sb}): 200, the user and its PAC groups, mutual authentication verified`, async (t) => {
      if ((sb === 'native' || cb === 'native') && !(await needNative(t, 'mit'))) return;
      const { url, server } = await serve(sb);
      try {
        const res = await negotiateFetch(url, {}, { backend: cb, target: 'HTTP@localhost', krb5Config: realm.krb5Config });
        assert.equal(res.status, 200);
        const body = await res.json() as { user: string; backend: string; groups: string[] };
        assert.equal(body.user, `alice@${REALM}`);
        assert.equal(body.backend, sb);
        assert.ok(body.groups.some((g) => g.endsWith('-512')), `the PAC's groups reach the handler: ${JSON.stringify(body.groups)}`);
      } finally {
        server.close();
      }
    });
  }
}

test('the middleware: no header -> 401 Negotiate; a garbage token -> 401 and onError gets a typed error; nothing leaks', async () => {
  const errors: unknown[] = [];
  const { url, server } = await serve('pure', errors);
  try {
    const bare = await fetch(url);
    assert.equal(bare.status, 401);
    assert.equal(bare.headers.get('www-authenticate'), 'Negotiate');
    const bad = await fetch(url, { headers: { authorization: 'Negotiate YWJjZGVm' } });
    assert.equal(bad.status, 401);
    assert.equal(bad.headers.get('www-authenticate'), 'Negotiate');
    assert.equal(errors.length, 1);
    assert.equal((errors[0] as { name?: string }).name, 'DecodeError');
    assert.doesNotMatch(await bad.text(), /Decode|DER|token/i, 'the client is told nothing about why');
  } finally {
    server.close();
  }
});

test('curl --negotiate (MIT libgssapi through libcurl) -> our middleware, pure and native', async (t) => {
  if (!needPeer(t, 'curl')) return;
  for (const sb of ['pure', 'native'] as Backend[]) {
    if (sb === 'native' && !(await needNative(t, 'mit'))) return;
    const { url, server } = await serve(sb);
    try {
      // The KDC runs in this process: curl is spawned asynchronously.
      const out = await new Promise<string>((resolve, reject) =>
        execFile('curl', ['-sS', '--negotiate', '-u', ':', '-D', '-', url], { env: process.env, timeout: 30_000 }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message} ${stderr}`)) : resolve(stdout))));
      assert.match(out, /^HTTP\/1\.1 200/m, out);
      assert.match(out, /^WWW-Authenticate: Negotiate [A-Za-z0-9+/=]+\r?$/m, 'the mutual-authentication token for curl');
      assert.match(out, new RegExp(`"user":"alice@${REALM}"`));
    } finally {
      server.close();
    }
  }
});

for (const sb of ['pure', 'native'] as Backend[]) {
  test(`multi-leg over one connection: ntlm listed first, so request-mic and more round trips (middleware ${sb})`, async (t) => {
    if (sb === 'native' && !(await needNative(t, 'mit'))) return;
    const { url, server } = await serve(sb);
    let connections = 0;
    server.on('connection', () => connections++);
    try {
      const res = await negotiateFetch(url, {}, { backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config, spnego: { mechs: ['ntlm', 'krb5'] } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { user: string }).user, `alice@${REALM}`);
      assert.equal(connections, 1, 'the legs shared one keep-alive connection, where the context waited');
    } finally {
      server.close();
    }
  });
}

/** One request on `agent` (node:http, so the test holds the keep-alive connection). */
async function get(url: string, agent: Agent, authorization?: string): Promise<{ status: number; wwwAuthenticate: string | undefined; body: string }> {
  const req = request(url, { agent, headers: authorization ? { authorization } : {} });
  req.end();
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  let body = '';
  for await (const c of res) body += c;
  return { status: res.statusCode!, wwwAuthenticate: res.headers['www-authenticate'] as string | undefined, body };
}

test('the middleware: an empty or malformed base64 token -> 401 at once, onError gets a DecodeError, no context is made or parked', async () => {
  const errors: unknown[] = [];
  const { url, server } = await serve('pure', errors);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const bad = ['Negotiate =', 'Negotiate ====', 'Negotiate A', 'Negotiate YW=J', 'Negotiate YWJj=ZGVm'];
    for (const authorization of bad) {
      const r = await get(url, agent, authorization);
      assert.equal(r.status, 401, authorization);
      assert.equal(r.wwwAuthenticate, 'Negotiate', `${authorization}: a fresh challenge, no token`);
      assert.equal(pendingNegotiations(), 0, `${authorization}: nothing waits on the connection`);
    }
    assert.equal(errors.length, bad.length);
    assert.ok(errors.every((e) => e instanceof DecodeError && /Authorization: Negotiate/.test(e.message)), String(errors));
  } finally {
    agent.destroy();
    server.close();
  }
});

test('the middleware: a half-made context is disposed when its connection closes', async () => {
  const { url, server } = await serve('pure');
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sockets: Socket[] = [];
  server.on('connection', (s) => sockets.push(s));
  const init = createInitiator({ backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config, spnego: { mechs: ['ntlm', 'krb5'] } });
  try {
    const first = await init.step();
    const r = await get(url, agent, `Negotiate ${Buffer.from(first!).toString('base64')}`);
    assert.equal(r.status, 401);
    assert.match(r.wwwAuthenticate ?? '', /^Negotiate [A-Za-z0-9+/=]+$/, 'the next leg is asked for');
    assert.equal(pendingNegotiations(), 1, 'the context waits on the connection');
    assert.equal(sockets.length, 1);
    agent.destroy(); // the client goes away mid-exchange
    if (!sockets[0]!.destroyed) await once(sockets[0]!, 'close');
    assert.equal(pendingNegotiations(), 0, 'disposed on close');
  } finally {
    init.dispose();
    server.close();
  }
});

/** A multi-leg (ntlm listed first: request-mic) logon driven by hand over `agent`'s one connection. */
async function multiLegLogon(url: string, agent: Agent): Promise<number> {
  const init = createInitiator({ backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config, spnego: { mechs: ['ntlm', 'krb5'] } });
  try {
    let token = await init.step();
    for (let leg = 0; leg < 4; leg++) {
      const r = await get(url, agent, `Negotiate ${Buffer.from(token!).toString('base64')}`);
      const back = /^Negotiate ([A-Za-z0-9+/=]+)$/.exec(r.wwwAuthenticate ?? '')?.[1];
      if (r.status !== 401 || !back || init.complete) {
        if (back && !init.complete) await init.step(Buffer.from(back, 'base64'));
        return r.status;
      }
      token = await init.step(Buffer.from(back, 'base64'));
    }
    throw new Error('too many legs');
  } finally {
    init.dispose();
  }
}

test('the middleware: 50 multi-leg logons over one keep-alive connection leave no context and no close listener behind', async () => {
  const errors: unknown[] = [];
  const { url, server } = await serve('pure', errors);
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const sockets: Socket[] = [];
  server.on('connection', (s) => sockets.push(s));
  try {
    let baseline: number | undefined;
    for (let i = 0; i < 50; i++) {
      assert.equal(await multiLegLogon(url, agent), 200, `request ${i}: ${String(errors)}`);
      assert.equal(pendingNegotiations(), 0);
      const n = sockets[0]!.listenerCount('close');
      baseline ??= n;
      assert.equal(n, baseline, `request ${i}: 'close' listeners stay at ${baseline}`);
    }
    assert.equal(sockets.length, 1, 'one keep-alive connection carried every leg');
    // Abandoned half-way 50 times (a new NegTokenInit replaces the waiting context): still one listener.
    for (let i = 0; i < 50; i++) {
      const init = createInitiator({ backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config, spnego: { mechs: ['ntlm', 'krb5'] } });
      assert.equal((await get(url, agent, `Negotiate ${Buffer.from((await init.step())!).toString('base64')}`)).status, 401);
      init.dispose();
      assert.equal(pendingNegotiations(), 1);
      assert.equal(sockets[0]!.listenerCount('close'), baseline! + 1);
    }
    agent.destroy();
    if (!sockets[0]!.destroyed) await once(sockets[0]!, 'close');
    assert.equal(pendingNegotiations(), 0);
  } finally {
    agent.destroy();
    server.close();
  }
});

test('the middleware: a token over maxTokenBytes -> 400 without running the acceptor (server with a 256 KiB header limit)', async () => {
  const errors: unknown[] = [];
  const { url, server } = await serve('pure', errors, { server: { maxHeaderSize: 256 * 1024 } });
  const small = await serve('pure', errors, { mw: { maxTokenBytes: 1024 } });
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    // A default-sized token is 64 KiB at most: 70 KiB is refused before decoding.
    const big = await get(url, agent, `Negotiate ${randomBytes(70 * 1024).toString('base64')}`);
    assert.equal(big.status, 400);
    assert.equal(big.wwwAuthenticate, undefined, 'no challenge: resending the same token would not help');
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof GssError && errors[0].major === 'GSS_S_DEFECTIVE_TOKEN' && /maxTokenBytes \(65536 bytes\)/.test(errors[0].message), String(errors[0]));
    assert.equal(pendingNegotiations(), 0);
    // At the limit the acceptor runs (and rejects the garbage as a DecodeError, 401); one byte more is 400.
    const garbage = randomBytes(1025);
    garbage[0] = 0x60;
    const at = await get(small.url, agent, `Negotiate ${garbage.subarray(0, 1024).toString('base64')}`);
    assert.equal(at.status, 401);
    assert.ok(errors[1] instanceof DecodeError, String(errors[1]));
    const over = await get(small.url, agent, `Negotiate ${garbage.toString('base64')}`);
    assert.equal(over.status, 400);
    assert.ok(errors[2] instanceof GssError && /maxTokenBytes \(1024 bytes\)/.test(errors[2].message), String(errors[2]));
  } finally {
    agent.destroy();
    server.close();
    small.server.close();
  }
});
