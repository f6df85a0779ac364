// The SASL client (RFC 4752 / GSS-SPNEGO) and its framing against our own acceptor on the embedded
// KDC: the server side of RFC 4752 3.1 is played here with the pure acceptor, byte by byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import { httpRealmForFile } from '../http/realm.js';
import { createAcceptor } from '../../lib/api.js';
import type { SecurityContext } from '../../lib/context.js';
import { DecodeError, IntegrityError, UsageError } from '../../lib/errors.js';
import { SaslClient, SaslError, SaslFraming, SaslStream, createSaslInitiator, saslInitiatorOptions, type SaslMechanism, type SecurityLayer } from '../../lib/sasl/index.js';

const REALM = 'SASL.TEST';
const realm = httpRealmForFile(REALM);

function pair(mechanism: SaslMechanism, layer: SecurityLayer) {
  const ctx = createSaslInitiator(mechanism, layer, {
    backend: 'pure', target: `HTTP/localhost@${REALM}`, krb5Config: realm.krb5Config,
    credentials: { principal: `alice@${REALM}`, password: 'alice-pw' },
  });
  const acc = createAcceptor({ backend: 'pure', keytab: realm.keytab, mech: mechanism === 'GSSAPI' ? 'kerberos' : 'spnego' });
  return { ctx, acc };
}

/** Plays an RFC 4752 server: context, then the wrapped offer; returns the client's wrapped reply, unwrapped. */
async function gssapiBind(sasl: SaslClient, acc: SecurityContext, offer: Uint8Array) {
  let token: Uint8Array | undefined = await sasl.start();
  while (!acc.complete) {
    const back = await acc.step(token);
    token = await sasl.step(back);
  }
  assert.equal(token.length, 0, 'the client consumed the AP-REP and has nothing more for the context');
  const reply = acc.unwrap(await sasl.step(acc.wrap(offer, { encrypt: false })));
  await sasl.finish();
  return reply;
}

test('GSSAPI (RFC 4752): the layer reply is wrapped unsealed, carries the chosen layer, our max buffer and the authzid', async () => {
  for (const [wanted, offer, chosen] of [
    ['integrity', 7, 2], ['confidentiality', 7, 4], ['integrity', 5, 4], ['none', 1, 1], ['none', 7, 1],
  ] as [SecurityLayer, number, number][]) {
    const { ctx, acc } = pair('GSSAPI', wanted);
    const sasl = new SaslClient({ mechanism: 'GSSAPI', context: ctx, layer: wanted, authzid: 'u:alice', maxReceive: 0x10000 });
    const r = await gssapiBind(sasl, acc, Uint8Array.of(offer, 0x00, 0x40, 0x00));
    assert.equal(r.encrypted, false, 'RFC 4752 3.1: conf_flag FALSE');
    assert.equal(r.message[0], chosen, `${wanted} from offer ${offer}`);
    const max = chosen === 1 ? [0, 0, 0] : [0x01, 0x00, 0x00];
    assert.deepEqual([...r.message.subarray(1, 4)], max);
    assert.equal(new TextDecoder().decode(r.message.subarray(4)), 'u:alice');
    assert.equal(sasl.peerMaxBuffer, chosen === 1 ? 0 : 0x4000);
    assert.ok(sasl.complete);
  }
});

test('GSSAPI: a bad offer fails the bind with a typed error, and the exchange stays failed', async () => {
  const cases: [Uint8Array, SecurityLayer, new (...a: never[]) => Error][] = [
    [Uint8Array.of(7, 0, 0, 1, 0), 'integrity', DecodeError], // 5 octets
    [Uint8Array.of(7, 0, 1), 'integrity', DecodeError], // 3 octets
    [Uint8Array.of(1, 0, 0, 0), 'integrity', SaslError], // only "none": a downgrade
    [Uint8Array.of(2, 0, 1, 0), 'confidentiality', SaslError], // only integrity
    [Uint8Array.of(0, 0, 1, 0), 'none', SaslError], // empty mask
    [Uint8Array.of(0xff, 0, 1, 0), 'none', SaslError], // unknown bits
    [Uint8Array.of(4, 0, 0, 0), 'confidentiality', SaslError], // a layer with max buffer 0
    [Uint8Array.of(6, 0, 1, 0), 'none', SaslError], // a layer the context was not made for (no INTEG/CONF asked)
  ];
  for (const [offer, wanted, type] of cases) {
    const { ctx, acc } = pair('GSSAPI', wanted);
    const sasl = new SaslClient({ mechanism: 'GSSAPI', context: ctx, layer: wanted });
    await assert.rejects(gssapiBind(sasl, acc, offer), type, `offer ${[...offer]} wanted ${wanted}`);
    await assert.rejects(sasl.finish(), UsageError, 'failed for good');
  }
  // Not wrapped at all: the context's unwrap refuses it.
  const { ctx, acc } = pair('GSSAPI', 'integrity');
  const sasl = new SaslClient({ mechanism: 'GSSAPI', context: ctx, layer: 'integrity' });
  let token: Uint8Array | undefined = await sasl.start();
  while (!acc.complete) token = await sasl.step(await acc.step(token));
  await assert.rejects(sasl.step(Uint8Array.of(7, 0, 1, 0)));
  await assert.rejects(sasl.finish(), UsageError);
});

test('GSSAPI: success before the layer negotiation, or before the context, is refused', async () => {
  const { ctx, acc } = pair('GSSAPI', 'integrity');
  const sasl = new SaslClient({ mechanism: 'GSSAPI', context: ctx, layer: 'integrity' });
  const t = await sasl.start();
  assert.equal((await sasl.step(await acc.step(t))).length, 0);
  assert.ok(ctx.complete);
  await assert.rejects(new SaslClient({ mechanism: 'GSSAPI', context: pair('GSSAPI', 'integrity').ctx }).finish(), SaslError);
  await assert.rejects(sasl.finish(), SaslError, 'context complete (after AP-REP) but no layer negotiated');
});

test('GSS-SPNEGO: the layer is the flags of the context; asking for a layer the context lacks fails', async () => {
  for (const layer of ['integrity', 'confidentiality'] as SecurityLayer[]) {
    const { ctx, acc } = pair('GSS-SPNEGO', layer);
    const sasl = new SaslClient({ mechanism: 'GSS-SPNEGO', context: ctx, layer, maxSend: 4096 });
    let token: Uint8Array | undefined = await sasl.start();
    let back: Uint8Array | undefined;
    while (!acc.complete) {
      back = await acc.step(token);
      if (acc.complete) break;
      token = await sasl.step(back);
    }
    await sasl.finish(back);
    assert.equal(sasl.layer, layer);
    assert.equal(ctx.info.flags.confidentiality, layer === 'confidentiality', 'CONF asked (0x8003) only for a sealed layer');
    assert.equal(ctx.info.flags.integrity, true);
    assert.equal(sasl.peerMaxBuffer, 4096);
  }
  // A context made without the SASL flags cannot give confidentiality.
  const { acc } = pair('GSS-SPNEGO', 'none');
  const ctx = createSaslInitiator('GSS-SPNEGO', 'none', {
    backend: 'pure', target: `HTTP/localhost@${REALM}`, krb5Config: realm.krb5Config, credentials: { principal: `alice@${REALM}`, password: 'alice-pw' },
  });
  assert.deepEqual(saslInitiatorOptions('GSS-SPNEGO', 'none').flags, { mutual: true, sequence: true, replay: true, integrity: false, confidentiality: false });
  const sasl = new SaslClient({ mechanism: 'GSS-SPNEGO', context: ctx, layer: 'confidentiality' });
  let token: Uint8Array | undefined = await sasl.start();
  let back: Uint8Array | undefined;
  for (;;) {
    back = await acc.step(token);
    if (acc.complete) break;
    token = await sasl.step(back);
  }
  assert.equal(ctx.info.flags.confidentiality, false);
  await assert.rejects(sasl.finish(back), SaslError);
});

test('usage errors: mechanism, layer, buffers, acceptor contexts', () => {
  const { ctx, acc } = pair('GSSAPI', 'integrity');
  assert.throws(() => new SaslClient({ mechanism: 'PLAIN' as SaslMechanism, context: ctx }), UsageError);
  assert.throws(() => new SaslClient({ mechanism: 'GSSAPI', context: ctx, layer: 'max' as SecurityLayer }), UsageError);
  assert.throws(() => new SaslClient({ mechanism: 'GSSAPI', context: ctx, maxReceive: 0x1000000 }), UsageError);
  assert.throws(() => new SaslClient({ mechanism: 'GSSAPI', context: acc }), UsageError);
  assert.throws(() => new SaslClient({ mechanism: 'GSSAPI', context: ctx }).framing(), UsageError);
});

/** Two established contexts and a framing for each side. */
async function layers(confidentiality: boolean, max = 1000) {
  const { ctx, acc } = pair('GSSAPI', confidentiality ? 'confidentiality' : 'integrity');
  let t = await ctx.step();
  while (!ctx.complete) t = await ctx.step(await acc.step(t));
  if (!acc.complete) await acc.step(t);
  const c = new SaslFraming(ctx, { confidentiality, maxSend: max, maxReceive: max });
  const s = new SaslFraming(acc, { confidentiality, maxSend: max, maxReceive: max });
  return { ctx, acc, c, s };
}

test('framing: large data is cut so that no Wrap token exceeds the peer max buffer; bytes split anywhere reassemble', async () => {
  for (const conf of [false, true]) {
    const { c, s } = await layers(conf, 700);
    const data = Uint8Array.from({ length: 5000 }, (_, i) => (i * 7) & 0xff);
    const frames = c.encode(data);
    assert.ok(frames.length >= 8);
    for (const f of frames) {
      const len = new DataView(f.buffer, f.byteOffset).getUint32(0);
      assert.equal(len, f.length - 4);
      assert.ok(len <= 700, `token ${len} <= 700`);
    }
    const wire = Buffer.concat(frames);
    const got: Uint8Array[] = [];
    for (let i = 0; i < wire.length; i += 37) got.push(...s.push(wire.subarray(i, i + 37)));
    assert.deepEqual(Buffer.concat(got), Buffer.from(data));
    assert.equal(s.pending, 0);
    // sealed: the plaintext does not appear on the wire
    assert.equal(wire.includes(Buffer.from(data.subarray(100, 140))), !conf);
    assert.deepEqual(c.encode(new Uint8Array(0)), []);
  }
});

test('framing: oversize, empty, tampered and signed-only-on-sealed frames are typed errors, and nothing is read after them', async () => {
  const { c, s } = await layers(false, 1000);
  // oversize: refused on the header, before the body arrives
  assert.throws(() => s.push(Uint8Array.of(0, 0, 0x03, 0xe9)), DecodeError);
  assert.throws(() => s.push(c.encode(Uint8Array.of(1))[0]!), UsageError, 'failed for good');

  const b = await layers(false, 1000);
  assert.throws(() => b.s.push(Uint8Array.of(0, 0, 0, 0)), DecodeError);

  const t = await layers(false, 1000);
  const f = t.c.encode(Uint8Array.of(1, 2, 3))[0]!;
  f[f.length - 1]! ^= 1;
  assert.throws(() => t.s.push(f));
  assert.throws(() => t.s.push(t.c.encode(Uint8Array.of(1))[0]!), UsageError);

  // a sealed layer refuses a frame that is only signed (a downgrade)
  const d = await layers(true, 1000);
  const signed = new SaslFraming(d.ctx, { confidentiality: false, maxSend: 1000, maxReceive: 1000 }).encode(Uint8Array.of(9))[0]!;
  assert.throws(() => d.s.push(signed), IntegrityError);

  // a peer max buffer too small for any data is a usage error, not an oversize token
  assert.throws(() => new SaslFraming(d.ctx, { confidentiality: true, maxSend: 100, maxReceive: 100 }), UsageError);
});

test('SaslStream over TCP: both ways, then an oversize frame destroys the stream and the socket', async () => {
  const { ctx, acc } = await layers(true, 2000);
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const accepted = once(server, 'connection');
  const sock = net.connect(port, '127.0.0.1');
  const [peer] = (await accepted) as [net.Socket];
  const client = new SaslStream(sock, new SaslFraming(ctx, { confidentiality: true, maxSend: 2000, maxReceive: 2000 }));
  const srv = new SaslStream(peer, new SaslFraming(acc, { confidentiality: true, maxSend: 2000, maxReceive: 2000 }));
  const data = Buffer.alloc(20000, 'x');
  const got: Buffer[] = [];
  srv.on('data', (b: Buffer) => got.push(b));
  client.write(data);
  while (Buffer.concat(got).length < data.length) await once(srv, 'data');
  assert.deepEqual(Buffer.concat(got), data);
  const back = once(client, 'data');
  srv.write(Buffer.from('pong'));
  assert.equal(((await back) as [Buffer])[0].toString(), 'pong');
  // the raw socket sends an oversize header: the client stream errors with DecodeError and closes
  const err = once(client, 'error');
  peer.write(Uint8Array.of(0, 0, 0x10, 0));
  const [e] = (await err) as [Error];
  assert.ok(e instanceof DecodeError, String(e));
  await once(sock, 'close');
  assert.ok(sock.destroyed);
  srv.destroy();
  server.close();
});
