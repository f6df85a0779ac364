/**
 * Sets environment variables and returns the function that puts the previous values back. The
 * native libraries read KRB5_CONFIG, KRB5CCNAME, KRB5_KTNAME... from the environment, as any
 * program does; the demo, the bench and the tests point them at their own realm this way.
 */
export function useEnv(vars: Record<string, string | undefined>): () => void {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  const apply = (v: Record<string, string | undefined>) => {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) delete process.env[k];
      else process.env[k] = x;
    }
  };
  apply(vars);
  return () => apply(saved);
}
