// What moved between repeated runs of the same thing (wslab conformance --repeat, wslab interop
// --repeat, bench/stability.ts): one comparison for all of them.

/** The verdict text a run without the key gets. */
export const ABSENT = '(absent)';

/**
 * Every key whose value was not the same in all runs (each run a key -> verdict map), with the
 * values in run order; a run that lacks the key counts as "(absent)", so a case that vanished is a
 * difference too. Keys come out in first-seen order.
 */
export function differingAcrossRuns(runs: ReadonlyArray<ReadonlyMap<string, string>>): Array<{ key: string; values: string[] }> {
  const keys = new Set(runs.flatMap((m) => [...m.keys()]));
  const out: Array<{ key: string; values: string[] }> = [];
  for (const key of keys) {
    const values = runs.map((m) => m.get(key) ?? ABSENT);
    if (new Set(values).size > 1) out.push({ key, values });
  }
  return out;
}
