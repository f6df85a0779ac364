// What users install: `npm pack`, then `npm install <tarball>` in an empty project. The install builds
// (or finds) the addon and never fails; require and import load it; the `spnego` bin runs the demo.
// The tarball carries the addon's sources and the install hook, not the tests.
// Offline and independent of the npm cache's history: `npm ci` never caches registry metadata, so a
// plain `npm install --offline` fails with ENOTCACHED on a cold cache. The runtime dependencies come
// instead from the project's own node_modules (installed from the lockfile), packed and given to the
// fresh app as file: tarballs; npm then has nothing to resolve from the registry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { nativeInfo } from '../../lib/native/index.js';
import { createInitiator } from '../../lib/api.js';
import { startKdc } from '../../lib/kdc/index.js';
import { missingPeer, requirePeers } from '../peers/harness.js';
import { RemoteContext, startAgent, windowsNode } from '../windows/wine.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

test('npm pack + npm install in a fresh project: both prebuilds in the tarball, the linux-x64 one loaded with nothing built; require/import/bin work; node.exe under Wine loads the win32 prebuild', { timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spnego-pack-'));
  try {
    const { stdout } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: root, maxBuffer: 64 << 20 }); // dist/ is built by npm test; rebuilding it here would race the other test files
    const packed = JSON.parse(stdout.slice(stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    for (const want of ['binding.gyp', 'native/addon.cc', 'native/gss/context.cc', 'native/sspi/context.cc', 'scripts/install.mjs', 'dist/esm/index.js', 'dist/cjs/index.js', 'bin/spnego.mjs']) {
      assert.ok(files.includes(want), `the tarball has ${want}`);
    }
    assert.ok(!files.some((f) => f.startsWith('test/')), 'no tests in the tarball');
    // The win32-x64 prebuild (scripts/compile-sspi.sh; CI builds it before the tests).
    const winPrebuild = 'prebuilds/win32-x64/spnego.napi.node';
    if (existsSync(join(root, winPrebuild)) || requirePeers) assert.ok(files.includes(winPrebuild), `the tarball has ${winPrebuild}`);
    // The linux-x64 prebuild next to it (scripts/prebuilds.mjs, prebuildify --napi; CI: npm run prebuilds).
    const linuxPrebuild = 'prebuilds/linux-x64/spnego.node';
    const hasLinuxPrebuild = files.includes(linuxPrebuild);
    if (existsSync(join(root, linuxPrebuild)) || requirePeers) assert.ok(hasLinuxPrebuild, `the tarball has ${linuxPrebuild}`);
    const app = join(dir, 'app');
    mkdirSync(join(app, 'deps'), { recursive: true });
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
    const dependencies: Record<string, string> = {};
    for (const name of Object.keys(pkg.dependencies)) {
      const from = join(root, 'node_modules', name);
      const { version } = JSON.parse(readFileSync(join(from, 'package.json'), 'utf8')) as { version: string };
      assert.equal(version, lock.packages[`node_modules/${name}`]?.version, `node_modules/${name} is the lockfile's version (run npm ci)`);
      const { stdout: out } = await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', join(app, 'deps')], { cwd: from, maxBuffer: 64 << 20 });
      dependencies[name] = `file:deps/${(JSON.parse(out.slice(out.indexOf('['))) as { filename: string }[])[0]!.filename}`;
    }
    dependencies.spnego = `file:${join(dir, packed[0]!.filename)}`;
    writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, dependencies }, null, 2)}\n`);
    await run('npm', ['install', '--offline', '--no-audit', '--no-fund'], { cwd: app, maxBuffer: 64 << 20 });
    // Every dependency of the installed spnego is one of those copies, at the lockfile's version.
    for (const name of Object.keys(pkg.dependencies)) {
      const got = JSON.parse(readFileSync(join(app, 'node_modules', name, 'package.json'), 'utf8')) as { version: string };
      assert.equal(got.version, lock.packages[`node_modules/${name}`]!.version, name);
    }
    const cjs = JSON.parse((await run(process.execPath, ['-e', "console.log(JSON.stringify(require('spnego').nativeInfo()))"], { cwd: app })).stdout);
    const esm = JSON.parse((await run(process.execPath, ['--input-type=module', '-e', "import { nativeInfo } from 'spnego'; console.log(JSON.stringify(nativeInfo()))"], { cwd: app })).stdout);
    assert.equal(cjs.loaded, nativeInfo().loaded, `installed copy: ${cjs.error ?? cjs.library}`);
    assert.deepEqual(esm, cjs);
    if (!cjs.loaded) assert.match(cjs.error, /not built|install/i);
    if (hasLinuxPrebuild && process.platform === 'linux' && process.arch === 'x64') {
      // The install hook found the prebuild (node-gyp-build) and compiled nothing: what was loaded is the prebuild.
      assert.equal(existsSync(join(app, 'node_modules', 'spnego', 'build', 'Release', 'spnego_native.node')), false, 'no node-gyp build at install');
      assert.equal(cjs.loaded, true, `the linux-x64 prebuild loads: ${cjs.error}`);
    }
    const env = { ...process.env };
    for (const k of ['KRB5_CONFIG', 'KRB5CCNAME', 'KRB5_KTNAME']) delete env[k];
    const demo = await run(join(app, 'node_modules', '.bin', 'spnego'), ['demo', '--brief'], { cwd: app, maxBuffer: 64 << 20, env });
    assert.match(demo.stdout, /^OK: /m);
    await windowsHandshake(t, join(app, 'node_modules', 'spnego'), files.includes(winPrebuild));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * node.exe under Wine, in the fresh project: the installed spnego (whose build/Release is the Linux
 * build made at install, which node.exe cannot load) must load prebuilds/win32-x64 and complete a
 * Kerberos handshake as the SSPI acceptor of our pure initiator.
 */
async function windowsHandshake(t: import('node:test').TestContext, pkgDir: string, hasPrebuild: boolean): Promise<void> {
  const extra = [windowsNode()];
  const why = missingPeer('wine', extra);
  if (why) {
    if (requirePeers) throw new Error(`SPNEGO_REQUIRE_PEERS=1 but ${why}`);
    t.diagnostic(`the Windows part is skipped: ${why}`);
    return;
  }
  assert.ok(hasPrebuild, 'the tarball has the win32-x64 prebuild (npm run sspi:compile)');
  const dir = mkdtempSync(join(tmpdir(), 'spnego-pack-win-'));
  const kdc = await startKdc({ realm: 'PACK.TEST', principals: [{ name: 'u', password: 'pw' }, { name: 'HTTP/pack.test' }] });
  let agent: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    kdc.writeKrb5Conf(join(dir, 'krb5.conf'));
    kdc.writeKeytab(join(dir, 'kt'), ['HTTP/pack.test']);
    agent = await startAgent({ KRB5_CONFIG: join(dir, 'krb5.conf'), KRB5_KTNAME: `FILE:${join(dir, 'kt')}`, KRB5RCACHEDIR: dir }, { dist: join(pkgDir, 'dist', 'esm', 'index.js') });
    const a = await RemoteContext.create(agent, 'acceptor', { mech: 'kerberos' });
    const i = createInitiator({ backend: 'pure', mech: 'kerberos', target: 'HTTP/pack.test@PACK.TEST', krb5Config: join(dir, 'krb5.conf'), credentials: { principal: 'u@PACK.TEST', password: 'pw' }, flags: { mutual: true } });
    const back = await a.step((await i.step())!);
    await i.step(back);
    assert.ok(a.complete && i.complete, 'a handshake with the SSPI acceptor of the installed package');
  } finally {
    await agent?.stop();
    await kdc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
