// Channel bindings over HTTPS (RFC 5929 tls-server-end-point; Extended Protection): our middleware
// binds to its own certificate, negotiateFetch to the certificate it sees; both backends at each end.
// Certificates are made with openssl on the fly; everything listens on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server as TcpServer } from 'node:net';
import { createServer as createHttpsServer, type Server } from 'node:https';
import { createServer as createHttpServer } from 'node:http';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { negotiate, negotiateFetch, type ChannelBindingsPolicy } from '../../lib/http/index.js';
import { needNative, needPeer } from '../peers/harness.js';
import { httpRealmForFile } from './realm.js';
import type { Backend } from '../../lib/context.js';

const REALM = 'CB.TEST';
const realm = httpRealmForFile(REALM);
let dir = '';
const certs: Record<'origin' | 'middlebox', { key: Buffer; cert: Buffer }> = {} as never;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-cb-'));
  // The origin's certificate is ECDSA with SHA-384 (RFC 5929 4.1: hashed with SHA-384); the
  // middlebox's is RSA with SHA-256, for the same names: a client that trusts both cannot tell them apart.
  const make = (name: 'origin' | 'middlebox', keyArgs: string[], digest: string) => {
    const key = join(dir, `${name}.key`), cert = join(dir, `${name}.crt`);
    execFileSync('openssl', ['req', '-x509', '-new', '-nodes', ...keyArgs, `-${digest}`, '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    certs[name] = { key: readFileSync(key), cert: readFileSync(cert) };
  };
  make('origin', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384'], 'sha384');
  make('middlebox', ['-newkey', 'rsa:2048'], 'sha256');
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

function listen(server: Server | TlsServer | TcpServer | ReturnType<typeof createHttpServer>): Promise<number> {
  return new Promise((r) => server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)));
}

async function origin(backend: Backend, policy: ChannelBindingsPolicy | undefined, errors: unknown[]) {
  const mw = negotiate({ backend, keytab: realm.keytab, krb5Config: backend === 'pure' ? realm.krb5Config : undefined, channelBindings: policy, onError: (e) => errors.push(e) });
  const server = createHttpsServer(certs.origin, (req, res) => mw(req, res, () => res.end(req.negotiate!.user)));
  return { server, port: await listen(server) };
}

/** A TLS-terminating middlebox: its own certificate to the client, a new TLS connection to the origin. */
async function middlebox(originPort: number) {
  const server = createTlsServer(certs.middlebox, (down) => {
    const up = tlsConnect({ host: '127.0.0.1', port: originPort, ca: certs.origin.cert, servername: 'localhost' });
    down.pipe(up).pipe(down);
    const end = () => { down.destroy(); up.destroy(); };
    up.on('error', end); down.on('error', end); up.on('close', end); down.on('close', end);
  });
  return { server, port: await listen(server) };
}

const trustBoth = () => ({ ca: [certs.origin.cert, certs.middlebox.cert] });

for (const sb of ['pure', 'native'] as Backend[]) {
  for (const cb of ['pure', 'native'] as Backend[]) {
    test(`HTTPS, client ${cb} -> middleware ${sb}: bindings of the origin's certificate (ECDSA-SHA384) accepted under 'require'`, async (t) => {
      if ((sb === 'native' || cb === 'native') && !(await needNative(t, 'mit'))) return;
      if (!needPeer(t, 'openssl')) return;
      const errors: unknown[] = [];
      const { server, port } = await origin(sb, 'require', errors);
      try {
        const res = await negotiateFetch(`https://localhost:${port}/`, {}, { backend: cb, krb5Config: cb === 'pure' ? realm.krb5Config : undefined, tls: trustBoth() });
        assert.equal(res.status, 200, String(errors[0]));
        assert.equal(await res.text(), `alice@${REALM}`);
      } finally {
        server.close();
      }
    });
  }

  test(`HTTPS through a TLS-terminating middlebox (another certificate) -> middleware ${sb}: refused under 'require' and 'if-present', accepted under 'ignore'`, async (t) => {
    if (sb === 'native' && !(await needNative(t, 'mit'))) return;
    if (!needPeer(t, 'openssl')) return;
    for (const policy of ['require', 'if-present', 'ignore'] as const) {
      for (const cb of ['pure', 'native'] as Backend[]) {
        if (cb === 'native' && !(await needNative(t, 'mit'))) return;
        const errors: unknown[] = [];
        const o = await origin(sb, policy, errors);
        const m = await middlebox(o.port);
        try {
          const res = await negotiateFetch(`https://localhost:${m.port}/`, {}, { backend: cb, krb5Config: cb === 'pure' ? realm.krb5Config : undefined, target: 'HTTP@localhost', tls: trustBoth() });
          if (policy === 'ignore') {
            assert.equal(res.status, 200, `${policy} ${cb}`);
          } else {
            assert.equal(res.status, 401, `${policy} ${cb}: the token bound to the middlebox's certificate is refused`);
            assert.equal((errors[0] as { major?: string }).major ?? (errors[0] as Error).message.split(':')[0], 'GSS_S_BAD_BINDINGS', String(errors[0]));
          }
          await res.arrayBuffer();
        } finally {
          m.server.close();
          o.server.close();
        }
      }
    }
  });

  test(`HTTPS, a client without bindings -> middleware ${sb}: refused under 'require', accepted under 'if-present'`, async (t) => {
    if (sb === 'native' && !(await needNative(t, 'mit'))) return;
    if (!needPeer(t, 'openssl')) return;
    for (const policy of ['require', 'if-present'] as const) {
      for (const cb of ['pure', 'native'] as Backend[]) {
        if (cb === 'native' && !(await needNative(t, 'mit'))) return;
        const errors: unknown[] = [];
        const { server, port } = await origin(sb, policy, errors);
        try {
          const res = await negotiateFetch(`https://localhost:${port}/`, {}, { backend: cb, krb5Config: cb === 'pure' ? realm.krb5Config : undefined, channelBindings: 'none', tls: trustBoth() });
          assert.equal(res.status, policy === 'require' ? 401 : 200, `${policy} ${cb}: ${String(errors[0])}`);
          if (policy === 'require') assert.match(String(errors[0]), /BAD_BINDINGS/);
          await res.arrayBuffer();
        } finally {
          server.close();
        }
      }
    }
  });
}

test(`'require' over plain HTTP: 401 (no TLS channel to bind to), the reason to onError`, async () => {
  const errors: unknown[] = [];
  const mw = negotiate({ backend: 'pure', keytab: realm.keytab, krb5Config: realm.krb5Config, channelBindings: 'require', onError: (e) => errors.push(e) });
  const server = createHttpServer((req, res) => mw(req, res, () => res.end('in')));
  const port = await listen(server);
  try {
    const res = await negotiateFetch(`http://localhost:${port}/`, {}, { backend: 'pure', krb5Config: realm.krb5Config });
    assert.equal(res.status, 401);
    assert.match(String(errors[0]), /BAD_BINDINGS.*not come over TLS/);
  } finally {
    server.close();
  }
});

