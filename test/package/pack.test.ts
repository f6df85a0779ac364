// What users install: `npm pack`, then `npm install <tarball>` in an empty project (offline, from the
// npm cache `npm ci` filled). The install builds (or finds) the addon and never fails; require and
// import load it; the `spnego` bin runs the demo. The tarball carries the addon's sources and the
// install hook, not the tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nativeInfo } from '../../lib/native/index.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

test('npm pack + npm install in a fresh project: addon built or explained, require/import/bin work', { timeout: 600_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, maxBuffer: 64 << 20 }); // dist/ is built by npm test; rebuilding it here would race the other test files
    const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const want of ['binding.gyp', 'native/addon.cc', 'native/gss/context.cc', 'native/sspi/context.cc', 'scripts/install.mjs', 'dist/esm/index.js', 'dist/cjs/index.js', 'bin/spnego.mjs']) {
      assert.ok(files.includes(want), `the tarball has ${want}`);
    }
    assert.ok(!files.some((f) => f.startsWith('test/')), 'no tests in the tarball');
    const app = join(dir, 'app');
    await run('mkdir', ['-p', app]);
    writeFileSync(join(app, 'package.json'), '{ "name": "app", "private": true }\n');
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund', join(dir, packed[0]!.filename)], { cwd: app, maxBuffer: 64 << 20 });
    const cjs = JSON.parse((await run(process.execPath, ['-e', "console.log(JSON.stringify(require('spnego').nativeInfo()))"], { cwd: app })).stdout);
    const esm = JSON.parse((await run(process.execPath, ['--input-type=module', '-e', "import { nativeInfo } from 'spnego'; console.log(JSON.stringify(nativeInfo()))"], { cwd: app })).stdout);
    assert.equal(cjs.loaded, nativeInfo().loaded, `installed copy: ${cjs.error ?? cjs.library}`);
    assert.deepEqual(esm, cjs);
    if (!cjs.loaded) assert.match(cjs.error, /not built|install/i);
    const env = { ...process.env };
    for (const k of ['KRB5_CONFIG', 'KRB5CCNAME', 'KRB5_KTNAME']) delete env[k];
    const demo = await run(join(app, 'node_modules', '.bin', 'spnego'), ['demo', '--brief'], { cwd: app, maxBuffer: 64 << 20, env });
    assert.match(demo.stdout, /^OK: /m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
