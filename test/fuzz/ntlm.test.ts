// Fuzz: every NTLM decoder (MS-NLMP 2.2) and the acceptor fed SPNEGO_FUZZ_RUNS seeded random and
// mutated inputs: only typed errors come out, and a mutated AUTHENTICATE never authenticates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';
import { describeToken } from '../../lib/cli/describe.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { fromHex, utf8 } from '../../lib/util/bytes.js';
import { SpnegoError } from '../../lib/errors.js';
import {
  decodeAuthenticate, decodeAvPairs, decodeChallenge, decodeNegotiate, decodeNtlmMessage, decodeNtlmV2Response,
  NtlmAcceptor, NtlmInitiator, parseNtlmUserFile, userStoreFromFile,
} from '../../lib/ntlm/index.js';

const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/ntlm-vectors.json', import.meta.url)), 'utf8'));
const store = userStoreFromFile('EXAMPLE:alice:pw\n');
const fixedChallenge = fromHex('1122334455667788');
const t0 = Date.now();
const acceptor = () => new NtlmAcceptor({
  userStore: store, serverChallenge: fixedChallenge, replayCache: new MemoryReplayCache(), now: () => t0,
  netbiosComputerName: 'HOST', dnsComputerName: 'host.example', targetName: 'HTTP/host.example',
});
const ini = new NtlmInitiator({ credentials: { principal: 'alice@EXAMPLE', password: 'pw' }, targetName: 'HTTP/host.example', now: () => t0 });
const negotiate = ini.step();
const acc0 = acceptor();
const challenge = (await acc0.step(negotiate))!;
const authenticate = ini.step(challenge);
await acc0.step(authenticate); // the sample authenticates
const ntResponse = decodeAuthenticate(authenticate).ntChallengeResponse;
const samples = [negotiate, challenge, authenticate, fromHex(fx.ntlmv2_4_2_4.challengeMessage_4_2_4_3)];

const decoders: [string, (b: Uint8Array) => unknown, Uint8Array[]][] = [
  ['decodeNegotiate', decodeNegotiate, samples],
  ['decodeChallenge', decodeChallenge, samples],
  ['decodeAuthenticate', decodeAuthenticate, samples],
  ['decodeNtlmMessage', decodeNtlmMessage, samples],
  ['decodeNtlmV2Response', decodeNtlmV2Response, [ntResponse]],
  ['decodeAvPairs', (b) => decodeAvPairs(b), [ntResponse.subarray(44), decodeChallenge(challenge).targetInfo]],
  ['describeToken (spnego decode)', (b) => JSON.stringify(describeToken(b)), samples],
  ['parseNtlmUserFile', (b) => parseNtlmUserFile(Buffer.from(b).toString('latin1')),
    [utf8.encode('EXAMPLE:alice:pw\nbob:1000:XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX:0123456789ABCDEF0123456789ABCDEF:[U ]:LCT-00000000:\n')]],
];

for (const [name, decode, s] of decoders) {
  test(`${name}: typed errors only`, () => {
    const r = fuzzDecoder(s, decode);
    assert.ok(r.accepted > 0 && r.rejected > 0, JSON.stringify(r));
  });
}

test('acceptor: a mutated AUTHENTICATE gives typed errors only and never authenticates', async () => {
  let forged = 0;
  const inputs: Uint8Array[] = [];
  // fuzzDecoder is synchronous: collect the inputs, then run them through fresh acceptors.
  fuzzDecoder([authenticate], (b) => { inputs.push(b); }, Math.min(FUZZ_RUNS, 20000));
  for (const b of inputs) {
    const acc = acceptor();
    await acc.step(negotiate);
    try {
      await acc.step(b);
      // The MIC covers every byte of the AUTHENTICATE_MESSAGE but its own field; NTProofStr covers the MIC bit.
      if (Buffer.compare(b, authenticate) !== 0) forged++;
    } catch (err) {
      if (!(err instanceof SpnegoError)) throw err;
    }
  }
  assert.equal(forged, 0);
});
