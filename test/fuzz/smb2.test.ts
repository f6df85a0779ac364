// Fuzz (SPNEGO_FUZZ_RUNS inputs each, fixed seed): every SMB2 decoder and the Direct TCP frame
// reader. Only typed errors (DecodeError) may come out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fuzzDecoder, FUZZ_RUNS } from '../asn1/fuzz-inputs.js';
import {
  Command, FrameReader, HEADER_SIZE, decodeEmptyResponse, decodeErrorResponse, decodeHeader, decodeNegotiateResponse,
  decodePreauthContext, decodeSessionSetupResponse, decodeSigningContext, decodeTreeConnectResponse, encodeHeader, frame,
} from '../../lib/smb2/index.js';
import { DecodeError } from '../../lib/errors.js';

const resp = (command: number, body: Uint8Array, status = 0) => {
  const h = encodeHeader({ command, messageId: 1n, sessionId: 7n, flags: 1 });
  new DataView(h.buffer).setUint32(8, status, true);
  const m = new Uint8Array(HEADER_SIZE + body.length);
  m.set(h);
  m.set(body, HEADER_SIZE);
  return m;
};
const le = (...v: [number, number][]) => { const out: number[] = []; for (const [n, size] of v) for (let i = 0; i < size; i++) out.push(Math.floor(n / 2 ** (8 * i)) & 0xff); return Uint8Array.from(out); };
const cat = (...p: Uint8Array[]) => Uint8Array.from(p.flatMap((x) => [...x]));

const token = Uint8Array.of(0x60, 0x06, 0x06, 0x04, 1, 2, 3, 4);
const preauth = cat(le([1, 2], [4, 2], [1, 2]), Uint8Array.of(9, 9, 9, 9));
const negBody = cat(le([65, 2], [3, 2], [0x311, 2], [2, 2]), new Uint8Array(16), le([0x2f, 4], [65536, 4], [65536, 4], [65536, 4]), new Uint8Array(16),
  le([128, 2], [token.length, 2], [136, 4]), token, le([1, 2], [preauth.length, 2], [0, 4]), preauth, new Uint8Array(2), le([8, 2], [4, 2], [0, 4]), le([1, 2], [1, 2]));
const samples = {
  negotiate: [resp(Command.NEGOTIATE, negBody)],
  sessionSetup: [resp(Command.SESSION_SETUP, cat(le([9, 2], [0, 2], [72, 2], [token.length, 2]), token)), resp(Command.SESSION_SETUP, le([9, 2], [0, 2], [0, 2], [0, 2]))],
  tree: [resp(Command.TREE_CONNECT, cat(le([16, 2]), Uint8Array.of(2, 0), le([0, 4], [0, 4], [0x1f01ff, 4])))],
  empty: [resp(Command.LOGOFF, le([4, 2], [0, 2]))],
  error: [resp(Command.TREE_CONNECT, cat(le([9, 2], [0, 1], [0, 1], [4, 4]), Uint8Array.of(1, 2, 3, 4)), 0xc0000022)],
};

function onlyDecodeErrors(name: string, decode: (b: Uint8Array) => unknown, s: Uint8Array[]) {
  test(`fuzz ${name}: ${FUZZ_RUNS} inputs, only DecodeError`, { timeout: 300_000 }, () => {
    for (const m of s) decode(m);
    const r = fuzzDecoder(s, (b) => {
      try {
        return decode(b);
      } catch (e) {
        // fuzzDecoder takes any SpnegoError: anything but a DecodeError fails it here
        if (!(e instanceof DecodeError)) throw new Error(`${name}: not a DecodeError: ${String(e)}`);
        throw e;
      }
    });
    assert.ok(r.rejected > 0 && r.accepted > 0, `${name}: ${r.accepted} accepted, ${r.rejected} rejected`);
  });
}

onlyDecodeErrors('decodeHeader', decodeHeader, Object.values(samples).flat());
onlyDecodeErrors('decodeNegotiateResponse', decodeNegotiateResponse, samples.negotiate);
onlyDecodeErrors('decodePreauthContext', decodePreauthContext, [preauth]);
onlyDecodeErrors('decodeSigningContext', decodeSigningContext, [le([1, 2], [1, 2]), le([2, 2], [1, 2], [0, 2])]);
onlyDecodeErrors('decodeSessionSetupResponse', decodeSessionSetupResponse, samples.sessionSetup);
onlyDecodeErrors('decodeTreeConnectResponse', decodeTreeConnectResponse, samples.tree);
onlyDecodeErrors('decodeEmptyResponse', (b) => decodeEmptyResponse('LOGOFF', b), samples.empty);
onlyDecodeErrors('decodeErrorResponse', decodeErrorResponse, samples.error);
onlyDecodeErrors('FrameReader.push (split at random points)', (b) => {
  const r = new FrameReader(4096);
  const cut = b.length >> 1;
  return [...r.push(b.subarray(0, cut)), ...r.push(b.subarray(cut))];
}, [...Object.values(samples).flat().map(frame), cat(...samples.empty.map(frame), ...samples.tree.map(frame))]);

test('FrameReader refuses an oversize frame before buffering it, and a non-zero first byte', () => {
  assert.throws(() => new FrameReader(1024).push(Uint8Array.of(0, 0, 0x10, 0)), DecodeError);
  assert.throws(() => new FrameReader().push(Uint8Array.of(0x85, 0, 0, 0)), DecodeError);
  assert.deepEqual(new FrameReader().push(frame(samples.empty[0]!)).map((m) => m.length), [samples.empty[0]!.length]);
});
