// Fuzz: every RFC 4120 decoder (and the dispatchers) gets SPNEGO_FUZZ_RUNS random and mutated
// inputs with a fixed seed; only SpnegoError subclasses may come out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as a from '../../lib/krb5/asn1/index.js';
import { codecs, validInputs } from '../asn1/samples.js';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';

const valid = validInputs();
const messageNames = ['Ticket', 'Authenticator', 'EncTicketPart', 'AS-REQ', 'AS-REP', 'TGS-REQ', 'TGS-REP', 'AP-REQ', 'AP-REP', 'KRB-CRED', 'EncASRepPart', 'EncTGSRepPart', 'EncAPRepPart', 'EncKrbCredPart', 'KRB-ERROR'];
const allMessages = messageNames.flatMap((n) => valid.get(n)!);

/** KDC-REQ decoders also return the req-body bytes as received; compare values without them. */
function withoutRaw(v: unknown): unknown {
  if (v && typeof v === 'object' && 'reqBodyDer' in v) {
    const { reqBodyDer: _raw, ...rest } = v as Record<string, unknown>;
    return rest;
  }
  return v;
}

const targets: { name: string; decode: (b: Uint8Array) => unknown; samples: Uint8Array[] }[] = [
  // Whatever a decoder accepts must re-encode to DER that decodes to the same value.
  ...codecs.map((c) => ({
    name: c.name,
    samples: valid.get(c.name)!,
    decode: (b: Uint8Array) => {
      const v = withoutRaw(c.decode(b));
      assert.deepEqual(withoutRaw(c.decode(c.encode(v))), v);
      return v;
    },
  })),
  { name: 'decodeKrb5Message', decode: a.decodeKrb5Message, samples: allMessages },
  { name: 'decodeEncKdcRepPart', decode: a.decodeEncKdcRepPart, samples: [...valid.get('EncASRepPart')!, ...valid.get('EncTGSRepPart')!] },
  { name: 'findWin2kPac(decodeAuthorizationData)', decode: (b) => a.findWin2kPac(a.decodeAuthorizationData(b)), samples: valid.get('AuthorizationData')! },
];

for (const t of targets) {
  test(`fuzz ${t.name}: ${FUZZ_RUNS} inputs, only typed errors`, { timeout: 120_000 }, () => {
    // the samples themselves decode
    for (const s of t.samples) t.decode(s);
    const r = fuzzDecoder(t.samples, t.decode);
    assert.equal(r.accepted + r.rejected, FUZZ_RUNS);
    assert.ok(r.rejected > 0);
  });
}
