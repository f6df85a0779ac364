// SPNEGO token codec (RFC 4178, MS-SPNG 2.2.1): exact bytes, MIT captures, strict DER rejection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeNegTokenInit, encodeNegTokenInit2, encodeNegTokenResp, encodeMechTypeList, decodeNegotiationToken,
  decodeNegTokenInit, decodeNegTokenResp, makeContextFlags, NegState, NEG_HINTS_NAME, negStateName,
} from '../../lib/spnego/codec.js';
import { MechOid, mechName, mechOid, isKerberosOid } from '../../lib/spnego/oids.js';
import { DecodeError, UsageError } from '../../lib/errors.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';
import { frameToken } from '../../lib/gssapi/token.js';
import { mitSpnego } from '../asn1/samples.js';
import { lengthVariants, truncationsAndTrailing } from '../asn1/der-variants.js';

// Checklist section 2.1 worked example: MS-KRB5, KRB5, NegoEx, NTLM.
const WINDOWS_LIST = '302e06092a864882f71201020206092a864886f712010202060a2b06010401823702021e060a2b06010401823702020a';

test('OIDs: short names and lookups both ways', () => {
  assert.equal(mechOid('krb5'), '1.2.840.113554.1.2.2');
  assert.equal(mechOid('ms-krb5'), '1.2.840.48018.1.2.2');
  assert.equal(mechOid('ntlm'), '1.3.6.1.4.1.311.2.2.10');
  assert.equal(mechOid('negoex'), '1.3.6.1.4.1.311.2.2.30');
  assert.equal(mechOid('iakerb'), '1.3.6.1.5.2.5');
  assert.equal(mechOid('spnego'), '1.3.6.1.5.5.2');
  assert.equal(mechOid('1.2.3.4'), '1.2.3.4');
  assert.equal(mechName('1.3.5.1.5.2'), 'krb5-old');
  assert.equal(mechName('1.2.840.113554.1.2.2.3'), 'krb5-u2u');
  assert.equal(mechName('1.2.3'), undefined);
  assert.throws(() => mechOid('kerberos'), UsageError);
  assert.throws(() => mechOid('toString'), UsageError);
  assert.ok(isKerberosOid(MechOid['ms-krb5']) && isKerberosOid(MechOid.krb5) && !isKerberosOid(MechOid.ntlm));
});

test('NegTokenInit: the Windows-style MechTypeList DER of the checklist, framed token bytes', () => {
  const { token, mechTypesDer } = encodeNegTokenInit({ mechTypes: ['ms-krb5', 'krb5', 'negoex', 'ntlm'] });
  assert.equal(toHex(mechTypesDer), WINDOWS_LIST);
  // 60 len 06 06 2b0601050502 a0 len 30 len a0 len <list>
  const body = `a030${WINDOWS_LIST}`;
  const seq = `30${(body.length / 2).toString(16)}${body}`;
  const choice = `a0${(seq.length / 2).toString(16)}${seq}`;
  assert.equal(toHex(token), `60${(8 + choice.length / 2).toString(16)}06062b0601050502${choice}`);
  const d = decodeNegTokenInit(token);
  assert.deepEqual(d.mechTypes, [MechOid['ms-krb5'], MechOid.krb5, MechOid.negoex, MechOid.ntlm]);
  assert.equal(toHex(d.mechTypesDer), WINDOWS_LIST);
  assert.equal(d.framed, true);
  assert.equal(d.reqFlags, undefined);
  assert.equal(toHex(encodeMechTypeList(['ms-krb5', 'krb5', 'negoex', 'ntlm'])), WINDOWS_LIST);
});

test('NegTokenInit: mechToken, [3] mechListMIC, reqFlags, unknown OIDs kept, unframed', () => {
  const mt = Uint8Array.of(1, 2, 3);
  const mic = Uint8Array.of(9, 9);
  const { token, mechTypesDer } = encodeNegTokenInit(
    { mechTypes: ['krb5', '1.2.3.4.5'], mechToken: mt, mechListMIC: mic, reqFlags: makeContextFlags(['mutualFlag', 'integFlag']) },
    { framed: false },
  );
  assert.equal(token[0], 0xa0);
  // reqFlags as a DER named bit list: bits 1 and 6 -> 03 02 01 42
  assert.ok(toHex(token).includes('a104030201 42'.replace(' ', '')));
  const d = decodeNegotiationToken(token);
  assert.equal(d.kind, 'init');
  if (d.kind !== 'init') return;
  assert.equal(d.framed, false);
  assert.deepEqual(d.mechTypes, [MechOid.krb5, '1.2.3.4.5']);
  assert.deepEqual(d.mechTypesDer, mechTypesDer);
  assert.deepEqual(d.mechToken, mt);
  assert.deepEqual(d.mechListMIC, mic);
  assert.equal(d.reqFlags, 0x42000000);
  assert.equal(toHex(encodeNegTokenInit({ ...d, reqFlags: d.reqFlags }, { framed: false }).token), toHex(token));
});

test('the received MechTypeList bytes are kept exactly (no re-encoding)', () => {
  // A list whose OID uses a leading-zero-free but unusual (unknown) arc; DER is kept verbatim.
  const list = '3016' + '0609' + '2a864886f712010202' + '0609' + '2b0601040182370a0a';
  const init = fromHex(`a01c301aa018${list}`);
  const d = decodeNegTokenInit(init);
  assert.equal(toHex(d.mechTypesDer), list);
  assert.deepEqual(d.mechTypes, [MechOid.krb5, '1.3.6.1.4.1.311.10.10']);
  assert.equal(d.mechTypesDer.buffer, init.buffer, 'a view of the input, not a copy re-encoded');
});

test('NegTokenInit2: MIT hint token decodes and our default encoding is byte-identical', () => {
  const mit = fromHex(mitSpnego.negTokenInit2.hex);
  const d = decodeNegotiationToken(mit);
  assert.equal(d.kind, 'init2');
  if (d.kind !== 'init2') return;
  assert.deepEqual(d.mechTypes, [MechOid.krb5]);
  assert.deepEqual(d.negHints, { hintName: NEG_HINTS_NAME });
  assert.equal(d.framed, true);
  const ours = encodeNegTokenInit2({ mechTypes: ['krb5'] });
  assert.equal(toHex(ours.token), mitSpnego.negTokenInit2.hex);
  assert.equal(toHex(ours.mechTypesDer), toHex(d.mechTypesDer!));
  // The hint itself: A3 len 30 len A0 len 1B len "not_defined_in_RFC4178@please_ignore"
  assert.ok(mitSpnego.negTokenInit2.hex.endsWith('a32a3028a0261b24' + toHex(new TextEncoder().encode(NEG_HINTS_NAME))));
});

test('NegTokenInit2: field [3] dispatch on the inner tag, MS mechListMIC at [4], hintAddress', () => {
  const mic = Uint8Array.of(0xaa);
  const { token } = encodeNegTokenInit2({ mechTypes: ['ntlm'], negHints: { hintName: 'x', hintAddress: Uint8Array.of(1) }, mechListMIC: mic }, { framed: false });
  const d = decodeNegotiationToken(token);
  assert.equal(d.kind, 'init2');
  if (d.kind !== 'init2') return;
  assert.deepEqual(d.negHints, { hintName: 'x', hintAddress: Uint8Array.of(1) });
  assert.deepEqual(d.mechListMIC, mic);
  // without hints (negHints: null) and with a [4] MIC it is still a NegTokenInit2
  const noHints = decodeNegotiationToken(encodeNegTokenInit2({ mechTypes: ['krb5'], negHints: null, mechListMIC: mic }).token);
  assert.equal(noHints.kind, 'init2');
  // [3] OCTET STRING is the RFC 4178 mechListMIC of a NegTokenInit
  const rfc = decodeNegotiationToken(encodeNegTokenInit({ mechTypes: ['krb5'], mechListMIC: mic }).token);
  assert.equal(rfc.kind, 'init');
  // [3] OCTET STRING and [4] together, or [3] of another type, are errors
  assert.throws(() => decodeNegotiationToken(fromHex('a0153013a00d300b06092a864886f712010202a302 0500'.replace(' ', ''))), DecodeError);
  assert.throws(() => decodeNegotiationToken(fromHex('a01b3019a00d300b06092a864886f712010202a3030401aaa4030401bb')), DecodeError);
  // mechTypes absent: NegTokenInit2 only; then [3] must be NegHints
  assert.deepEqual(decodeNegotiationToken(fromHex('a0063004a3023000')), { kind: 'init2', negHints: {}, framed: false });
  assert.throws(() => decodeNegotiationToken(fromHex('a0073005a3030401aa')), DecodeError);
  assert.throws(() => decodeNegTokenInit(token), DecodeError);
});

test('NegTokenResp: negState as A0 03 0A 01 0n, empty responseToken omitted, exact bytes', () => {
  for (const s of [0, 1, 2, 3]) assert.equal(toHex(encodeNegTokenResp({ negState: s })), `a1073005a0030a010${s}`);
  assert.equal(toHex(encodeNegTokenResp({ negState: NegState.acceptCompleted, responseToken: new Uint8Array(0) })), 'a1073005a0030a0100');
  // MIT's request-mic reply, captured
  assert.equal(toHex(encodeNegTokenResp({ negState: NegState.requestMic, supportedMech: 'krb5' })), 'a1143012a0030a0103a10b06092a864886f712010202');
  const full = encodeNegTokenResp({ negState: 1, supportedMech: MechOid.krb5, responseToken: Uint8Array.of(5), mechListMIC: Uint8Array.of(6) });
  assert.equal(toHex(full), 'a11e301ca0030a0101a10b06092a864886f712010202a2030401 05a303040106'.replace(' ', ''));
  assert.deepEqual(decodeNegTokenResp(full), { negState: 1, supportedMech: MechOid.krb5, responseToken: Uint8Array.of(5), mechListMIC: Uint8Array.of(6), framed: false });
  assert.throws(() => encodeNegTokenResp({ negState: 4 }), UsageError);
  assert.equal(negStateName(3), 'request-mic');
});

test('NegTokenResp: absent negState is reported, framed NegTokenResp (old Sun) accepted', () => {
  const bare = encodeNegTokenResp({ responseToken: Uint8Array.of(1, 2) });
  const d = decodeNegTokenResp(bare);
  assert.equal(d.negState, undefined);
  assert.ok(!('negState' in d));
  const framed = encodeNegTokenResp({ negState: 0 }, { framed: true });
  assert.equal(toHex(framed), '601106062b0601050502a1073005a0030a0100');
  assert.deepEqual(decodeNegotiationToken(framed), { kind: 'resp', negState: 0, framed: true });
  assert.deepEqual(decodeNegotiationToken(frameToken(MechOid.spnego, bare)), { kind: 'resp', responseToken: Uint8Array.of(1, 2), framed: true });
});

test('NegTokenResp: bad negState values and encodings are rejected', () => {
  assert.throws(() => decodeNegotiationToken(fromHex('a1073005a0030a0104')), (e: unknown) => e instanceof DecodeError && e.field === 'NegTokenResp.negState');
  assert.throws(() => decodeNegotiationToken(fromHex('a1083006a0040a020001')), DecodeError); // non-minimal ENUMERATED
  assert.throws(() => decodeNegotiationToken(fromHex('a1073005a003020100')), DecodeError); // INTEGER, not ENUMERATED
  assert.throws(() => decodeNegotiationToken(fromHex('a1073005a1030a0100')), DecodeError); // negState at [1]
  assert.throws(() => decodeNegotiationToken(fromHex('a10c300aa0030a0100a0030a0100')), DecodeError); // repeated
});

test('every MIT SPNEGO token of the captured sessions decodes; the manual list DER is kept exactly', () => {
  let n = 0;
  for (const s of mitSpnego.sessions) {
    for (const [i, t] of s.tokens.entries()) {
      const d = decodeNegotiationToken(fromHex(t.hex));
      assert.equal(d.kind, i === 0 ? 'init' : 'resp', `${s.what} token ${i}`);
      assert.equal(d.framed, i === 0);
      n++;
    }
    if (s.mechTypesDer) assert.equal(toHex(decodeNegTokenInit(fromHex(s.tokens[0]!.hex)).mechTypesDer), s.mechTypesDer);
  }
  assert.ok(n >= 9);
  const s3 = mitSpnego.sessions[2]!;
  const first = decodeNegTokenResp(fromHex(s3.tokens[1]!.hex));
  assert.equal(first.negState, NegState.requestMic);
  const last = decodeNegTokenResp(fromHex(s3.tokens[4]!.hex));
  assert.equal(last.negState, undefined);
  assert.ok(last.mechListMIC && last.mechListMIC.length === 28);
  // Tokens we build from the decoded values are byte-identical to MIT's.
  for (const t of [s3.tokens[1]!, s3.tokens[2]!, s3.tokens[3]!, s3.tokens[4]!]) {
    const d = decodeNegTokenResp(fromHex(t.hex));
    assert.equal(toHex(encodeNegTokenResp(d)), t.hex);
  }
  const i0 = decodeNegTokenInit(fromHex(s3.tokens[0]!.hex));
  assert.equal(toHex(encodeNegTokenInit(i0).token), s3.tokens[0]!.hex);
});

test('framing: other mechanism OIDs and garbage are DecodeErrors', () => {
  const krb = frameToken(MechOid.krb5, fromHex('a1073005a0030a0100'));
  assert.throws(() => decodeNegotiationToken(krb), (e: unknown) => e instanceof DecodeError && /not SPNEGO/.test(e.message));
  assert.throws(() => decodeNegotiationToken(new Uint8Array(0)), DecodeError);
  assert.throws(() => decodeNegotiationToken(fromHex('a2073005a0030a0100')), DecodeError);
  assert.throws(() => decodeNegotiationToken(fromHex('a00430003000')), DecodeError); // two values in the CHOICE
  assert.throws(() => decodeNegotiationToken(fromHex('a0053003a00130')), DecodeError);
});

test('every decoder rejects truncated, trailing, non-minimal and indefinite encodings', () => {
  const samples = [
    encodeNegTokenInit({ mechTypes: ['ms-krb5', 'krb5', 'negoex', 'ntlm'], mechToken: new Uint8Array(200).fill(7), mechListMIC: Uint8Array.of(1) }).token,
    encodeNegTokenInit2({ mechTypes: ['krb5'] }).token,
    encodeNegTokenResp({ negState: 1, supportedMech: 'krb5', responseToken: new Uint8Array(130).fill(1), mechListMIC: Uint8Array.of(2) }),
    encodeNegTokenResp({ negState: 0 }, { framed: true }),
    ...mitSpnego.sessions[2]!.tokens.map((t) => fromHex(t.hex)),
  ];
  for (const der of samples) {
    const variants = [...truncationsAndTrailing(der), ...lengthVariants(der)];
    for (const { what, bytes } of variants)
      assert.throws(() => decodeNegotiationToken(bytes), DecodeError, `${toHex(der).slice(0, 20)}: ${what} was accepted`);
  }
});
