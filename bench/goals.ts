/**
 * The issue 11 speed goals, each measured in this run next to its reference (native MIT, MIT
 * krb5kdc) and printed as one table at the end: work | pure | native | ratio | goal | met?.
 * The sections record what they measure here; nothing is asserted (a bench, not a test).
 */
export interface Goal {
  work: string;
  pure?: number;
  native?: number;
  /** The unit of pure/native (ops/s by default). */
  unit?: string;
  /** Goal on pure alone (pure >= min, or pure <= max), or on the ratio pure/native (>= ratio). */
  min?: number;
  max?: number;
  ratio?: number;
  /** For "within 1.25x": native/pure <= this. */
  within?: number;
}

const goals: Goal[] = [];

export function recordGoal(g: Goal): void {
  goals.push(g);
}

const num = (n: number | undefined, unit = '/s') =>
  n === undefined ? '-' : `${n >= 100 ? n.toFixed(0) : n.toFixed(1)}${unit === '/s' ? '' : ` ${unit}`}`;

function describe(g: Goal): { goal: string; met: boolean | undefined; ratio: string } {
  const r = g.pure !== undefined && g.native !== undefined ? g.pure / g.native : undefined;
  const ratio = r === undefined ? '-' : `${r.toFixed(2)}x`;
  const parts: string[] = [];
  const checks: (boolean | undefined)[] = [];
  if (g.min !== undefined) {
    parts.push(`>= ${g.min} ${g.unit ?? '/s'}`);
    checks.push(g.pure === undefined ? undefined : g.pure >= g.min);
  }
  if (g.max !== undefined) {
    parts.push(`<= ${g.max} ${g.unit ?? '/s'}`);
    checks.push(g.pure === undefined ? undefined : g.pure <= g.max);
  }
  if (g.ratio !== undefined) {
    parts.push(`>= ${g.ratio}x native`);
    checks.push(r === undefined ? undefined : r >= g.ratio);
  }
  if (g.within !== undefined) {
    parts.push(`within ${g.within}x of native`);
    checks.push(r === undefined ? undefined : 1 / r <= g.within);
  }
  const met = checks.includes(undefined) ? undefined : checks.every(Boolean);
  return { goal: parts.join(', '), met, ratio };
}

export function printGoals(): void {
  if (goals.length === 0) return;
  const rows = goals.map((g) => {
    const d = describe(g);
    return [g.work, num(g.pure, g.unit), num(g.native, g.unit), d.ratio, d.goal, d.met === undefined ? 'n/a' : d.met ? 'yes' : 'NO'];
  });
  const head = ['work', 'pure', 'native', 'ratio', 'goal', 'met?'];
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 || i === 4 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ');
  console.log('\nissue 11 goals (pure vs native in this run; "native" is MIT: libgssapi, krb5kdc)');
  console.log(line(head));
  console.log(w.map((n) => '-'.repeat(n)).join('-|-'));
  for (const r of rows) console.log(line(r));
}
