// Fuzz (SPNEGO_FUZZ_RUNS inputs each, fixed seed): the LDAP BER decoder and message splitter, the
// SASL framing decoder over real contexts, and the RFC 4752 offer handling. Only typed errors
// (SpnegoError subclasses) may come out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';
import { httpRealmForFile } from '../http/realm.js';
import { createAcceptor } from '../../lib/api.js';
import { SpnegoError, UsageError } from '../../lib/errors.js';
import {
  decodeLdapMessage, encodeBindRequest, encodeSearchRequest, LdapMessageReader, SaslClient, SaslFraming, createSaslInitiator,
} from '../../lib/sasl/index.js';
import { tlv } from '../../lib/sasl/ldap.js';
import { fakeContext } from './fake-context.js';

const te = new TextEncoder();
const s = (v: string, tag = 0x04) => tlv(tag, te.encode(v));
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));
const msg = (id: number, op: Uint8Array) => tlv(0x30, cat(Uint8Array.of(0x02, 0x01, id), op));
const result = (code: number, diag = '') => cat(Uint8Array.of(0x0a, 0x01, code), s(''), s(diag));

const ldapSamples = [
  msg(1, tlv(0x61, cat(result(14), tlv(0x87, Uint8Array.of(0xa1, 0x03, 0x0a, 0x01, 0x01))))),
  msg(2, tlv(0x61, result(8, '00002028: LdapErr: strong auth'))),
  msg(3, tlv(0x64, cat(s('CN=Ad User,CN=Users,DC=ad'), tlv(0x30, cat(
    tlv(0x30, cat(s('objectSid'), tlv(0x31, tlv(0x04, Uint8Array.of(1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xe8, 3, 0, 0))))),
    tlv(0x30, cat(s('memberOf'), tlv(0x31, cat(s('CN=a'), s('CN=b'))))),
  ))))),
  msg(3, tlv(0x65, result(0))),
  msg(3, tlv(0x73, cat(s('ldap://x/DC=a'), s('ldap://y/DC=b')))),
  tlv(0x30, cat(Uint8Array.of(0x02, 0x01, 0x00), tlv(0x78, cat(result(52, 'bye'), s('1.3.6.1.4.1.1466.20036', 0x8a))))),
  encodeBindRequest(5, { sasl: { mechanism: 'GSS-SPNEGO', credentials: Uint8Array.of(0x60, 0x00) } }),
  encodeSearchRequest(6, { base: 'DC=x', filter: { and: [{ equals: ['a', 'b'] }, { present: 'c' }] }, attributes: ['tokenGroups'] }),
];

test(`fuzz decodeLdapMessage: ${FUZZ_RUNS} inputs, only typed errors`, { timeout: 300_000 }, () => {
  for (const m of ldapSamples) decodeLdapMessage(m);
  const r = fuzzDecoder(ldapSamples, decodeLdapMessage);
  assert.ok(r.rejected > 0 && r.accepted > 0);
});

test(`fuzz LdapMessageReader: ${FUZZ_RUNS} inputs cut in two, only typed errors, at most the input comes out`, { timeout: 300_000 }, () => {
  const r = fuzzDecoder(ldapSamples, (b) => {
    const rd = new LdapMessageReader(4096);
    const out = [...rd.push(b.subarray(0, b.length >> 1)), ...rd.push(b.subarray(b.length >> 1))];
    const n = out.reduce((a, m) => a + m.length, 0);
    assert.equal(n + rd.pending, b.length);
  });
  assert.ok(r.rejected > 0 && r.accepted > 0);
});

const realm = httpRealmForFile('SASLFUZZ.TEST');

test(`fuzz SaslFraming.push over real RFC 4121 contexts: ${FUZZ_RUNS} inputs, only typed errors`, { timeout: 300_000 }, async () => {
  const ctx = createSaslInitiator('GSSAPI', 'confidentiality', {
    backend: 'pure', target: 'HTTP/localhost@SASLFUZZ.TEST', krb5Config: realm.krb5Config, credentials: { principal: 'alice@SASLFUZZ.TEST', password: 'alice-pw' },
  });
  const acc = createAcceptor({ backend: 'pure', keytab: realm.keytab, mech: 'kerberos' });
  let t = await ctx.step();
  while (!ctx.complete) t = await ctx.step(await acc.step(t));
  const samples: Uint8Array[] = [];
  for (const conf of [true, false]) {
    const f = new SaslFraming(ctx, { confidentiality: conf, maxSend: 4096, maxReceive: 4096 });
    const frames = [...f.encode(te.encode('a search request, framed')), cat(...f.encode(new Uint8Array(300)))];
    // The seeds reach the crypto: each unwraps once, before any fuzzing, whatever the seed. (Counting
    // unwrapped frames inside the fuzz loop depended on the seed producing an unmutated copy first.)
    const check = new SaslFraming(acc, { confidentiality: conf, maxSend: 4096, maxReceive: 2048 });
    for (const fr of frames) assert.ok(check.push(fr).length > 0, `a ${conf ? 'sealed' : 'signed'} seed frame unwraps`);
    samples.push(...frames);
  }
  const r = fuzzDecoder(samples, (b) => {
    const f = new SaslFraming(acc, { confidentiality: (b[0]! & 1) === 0, maxSend: 4096, maxReceive: 2048 });
    f.push(b);
  });
  assert.ok(r.rejected > 0);
});

test(`fuzz the RFC 4752 security-layer offer: ${FUZZ_RUNS} inputs, only typed errors, never a weaker layer`, { timeout: 300_000 }, async () => {
  const samples = [Uint8Array.of(7, 0xff, 0xff, 0xff), Uint8Array.of(2, 0, 0x10, 0), Uint8Array.of(4, 1, 0, 0), Uint8Array.of(1, 0, 0, 0)];
  const inputs: Uint8Array[] = [];
  fuzzDecoder(samples, (b) => inputs.push(b));
  let accepted = 0;
  for (const b of inputs) {
    const sasl = new SaslClient({ mechanism: 'GSSAPI', context: fakeContext(), layer: 'integrity' });
    await sasl.start();
    try {
      const reply = await sasl.step(b);
      accepted++;
      assert.ok(reply[0] === 2 || reply[0] === 4, 'integrity or stronger');
      assert.ok(b[0]! & reply[0]!, 'a layer the server offered');
    } catch (e) {
      if (!(e instanceof SpnegoError)) throw e;
      await assert.rejects(sasl.finish(), UsageError);
    }
  }
  assert.ok(accepted > 0 && accepted < inputs.length);
});
