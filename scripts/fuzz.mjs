// `npm run fuzz`: the project's fuzz targets (test/fuzz/* with keytab and krb5.conf, test/sasl/fuzz, and the fuzz tests of
// test/kdc, test/krb5/pac, test/gss/checksum) far beyond CI's fixed 100k inputs: rounds of
// --runs inputs per target, each round with its own seed (printed), for --time seconds or
// --rounds rounds. A failure prints the command that replays it; the run goes on and exits 1.
//
//   npm run fuzz -- --time 600                 ten minutes, random base seed
//   npm run fuzz -- --rounds 20 --runs 200000  4M inputs per target
//   npm run fuzz -- --seed 0x1234 --only asn1  replay / narrow (a path fragment)
import { spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : dflt;
};
const runs = Number(opt('runs', 100000));
const timeS = Number(opt('time', 0));
const rounds = Number(opt('rounds', timeS ? Infinity : 1));
const seed0 = Number(opt('seed', randomInt(1, 2 ** 31)));
const only = opt('only', '');
if (!(runs > 0) || !Number.isFinite(seed0) || (!timeS && !(rounds > 0))) {
  console.error('usage: npm run fuzz -- [--runs N] [--time SECONDS | --rounds N] [--seed S] [--only PATH-FRAGMENT]');
  process.exit(2);
}
const root = new URL('..', import.meta.url).pathname;
// Whole files of fuzz targets, and files where only the tests named "fuzz" are.
const groups = [
  { files: ['test/fuzz/accept.test.ts', 'test/fuzz/asn1.test.ts', 'test/fuzz/ccache.test.ts', 'test/fuzz/files.test.ts', 'test/fuzz/ntlm.test.ts', 'test/fuzz/smb2.test.ts', 'test/fuzz/spnego.test.ts', 'test/fuzz/tokens.test.ts', 'test/sasl/fuzz.test.ts'], pattern: undefined },
  { files: ['test/kdc/kdc.test.ts', 'test/krb5/pac.test.ts', 'test/gss/checksum.test.ts'], pattern: 'fuzz' },
].map((g) => ({ ...g, files: g.files.filter((f) => f.includes(only)) })).filter((g) => g.files.length);
if (!groups.length) {
  console.error(`no fuzz target matches --only ${only}`);
  process.exit(2);
}
console.log(`fuzz: base seed ${seed0} (0x${seed0.toString(16)}), ${runs} inputs per target per round, ${timeS ? `for ${timeS} s` : `${rounds} round(s)`}`);
const t0 = Date.now();
let totalTests = 0;
const failures = [];
let round = 0;
for (; round < rounds && (!timeS || (Date.now() - t0) / 1000 < timeS); round++) {
  const seed = (seed0 + round) % 2 ** 31;
  const env = { ...process.env, SPNEGO_FUZZ_RUNS: String(runs), SPNEGO_FUZZ_SEED: String(seed), GSS_MECH_CONFIG: process.env.GSS_MECH_CONFIG ?? '/dev/null' };
  const r0 = Date.now();
  let tests = 0;
  for (const g of groups) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=tap', '--test-concurrency=1', ...(g.pattern ? [`--test-name-pattern=${g.pattern}`] : []), ...g.files], { cwd: root, env, encoding: 'utf8', maxBuffer: 64 << 20 });
    const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(r.stdout ?? '')?.[1] ?? NaN);
    if (r.status !== 0 || count('fail') > 0) {
      const failing = (r.stdout ?? '').split('\n').filter((l) => /^\s*not ok/.test(l)).slice(0, 10).join('\n');
      console.log(`round ${round}: seed ${seed} FAILED\n${failing}\n${(r.stdout ?? '').slice(-4000)}\n${(r.stderr ?? '').slice(-2000)}`);
      console.log(`replay: SPNEGO_FUZZ_SEED=${seed} SPNEGO_FUZZ_RUNS=${runs} node --import tsx --test ${g.pattern ? `--test-name-pattern=${g.pattern} ` : ''}${g.files.join(' ')}`);
      failures.push(`seed ${seed}: ${failing.replace(/\n/g, '; ') || `exit ${r.status}`}`);
      tests += count('pass') || 0;
      continue;
    }
    tests += count('pass');
  }
  totalTests += tests;
  console.log(`round ${round}: seed ${seed}, ${tests} fuzz tests passed (${runs} inputs each, some targets capped), ${((Date.now() - r0) / 1000).toFixed(0)} s`);
}
console.log(`fuzz: ${round} round(s), ${totalTests} fuzz tests passed, ${failures.length} failed, ${((Date.now() - t0) / 1000).toFixed(0)} s (base seed ${seed0})`);
for (const f of failures) console.log(`FAILED ${f}`);
process.exit(failures.length ? 1 : 0);
