// The pure MIC code against MIT: MIT's SPNEGO makes a mechListMIC in each direction when krb5 is
// not the first mech offered (request-mic flow, 5 tokens). We take the session key MIT reports
// (GSS_C_INQ_SSPI_SESSION_KEY) and recompute both MICs over the MechTypeList DER: the bytes must
// be equal. For aes256-sha1, aes-sha2 and rc4 (RFC 4757 token format).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needPeer, startPeer, type RunningPeer } from '../peers/harness.js';
import { decodeNegotiationToken } from '../../lib/spnego/codec.js';
import { readMicHeader, verifyMic } from '../../lib/krb5/gss/mic.js';
import { checkMic } from '../../lib/cli/pairings.js';
import { fromHex, toHex } from '../../lib/util/bytes.js';
import { GssError } from '../../lib/errors.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const PY_GSSAPI = '/usr/lib/python3/dist-packages/gssapi';

function mitSession(kdc: RunningPeer, extraEnv: Record<string, string>, args: string[]) {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-mit-'));
  try {
    const out = join(dir, 'rec.json');
    const r = spawnSync('/usr/bin/python3', [join(root, 'test/peers/spnego_pair.py'), '-q', '--manual-offer', '1.3.6.1.4.1.311.2.2.10,1.2.840.113554.1.2.2', '--json', out, ...args], {
      env: { ...process.env, ...kdc.env, ...extraEnv },
      encoding: 'utf8',
      timeout: 60_000,
    });
    assert.equal(r.status, 0, r.stderr.slice(-2000) + r.stdout.slice(-2000));
    return JSON.parse(readFileSync(out, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function check(rec: any, wantEnctype: number) {
  const key = { enctype: parseInt(rec.session_key.initiator.enctype, 10), keyvalue: fromHex(rec.session_key.initiator.key_hex) };
  assert.equal(key.enctype, wantEnctype);
  assert.equal(rec.session_key.acceptor.key_hex, rec.session_key.initiator.key_hex);
  const toks = rec.tokens.map((t: any) => ({ dir: t.dir as string, tok: decodeNegotiationToken(fromHex(t.hex)) }));
  const init = toks[0].tok;
  assert.equal(init.kind, 'init');
  const mechTypesDer = (init as { mechTypesDer: Uint8Array }).mechTypesDer;
  const mics = toks.filter((t: any) => t.tok.kind === 'resp' && t.tok.mechListMIC);
  assert.equal(mics.length, 2, 'one mechListMIC each way');
  for (const { dir, tok } of mics) {
    const fromAcceptor = dir.startsWith('acceptor');
    const mic = tok.mechListMIC as Uint8Array;
    // recompute from the key and the header read without verifying, and compare bytes
    const c = checkMic(key, fromAcceptor, mechTypesDer, mic);
    assert.equal(toHex(c.recomputed), toHex(mic), c.note ?? `first difference at byte ${c.firstDifference}`);
    const { seqNumber: seq, acceptorSubkey } = readMicHeader(mic, key);
    assert.equal(acceptorSubkey, key.enctype !== 23, 'MIT signs with the acceptor subkey (RFC 4757 has no flag)');
    // and `spnego mic` prints the same bytes
    const args = ['mic', '--enctype', String(key.enctype), '--key', toHex(key.keyvalue), '--seq', String(seq), '--acceptor-subkey', ...(fromAcceptor ? ['--acceptor'] : []), toHex(mechTypesDer)];
    const r = spawnSync(process.execPath, [join(root, 'bin/spnego.mjs'), ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), toHex(mic));
    // one changed byte of the mech list (a MITM edit) makes it fail, and the recomputation differ
    const edited = Uint8Array.from(mechTypesDer);
    edited[edited.length - 1]! ^= 1;
    assert.throws(() => verifyMic({ key, fromAcceptor, acceptorSubkey: true }, edited, mic), GssError);
    assert.equal(checkMic(key, fromAcceptor, edited, mic).equal, false);
  }
}

test('MIT mechListMICs recomputed byte for byte: aes256-cts-hmac-sha1-96', (t) => {
  if (!needPeer(t, 'mit-kdc', [PY_GSSAPI])) return;
  const kdc = startPeer('mit-kdc');
  try {
    check(mitSession(kdc, {}, []), 18);
  } finally {
    kdc.stop();
  }
});

test('MIT mechListMICs recomputed byte for byte: aes-sha2 and rc4-hmac', (t) => {
  if (!needPeer(t, 'mit-kdc', [PY_GSSAPI])) return;
  const kdc = startPeer('mit-kdc');
  try {
    const e = kdc.env;
    check(mitSession(kdc, { KRB5_CONFIG: e.MITKDC_KRB5_CONFIG_SHA2_ONLY!, KRB5CCNAME: e.MITKDC_CCACHE_SHA2! }, ['--spn', e.MITKDC_SERVICE_SHA2!]), 20);
    check(mitSession(kdc, { KRB5_CONFIG: e.MITKDC_KRB5_CONFIG_RC4_ONLY!, KRB5CCNAME: e.MITKDC_CCACHE_RC4! }, ['--spn', e.MITKDC_SERVICE_RC4!]), 23);
  } finally {
    kdc.stop();
  }
});
