// Round trips and strict-DER rejection for every RFC 4120 codec in lib/krb5/asn1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as a from '../../lib/krb5/asn1/index.js';
import * as asn1js from 'asn1js';
import { DecodeError } from '../../lib/errors.js';
import { fromHex, bytesEqual, toHex } from '../../lib/util/bytes.js';
import { codecs, mitKdc, validInputs } from './samples.js';
import { lengthVariants, truncationsAndTrailing } from './der-variants.js';

const encoderFor: Record<string, (v: any) => Uint8Array> = {
  'AS-REQ': a.encodeAsReq,
  'AS-REP': a.encodeAsRep,
  'TGS-REQ': a.encodeTgsReq,
  'TGS-REP': a.encodeTgsRep,
  'AP-REQ': a.encodeApReq,
  'AP-REP': a.encodeApRep,
  'KRB-ERROR': a.encodeKrbError,
  'KRB-CRED': a.encodeKrbCred,
  Ticket: a.encodeTicket,
  Authenticator: a.encodeAuthenticator,
  EncTicketPart: a.encodeEncTicketPart,
  EncASRepPart: a.encodeEncAsRepPart,
  EncTGSRepPart: a.encodeEncTgsRepPart,
  EncAPRepPart: a.encodeEncApRepPart,
  EncKrbCredPart: a.encodeEncKrbCredPart,
};

for (const c of codecs) {
  test(`${c.name}: decode(encode(v)) == v and encode(decode(der)) == der`, () => {
    for (const v of c.samples) {
      const der = c.encode(v);
      const back = c.decode(der) as Record<string, unknown>;
      // KDC-REQ decoders also hand back the req-body's DER as received.
      if (back && typeof back === 'object' && 'reqBodyDer' in back) {
        assert.equal(toHex(back.reqBodyDer as Uint8Array), toHex(a.encodeKdcReqBody((v as a.KdcReq).reqBody)));
        const { reqBodyDer: _r, ...rest } = back;
        assert.deepEqual(rest, v);
      } else assert.deepEqual(back, v);
      assert.equal(toHex(c.encode(back)), toHex(der));
    }
  });

  test(`${c.name}: truncated, trailing, non-minimal and indefinite lengths are DecodeErrors`, () => {
    const inputs = validInputs().get(c.name)!;
    for (const der of inputs.slice(0, 2)) {
      const variants = [...truncationsAndTrailing(der), ...lengthVariants(der)];
      assert.ok(variants.length > 3);
      for (const { what, bytes } of variants)
        assert.throws(() => c.decode(bytes), DecodeError, `${c.name}: ${what} was accepted`);
    }
  });
}

test('our encodings parse cleanly with an independent parser (asn1js) and use only definite minimal lengths', () => {
  const walk = (b: asn1js.AsnType): number => {
    assert.equal(b.error, '', b.error);
    assert.equal(b.lenBlock.isIndefiniteForm, false);
    if (b.lenBlock.longFormUsed) {
      assert.ok(b.lenBlock.length >= 0x80, 'long form only for lengths >= 128');
      const octets = Math.ceil(Math.log2(b.lenBlock.length + 1) / 8);
      assert.equal(b.lenBlock.blockLength, 1 + octets, 'no leading zero length octet');
    }
    const kids = (b.valueBlock as { value?: unknown }).value;
    return 1 + (Array.isArray(kids) ? kids.reduce((s: number, k) => s + walk(k as asn1js.AsnType), 0) : 0);
  };
  let nodes = 0;
  for (const c of codecs)
    for (const v of c.samples) {
      const der = c.encode(v);
      const r = asn1js.fromBER(der);
      assert.equal(r.offset, der.length, `${c.name}: asn1js consumed ${r.offset} of ${der.length}`);
      nodes += walk(r.result);
    }
  assert.ok(nodes > 500);
});

test('every MIT KDC message decodes through decodeKrb5Message and re-encodes byte for byte', () => {
  const seen = new Set<string>();
  for (const e of mitKdc.exchanges)
    for (const h of [e.req, e.rep]) {
      const der = fromHex(h);
      const m = a.decodeKrb5Message(der);
      seen.add(m.type);
      assert.ok(bytesEqual(encoderFor[m.type]!(m.value), der), `${e.what}: ${m.type} did not round-trip`);
    }
  assert.deepEqual([...seen].sort(), ['AS-REP', 'AS-REQ', 'KRB-ERROR', 'TGS-REP', 'TGS-REQ']);
});

test('MIT KDC: KRB-ERROR PREAUTH_REQUIRED carries METHOD-DATA with ETYPE-INFO2 and the salt', () => {
  const err = a.decodeKrbError(fromHex(mitKdc.exchanges[0]!.rep));
  assert.equal(err.errorCode, 25);
  assert.equal(err.realm, 'EXAMPLE.TEST');
  assert.deepEqual(err.sname, { nameType: 2, nameString: ['krbtgt', 'EXAMPLE.TEST'] });
  const md = a.decodeMethodData(err.eData!);
  const info = md.find((p) => p.padataType === 19)!;
  assert.deepEqual(a.decodeETypeInfo2(info.padataValue), [{ etype: 18, salt: 'EXAMPLE.TESTalice' }]);
});

test('MIT KDC: AS-REQ with PA-ENC-TIMESTAMP, reqBodyDer, TGS-REQ PA-TGS-REQ holds an AP-REQ', () => {
  const asReq = a.decodeAsReq(fromHex(mitKdc.exchanges[1]!.req));
  assert.deepEqual(asReq.reqBody.cname, { nameType: 1, nameString: ['alice'] });
  assert.deepEqual(a.kdcOptionNames(asReq.reqBody.kdcOptions), ['forwardable', 'renewable']);
  const ts = asReq.padata!.find((p) => p.padataType === 2)!;
  assert.equal(a.decodePaEncTimestamp(ts.padataValue).etype, 18);
  assert.equal(toHex(asReq.reqBodyDer!), toHex(a.encodeKdcReqBody(asReq.reqBody)));
  const tgsReq = a.decodeTgsReq(fromHex(mitKdc.exchanges[2]!.req));
  const apReq = a.decodeApReq(tgsReq.padata!.find((p) => p.padataType === 1)!.padataValue);
  assert.deepEqual(apReq.ticket.sname.nameString, ['krbtgt', 'EXAMPLE.TEST']);
  const tgsRep = a.decodeTgsRep(fromHex(mitKdc.exchanges[2]!.rep));
  // MIT kvno parses "HTTP/localhost" as NT_PRINCIPAL
  assert.deepEqual(tgsRep.ticket.sname, { nameType: 1, nameString: ['HTTP', 'localhost'] });
});

test('decode errors name the field path and the offset', () => {
  const ap = a.encodeApReq({ apOptions: 0, ticket: { realm: 'R', sname: { nameType: 1, nameString: ['x'] }, encPart: { etype: 18, cipher: Uint8Array.of(1, 2) } }, authenticator: { etype: 18, cipher: Uint8Array.of(3) } });
  // Change the ticket's cipher OCTET STRING tag (04 02 01 02) into a UTF8String (0c).
  const i = toHex(ap).indexOf('04020102') / 2;
  const bad = ap.slice();
  bad[i] = 0x0c;
  assert.throws(() => a.decodeApReq(bad), (e: unknown) => e instanceof DecodeError && e.field === 'AP-REQ.ticket.enc-part.cipher' && e.offset === i);
  // Wrong msg-type.
  const wrong = ap.slice();
  wrong[toHex(ap).indexOf('a10302010e') / 2 + 4] = 0x0f;
  assert.throws(() => a.decodeApReq(wrong), (e: unknown) => e instanceof DecodeError && e.field === 'AP-REQ.msg-type');
  // An AP-REP is not an AP-REQ.
  const rep = a.encodeApRep({ encPart: { etype: 18, cipher: Uint8Array.of(1) } });
  assert.throws(() => a.decodeApReq(rep), (e: unknown) => e instanceof DecodeError && e.field === 'AP-REQ' && e.offset === 0);
});

test('fields out of order, repeated or unknown are rejected', () => {
  // EncryptedData with [2] before [0]
  assert.throws(() => a.decodeEncryptedData(fromHex('300aa2030401aaa003020112')), DecodeError);
  // EncryptedData with an extra [3]
  assert.throws(() => a.decodeEncryptedData(fromHex('300fa003020112a2030401aaa3030201 00'.replace(/ /g, ''))), DecodeError);
  // missing required cipher
  assert.throws(() => a.decodeEncryptedData(fromHex('3005a003020112')), (e: unknown) => e instanceof DecodeError && e.field === 'EncryptedData.cipher');
  // explicit tag holding two values
  assert.throws(() => a.decodeEncryptedData(fromHex('300ca0060201120201 12a2030401aa'.replace(/ /g, ''))), DecodeError);
});

test('INTEGER: minimal encoding, Int32/UInt32/Microseconds ranges, negative UInt32 accepted', () => {
  const ed = (intHex: string) => fromHex(`30${(2 + intHex.length / 2 + 5 + 5).toString(16).padStart(2, '0')}a0${(intHex.length / 2).toString(16).padStart(2, '0')}${intHex}a1030201 01a2030401aa`.replace(/ /g, ''));
  assert.equal(a.decodeEncryptedData(ed('020112')).etype, 18);
  assert.equal(a.decodeEncryptedData(ed('0201ff')).etype, -1);
  assert.equal(a.decodeEncryptedData(ed('02048a000000')).etype, -0x76000000);
  assert.throws(() => a.decodeEncryptedData(ed('02020012')), DecodeError); // non-minimal positive
  assert.throws(() => a.decodeEncryptedData(ed('0202ff80')), DecodeError); // non-minimal negative
  assert.throws(() => a.decodeEncryptedData(ed('020500ffffffff')), DecodeError); // > Int32
  assert.throws(() => a.decodeEncryptedData(ed('0200')), DecodeError); // empty
  // kvno (UInt32): 0xffffffff as a positive 5-octet INTEGER and as MIT/AD's negative -1
  const kv = (intHex: string) => fromHex(`30${(5 + 2 + intHex.length / 2 + 5).toString(16).padStart(2, '0')}a003020112a1${(intHex.length / 2).toString(16).padStart(2, '0')}${intHex}a2030401aa`);
  assert.equal(a.decodeEncryptedData(kv('020500ffffffff')).kvno, 0xffffffff);
  assert.equal(a.decodeEncryptedData(kv('0201ff')).kvno, 0xffffffff);
  assert.equal(a.decodeEncryptedData(kv('020480000000')).kvno, 0x80000000);
  assert.throws(() => a.decodeEncryptedData(kv('02050100000000')), DecodeError);
  assert.throws(() => a.decodeEncryptedData(kv('0205ff7fffffff')), DecodeError);
  // encoders enforce ranges
  assert.throws(() => a.encodeEncryptedData({ etype: 2 ** 31, cipher: new Uint8Array(0) }), /outside/);
  assert.throws(() => a.encodeEncApRepPart({ ctime: new Date(0), cusec: 1000000 }), /outside/);
  assert.throws(() => a.encodeEncApRepPart({ ctime: new Date(0), cusec: 0, seqNumber: -1 }), /outside/);
  assert.equal(toHex(a.encodeEncryptedData({ etype: 1, kvno: 0xffffffff, cipher: new Uint8Array(0) })), '3012a003020101a107020500ffffffffa2020400');
});

test('KerberosTime: exactly YYYYMMDDHHMMSSZ, exposed as Date', () => {
  const gt = (s: string) => Uint8Array.from([0x18, s.length, ...Array.from(s, (c) => c.charCodeAt(0))]);
  assert.equal(a.decodeKerberosTime(gt('20261124193005Z')).toISOString(), '2026-11-24T19:30:05.000Z');
  assert.equal(a.decodeKerberosTime(gt('00010101000000Z')).getUTCFullYear(), 1);
  for (const bad of ['20261124193005.5Z', '20261124193005', '2026112419300Z', '20261124193005+0000', '20261324193005Z', '20260230193005Z', '20261124243005Z', '20261124196005Z', '20261124193060Z', '2026112419300aZ'])
    assert.throws(() => a.decodeKerberosTime(gt(bad)), DecodeError, bad);
  assert.equal(toHex(a.encodeKerberosTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 999)))), toHex(gt('20260102030405Z')));
  assert.throws(() => a.encodeKerberosTime(new Date(NaN)), /invalid Date/);
});

test('KerberosFlags: always 5 octets on the wire, bit 0 = MSB, names from the tables', () => {
  const f = a.makeTicketFlags(['forwardable', 'renewable', 'pre-authent']);
  assert.equal(f, 0x40a00000);
  assert.deepEqual(a.ticketFlagNames(f), ['forwardable', 'renewable', 'pre-authent']);
  assert.deepEqual(a.apOptionNames(a.makeApOptions(['mutual-required', 'use-session-key'])), ['use-session-key', 'mutual-required']);
  assert.deepEqual(a.kdcOptionNames(0x00000001 | a.flagBit(17)), ['bit17', 'validate']);
  const ap = a.encodeApReq({ apOptions: 0, ticket: { realm: 'R', sname: { nameType: 1, nameString: [] }, encPart: { etype: 1, cipher: new Uint8Array(0) } }, authenticator: { etype: 1, cipher: new Uint8Array(0) } });
  assert.ok(toHex(ap).includes('a20703050000000000'), 'zero flags still take 32 bits');
  // shorter named-bit-list forms decode (padded with zeros); unused bits must be zero; > 32 bits rejected
  const flagsOf = (bitString: string) => {
    const inner = bitString;
    const field = `a2${(inner.length / 2).toString(16).padStart(2, '0')}${inner}`;
    const h = toHex(ap).replace('a20703050000000000', field);
    const seqBody = h.slice(8);
    const seq = `30${(seqBody.length / 2).toString(16).padStart(2, '0')}${seqBody}`;
    return fromHex(`6e${(seq.length / 2).toString(16).padStart(2, '0')}${seq}`);
  };
  assert.equal(a.decodeApReq(flagsOf('03050000000001')).apOptions, 1);
  assert.equal(a.decodeApReq(flagsOf('03020520')).apOptions, 0x20000000);
  assert.throws(() => a.decodeApReq(flagsOf('03020521')), DecodeError);
  assert.throws(() => a.decodeApReq(flagsOf('0306000000000000')), DecodeError);
  assert.throws(() => a.decodeApReq(flagsOf('030108')), DecodeError);
});

test('KerberosString must be UTF-8; BOOLEAN must be 00 or FF', () => {
  assert.deepEqual(a.decodePrincipalName(fromHex('300ea003020101a1073005 1b03e282ac'.replace(/ /g, ''))).nameString, ['€']);
  assert.throws(() => a.decodePrincipalName(fromHex('300ea003020101a10730051b03ff8080')), DecodeError);
  assert.throws(() => a.decodePaPacRequest(fromHex('3005a0030101 01'.replace(/ /g, ''))), DecodeError);
  assert.deepEqual(a.decodePaPacRequest(fromHex('3005a0030101ff')), { includePac: true });
  assert.equal(toHex(a.encodePaPacRequest({ includePac: false })), '3005a003010100');
});

test('decodeKrb5Message dispatches on the APPLICATION tag and rejects the rest', () => {
  for (const c of codecs) {
    if (!(c.name in encoderFor)) continue;
    const der = c.encode(c.samples[0]);
    const m = a.decodeKrb5Message(der);
    assert.equal(m.type, c.name);
    assert.deepEqual(m.value, c.decode(der));
  }
  assert.throws(() => a.decodeKrb5Message(fromHex('7403020100')), /not supported/); // KRB-SAFE
  assert.throws(() => a.decodeKrb5Message(fromHex('3003020100')), DecodeError);
  assert.throws(() => a.decodeKrb5Message(fromHex('7f1f0100')), DecodeError);
  assert.throws(() => a.decodeKrb5Message(new Uint8Array(0)), DecodeError);
  // the EncTGSRepPart-in-AS-REP quirk
  const part = codecs.find((c) => c.name === 'EncTGSRepPart')!;
  assert.equal(a.decodeEncKdcRepPart(part.encode(part.samples[0])).applicationTag, 26);
});

test('authorization data: AD-IF-RELEVANT, AD-WIN2K-PAC lookup, KERB-AP-OPTIONS-CBT, AD-ETYPE-NEGOTIATION', () => {
  const cbt = a.kerbApOptionsCbtAuthData();
  // AD-IF-RELEVANT { { ad-type 143, ad-data 00 40 00 00 } } (MS-KILE 2.2.10), hand-assembled
  const ifRelevant = '3010300ea0040202008fa106040400400000';
  assert.equal(toHex(cbt[0]!.adData), ifRelevant);
  assert.equal(toHex(a.encodeAuthorizationData(cbt)), '301d301ba003020101a1140412' + ifRelevant);
  const inner = a.decodeAdIfRelevant(cbt[0]!.adData);
  assert.deepEqual(inner, [{ adType: 143, adData: Uint8Array.of(0x00, 0x40, 0x00, 0x00) }]);
  assert.equal(a.decodeKerbApOptions(inner[0]!.adData), a.KERB_AP_OPTIONS_CBT);
  assert.throws(() => a.decodeKerbApOptions(Uint8Array.of(0, 0x40)), DecodeError);
  const pac = Uint8Array.of(4, 0, 0, 0);
  const ad: a.AuthorizationData = [{ adType: 1, adData: a.encodeAdIfRelevant([{ adType: 128, adData: pac }]) }];
  assert.deepEqual(a.findWin2kPac(ad), pac);
  assert.equal(a.findWin2kPac([]), undefined);
  assert.throws(() => a.findWin2kPac([{ adType: 1, adData: Uint8Array.of(0x30, 0x05) }]), DecodeError);
  assert.equal(toHex(a.encodeAdEtypeNegotiation([18, 17])), '3006020112020111');
  assert.throws(() => a.decodeAdEtypeNegotiation(fromHex('3000')), DecodeError);
});
