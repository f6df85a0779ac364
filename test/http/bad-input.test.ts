// Bad input at the middleware, over a raw socket (fetch would merge or refuse these requests):
// two Authorization headers, a token in another scheme, a header over Node's limit. Each gets a
// clean 400/401/431 and the connection stays usable or is closed; nothing crashes or hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { negotiate } from '../../lib/http/index.js';
import { pendingNegotiations } from '../../lib/http/server.js';
import { httpRealmForFile } from './realm.js';

const realm = httpRealmForFile('BAD.TEST');

/** Sends raw bytes, returns the whole answer (the server closes after it: Connection: close). */
function raw(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let out = '';
    s.setTimeout(10_000, () => { s.destroy(); reject(new Error('no answer in 10 s (a hang)')); });
    s.on('data', (d) => (out += d.toString('latin1')));
    s.on('end', () => resolve(out));
    s.on('error', reject);
    s.write(request);
  });
}

test('two Authorization headers -> 400 and a DecodeError to onError; another scheme -> 401 Negotiate; a header over the limit -> 431; no context left', async () => {
  const errors: unknown[] = [];
  let reached = 0;
  const mw = negotiate({ backend: 'pure', keytab: realm.keytab, krb5Config: realm.krb5Config, onError: (e) => errors.push(e) });
  const server = createServer({ maxHeaderSize: 8192 }, (req, res) => mw(req, res, () => { reached++; res.end('in'); }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  try {
    const two = await raw(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Negotiate YWJj\r\nAuthorization: Basic YWxpY2U6cHc=\r\n\r\n');
    assert.match(two, /^HTTP\/1\.1 400 /, two);
    assert.equal((errors.at(-1) as Error).name, 'DecodeError');
    assert.match((errors.at(-1) as Error).message, /2 Authorization headers/);

    const basic = await raw(port, 'GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Basic YWxpY2U6cHc=\r\n\r\n');
    assert.match(basic, /^HTTP\/1\.1 401 /);
    assert.match(basic, /^WWW-Authenticate: Negotiate\r$/m);

    const big = await raw(port, `GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Negotiate ${'A'.repeat(20_000)}\r\n\r\n`);
    assert.match(big, /^HTTP\/1\.1 431 /, 'Node refuses the header block before the middleware runs');
    assert.equal(reached, 0);
    assert.equal(pendingNegotiations(), 0);
  } finally {
    server.close();
  }
});
