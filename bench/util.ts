/** Timing helpers for `npm run bench`: each cell runs for a time budget and reports ops/s. */
export const BUDGET_MS = Number(process.env.BENCH_MS ?? 300);

export function opsPerSec(fn: () => void, budget = BUDGET_MS): number {
  fn(); // warm up
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < budget) {
    fn();
    n++;
    if ((n & 7) === 0 || n < 8) now = performance.now();
  }
  return (n * 1000) / (performance.now() - start);
}

/** The same for async work, one operation at a time (latency-bound, as a request handler sees it). */
export async function asyncOpsPerSec(fn: () => Promise<unknown>, budget = BUDGET_MS * 3): Promise<number> {
  await fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < budget) {
    await fn();
    n++;
  }
  return (n * 1000) / (performance.now() - start);
}

export const fmt = (n: number | undefined): string => (n === undefined ? '-' : n >= 100 ? n.toFixed(0) : n.toFixed(1)).padStart(10);

/** Prints rows of ops/s under named columns, with each column's ratio to the first. */
export function printTable(title: string, columns: string[], rows: [string, (number | undefined)[]][]): void {
  const w = Math.max(40, ...rows.map(([r]) => r.length + 2));
  console.log(`\n${title}`);
  const ratioCols = columns.slice(1).map((c) => `${c}/${columns[0]}`);
  const rw = ratioCols.map((c) => Math.max(8, c.length + 2));
  console.log(`${'operation'.padEnd(w)}${columns.map((c) => c.padStart(10)).join('')}  ${ratioCols.map((c, i) => c.padStart(rw[i]!)).join('')}`);
  for (const [what, vals] of rows) {
    const base = vals[0];
    const ratios = vals.slice(1).map((v, i) => (v === undefined || base === undefined ? '-' : `${(v / base).toFixed(2)}x`).padStart(rw[i]!));
    console.log(`${what.padEnd(w)}${vals.map(fmt).join('')}  ${ratios.join('')}`);
  }
}
