// NegotiationRecorder given to the HTTP middleware and to negotiateFetch (the `recorder` option they
// pass to createAcceptor/createInitiator): both sides record the same tokens, the capture carries
// them byte for byte in the Authorization / WWW-Authenticate headers, tshark dissects and (with the
// service keytab the user has) decrypts them; a failed exchange ends with a bare 401; and
// `spnego compare --pcap` writes no keys unless --export-keys, which warns loudly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NegotiationRecorder } from '../../lib/capture/index.js';
import { createInitiator } from '../../lib/api.js';
import { negotiate, negotiateFetch, type NegotiateOptions } from '../../lib/http/index.js';
import { readKeytab } from '../../lib/krb5/keytab.js';
import { UsageError } from '../../lib/errors.js';
import { toHex } from '../../lib/util/bytes.js';
import { needPeer } from '../peers/harness.js';
import { httpRealmForFile } from '../http/realm.js';
import { checkChecksums, decryptWith, fields, malformed } from './tshark.js';

const REALM = 'CAPTURE.TEST';
const realm = httpRealmForFile(REALM, { pac: { userRid: 1105, groupRids: [512] } });
const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'spnego-recorder-'));
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

async function serve(o: NegotiateOptions): Promise<{ url: string; server: Server }> {
  const mw = negotiate(o);
  const server = createServer((req, res) => mw(req, res, () => res.end(req.negotiate!.user)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://localhost:${(server.address() as { port: number }).port}/whoami`, server };
}

test('the middleware and negotiateFetch record the same tokens; tshark finds them in the capture and decrypts the ticket', async (t) => {
  const onServer = new NegotiationRecorder();
  const onClient = new NegotiationRecorder({ host: 'localhost', path: '/whoami' });
  const { url, server } = await serve({ backend: 'pure', keytab: realm.keytab, recorder: onServer });
  try {
    const res = await negotiateFetch(url, {}, { backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config, recorder: onClient });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), `alice@${REALM}`);
  } finally {
    server.close();
  }
  const seen = (r: NegotiationRecorder) => r.exchanges.filter((e) => e.tokens.length).map((e) => e.tokens.map((x) => `${x.from}:${toHex(x.token)}`));
  assert.equal(seen(onClient).length, 1);
  assert.deepEqual(seen(onServer), seen(onClient), 'both sides recorded the same tokens in the same order');
  const tokens = onClient.exchanges[0]!.tokens;
  assert.deepEqual(tokens.map((x) => x.from), ['initiator', 'acceptor'], 'RFC 4559: NegTokenInit + AP-REQ, then the final NegTokenResp (200)');
  assert.equal(onClient.exchanges[0]!.recordedBy, 'initiator');
  assert.equal(onServer.exchanges[0]!.recordedBy, 'acceptor');

  if (!needPeer(t, 'tshark')) return;
  const file = join(dir, 'http.pcap');
  onClient.writePcap(file);
  assert.equal(malformed(file, [...decryptWith(realm.keytab), ...checkChecksums]), '');
  const rows = fields(file, 'spnego', ['http.request.method', 'http.response.code', 'http.authorization', 'http.www_authenticate', 'kerberos.CNameString', 'spnego.negResult'], decryptWith(realm.keytab));
  assert.equal(rows.length, 2);
  const b64 = (s: string | undefined) => toHex(Buffer.from(s!.replace(/^Negotiate /, ''), 'base64'));
  assert.deepEqual(rows[0]!['http.request.method'], ['GET']);
  assert.equal(b64(rows[0]!['http.authorization']![0]), toHex(tokens[0]!.token), 'the Authorization header carries the recorded token');
  assert.deepEqual(rows[0]!['kerberos.CNameString'], ['alice', 'alice'], 'ticket and authenticator decrypted with the service keytab');
  assert.deepEqual(rows[1]!['http.response.code'], ['200']);
  assert.equal(b64(rows[1]!['http.www_authenticate']![0]), toHex(tokens[1]!.token));
  assert.deepEqual(rows[1]!['spnego.negResult'], ['0']);
});

test('a failed exchange is recorded with its error and ends with a bare 401 in the capture', async (t) => {
  const wrong = join(dir, 'other.keytab');
  realm.kdc.addPrincipal({ name: 'HTTP/elsewhere' });
  realm.kdc.writeKeytab(wrong, ['HTTP/elsewhere']);
  const rec = new NegotiationRecorder();
  const { url, server } = await serve({ backend: 'pure', keytab: wrong, recorder: rec });
  try {
    const res = await negotiateFetch(url, {}, { backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config });
    assert.equal(res.status, 401);
  } finally {
    server.close();
  }
  const ex = rec.exchanges.find((e) => e.tokens.length)!;
  assert.deepEqual(ex.tokens.map((x) => x.from), ['initiator']);
  assert.match(ex.error ?? '', /no key for HTTP\/localhost/);
  const msgs = rec.httpMessages(ex).map((m) => new TextDecoder().decode(m.data).split('\r\n')[0]);
  assert.deepEqual(msgs, ['GET / HTTP/1.1', 'HTTP/1.1 401 Unauthorized']);
  assert.match(new TextDecoder().decode(rec.httpMessages(ex)[1]!.data), /\r\nWWW-Authenticate: Negotiate\r\n/);
  if (!needPeer(t, 'tshark')) return;
  const file = join(dir, 'failed.pcap');
  rec.writePcap(file);
  assert.equal(malformed(file), '');
  assert.deepEqual(fields(file, 'http.response', ['http.response.code']).map((r) => r['http.response.code']![0]), ['401']);
});

test('recorder.add() takes only a context the recorder watches', () => {
  const rec = new NegotiationRecorder();
  const mine = createInitiator({ backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config, recorder: rec });
  const other = createInitiator({ backend: 'pure', target: 'HTTP@localhost', krb5Config: realm.krb5Config });
  try {
    rec.add(mine, 'initiator', Uint8Array.of(1, 2, 3));
    assert.deepEqual(rec.exchangeOf(mine)!.tokens.map((x) => x.kind), ['wrap']);
    assert.throws(() => rec.add(other, 'initiator', Uint8Array.of(1)), UsageError);
  } finally {
    mine.dispose();
    other.dispose();
  }
});

function cli(args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, KRB5_CONFIG: realm.krb5Config, KRB5CCNAME: `FILE:${join(realm.dir, 'ccache')}`, KRB5RCACHEDIR: realm.dir };
  delete env.KRB5_KTNAME;
  return spawnSync(process.execPath, [join(root, 'bin/spnego.mjs'), ...args], { encoding: 'utf8', env, timeout: 120_000 });
}

test('spnego compare --pcap writes tokens only; --export-keys copies only the target service\'s keys, with a loud warning', (t) => {
  // A keytab with two services: only the target's keys may leave it.
  const both = join(dir, 'both.keytab');
  realm.kdc.addPrincipal({ name: 'HTTP/unrelated' });
  realm.kdc.writeKeytab(both, ['HTTP/localhost', 'HTTP/unrelated']);
  const file = join(dir, 'compare.pcap');
  const base = ['compare', '--target', `HTTP/localhost@${REALM}`, '--keytab', both, '--krb5-config', realm.krb5Config, '--pcap', file];
  const plain = cli(base);
  assert.equal(plain.status, 0, plain.stdout + plain.stderr);
  assert.ok(existsSync(file));
  assert.equal(existsSync(`${file}.keytab`), false, 'no keys without --export-keys');
  assert.match(plain.stdout, /no keys written \(your realm\)/);
  assert.doesNotMatch(plain.stdout + plain.stderr, /WARNING/);

  const exported = cli([...base, '--export-keys']);
  assert.equal(exported.status, 0, exported.stdout + exported.stderr);
  assert.match(exported.stderr, /^WARNING: --export-keys copied \d+ LONG-TERM KEY\(S\) of HTTP\/localhost@CAPTURE\.TEST, a service of your real realm/m);
  const entries = readKeytab(readFileSync(`${file}.keytab`));
  assert.ok(entries.length > 0);
  assert.deepEqual([...new Set(entries.map((e) => e.name.nameString.join('/')))], ['HTTP/localhost']);

  const noPcap = cli(['compare', '--target', 'HTTP@localhost', '--export-keys']);
  assert.equal(noPcap.status, 1);
  assert.match(noPcap.stderr, /--export-keys goes with --pcap FILE/);

  if (!needPeer(t, 'tshark')) return;
  assert.equal(malformed(file), '');
  const without = fields(file, 'spnego.MechType', ['kerberos.CNameString', 'kerberos.SNameString']);
  assert.ok(without.length >= 1);
  for (const r of without) {
    assert.deepEqual(r['kerberos.CNameString'], [], 'without keys the ticket and authenticator stay encrypted');
    assert.deepEqual(r['kerberos.SNameString'], ['HTTP', 'localhost']);
  }
  const decrypted = fields(file, 'spnego.MechType', ['kerberos.CNameString'], decryptWith(`${file}.keytab`));
  for (const r of decrypted) assert.deepEqual(r['kerberos.CNameString'], ['alice', 'alice']);
  writeFileSync(`${file}.keytab`, '');
});
