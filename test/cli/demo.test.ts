// `spnego demo` (the README's main job) and `spnego compare`: run as a user runs them, through
// bin/spnego.mjs and the built package; the exit status says whether native and pure agree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { needNative, needPeer, notHere, startPeer } from '../peers/harness.js';
import { micTable, pairingOk, type PairingResult } from '../../lib/cli/pairings.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
function cli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const clean = { ...process.env };
  for (const k of ['KRB5_CONFIG', 'KRB5CCNAME', 'KRB5_KTNAME']) delete clean[k];
  return spawnSync(process.execPath, [join(root, 'bin/spnego.mjs'), ...args], { encoding: 'utf8', env: { ...clean, ...env }, timeout: 120_000 });
}

test('spnego demo: every pairing completes, both mechListMICs of each equal their pure recomputation, exit 0', async (t) => {
  const r = cli(['demo']);
  assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr);
  assert.match(r.stdout, /embedded KDC for SPNEGO\.DEMO on 127\.0\.0\.1:\d+/);
  assert.match(r.stdout, /1\. client -> server: NegTokenInit/);
  assert.match(r.stdout, /"mech-list-mic": \{\s+"type": "MIC token \(RFC 4121 4\.2\.6\.1\)"/, 'tokens are printed decoded, the MICs in them');
  assert.match(r.stdout, /the acceptor unwraps: "GET \/reports\/q3 HTTP\/1\.1"/);
  const rows = r.stdout.split('\n').filter((l) => /^(native|pure) -> (native|pure) /.test(l));
  if (await needNative(t, 'mit')) {
    assert.equal(rows.length, 8, 'four pairings, two MICs each');
    for (const pair of ['native -> native', 'native -> pure', 'pure -> native', 'pure -> pure']) assert.ok(rows.some((l) => l.startsWith(pair)), pair);
  }
  for (const row of rows) assert.match(row, /\(same bytes\)\s+yes\s/, row);
  // NTLM: pure -> pure always (the suite's GSS_MECH_CONFIG keeps gss-ntlmssp out of MIT: no native NTLM pairing here).
  const ntlmRows = r.stdout.split('\n').filter((l) => /^NTLM (native|pure) -> (native|pure) /.test(l));
  assert.ok(ntlmRows.filter((l) => l.startsWith('NTLM pure -> pure')).length === 2, ntlmRows.join('\n'));
  for (const row of ntlmRows) assert.match(row, /^NTLM \w+ -> \w+\s+(acceptor|initiator) \(\w+\)\s+01000000[0-9a-f]{16}00000000\s+\(same bytes\)\s+yes\s/, row);
  assert.match(r.stdout, /NegTokenInit listing NTLM alone/);
  assert.match(r.stdout, /^OK: /m);
});

test('spnego demo with gss-ntlmssp in MIT\'s mechglue: the four NTLM pairings, every NTLM mechListMIC recomputed', async (t) => {
  const { existsSync } = await import('node:fs');
  const conf = '/etc/gss/mech.d/mech.ntlmssp.conf';
  if (!existsSync(conf)) {
    return void notHere(t, `gss-ntlmssp is not installed (no ${conf})`);
  }
  if (!(await needNative(t, 'mit'))) return;
  const r = cli(['demo', '--brief'], { GSS_MECH_CONFIG: conf });
  assert.equal(r.status, 0, r.stdout.slice(-3000) + r.stderr);
  const ntlmRows = r.stdout.split('\n').filter((l) => /^NTLM (native|pure) -> (native|pure) /.test(l));
  assert.equal(ntlmRows.length, 8, ntlmRows.join('\n'));
  for (const pair of ['native -> native', 'native -> pure', 'pure -> native', 'pure -> pure']) assert.equal(ntlmRows.filter((l) => l.startsWith(`NTLM ${pair} `)).length, 2, pair);
  for (const row of ntlmRows) assert.match(row, /\(same bytes\)\s+yes\s/, row);
});

test('spnego demo with the test fault SPNEGO_DEMO_FAULT=mic-byte: each acceptor MIC row says NO at its last (checksum) byte, exit 1', async (t) => {
  // The fault flips the last byte of the acceptor's mechListMIC as its info reports it; the demo's
  // own recompute -> table -> verdict path must catch it (the same run without the fault says yes, exit 0: above).
  const r = cli(['demo', '--brief'], { SPNEGO_DEMO_FAULT: 'mic-byte' });
  assert.equal(r.status, 1, r.stdout.slice(-3000) + r.stderr);
  assert.match(r.stdout, /^TEST FAULT INJECTION \(SPNEGO_DEMO_FAULT=mic-byte\)/m);
  const rows = r.stdout.split('\n').filter((l) => /^(native|pure) -> (native|pure) /.test(l));
  assert.equal(rows.length, (await needNative(t, 'mit')) ? 8 : 2, rows.join('\n'));
  for (const row of rows) {
    const m = /^(\w+ -> \w+)\s+(acceptor|initiator) \((?:native|pure)\)\s+([0-9a-f]+)\s+(\(same bytes\)|[0-9a-f]+)\s+(yes|NO, first difference at byte (\d+))\s/.exec(row);
    assert.ok(m, row);
    const [, pairing, from, sent, recomputed, verdict, at] = m;
    if (from === 'initiator') {
      assert.equal(recomputed, '(same bytes)', row);
      assert.equal(verdict, 'yes', row);
      continue;
    }
    const last = sent!.length / 2 - 1;
    assert.equal(Number(at), last, `${row}: the flipped byte is the last one`);
    assert.equal(recomputed!.length, sent!.length);
    assert.equal(recomputed!.slice(0, -2), sent!.slice(0, -2), 'only the flipped byte differs');
    assert.equal(parseInt(recomputed!.slice(-2), 16), parseInt(sent!.slice(-2), 16) ^ 1);
    // and the detail block shows both strings with the byte marked
    assert.ok(r.stdout.includes(`${pairing}, mechListMIC from the acceptor`), pairing);
    assert.ok(r.stdout.includes(`  sent        ${sent}\n  recomputed  ${recomputed}\n              ${' '.repeat(2 * last)}^^`), pairing);
  }
  assert.match(r.stdout, /^MISMATCH: /m);
  assert.doesNotMatch(r.stdout, /^OK: /m);
});

test('spnego demo refuses an unknown SPNEGO_DEMO_FAULT instead of running a real-looking demo', () => {
  const r = cli(['demo'], { SPNEGO_DEMO_FAULT: '1' });
  assert.equal(r.status, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /SPNEGO_DEMO_FAULT="1" is not a known test fault \(only mic-byte\); unset it/);
});

test('spnego demo without the native backend runs pure only and says why', () => {
  const r = cli(['demo', '--brief'], { SPNEGO_DISABLE_NATIVE: '1' });
  assert.equal(r.status, 0, r.stdout.slice(-2000) + r.stderr);
  assert.match(r.stdout, /native backend absent, running pure only: .*SPNEGO_DISABLE_NATIVE=1/);
  assert.equal(r.stdout.split('\n').filter((l) => /^pure -> pure /.test(l)).length, 2);
});

test('the MIC table and the verdict catch a mismatch and a missing MIC', () => {
  const mic = Uint8Array.of(4, 4, 5, 0xff, 1, 2, 3);
  const good: PairingResult = {
    initiator: 'pure', acceptor: 'native', tokens: [], sessionKeysEqual: true, unwrapped: 'GET /reports/q3 HTTP/1.1',
    mics: [
      { from: 'acceptor', backend: 'native', bytes: mic, recomputed: mic, equal: true, firstDifference: -1, verifiedBy: 'pure' },
      { from: 'initiator', backend: 'pure', bytes: mic, recomputed: mic, equal: true, firstDifference: -1, verifiedBy: 'native' },
    ],
  };
  assert.equal(pairingOk(good), true);
  const bad = { ...good, mics: [good.mics[0]!, { ...good.mics[1]!, recomputed: Uint8Array.of(9), equal: false, firstDifference: 0 }] };
  assert.equal(pairingOk(bad), false);
  assert.match(micTable([bad]), /initiator \(pure\)\s+04040[0-9a-f]+\s+09\s+NO, first difference at byte 0/);
  assert.equal(pairingOk({ ...good, mics: [good.mics[0]!] }), false);
  assert.equal(pairingOk({ ...good, error: 'x' }), false);
});

test('spnego compare against MIT: the user realm, ccache and keytab; every pairing agrees', async (t) => {
  if (!needPeer(t, 'mit-kdc')) return;
  const kdc = startPeer('mit-kdc');
  try {
    const e = kdc.env;
    const env = { KRB5_CONFIG: e.KRB5_CONFIG!, KRB5CCNAME: e.KRB5CCNAME!, KRB5RCACHEDIR: e.KRB5RCACHEDIR! };
    const r = cli(['compare', '--target', e.MITKDC_SERVICE_HOSTBASED!, '--keytab', e.KRB5_KTNAME!, '--krb5-config', e.KRB5_CONFIG!], env);
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^OK: \d pairing/m);
    const bad = cli(['compare', '--target', `HTTP/nowhere.example.test@${e.MITKDC_REALM}`, '--keytab', e.KRB5_KTNAME!, '--krb5-config', e.KRB5_CONFIG!], env);
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /FAILED: .*(S_PRINCIPAL_UNKNOWN|not found)/);
    const usage = cli(['compare']);
    assert.equal(usage.status, 1);
    assert.equal(usage.stderr.trim(), 'spnego compare: --target is required (e.g. HTTP@web.example.test)');
  } finally {
    kdc.stop();
  }
});
