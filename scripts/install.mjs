// The npm install hook: use a prebuild (prebuilds/<platform>-<arch>) or build the addon with
// node-gyp when a compiler is there. It never fails the install: without the addon the pure
// backend works, and nativeInfo() reports the reason recorded here (build/native-unavailable.txt).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const require = createRequire(import.meta.url);
const note = join(root, 'build', 'native-unavailable.txt');

function unavailable(why) {
  mkdirSync(dirname(note), { recursive: true });
  writeFileSync(note, `${why}\n`);
  console.warn(`spnego: native addon not built (${why.split('\n')[0]}); the pure backend will be used`);
  process.exit(0);
}

if (process.env.SPNEGO_SKIP_NATIVE_BUILD === '1') unavailable('SPNEGO_SKIP_NATIVE_BUILD=1 at install time');
rmSync(note, { force: true });
try {
  // node-gyp-build's resolver: a matching prebuild or an earlier build wins.
  require('node-gyp-build').path(root);
  process.exit(0);
} catch { /* nothing usable yet: build */ }

let nodeGyp = process.env.npm_config_node_gyp;
if (!nodeGyp) {
  try {
    nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
  } catch {
    unavailable('node-gyp is not available');
  }
}
const args = [nodeGyp, 'rebuild'];
// Distribution Node packages (Debian's nodejs) ship their headers: use them instead of downloading.
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
if (r.status !== 0) {
  const lines = `${r.stderr ?? ''}${r.error ? String(r.error) : ''}`.trim().split('\n');
  // The first compiler/make error says more than node-gyp's closing lines.
  const first = lines.find((l) => /error|not found|No such file/i.test(l) && !/^gyp ERR! (stack|System|command|cwd|node|not ok)/.test(l)) ?? lines.at(-1) ?? '';
  unavailable(`node-gyp rebuild failed (exit ${r.status}): ${first.trim()}\n${lines.slice(-15).join('\n')}`);
}
