// A browser as the client: headless Chromium (MIT's libgssapi inside) signs in with SPNEGO to our
// negotiate() middleware, pure and native, against the embedded KDC. Chromium is fenced to
// loopback (every other host unresolvable, background networking off) and killed by its PID.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { negotiate } from '../../lib/http/index.js';
import { requestInitialTicket } from '../../lib/krb5/client/as.js';
import { FileCcache } from '../../lib/krb5/ccache.js';
import { needNative, requirePeers, useEnv } from '../peers/harness.js';
import type { Backend } from '../../lib/context.js';

const CHROMIUM = '/usr/bin/chromium';
const REALM = 'BROWSER.TEST';
let kdc: Kdc;
let dir: string;
let restoreEnv = () => {};
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-chromium-'));
  kdc = await startKdc({ realm: REALM, principals: [{ name: 'alice', password: 'alice-pw' }, { name: 'HTTP/localhost' }] });
  kdc.writeKrb5Conf(join(dir, 'krb5.conf'));
  kdc.writeKeytab(join(dir, 'http.keytab'), ['HTTP/localhost']);
  const client = { realm: REALM, name: { nameType: 1, nameString: ['alice'] } };
  const tgt = await requestInitialTicket({ kdcs: [{ host: kdc.host, port: kdc.port }], client, secret: { password: 'alice-pw' }, etypes: [18] });
  FileCcache.create(join(dir, 'ccache'), client, [tgt]);
  restoreEnv = useEnv({ KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'ccache')}`, KRB5RCACHEDIR: dir });
});
after(async () => {
  restoreEnv();
  await kdc.stop();
  rmSync(dir, { recursive: true, force: true });
});

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
    if (!existsSync(CHROMIUM)) {
      if (requirePeers) throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${CHROMIUM} is not installed`);
      t.skip('chromium not installed');
      return;
    }
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const errors: unknown[] = [];
    const auth = negotiate({ backend, keytab: join(dir, 'http.keytab'), krb5Config: join(dir, 'krb5.conf'), onError: (e) => errors.push(e) } as Parameters<typeof negotiate>[0]);
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
          '--headless=new', '--no-sandbox', '--disable-gpu', `--user-data-dir=${join(dir, `profile-${backend}`)}`,
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
