// The published entry points: `require('spnego')` from CommonJS and `import 'spnego'` from ESM both
// load the built package (dist/), in a separate Node process as a user would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

function run(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

test('dist is built', () => {
  assert.ok(existsSync(`${root}/dist/esm/index.js`), 'run `npm run build` first');
  assert.ok(existsSync(`${root}/dist/cjs/index.js`));
});

test("require('spnego') works from CommonJS", () => {
  const out = run(['-e', "const s = require('spnego'); const e = new s.GssError('GSS_S_BAD_MIC', 'x'); console.log(typeof s.GssError, e instanceof s.SpnegoError, e.major, require.resolve('spnego'))"]);
  const [kind, isBase, major, resolved] = out.trim().split(' ');
  assert.equal(kind, 'function');
  assert.equal(isBase, 'true');
  assert.equal(major, 'GSS_S_BAD_MIC');
  assert.match(resolved!, /dist\/cjs\/index\.js$/);
});

test("import 'spnego' works from ESM", () => {
  const out = run(['--input-type=module', '-e', "import * as s from 'spnego'; const e = new s.KerberosError(37, 'KRB_AP_ERR_SKEW', 'clock skew too great'); console.log(typeof s.GssError, e.errorCode, import.meta.resolve('spnego'))"]);
  const [kind, code, resolved] = out.trim().split(' ');
  assert.equal(kind, 'function');
  assert.equal(code, '37');
  assert.match(resolved!, /dist\/esm\/index\.js$/);
});

test('CommonJS and ESM builds export the same names', () => {
  const cjs = run(['-e', "console.log(Object.keys(require('spnego')).sort().join(','))"]).trim();
  const esm = run(['--input-type=module', '-e', "import * as s from 'spnego'; console.log(Object.keys(s).filter(k => k !== 'default').sort().join(','))"]).trim();
  assert.equal(cjs, esm);
  assert.ok(cjs.length > 0);
});

test("'spnego/kdc' and 'spnego/pure' load from CommonJS and ESM", () => {
  const cjs = run(['-e', "console.log(typeof require('spnego/kdc').startKdc, typeof require('spnego/pure').createInitiator, typeof require('spnego').createAcceptor)"]).trim();
  assert.equal(cjs, 'function function function');
  const esm = run(['--input-type=module', '-e', "const k = await import('spnego/kdc'); const p = await import('spnego/pure'); const s = await import('spnego'); console.log(typeof k.startKdc, typeof p.createAcceptor, s.nativeInfo().loaded === true || typeof s.nativeInfo().error)"]).trim();
  assert.match(esm, /^function function (true|string)$/);
});

test("'spnego/capture' loads from CommonJS and ESM and writes a pcap", () => {
  const code = "const r = new NegotiationRecorder(); const c = require('spnego').createInitiator; console.log(typeof NegotiationRecorder, r.toPcap().length, typeof c)";
  const cjs = run(['-e', `const { NegotiationRecorder } = require('spnego/capture'); ${code}`]).trim();
  assert.equal(cjs, 'function 24 function', 'an empty recorder writes the 24-byte pcap header alone');
  const esm = run(['--input-type=module', '-e', "import { NegotiationRecorder, LINKTYPE_IPV4 } from 'spnego/capture'; console.log(typeof NegotiationRecorder, new NegotiationRecorder().toPcap().length, LINKTYPE_IPV4)"]).trim();
  assert.equal(esm, 'function 24 228');
});

test('the built package finds and loads the native addon from CommonJS and ESM alike (or says why not)', async (t) => {
  const { nativeInfo } = await import('../../lib/native/index.js');
  const fromSource = nativeInfo();
  const cjs = JSON.parse(run(['-e', "console.log(JSON.stringify(require('spnego').nativeInfo()))"]));
  const esm = JSON.parse(run(['--input-type=module', '-e', "import { nativeInfo } from 'spnego'; console.log(JSON.stringify(nativeInfo()))"]));
  assert.deepEqual(cjs, fromSource, 'CommonJS (dist/cjs/native/here.js is __dirname) sees what the source sees');
  assert.deepEqual(esm, fromSource);
  if (!fromSource.loaded) {
    assert.match(String(fromSource.error), /native|addon|build/i);
    if (process.env.SPNEGO_REQUIRE_PEERS === '1') assert.fail(`SPNEGO_REQUIRE_PEERS=1 but the addon did not load: ${fromSource.error}`);
    t.diagnostic(`native addon absent: ${fromSource.error}`);
    return;
  }
  assert.match(String(cjs.library), /^(MIT|Heimdal|GSS\.framework|SSPI)$/);
  // SPNEGO_DISABLE_NATIVE makes 'auto' choose pure and says so.
  const off = JSON.parse(execFileSync(process.execPath, ['-e', "console.log(JSON.stringify(require('spnego').nativeInfo()))"], { cwd: root, encoding: 'utf8', env: { ...process.env, SPNEGO_DISABLE_NATIVE: '1' } }));
  assert.equal(off.loaded, false);
  assert.match(off.error, /SPNEGO_DISABLE_NATIVE=1/);
});

test("'spnego/http' loads from CommonJS and ESM", () => {
  assert.equal(run(['-e', "const h = require('spnego/http'); console.log(typeof h.negotiate, typeof h.negotiateFetch)"]).trim(), 'function function');
  assert.equal(run(['--input-type=module', '-e', "const h = await import('spnego/http'); console.log(typeof h.negotiate, typeof h.authenticate)"]).trim(), 'function function');
});
