// The one glob matcher of the lab: scenario ids, case ids and target names are selected with
// comma-separated globs ("cs-*,limits-?", "1.*,5.*"). picomatch gives `*`, `?`, classes and braces
// the same meaning everywhere; `.` in a case id is literal.
import picomatch from 'picomatch';

/** Splits "a*,b?" into patterns, dropping empty ones and surrounding blanks. */
export function splitGlobs(globs: string | undefined): string[] {
  return (globs ?? '').split(',').map((g) => g.trim()).filter(Boolean);
}

/**
 * A predicate for ids selected by `include` (absent or empty: everything) and not by `exclude`
 * (exclude wins).
 */
export function globSelector(include?: string, exclude?: string): (id: string) => boolean {
  const opts = { dot: true, nobrace: false } as const;
  const inc = splitGlobs(include);
  const exc = splitGlobs(exclude);
  const isIncluded = inc.length ? picomatch(inc, opts) : () => true;
  const isExcluded = exc.length ? picomatch(exc, opts) : () => false;
  return (id) => isIncluded(id) && !isExcluded(id);
}
