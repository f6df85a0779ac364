// Runs every test/**/*.test.ts with node:test (TypeScript through tsx).
// Arguments narrow the run: `node scripts/run-tests.mjs crypto` runs files whose path contains "crypto".
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const files = [];
(function walk(dir) {
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.test.ts')) files.push(relative(root, path));
  }
})(join(root, 'test'));
const filters = process.argv.slice(2);
const selected = filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
if (selected.length === 0) {
  console.error('no test file matches', filters.join(' '));
  process.exit(1);
}
// MIT's mechglue also loads the GSSAPI mechanism plugins of /etc/gss/mech.d (gss-ntlmssp, once
// installed as a peer, adds NTLM there), so the library's own SPNEGO would offer and pick NTLM and a
// failed Kerberos logon would report the last mech's status. The suite pins MIT to its built-in
// mechanisms (krb5, spnego, iakerb) with an empty GSS_MECH_CONFIG; tests that want gss-ntlmssp set
// their own. A value already in the environment is kept.
const env = { ...process.env };
env.GSS_MECH_CONFIG ??= '/dev/null';
const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=2', ...selected], {
  cwd: root,
  stdio: 'inherit',
  env,
});
process.exit(r.status ?? 1);
