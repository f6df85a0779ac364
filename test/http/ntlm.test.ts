// NTLM over HTTP, pure at both ends: negotiate() with a user store against negotiateFetch, under the
// raw `NTLM` scheme and inside Negotiate (SPNEGO), every leg on one connection; HTTPS with
// tls-server-end-point bindings as MsvAvChannelBindings; and the middleware without a user store
// never offering NTLM. Everything listens on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, request, Agent, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import { negotiate, negotiateFetch, negotiateRequest, applyOutcome, type NegotiateOptions } from '../../lib/http/index.js';
import { pendingNegotiations } from '../../lib/http/server.js';
import { createInitiator } from '../../lib/api.js';
import { userStoreFromFile } from '../../lib/ntlm/users.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { notHere } from '../peers/harness.js';

const USERS = 'EXAMPLE:alice:s3cret pw\n';
const ALICE = { principal: 'EXAMPLE\\alice', password: 's3cret pw' };
let dir = '';
let tlsCert: { key: Buffer; cert: Buffer };

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-ntlm-http-'));
  const key = join(dir, 'k.pem'), cert = join(dir, 'c.pem');
  execFileSync('openssl', ['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256', '-days', '2',
    '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  tlsCert = { key: readFileSync(key), cert: readFileSync(cert) };
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function ntlmOptions(extra: Partial<NegotiateOptions> = {}): NegotiateOptions {
  return { ntlm: { users: userStoreFromFile(USERS), replayCache: new MemoryReplayCache() }, ...extra };
}

interface Seen { sockets: Set<Socket>; auth: string[]; www: (string | string[] | undefined)[]; errors: unknown[] }

/** An origin with negotiate(); `only` rewrites its challenges to that one scheme (a server that takes only NTLM). */
async function origin(o: NegotiateOptions, opts: { https?: boolean; only?: 'NTLM' } = {}) {
  const seen: Seen = { sockets: new Set(), auth: [], www: [], errors: [] };
  const mw = negotiate({ ...o, onError: (e) => seen.errors.push(e) });
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    seen.sockets.add(req.socket);
    seen.auth.push(req.headers.authorization ?? '');
    if (opts.only) {
      // A server that knows only NTLM ignores a Negotiate header (as if none came).
      if (!req.headers.authorization?.startsWith(opts.only)) {
        delete req.headers.authorization;
        req.rawHeaders.splice(0, req.rawHeaders.length, ...req.rawHeaders.filter((_, i, a) => a[i - (i % 2)]!.toLowerCase() !== 'authorization'));
      }
      const set = res.setHeader.bind(res);
      res.setHeader = ((k: string, v: string | string[]) => {
        if (k.toLowerCase() === 'www-authenticate') v = ([] as string[]).concat(v).filter((x) => x.startsWith(opts.only!));
        return set(k, v);
      }) as typeof res.setHeader;
    }
    res.on('finish', () => seen.www.push(res.getHeader('www-authenticate') as string | string[] | undefined));
    mw(req, res, () => res.end(`hello ${req.negotiate!.user} ${req.negotiate!.info.flags.channelBound ? 'bound' : 'unbound'}`));
  };
  const server = opts.https ? createHttpsServer(tlsCert, handler) : createServer(handler);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { server, seen, url: `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}/`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
}

/** One raw request (own connection unless an agent is given), returning status and WWW-Authenticate lines. */
function get(url: string, authorization?: string, agent?: Agent): Promise<{ status: number; www: string[] }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: authorization ? { authorization } : {}, agent: agent ?? false }, (res) => {
      res.resume();
      res.on('end', () => {
        const www: string[] = [];
        for (let i = 0; i < res.rawHeaders.length; i += 2) if (res.rawHeaders[i]!.toLowerCase() === 'www-authenticate') www.push(res.rawHeaders[i + 1]!);
        resolve({ status: res.statusCode!, www });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('without a user store negotiate() never offers NTLM, and an NTLM header is answered as none', async () => {
  const errors: unknown[] = [];
  const server = createServer(async (req, res) => {
    if (applyOutcome(res, await negotiateRequest(req, { onError: (e) => errors.push(e) }))) res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const o = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/`, close: () => new Promise((r) => { server.closeAllConnections(); server.close(r); }) };
  try {
    const none = await get(o.url);
    assert.equal(none.status, 401);
    assert.deepEqual(none.www, ['Negotiate']);
    const ini = createInitiator({ target: 'HTTP@127.0.0.1', mech: 'ntlm', ntlm: { credentials: ALICE } });
    const type1 = await ini.step();
    const r = await get(o.url, `NTLM ${Buffer.from(type1!).toString('base64')}`);
    assert.equal(r.status, 401);
    assert.deepEqual(r.www, ['Negotiate'], 'no NTLM challenge, no CHALLENGE_MESSAGE');
    assert.equal(pendingNegotiations(), 0);
  } finally {
    await o.close();
  }
});

test('with a user store negotiate() offers Negotiate and NTLM, one WWW-Authenticate header each', async () => {
  const o = await origin(ntlmOptions());
  try {
    const r = await get(o.url);
    assert.equal(r.status, 401);
    assert.deepEqual(r.www, ['Negotiate', 'NTLM']);
  } finally {
    await o.close();
  }
});

test('negotiateFetch answers WWW-Authenticate: NTLM from a server that offers only NTLM, both legs on one connection', async () => {
  const o = await origin(ntlmOptions(), { only: 'NTLM' });
  try {
    const res = await negotiateFetch(o.url, {}, { target: 'HTTP@127.0.0.1', backend: 'pure', ntlm: { credentials: ALICE } });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello EXAMPLE\\alice unbound');
    // Negotiate first (NTLM alone in SPNEGO: the target is an IP address), refused for the NTLM
    // scheme, then NEGOTIATE_MESSAGE and AUTHENTICATE_MESSAGE under NTLM.
    const schemes = o.seen.auth.map((a) => a.split(' ')[0]);
    assert.deepEqual(schemes, ['Negotiate', 'NTLM', 'NTLM']);
    const types = o.seen.auth.slice(1).map((a) => Buffer.from(a.split(' ')[1]!, 'base64')[8]);
    assert.deepEqual(types, [1, 3]);
    assert.equal(o.seen.sockets.size, 1, 'every leg on one connection');
    assert.match(String(o.seen.www[1]), /^NTLM [A-Za-z0-9+/=]+$/, 'the CHALLENGE_MESSAGE under NTLM');
    assert.deepEqual(o.seen.errors, []);
    assert.equal(pendingNegotiations(), 0);
  } finally {
    await o.close();
  }
});

test("negotiateFetch with scheme 'ntlm' starts with the NEGOTIATE_MESSAGE", async () => {
  const o = await origin(ntlmOptions());
  try {
    const res = await negotiateFetch(o.url, {}, { target: 'HTTP@127.0.0.1', backend: 'pure', ntlm: { credentials: ALICE }, scheme: 'ntlm' });
    assert.equal(res.status, 200);
    assert.deepEqual(o.seen.auth.map((a) => a.split(' ')[0]), ['NTLM', 'NTLM']);
    assert.equal(o.seen.sockets.size, 1);
  } finally {
    await o.close();
  }
});

test('negotiateFetch does NTLM inside Negotiate (SPNEGO, three legs) on one connection', async () => {
  const o = await origin(ntlmOptions());
  try {
    const res = await negotiateFetch(o.url, {}, { target: 'HTTP@127.0.0.1', backend: 'pure', credentials: ALICE, ntlm: true });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello EXAMPLE\\alice unbound');
    assert.deepEqual(o.seen.auth.map((a) => a.split(' ')[0]), ['Negotiate', 'Negotiate']);
    assert.equal(o.seen.sockets.size, 1, 'both legs on one connection');
    // The final token (accept-completed with the mechListMIC) came with the 200 and was verified.
    assert.match(String(o.seen.www[1]), /^Negotiate [A-Za-z0-9+/=]+$/);
    assert.deepEqual(o.seen.errors, []);
  } finally {
    await o.close();
  }
});

test('the half-made NTLM context waits on its connection: an AUTHENTICATE on another connection fails', async () => {
  const o = await origin(ntlmOptions());
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const ini = createInitiator({ target: 'HTTP@127.0.0.1', mech: 'ntlm', ntlm: { credentials: ALICE } });
    const r1 = await get(o.url, `NTLM ${Buffer.from((await ini.step())!).toString('base64')}`, agent);
    assert.equal(r1.status, 401);
    assert.equal(pendingNegotiations(), 1);
    const type2 = Buffer.from(r1.www[0]!.split(' ')[1]!, 'base64');
    const type3 = await ini.step(type2);
    // On a new connection: no context waits there, so the AUTHENTICATE starts nothing.
    const r2 = await get(o.url, `NTLM ${Buffer.from(type3!).toString('base64')}`);
    assert.equal(r2.status, 401);
    assert.deepEqual(r2.www, ['Negotiate', 'NTLM']);
    assert.equal(o.seen.errors.length, 1);
    // On the first connection it completes.
    const r3 = await get(o.url, `NTLM ${Buffer.from(type3!).toString('base64')}`, agent);
    assert.equal(r3.status, 200);
    assert.deepEqual(r3.www, []);
    assert.equal(pendingNegotiations(), 0);
  } finally {
    agent.destroy();
    await o.close();
  }
});

test('a bare NTLMSSP message under Negotiate (old Windows clients) is answered under Negotiate, without SPNEGO', async () => {
  const o = await origin(ntlmOptions());
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const ini = createInitiator({ target: 'HTTP@127.0.0.1', mech: 'ntlm', ntlm: { credentials: ALICE } });
    const r1 = await get(o.url, `Negotiate ${Buffer.from((await ini.step())!).toString('base64')}`, agent);
    assert.equal(r1.status, 401);
    assert.equal(r1.www.length, 1);
    const [scheme, b64] = r1.www[0]!.split(' ');
    assert.equal(scheme, 'Negotiate');
    const type2 = Buffer.from(b64!, 'base64');
    assert.equal(type2.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    assert.equal(type2[8], 2, 'a CHALLENGE_MESSAGE, not a NegTokenResp');
    const r2 = await get(o.url, `Negotiate ${Buffer.from((await ini.step(type2))!).toString('base64')}`, agent);
    assert.equal(r2.status, 200);
    assert.deepEqual(o.seen.errors, []);
  } finally {
    agent.destroy();
    await o.close();
  }
});

test('a wrong password is refused with a fresh challenge', async () => {
  const o = await origin(ntlmOptions());
  try {
    const res = await negotiateFetch(o.url, {}, { target: 'HTTP@127.0.0.1', backend: 'pure', ntlm: { credentials: { ...ALICE, password: 'wrong' } }, scheme: 'ntlm' });
    assert.equal(res.status, 401);
    assert.equal(o.seen.errors.length, 1);
    assert.match(String((o.seen.errors[0] as Error).name), /Ntlm/);
  } finally {
    await o.close();
  }
});

for (const scheme of ['negotiate', 'ntlm'] as const) {
  test(`HTTPS: negotiateFetch binds NTLM to the server certificate (MsvAvChannelBindings), ${scheme} scheme, policy 'require'`, async () => {
    const o = await origin(ntlmOptions({ channelBindings: 'require' }), { https: true });
    try {
      const tls = { ca: tlsCert.cert };
      const res = await negotiateFetch(o.url, {}, { target: 'HTTP@127.0.0.1', backend: 'pure', ntlm: { credentials: ALICE }, scheme, tls });
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'hello EXAMPLE\\alice bound');
      assert.equal(o.seen.sockets.size, 1);
      // Without bindings the same client is refused under 'require'...
      const none = await negotiateFetch(o.url, {}, { target: 'HTTP@127.0.0.1', backend: 'pure', ntlm: { credentials: ALICE }, scheme, tls, channelBindings: 'none' });
      assert.equal(none.status, 401);
      assert.ok(o.seen.errors.length >= 1);
    } finally {
      await o.close();
    }
  });
}

test("HTTPS 'if-present': a client without bindings is accepted, unbound", async () => {
  const o = await origin(ntlmOptions(), { https: true });
  try {
    const res = await negotiateFetch(o.url, {}, { target: 'HTTP@127.0.0.1', backend: 'pure', ntlm: { credentials: ALICE }, scheme: 'ntlm', tls: { ca: tlsCert.cert }, channelBindings: 'none' });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'hello EXAMPLE\\alice unbound');
  } finally {
    await o.close();
  }
});

test('negotiateRequest and applyOutcome write both challenges through node:http', async () => {
  const server = createServer(async (req, res) => {
    const r = applyOutcome(res, await negotiateRequest(req, ntlmOptions()));
    if (r) res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const r = await get(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    assert.deepEqual(r.www, ['Negotiate', 'NTLM']);
  } finally {
    server.close();
  }
});

// The adapters write both challenges (one header each) and run NTLM's two legs on one connection.
test('Fastify, Koa and Passport adapters with a user store: two challenges, then NTLM signs in', async (t) => {
  const { createRequire } = await import('node:module');
  const req = createRequire(import.meta.url);
  const load = <T>(name: string): T | undefined => {
    try {
      return req(name) as T;
    } catch {
      if (process.env.SPNEGO_REQUIRE_PEERS === '1') throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${name} is not installed`);
      return undefined;
    }
  };
  const { fastifyNegotiate } = await import('../../lib/http/fastify.js');
  const { koaNegotiate } = await import('../../lib/http/koa.js');
  const { Strategy } = await import('../../lib/http/passport.js');
  const urls: [string, string, () => Promise<unknown>][] = [];
  const Fastify = load<(o?: object) => any>('fastify');
  if (Fastify) {
    const app = Fastify();
    await app.register(fastifyNegotiate, ntlmOptions());
    app.get('/', async (r: any) => r.negotiate.user);
    await app.listen({ port: 0, host: '127.0.0.1' });
    urls.push(['fastify', `http://127.0.0.1:${app.server.address().port}/`, () => app.close()]);
  }
  const Koa = load<new () => any>('koa');
  if (Koa) {
    const app = new Koa();
    app.use(koaNegotiate(ntlmOptions()));
    app.use((ctx: any) => { ctx.body = ctx.state.negotiate.user; });
    const srv = app.listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    urls.push(['koa', `http://127.0.0.1:${srv.address().port}/`, () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); })]);
  }
  const passport = load<any>('passport');
  if (passport) {
    const p = new passport.Passport();
    p.use(new Strategy(ntlmOptions(), (result, done) => done(null, { name: result.user })));
    const init = p.initialize();
    const auth = p.authenticate('negotiate', { session: false });
    const srv = createServer((rq: IncomingMessage & { res?: ServerResponse; user?: any }, rs) => {
      rq.res = rs;
      init(rq, rs, () => auth(rq, rs, () => rs.end(rq.user.name)));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    urls.push(['passport', `http://127.0.0.1:${(srv.address() as { port: number }).port}/`, () => new Promise((r) => { srv.closeAllConnections(); srv.close(r); })]);
  }
  if (urls.length === 0) {
    notHere(t, 'none of fastify, koa, passport is installed (npm ci)');
    return;
  }
  try {
    for (const [name, url] of urls) {
      const bare = await get(url);
      assert.equal(bare.status, 401, name);
      assert.deepEqual(bare.www, ['Negotiate', 'NTLM'], name);
      for (const scheme of ['negotiate', 'ntlm'] as const) {
        const res = await negotiateFetch(url, {}, { target: 'HTTP@127.0.0.1', backend: 'pure', ntlm: { credentials: ALICE }, scheme });
        assert.equal(res.status, 200, `${name} ${scheme}`);
        assert.equal(await res.text(), 'EXAMPLE\\alice', `${name} ${scheme}`);
      }
    }
  } finally {
    for (const [, , close] of urls) await close();
  }
});
