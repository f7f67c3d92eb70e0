// The catalogue: Autobahn|Testsuite's 517 cases (sections 1-7, 9, 10, and 12, 13 on permessage-deflate), one file per section.
import { globSelector } from '../../lab/glob.js';
import type { ConformanceCase } from '../runner/types.js';
import { section1 } from './1-framing.js';
import { section2 } from './2-pings.js';
import { section3 } from './3-reserved-bits.js';
import { section4 } from './4-opcodes.js';
import { section5 } from './5-fragmentation.js';
import { section6 } from './6-utf8.js';
import { section7 } from './7-close.js';
import { section9 } from './9-limits.js';
import { section10 } from './10-misc.js';
import { section12 } from './12-deflate.js';
import { section13 } from './13-deflate-params.js';

export const CASES: readonly ConformanceCase[] = [...section1, ...section2, ...section3, ...section4, ...section5, ...section6, ...section7, ...section9, ...section10, ...section12, ...section13];

/** "1.1.1" < "1.1.10" < "1.2.1": case ids compared as number tuples. */
export function compareCaseIds(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** Autobahn's case patterns: comma-separated globs like "1.*,5.*"; exclude wins. */
export function selectCases(include = '*', exclude = ''): ConformanceCase[] {
  const selected = globSelector(include, exclude);
  return CASES.filter((c) => selected(c.id)).sort((a, b) => compareCaseIds(a.id, b.id));
}
