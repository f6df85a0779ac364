/** The crypto providers (node:crypto vs @noble), the same work side by side. */
import {
  encrypt, decrypt, makeChecksum, stringToKey, generateKey, getEncType, setCryptoProvider, nodeProvider, nobleProvider,
  type CryptoProvider,
} from '../lib/krb5/crypto/index.js';
import { getMic } from '../lib/krb5/gss/mic.js';
import { opsPerSec, printTable, BUDGET_MS } from './util.js';
import { recordGoal } from './goals.js';

function under(p: CryptoProvider, fn: () => void, budget = BUDGET_MS): number {
  setCryptoProvider(p);
  try {
    return opsPerSec(fn, budget);
  } finally {
    setCryptoProvider(nodeProvider);
  }
}

export function benchCrypto(): void {
  const opts = { allowWeak: true };
  const rows: [string, number[]][] = [];
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
    for (const [what, fn] of work) rows.push([`${name}  ${what}`, [under(nodeProvider, fn), under(nobleProvider, fn)]]);
  }
  printTable(`crypto providers, ops/s (${BUDGET_MS} ms per cell)`, ['node', 'noble'], rows);
  // The throughput goal on its own, after a GC-quiet pause from the noble cells, for a full second each.
  for (const et of [17, 18, 19, 20]) {
    const key = generateKey(et);
    const mbps = (under(nodeProvider, () => encrypt(key, 24, k64), Math.max(1000, BUDGET_MS)) * 65536) / 1e6;
    recordGoal({ work: `crypto ${getEncType(et).name} encrypt 64 KiB (node provider)`, pure: mbps, unit: 'MB/s', min: 500 });
  }
}
