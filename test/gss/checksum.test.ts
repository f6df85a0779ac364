// RFC 4121 4.1.1 authenticator checksum (0x8003) layout, channel-bindings hash (4.1.1.2), and
// RFC 5929 tls-server-end-point, checked against hand-built bytes and openssl's digests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { encodeAuthenticatorChecksum, decodeAuthenticatorChecksum, GssFlags } from '../../lib/krb5/gss/checksum.js';
import { channelBindingsHash, tlsServerEndPoint } from '../../lib/krb5/gss/channel-bindings.js';
import { DecodeError, SpnegoError } from '../../lib/errors.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';

test('0x8003 checksum: exact little-endian layout, with and without delegation', () => {
  const bnd = fromHex('00112233445566778899aabbccddeeff');
  const plain = encodeAuthenticatorChecksum({ bnd, flags: GssFlags.mutual | GssFlags.integ | GssFlags.conf });
  assert.equal(toHex(plain), '10000000' + toHex(bnd) + '32000000');
  const deleg = fromHex('7603020100');
  const withDeleg = encodeAuthenticatorChecksum({ bnd, flags: GssFlags.mutual, deleg });
  assert.equal(toHex(withDeleg), '10000000' + toHex(bnd) + '03000000' + '0100' + '0500' + '7603020100');
  assert.deepEqual(decodeAuthenticatorChecksum(withDeleg), { bnd, flags: 3, deleg });
  assert.deepEqual(decodeAuthenticatorChecksum(plain), { bnd, flags: 0x32 });
});

test('0x8003 checksum: lengths are never trusted', () => {
  const good = encodeAuthenticatorChecksum({ bnd: new Uint8Array(16), flags: 1, deleg: new Uint8Array(10) });
  for (let n = 0; n < good.length; n++) if (n !== 24) assert.throws(() => decodeAuthenticatorChecksum(good.subarray(0, n)), DecodeError, `len ${n}`);
  const bigDlgth = Uint8Array.from(good);
  bigDlgth[26] = 0xff;
  assert.throws(() => decodeAuthenticatorChecksum(bigDlgth), /Dlgth/);
  const badLgth = Uint8Array.from(good);
  badLgth[0] = 17;
  assert.throws(() => decodeAuthenticatorChecksum(badLgth), /Lgth/);
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      try {
        decodeAuthenticatorChecksum(b);
      } catch (e) {
        if (!(e instanceof SpnegoError)) throw e;
      }
    }),
    { seed: 4121, numRuns: Number(process.env.SPNEGO_FUZZ_RUNS ?? 100000) },
  );
});

test('channel-bindings hash: zeros without bindings, MD5 of the RFC 4121 layout with them', () => {
  assert.equal(toHex(channelBindingsHash(undefined)), '00'.repeat(16));
  const app = new TextEncoder().encode('tls-server-end-point:abc');
  const layout = Buffer.concat([Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(4), Buffer.alloc(4), Buffer.from([app.length, 0, 0, 0]), Buffer.from(app)]);
  assert.equal(toHex(channelBindingsHash({ applicationData: app })), createHash('md5').update(layout).digest('hex'));
  const withAddr = channelBindingsHash({ initiatorAddrType: 2, initiatorAddress: Uint8Array.of(127, 0, 0, 1), applicationData: app });
  const layout2 = Buffer.concat([Buffer.from([2, 0, 0, 0, 4, 0, 0, 0, 127, 0, 0, 1]), Buffer.alloc(8), Buffer.from([app.length, 0, 0, 0]), Buffer.from(app)]);
  assert.equal(toHex(withAddr), createHash('md5').update(layout2).digest('hex'));
});

test('tls-server-end-point: SHA-256 for sha256/sha1 certificates, SHA-384 for sha384 ones (openssl-made)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-cert-'));
  try {
    for (const [md, want] of [['sha256', 'sha256'], ['sha1', 'sha256'], ['sha384', 'sha384'], ['sha512', 'sha512']] as const) {
      const pem = join(dir, `${md}.pem`);
      execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', pem, '-subj', '/CN=localhost', '-days', '1', `-${md}`], { stdio: 'ignore' });
      const der = new Uint8Array(new X509Certificate(readFileSync(pem)).raw);
      const cb = tlsServerEndPoint(der);
      assert.equal(Buffer.from(cb.applicationData!).toString('latin1', 0, 21), 'tls-server-end-point:');
      assert.equal(toHex(cb.applicationData!.subarray(21)), createHash(want).update(der).digest('hex'), md);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => tlsServerEndPoint(Uint8Array.of(1, 2, 3)), DecodeError);
});
