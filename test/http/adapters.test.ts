// The framework adapters, each with the real framework: Fastify (plugin: hook + decorators), Koa
// (middleware), Passport on Express-less connect-style handling (Strategy.authenticate(req)).
// negotiateFetch (pure) is the client; the acceptor runs pure and native.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { negotiateFetch } from '../../lib/http/index.js';
import { fastifyNegotiate } from '../../lib/http/fastify.js';
import { koaNegotiate } from '../../lib/http/koa.js';
import { Strategy } from '../../lib/http/passport.js';
import { needNative, notHere } from '../peers/harness.js';
import { httpRealmForFile } from './realm.js';
import type { Backend } from '../../lib/context.js';

const REALM = 'ADAPT.TEST';
const realm = httpRealmForFile(REALM);
const require = createRequire(import.meta.url);

/** The framework, or a skip when it is not installed (they are devDependencies). */
function framework<T>(t: { skip(why: string): void }, name: string): T | undefined {
  try {
    return require(name) as T;
  } catch {
    notHere(t, `${name} is not installed (npm install --save-dev ${name})`);
    return undefined;
  }
}

const server = (backend: Backend) => ({ backend, keytab: realm.keytab, krb5Config: backend === 'pure' ? realm.krb5Config : undefined });
const client = () => ({ backend: 'pure' as const, target: 'HTTP@localhost', krb5Config: realm.krb5Config });

/** Asserts: no header -> 401 Negotiate; negotiateFetch -> 200 with the user (mutual auth verified by the client). */
async function check(url: string, expectBody: (body: string) => void) {
  const bare = await fetch(url);
  assert.equal(bare.status, 401);
  assert.equal(bare.headers.get('www-authenticate'), 'Negotiate');
  await bare.arrayBuffer();
  const res = await negotiateFetch(url, {}, client());
  assert.equal(res.status, 200);
  assert.match(res.headers.get('www-authenticate') ?? '', /^Negotiate [A-Za-z0-9+/=]+$/, 'the mutual-authentication token');
  expectBody(await res.text());
}

for (const backend of ['pure', 'native'] as Backend[]) {
  test(`Fastify: app.register(fastifyNegotiate) authenticates every route; global: false + onRequest: app.negotiate per route (${backend})`, async (t) => {
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const Fastify = framework<(o?: object) => any>(t, 'fastify');
    if (!Fastify) return;
    const app = Fastify();
    await app.register(fastifyNegotiate, server(backend));
    app.get('/whoami', async (request: any) => ({ user: request.negotiate.user, backend: request.negotiate.info.backend }));
    const scoped = Fastify();
    await scoped.register(fastifyNegotiate, { ...server(backend), global: false });
    scoped.get('/open', async () => 'open');
    scoped.get('/closed', { onRequest: scoped.negotiate }, async (request: any) => request.negotiate.user);
    await app.listen({ port: 0, host: '127.0.0.1' });
    await scoped.listen({ port: 0, host: '127.0.0.1' });
    try {
      await check(`http://localhost:${app.server.address().port}/whoami`, (body) => assert.deepEqual(JSON.parse(body), { user: `alice@${REALM}`, backend }));
      const base = `http://localhost:${scoped.server.address().port}`;
      const open = await fetch(`${base}/open`);
      assert.equal(open.status, 200, 'a route without the hook is not authenticated');
      assert.equal(await open.text(), 'open');
      await check(`${base}/closed`, (body) => assert.equal(body, `alice@${REALM}`));
    } finally {
      await app.close();
      await scoped.close();
    }
  });

  test(`Koa: app.use(koaNegotiate()) sets ctx.state.negotiate; a refused request never reaches next (${backend})`, async (t) => {
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const Koa = framework<new () => any>(t, 'koa');
    if (!Koa) return;
    const app = new Koa();
    let reached = 0;
    app.use(koaNegotiate(server(backend)));
    app.use((ctx: any) => {
      reached++;
      ctx.body = { user: ctx.state.negotiate.user, backend: ctx.state.negotiate.info.backend };
    });
    const srv = app.listen(0, '127.0.0.1');
    await new Promise((r) => srv.once('listening', r));
    try {
      await check(`http://localhost:${srv.address().port}/`, (body) => assert.deepEqual(JSON.parse(body), { user: `alice@${REALM}`, backend }));
      assert.equal(reached, 1, 'only the authenticated request reached the handler');
    } finally {
      srv.close();
    }
  });

  test(`Passport: passport.use(new Strategy(options, verify)); passport.authenticate('negotiate') -> req.user from verify; no user -> 403 (${backend})`, async (t) => {
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const passport = framework<any>(t, 'passport');
    if (!passport) return;
    const { Passport } = passport;
    const p = new Passport();
    p.use(new Strategy(server(backend), (result, done) => done(null, result.user.startsWith('alice@') ? { name: result.user, via: result.info.backend } : false)));
    p.use(new Strategy({ ...server(backend), name: 'nobody' }, (_result, done) => done(null, false)));
    const init = p.initialize();
    const auth = p.authenticate('negotiate', { session: false });
    const deny = p.authenticate('nobody', { session: false });
    // Connect-style chaining, as Express does (passport needs req.res for nothing but our header).
    const srv = createServer((req: IncomingMessage & { res?: ServerResponse; user?: any }, res) => {
      req.res = res;
      init(req, res, () => (req.url === '/deny' ? deny : auth)(req, res, () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(req.user));
      }));
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const base = `http://localhost:${(srv.address() as { port: number }).port}`;
    try {
      await check(`${base}/`, (body) => assert.deepEqual(JSON.parse(body), { name: `alice@${REALM}`, via: backend }));
      const denied = await negotiateFetch(`${base}/deny`, {}, client());
      assert.equal(denied.status, 403);
    } finally {
      srv.close();
    }
  });
}
