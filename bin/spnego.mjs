#!/usr/bin/env node
// The `spnego` command. The code lives in dist/esm/cli (built from lib/cli by `npm run build`,
// which `npm ci` / `npm install` run through the "prepare" script).
import('../dist/esm/cli/main.js')
  .then((m) => m.main(process.argv.slice(2)))
  .then((code) => { process.exitCode = code; })
  .catch((err) => {
    console.error(`spnego: ${err && err.message ? err.message : err}`);
    process.exitCode = 1;
  });
