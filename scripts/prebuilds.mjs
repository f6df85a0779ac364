// The linux-x64 prebuild for the npm tarball (prebuildify's layout, loaded by node-gyp-build):
// prebuilds/linux-x64/spnego.node (prebuildify's name for an N-API build), next to prebuilds/win32-x64/ (scripts/compile-sspi.sh).
// One N-API build serves every Node version (--napi). Distribution Node packages (Debian's nodejs)
// ship their headers: node-gyp uses them instead of downloading (as scripts/install.mjs does).
// node-gyp rebuild starts from an empty build/: run scripts/compile-sspi.sh after this, not before.
//   usage: node scripts/prebuilds.mjs
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const env = { ...process.env };
const prefix = dirname(dirname(process.execPath));
if (!env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
const bin = require.resolve('prebuildify/bin.js');
const r = spawnSync(process.execPath, [bin, '--napi', '--strip'], { cwd: root, env, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const folder = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const built = existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.node')) : [];
if (!built.length) {
  console.error(`prebuilds: prebuildify finished but ${folder} has no .node file`);
  process.exit(1);
}
console.log(`prebuild: ${built.map((f) => join(folder, f)).join(', ')}`);
