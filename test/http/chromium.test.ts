// A browser as the client: headless Chromium (MIT's libgssapi inside) signs in with SPNEGO to our
// negotiate() middleware, pure and native, against the embedded KDC. Chromium is fenced to
// loopback (every other host unresolvable, background networking off) and killed by its PID.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { negotiate } from '../../lib/http/index.js';
import { needNative, needPeer } from '../peers/harness.js';
import { httpRealmForFile } from './realm.js';
import type { Backend } from '../../lib/context.js';

const CHROMIUM = '/usr/bin/chromium';
const REALM = 'BROWSER.TEST';
const realm = httpRealmForFile(REALM);

// The page asks /whoami with fetch(); Chromium answers the Negotiate 401 on its own (ambient
// credentials for allowlisted hosts). Its first attempt can come before its GSSAPI library is
// loaded, so the page tries a few times.
const PAGE = `<html><body><p id="who">waiting</p><script>(async () => {
  for (let i = 0; i < 8; i++) {
    const r = await fetch('/whoami');
    if (r.ok) { document.getElementById('who').textContent = await r.text(); return; }
    await new Promise((ok) => setTimeout(ok, 250));
  }
  document.getElementById('who').textContent = 'refused';
})()</script></body></html>`;

for (const backend of ['pure', 'native'] as Backend[]) {
  test(`headless Chromium signs in to negotiate() (${backend}) with SPNEGO`, async (t) => {
    if (!needPeer(t, 'chromium')) return;
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const errors: unknown[] = [];
    const auth = negotiate({ backend, keytab: realm.keytab, krb5Config: realm.krb5Config, onError: (e) => errors.push(e) } as Parameters<typeof negotiate>[0]);
    const authenticated: string[] = [];
    const server = createServer((req, res) => {
      if (req.url === '/') {
        res.setHeader('content-type', 'text/html');
        res.end(PAGE);
        return;
      }
      auth(req, res, () => {
        authenticated.push(req.negotiate!.user);
        res.end(`hello ${req.negotiate!.user}`);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://localhost:${(server.address() as { port: number }).port}/`;
    try {
      const dom = await new Promise<string>((resolve, reject) => {
        execFile(CHROMIUM, [
          '--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${join(realm.dir, `profile-${backend}`)}`,
          '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
          '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost', '--disable-auth-negotiate-cname-lookup',
          '--auth-server-allowlist=localhost', '--virtual-time-budget=10000', '--dump-dom', url,
        ], { env: process.env, timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr.slice(-800)}`)) : resolve(stdout)));
      });
      assert.match(dom, new RegExp(`<p id="who">hello alice@${REALM}</p>`), dom.slice(0, 300));
      assert.ok(authenticated.includes(`alice@${REALM}`));
      assert.deepEqual(errors, [], 'no failed attempt reached onError');
    } finally {
      server.close();
    }
  });
}
