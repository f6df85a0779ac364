/**
 * `npm run bench`: the same work under each crypto provider, side by side, with the ratio.
 * Each row runs for a fixed time budget and reports operations per second; no assertions.
 * (The native backend and the npm `kerberos` addon join these tables when the native backend lands.)
 */
import {
  encrypt, decrypt, makeChecksum, stringToKey, generateKey, getEncType, setCryptoProvider, nodeProvider, nobleProvider,
  type CryptoProvider,
} from '../lib/krb5/crypto/index.js';
import { getMic } from '../lib/krb5/gss/mic.js';

const BUDGET_MS = Number(process.env.BENCH_MS ?? 300);
const opts = { allowWeak: true };

function opsPerSec(fn: () => void): number {
  fn(); // warm up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < BUDGET_MS) {
    fn();
    n++;
    if ((n & 7) === 0 || n < 8) now = performance.now();
  }
  return (n * 1000) / (performance.now() - start);
}

function under(p: CryptoProvider, fn: () => void): number {
  setCryptoProvider(p);
  try {
    return opsPerSec(fn);
  } finally {
    setCryptoProvider(nodeProvider);
  }
}

const rows: [string, number, number][] = [];
const kib = new Uint8Array(1024).fill(7);
const k64 = new Uint8Array(65536).fill(7);
const mechTypes = new Uint8Array(48).fill(6);

for (const et of [17, 18, 19, 20, 23]) {
  const name = getEncType(et, opts).name;
  const key = generateKey(et, opts);
  const ct1 = encrypt(key, 24, kib, opts);
  const ct64 = encrypt(key, 24, k64, opts);
  const work: [string, () => void][] = [
    ['string-to-key', () => stringToKey(et, 'Passw0rd!', 'EXAMPLE.TESTalice', undefined, opts)],
    ['encrypt 1 KiB', () => encrypt(key, 24, kib, opts)],
    ['decrypt 1 KiB', () => decrypt(key, 24, ct1, opts)],
    ['encrypt 64 KiB', () => encrypt(key, 24, k64, opts)],
    ['decrypt 64 KiB', () => decrypt(key, 24, ct64, opts)],
    ['checksum 1 KiB', () => makeChecksum(key, 23, kib, undefined, opts)],
    ['mechListMIC (GetMIC)', () => getMic({ key, seqNumber: 1, fromAcceptor: true, acceptorSubkey: true }, mechTypes)],
  ];
  for (const [what, fn] of work) rows.push([`${name}  ${what}`, under(nodeProvider, fn), under(nobleProvider, fn)]);
}

const fmt = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1)).padStart(10);
console.log(`crypto providers, ops/s (${BUDGET_MS} ms per cell)`);
console.log(`${'operation'.padEnd(52)}${'node'.padStart(10)}${'noble'.padStart(10)}  noble/node`);
for (const [what, a, b] of rows) console.log(`${what.padEnd(52)}${fmt(a)}${fmt(b)}  ${(b / a).toFixed(2)}x`);
