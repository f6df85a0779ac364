// TLS channel bindings on LDAP, enforced: Samba 4.17 does not check them (ldapts-samba.test.ts), so
// this file runs a loopback LDAP server of its own (lib/sasl's codec + our pure acceptor with
// tls-server-end-point bindings of its certificate, embedded KDC) and the real ldapts Client with
// ldaptsSasl(): over ldaps:// and StartTLS the right bindings bind, wrong ones, none, or those of a
// TLS-terminating middlebox's certificate are refused with AD's error (data 80090346).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import * as net from 'node:net';
import * as tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { Client } from 'ldapts';
import { startKdc, type Kdc } from '../../lib/kdc/index.js';
import { createAcceptor } from '../../lib/api.js';
import type { Backend, SecurityContext } from '../../lib/context.js';
import { LdapMessageReader, LdapResultError, LDAP_RESULT, START_TLS_OID, ldaptsSasl, type LdaptsSaslOptions, type SaslMechanism } from '../../lib/sasl/index.js';
import { tlv } from '../../lib/sasl/ldap.js';
import { needNative, needPeer, useEnv } from '../peers/harness.js';

const REALM = 'LDAPCB.TEST';
let dir = '';
let kdc: Kdc;
let keytab = '';
let krb5Conf = '';
let restoreEnv = () => {};
const certs: Record<'origin' | 'middlebox', { key: Buffer; cert: Buffer; der: Uint8Array }> = {} as never;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'spnego-ldapcb-'));
  krb5Conf = join(dir, 'krb5.conf');
  keytab = join(dir, 'ldap.keytab');
  kdc = await startKdc({ realm: REALM, principals: [{ name: 'alice', password: 'alice-pw' }, { name: 'ldap/localhost' }] });
  kdc.writeKrb5Conf(krb5Conf);
  kdc.writeKeytab(keytab, ['ldap/localhost']);
  restoreEnv = useEnv({ KRB5_CONFIG: krb5Conf, KRB5CCNAME: `FILE:${join(dir, 'ccache')}`, KRB5RCACHEDIR: dir });
  for (const name of ['origin', 'middlebox'] as const) {
    const key = join(dir, `${name}.key`), cert = join(dir, `${name}.crt`);
    try {
      execFileSync('openssl', ['req', '-x509', '-new', '-nodes', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha256', '-days', '2', '-subj', '/CN=localhost',
        '-addext', 'subjectAltName=DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
    } catch {
      return; // needPeer(t, 'openssl') skips
    }
    const pem = readFileSync(cert);
    certs[name] = { key: readFileSync(key), cert: pem, der: new Uint8Array(new X509Certificate(pem).raw) };
  }
});
after(async () => {
  restoreEnv();
  await kdc?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// ---- a loopback LDAP server: just what a SASL bind inside TLS and one search need ----

interface Tlv { tag: number; content: Uint8Array; end: number }
function readTlv(b: Uint8Array, at: number): Tlv {
  let len = b[at + 1]!, hdr = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[at + 2 + i]!;
    hdr += n;
  }
  return { tag: b[at]!, content: b.subarray(at + hdr, at + hdr + len), end: at + hdr + len };
}
function children(b: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < b.length;) {
    const t = readTlv(b, at);
    out.push(t);
    at = t.end;
  }
  return out;
}
const cat = (...p: Uint8Array[]) => Buffer.concat(p);
const octets = (s: string | Uint8Array, tag = 0x04) => tlv(tag, typeof s === 'string' ? Buffer.from(s) : s);
const intOf = (n: number, tag = 0x02) => tlv(tag, Uint8Array.of(n));
function response(id: number, opTag: number, code: number, diag = '', extra: Uint8Array[] = []): Uint8Array {
  return tlv(0x30, cat(tlv(0x02, Uint8Array.of(id)), tlv(opTag, cat(intOf(code, 0x0a), octets(''), octets(diag), ...extra))));
}

interface ServerLog { binds: string[]; refusals: string[] }

/** AD's form of a refused bind: LDAP 49 with "data <SSPI status>" (80090346: SEC_E_BAD_BINDINGS). */
const BAD_BINDINGS = '80090346: LdapErr: DSID-0C090589, comment: AcceptSecurityContext error, data 80090346, v4563';

function serveLdap(sock: Duplex, mode: 'ldaps' | 'starttls', log: ServerLog): void {
  let stream: Duplex = sock;
  let reader = new LdapMessageReader();
  let acceptor: SecurityContext | undefined;
  let mech = '';
  let offerSent = false;
  const send = (b: Uint8Array) => stream.write(b);
  const onData = (chunk: Buffer) => {
    let msgs: Uint8Array[];
    try {
      msgs = reader.push(chunk);
    } catch {
      return void stream.destroy();
    }
    for (const m of msgs) handle(m).catch(() => stream.destroy());
  };
  const handle = async (m: Uint8Array): Promise<void> => {
    const [idT, op] = children(readTlv(m, 0).content) as [Tlv, Tlv];
    const id = idT.content[idT.content.length - 1]!;
    if (op.tag === 0x77) { // ExtendedRequest: StartTLS only
      assert.equal(Buffer.from(children(op.content)[0]!.content).toString(), START_TLS_OID);
      send(response(id, 0x78, mode === 'starttls' ? 0 : 2));
      if (mode !== 'starttls') return;
      stream.off('data', onData);
      stream = new tls.TLSSocket(sock as net.Socket, { isServer: true, key: certs.origin.key, cert: certs.origin.cert });
      reader = new LdapMessageReader();
      stream.on('data', onData);
      stream.on('error', () => stream.destroy());
      return;
    }
    if (op.tag === 0x60) { // BindRequest, SASL only
      if (!(stream instanceof tls.TLSSocket)) return void send(response(id, 0x61, LDAP_RESULT.strongerAuthRequired, 'TLS first'));
      const [, , auth] = children(op.content) as [Tlv, Tlv, Tlv];
      const [mechT, credT] = children(auth.content);
      const creds = credT?.content ?? new Uint8Array(0);
      if (!acceptor) {
        mech = Buffer.from(mechT!.content).toString();
        acceptor = createAcceptor({ backend: 'pure', keytab, mech: mech === 'GSSAPI' ? 'kerberos' : 'spnego', channelBindings: { tlsServerEndPoint: certs.origin.der } });
      }
      try {
        if (!acceptor.complete) {
          const out = await acceptor.step(creds);
          // GSS-SPNEGO: done when the context is; GSSAPI: the RFC 4752 offer follows.
          if (acceptor.complete && mech === 'GSS-SPNEGO') {
            log.binds.push(`${mech} ${acceptor.info.initiatorName}`);
            return void send(response(id, 0x61, 0, '', out && out.length ? [octets(out, 0x87)] : []));
          }
          return void send(response(id, 0x61, LDAP_RESULT.saslBindInProgress, '', [octets(out ?? new Uint8Array(0), 0x87)]));
        }
        if (!offerSent) { // RFC 4752 3.1: only "no security layer" inside TLS, max buffer 0
          offerSent = true;
          return void send(response(id, 0x61, LDAP_RESULT.saslBindInProgress, '', [octets(acceptor.wrap(Uint8Array.of(1, 0, 0, 0), { encrypt: false }), 0x87)]));
        }
        const choice = acceptor.unwrap(creds).message;
        assert.equal(choice[0], 1, 'layer none inside TLS');
        log.binds.push(`${mech} ${acceptor.info.initiatorName}`);
        send(response(id, 0x61, 0));
      } catch (e) {
        log.refusals.push(`${mech}: ${(e as Error).message}`);
        send(response(id, 0x61, LDAP_RESULT.invalidCredentials, BAD_BINDINGS));
      }
      return;
    }
    if (op.tag === 0x63) { // SearchRequest: one entry naming the bound client
      const attrs = tlv(0x30, tlv(0x30, cat(octets('cn'), tlv(0x31, octets('alice')))));
      send(tlv(0x30, cat(tlv(0x02, Uint8Array.of(id)), tlv(0x64, cat(octets('CN=alice,DC=ldapcb,DC=test'), attrs)))));
      return void send(response(id, 0x65, 0));
    }
    if (op.tag === 0x42) stream.end();
  };
  stream.on('data', onData);
  stream.on('error', () => stream.destroy());
}

async function listen(mode: 'ldaps' | 'starttls', log: ServerLog): Promise<{ port: number; close: () => void }> {
  const server = mode === 'ldaps'
    ? tls.createServer({ key: certs.origin.key, cert: certs.origin.cert }, (s) => serveLdap(s, mode, log))
    : net.createServer((s) => serveLdap(s, mode, log));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** A TLS-terminating middlebox with its own certificate in front of the ldaps:// server. */
async function middlebox(originPort: number): Promise<{ port: number; close: () => void }> {
  const server = tls.createServer({ key: certs.middlebox.key, cert: certs.middlebox.cert }, (down) => {
    const up = tls.connect({ host: '127.0.0.1', port: originPort, ca: certs.origin.cert, servername: 'localhost' });
    down.pipe(up).pipe(down);
    const end = () => { down.destroy(); up.destroy(); };
    up.on('error', end); down.on('error', end); up.on('close', end); down.on('close', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

function options(backend: Backend, mechanism: SaslMechanism, extra: Partial<LdaptsSaslOptions> = {}): LdaptsSaslOptions {
  return {
    mechanism, ...extra,
    initiator: { backend, target: `ldap/localhost@${REALM}`, krb5Config: krb5Conf, credentials: { principal: `alice@${REALM}`, password: 'alice-pw' }, ...extra.initiator },
  };
}

function client(how: 'ldaps' | 'starttls', port: number, o: LdaptsSaslOptions, ca: Buffer[] = [certs.origin.cert]): Client {
  const tlsOptions = { ca, servername: 'localhost' };
  return how === 'ldaps'
    ? new Client({ url: `ldaps://127.0.0.1:${port}`, tlsOptions, ...ldaptsSasl(o) })
    : new Client({ url: `ldap://127.0.0.1:${port}`, ...ldaptsSasl({ ...o, startTls: tlsOptions }) });
}

async function search(c: Client): Promise<string[]> {
  try {
    const { searchEntries } = await c.search('DC=ldapcb,DC=test', { filter: '(cn=alice)' });
    return searchEntries.map((e) => e.dn);
  } finally {
    await c.unbind();
  }
}

const refusedWithBadBindings = (err: unknown) => {
  assert.ok(err instanceof LdapResultError, String(err));
  assert.equal(err.resultCode, LDAP_RESULT.invalidCredentials);
  assert.match(err.diagnosticMessage, /data 80090346/);
  return true;
};

for (const backend of ['pure', 'native'] as Backend[]) {
  for (const how of ['ldaps', 'starttls'] as const) {
    test(`loopback LDAP ${how}, ${backend} initiator -> pure acceptor requiring tls-server-end-point bindings: right ones bind, wrong or none are refused (80090346)`, async (t) => {
      if (!needPeer(t, 'openssl') || !certs.origin) return;
      if (backend === 'native' && !(await needNative(t, 'mit'))) return;
      const log: ServerLog = { binds: [], refusals: [] };
      const server = await listen(how, log);
      try {
        for (const mech of ['GSSAPI', 'GSS-SPNEGO'] as SaslMechanism[]) {
          log.binds.length = log.refusals.length = 0;
          assert.deepEqual(await search(client(how, server.port, options(backend, mech))), ['CN=alice,DC=ldapcb,DC=test'], `${mech}: right bindings`);
          assert.deepEqual(log.binds, [`${mech} alice@${REALM}`]);
          // The bindings of another certificate: what a client talking to a man in the middle computes.
          await assert.rejects(search(client(how, server.port, options(backend, mech, { initiator: { channelBindings: { tlsServerEndPoint: certs.middlebox.der } } as never }))), refusedWithBadBindings);
          // No bindings at all: the acceptor requires them (no allowMissingChannelBindings). MIT's
          // acceptor would let this through; ours, like AD at "always", does not.
          await assert.rejects(search(client(how, server.port, options(backend, mech, { noChannelBindings: true }))), refusedWithBadBindings);
          assert.equal(log.refusals.length, 2, `${mech}: ${log.refusals.join(' | ')}`);
          assert.deepEqual(log.binds, [`${mech} alice@${REALM}`]);
        }
      } finally {
        server.close();
      }
    });
  }

  test(`loopback LDAPS through a TLS-terminating middlebox, ${backend} initiator: the adapter binds to the certificate it sees, the server refuses`, async (t) => {
    if (!needPeer(t, 'openssl') || !certs.origin) return;
    if (backend === 'native' && !(await needNative(t, 'mit'))) return;
    const log: ServerLog = { binds: [], refusals: [] };
    const server = await listen('ldaps', log);
    const mb = await middlebox(server.port);
    try {
      for (const mech of ['GSSAPI', 'GSS-SPNEGO'] as SaslMechanism[]) {
        await assert.rejects(search(client('ldaps', mb.port, options(backend, mech), [certs.middlebox.cert])), refusedWithBadBindings);
      }
      assert.equal(log.binds.length, 0);
      assert.equal(log.refusals.length, 2);
    } finally {
      mb.close();
      server.close();
    }
  });
}
