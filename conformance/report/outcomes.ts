// Autobahn's eight outcomes, ordered from best to worst, and how a case's two verdicts
// (behavior, behaviorClose) become the one a matrix cell shows: the worse of them.
export const OUTCOMES = ['OK', 'NON-STRICT', 'INFORMATIONAL', 'UNIMPLEMENTED', 'UNCLEAN', 'WRONG CODE', 'FAILED BY CLIENT', 'FAILED'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** Severity: OK < INFORMATIONAL < NON-STRICT < UNIMPLEMENTED < UNCLEAN < WRONG CODE < FAILED BY CLIENT < FAILED. */
const SEVERITY: Record<Outcome, number> = { OK: 0, INFORMATIONAL: 1, 'NON-STRICT': 2, UNIMPLEMENTED: 3, UNCLEAN: 4, 'WRONG CODE': 5, 'FAILED BY CLIENT': 6, FAILED: 7 };

export const OUTCOME_CLASS: Record<Outcome, string> = {
  OK: 'ok', 'NON-STRICT': 'nonstrict', INFORMATIONAL: 'info', UNIMPLEMENTED: 'unimpl',
  UNCLEAN: 'unclean', 'WRONG CODE': 'wrongcode', 'FAILED BY CLIENT': 'failedbyclient', FAILED: 'failed',
};

function asOutcome(s: string): Outcome {
  return (OUTCOMES as readonly string[]).includes(s) ? (s as Outcome) : 'FAILED';
}

/** The outcome a case counts as: the worse of its behavior and its close behavior. */
export function worseOutcome(e: { behavior: string; behaviorClose: string }): Outcome {
  const a = asOutcome(e.behavior);
  const b = asOutcome(e.behaviorClose);
  return SEVERITY[b] > SEVERITY[a] ? b : a;
}

/** Counts of all eight outcomes (each case counted once, by worseOutcome). */
export function countOutcomes(entries: Iterable<{ behavior: string; behaviorClose: string }>): Record<Outcome, number> {
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<Outcome, number>;
  for (const e of entries) counts[worseOutcome(e)]++;
  return counts;
}
