// HTTP Negotiate (RFC 4559): our middleware and fetch client, native and pure, against each other
// and against real peers: curl --negotiate (MIT's libgssapi through libcurl) as the client of our
// middleware, Apache mod_auth_gssapi as the server of our client. The realm is the embedded KDC.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { negotiate, negotiateFetch } from '../../lib/http/index.js';
import { needNative, needPeer } from '../peers/harness.js';
import { httpRealmForFile } from './realm.js';
import type { Backend } from '../../lib/context.js';

const REALM = 'HTTP.TEST';
const realm = httpRealmForFile(REALM, { pac: { userRid: 1105, groupRids: [512] } });

async function serve(backend: Backend, errors: unknown[] = []): Promise<{ url: string; server: Server }> {
  const mw = negotiate({ backend, keytab: realm.keytab, krb5Config: realm.krb5Conf, onError: (e) => errors.push(e) } as Parameters<typeof negotiate>[0]);
  const server = createServer((req, res) => mw(req, res, () => {
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
        const res = await negotiateFetch(url, {}, { backend: cb, target: 'HTTP@localhost', krb5Config: realm.krb5Conf });
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
      const res = await negotiateFetch(url, {}, { backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Conf, spnego: { mechs: ['ntlm', 'krb5'] } });
      assert.equal(res.status, 200);
      assert.equal(((await res.json()) as { user: string }).user, `alice@${REALM}`);
      assert.equal(connections, 1, 'the legs shared one keep-alive connection, where the context waited');
    } finally {
      server.close();
    }
  });
}
