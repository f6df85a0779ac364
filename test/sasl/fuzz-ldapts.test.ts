// Fuzz (fixed seed) what the ldapts adapter reads from a server before handing the connection to
// ldapts: the answers to the SASL bind (LdapConnection.saslBind, then release()) and to StartTLS.
// Only typed errors (SpnegoError subclasses) may come out; for StartTLS also the TLS handshake's
// own error once a well-formed success was accepted (the fake server then hangs up).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Duplex } from 'node:stream';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';
import { SpnegoError, UsageError } from '../../lib/errors.js';
import { LdapConnection, SaslClient, ldaptsSasl, type SaslMechanism } from '../../lib/sasl/index.js';
import { tlv } from '../../lib/sasl/ldap.js';
import { fakeContext } from './fake-context.js';

const te = new TextEncoder();
const s = (v: string | Uint8Array, tag = 0x04) => tlv(tag, typeof v === 'string' ? te.encode(v) : v);
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));
const msg = (id: number, op: Uint8Array) => tlv(0x30, cat(Uint8Array.of(0x02, 0x01, id), op));
const result = (code: number, diag = '') => cat(Uint8Array.of(0x0a, 0x01, code), s(''), s(diag));

/**
 * A server that answers the first request with the bytes, then hangs up (so a truncated message
 * ends in "the server closed the connection" rather than a wait): a TLS handshake fails.
 */
class FakeServer extends Duplex {
  private answered = false;
  constructor(private readonly answer: Uint8Array) { super(); }
  override _read(): void {}
  override _write(chunk: Buffer, _e: BufferEncoding, cb: () => void): void {
    cb();
    if (this.answered) return;
    this.answered = true;
    this.push(Buffer.from(this.answer));
    // Hang up once the client has reacted (its promise chain runs in microtasks, before setImmediate).
    setImmediate(() => this.push(null));
  }
}

const bindSamples = [
  msg(1, tlv(0x61, result(0))),
  msg(1, tlv(0x61, cat(result(14), s(Uint8Array.of(1, 0, 0x10, 0), 0x87)))),
  msg(1, tlv(0x61, cat(result(0), s(Uint8Array.of(0xa1, 0x03, 0x0a, 0x01, 0x00), 0x87)))),
  msg(1, tlv(0x61, result(49, '80090346: LdapErr: DSID-0C090589, comment: AcceptSecurityContext error, data 80090346, v4563'))),
  cat(msg(1, tlv(0x61, result(0))), Uint8Array.of(0, 0, 0, 4, 1, 2, 3, 4)),
  tlv(0x30, cat(Uint8Array.of(0x02, 0x01, 0x00), tlv(0x78, cat(result(52, 'bye'), s('1.3.6.1.4.1.1466.20036', 0x8a))))),
];

const isTyped = (e: unknown) => e instanceof SpnegoError;

test(`fuzz the SASL bind answers the adapter reads (LdapConnection.saslBind + release): ${FUZZ_RUNS} inputs, only typed errors`, { timeout: 600_000 }, async () => {
  const inputs: Uint8Array[] = [...bindSamples]; // the samples themselves too, whatever SPNEGO_FUZZ_RUNS
  fuzzDecoder(bindSamples, (b) => inputs.push(b));
  let bound = 0, refused = 0;
  for (const [i, b] of inputs.entries()) {
    const mechanism: SaslMechanism = i & 1 ? 'GSSAPI' : 'GSS-SPNEGO';
    const conn = new LdapConnection(new FakeServer(b));
    try {
      await conn.saslBind(new SaslClient({ mechanism, context: fakeContext(), layer: i & 2 ? 'none' : 'integrity' }));
      conn.release().destroy();
      bound++;
    } catch (e) {
      if (!isTyped(e)) throw e;
      refused++;
      conn.close();
    }
  }
  assert.ok(bound > 0 && refused > 0, `${bound} bound, ${refused} refused`);
});

const startTlsSamples = [
  msg(1, tlv(0x78, result(0))),
  msg(1, tlv(0x78, cat(result(0), s('1.3.6.1.4.1.1466.20037', 0x8a)))),
  msg(1, tlv(0x78, result(2, 'unsupported extended operation'))),
  cat(msg(1, tlv(0x78, result(0))), Uint8Array.of(0x16, 3, 1, 0, 5)),
];

test(`fuzz the StartTLS answers: ${Math.ceil(FUZZ_RUNS / 10)} inputs, typed errors (or the handshake's hang-up after a well-formed success)`, { timeout: 600_000 }, async () => {
  const inputs: Uint8Array[] = [...startTlsSamples];
  fuzzDecoder(startTlsSamples, (b) => inputs.push(b), Math.ceil(FUZZ_RUNS / 10));
  let handshakes = 0, typed = 0;
  for (const b of inputs) {
    const conn = new LdapConnection(new FakeServer(b));
    try {
      await conn.startTls();
      assert.fail('no TLS server here: the handshake cannot succeed');
    } catch (e) {
      if (isTyped(e)) typed++;
      else if (/socket disconnected|ECONNRESET|socket hang up/i.test(String((e as Error).message ?? e) + String((e as { code?: string }).code))) handshakes++;
      else throw e;
    } finally {
      conn.close();
    }
  }
  assert.ok(handshakes > 0 && typed > 0, `${handshakes} handshakes tried, ${typed} typed refusals`);
});

test('ldaptsSasl: a SASL layer inside TLS, missing options: UsageError', () => {
  const initiator = { target: 'ldap/dc.example.test' };
  assert.throws(() => ldaptsSasl(undefined as never), UsageError);
  assert.throws(() => ldaptsSasl({ mechanism: 'GSSAPI', initiator, startTls: true, layer: 'integrity' }), UsageError);
  assert.throws(() => ldaptsSasl({ mechanism: 'GSSAPI', initiator, layer: 'confidentiality' }).createSecureConnection(636, 'dc.example.test'), UsageError);
  assert.throws(() => new SaslClient({ mechanism: 'GSS-SPNEGO', context: fakeContext(), layer: 'integrity', tls: true }), UsageError);
});

test('SaslClient tls: GSS-SPNEGO with CONF granted installs no layer inside TLS', async () => {
  const sasl = new SaslClient({ mechanism: 'GSS-SPNEGO', context: fakeContext(), layer: 'none', tls: true });
  await sasl.start();
  await sasl.finish();
  assert.equal(sasl.layer, 'none');
  assert.throws(() => sasl.framing(), UsageError);
  const plain = new SaslClient({ mechanism: 'GSS-SPNEGO', context: fakeContext(), layer: 'none' });
  await plain.start();
  await plain.finish();
  assert.equal(plain.layer, 'confidentiality', 'outside TLS the granted flags are the layer');
});

test('regression (found by the fuzzer): a StartTLS success followed by a malformed message fails typed, no TLS over the dead socket', async () => {
  // a StartTLS success (id 1), then a message whose ExtendedResponse (6 octets) leaves one octet over
  const b = Buffer.from('300c02010178070a010004000400' + '300c02010178060a010004000400', 'hex');
  const conn = new LdapConnection(new FakeServer(Uint8Array.from(b)));
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('startTls hung')), 2000); });
  try {
    await assert.rejects(Promise.race([conn.startTls(), hang]), (e: unknown) => e instanceof SpnegoError);
  } finally {
    clearTimeout(timer);
    conn.close();
  }
});

test('LdapConnection: a socket destroyed in the middle of the bind (e.g. ldapts connectTimeout) rejects typed, no wait', async () => {
  const silent = new Duplex({ read() {}, write(_c, _e, cb) { cb(); } });
  const conn = new LdapConnection(silent);
  const bind = conn.saslBind(new SaslClient({ mechanism: 'GSS-SPNEGO', context: fakeContext(), layer: 'integrity' }));
  setImmediate(() => silent.destroy());
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error('saslBind hung')), 2000); });
  try {
    await assert.rejects(Promise.race([bind, hang]), (e: unknown) => e instanceof SpnegoError);
  } finally {
    clearTimeout(timer);
  }
});

test('SaslClient tls, GSSAPI: "no layer" is chosen inside TLS even when more is offered; an offer without it fails', async () => {
  const reply = async (offer: number) => {
    const sasl = new SaslClient({ mechanism: 'GSSAPI', context: fakeContext(), layer: 'none', tls: true });
    await sasl.start();
    return sasl.step(Uint8Array.of(offer, 0, 0x10, 0));
  };
  assert.deepEqual([...(await reply(7))], [1, 0, 0, 0]);
  await assert.rejects(reply(6), (e: unknown) => e instanceof SpnegoError && /inside TLS/.test((e as Error).message));
  // Outside TLS, "none" wanted and not offered: the next stronger layer offered is taken.
  const plain = new SaslClient({ mechanism: 'GSSAPI', context: fakeContext(), layer: 'none' });
  await plain.start();
  assert.equal((await plain.step(Uint8Array.of(6, 0, 0x10, 0)))[0], 2, 'outside TLS a stronger offered layer is taken');
});
