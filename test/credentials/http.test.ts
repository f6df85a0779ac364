// The HTTP middleware and fetch client reuse one credential (issue 11), pure backend: negotiate()
// reads its keytab once, createNegotiateFetch() gets one service ticket for many requests, and
// back-to-back multi-leg logons from negotiateFetch stay on one keep-alive connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { createNegotiateFetch, negotiate, negotiateFetch, type NegotiateOptions } from '../../lib/http/index.js';
import { acquireCredentials } from '../../lib/api.js';
import { httpRealmForFile } from '../http/realm.js';

const REALM = 'HTTPCRED.TEST';
const realm = httpRealmForFile(REALM);

async function serve(mw: Partial<NegotiateOptions>, errors: unknown[] = []): Promise<{ url: string; server: Server; connections: () => number }> {
  const handler = negotiate({ backend: 'pure', krb5Config: realm.krb5Config, onError: (e) => errors.push(e), ...mw });
  const server = createServer((req, res) => handler(req, res, () => res.end(req.negotiate!.user)));
  let n = 0;
  server.on('connection', () => n++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://localhost:${(server.address() as { port: number }).port}/`, server, connections: () => n };
}

test('negotiate() acquires its credential once: the keytab is not read again per request (it can even go away)', async () => {
  const kt = join(realm.dir, 'once.keytab');
  copyFileSync(realm.keytab, kt);
  const errors: unknown[] = [];
  const { url, server } = await serve({ keytab: kt }, errors);
  try {
    const first = await negotiateFetch(url, {}, { backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config });
    assert.equal(first.status, 200, String(errors));
    assert.equal(await first.text(), `alice@${REALM}`);
    rmSync(kt);
    const second = await negotiateFetch(url, {}, { backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config });
    assert.equal(second.status, 200, `the keys read at the first request serve the second: ${String(errors)}`);
  } finally {
    server.close();
  }
});

test('negotiate({ credentials }) and createNegotiateFetch(): one service ticket for many requests', async () => {
  const ac = await acquireCredentials({ usage: 'accept', backend: 'pure', krb5Config: realm.krb5Config, keytab: realm.keytab });
  const { url, server } = await serve({ credentials: ac });
  const fetchN = createNegotiateFetch({ backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config, credentials: { principal: 'alice', password: 'alice-pw' } });
  try {
    const first = await fetchN(url);
    assert.equal(await first.text(), `alice@${REALM}`);
    assert.equal(fetchN.credential?.usage, 'initiate');
    const before = { as: realm.kdc.stats.as, tgs: realm.kdc.stats.tgs };
    for (let n = 0; n < 5; n++) {
      const r = await fetchN(url);
      assert.equal(r.status, 200);
      await r.arrayBuffer();
    }
    assert.deepEqual({ as: realm.kdc.stats.as, tgs: realm.kdc.stats.tgs }, before, 'no KDC request after the first');
    // negotiateFetch takes a credential directly too.
    const r = await negotiateFetch(url, {}, { target: 'HTTP@localhost', credentials: fetchN.credential! });
    assert.equal(r.status, 200);
    assert.equal(realm.kdc.stats.tgs, before.tgs);
  } finally {
    fetchN.dispose();
    assert.equal(fetchN.credential?.disposed, true);
    ac.dispose();
    server.close();
  }
});

test('negotiateFetch: back-to-back multi-leg logons (ntlm listed first: request-mic) each succeed on one keep-alive connection', async () => {
  const errors: unknown[] = [];
  const { url, server, connections } = await serve({ keytab: realm.keytab }, errors);
  try {
    for (let n = 0; n < 4; n++) {
      const res = await negotiateFetch(url, {}, { backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config, spnego: { mechs: ['ntlm', 'krb5'] } });
      assert.equal(res.status, 200, `logon ${n}: ${String(errors)}`);
      assert.equal(await res.text(), `alice@${REALM}`);
    }
    assert.equal(connections(), 1);
    assert.deepEqual(errors, []);
  } finally {
    server.close();
  }
});
