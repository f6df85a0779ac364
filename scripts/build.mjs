// Compiles lib/ twice: ESM (dist/esm, the source's own module system) and CommonJS (dist/cjs),
// so that both `import 'spnego'` and `require('spnego')` work on Node 20 without require(esm).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const tsc = require.resolve('typescript/bin/tsc');
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
for (const project of ['tsconfig.json', 'tsconfig.cjs.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { stdio: 'inherit', cwd: new URL('..', import.meta.url) });
}
mkdirSync(new URL('../dist/cjs', import.meta.url), { recursive: true });
writeFileSync(new URL('../dist/cjs/package.json', import.meta.url), '{ "type": "commonjs" }\n');
// lib/native/here.ts uses import.meta (ESM); its CommonJS twin is the module's own __dirname.
writeFileSync(new URL('../dist/cjs/native/here.js', import.meta.url), '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.here = __dirname;\n');
