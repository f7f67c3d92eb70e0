// The interop catalogue: every upstream test of spec §8 that a WebSocket peer can observe, plus
// the behaviour the spec documents beyond them.
import type { Scenario } from '../types.js';
import { behaviourScenarios } from './behaviour.js';
import { csScenarios } from './cs.js';
import { limitsScenarios } from './limits.js';
import { sanityScenarios } from './sanity.js';

export const SCENARIOS: readonly Scenario[] = [...sanityScenarios, ...csScenarios, ...limitsScenarios, ...behaviourScenarios];

/** Scenarios whose id matches any of the comma-separated globs ("cs-*,limits-*"). */
export function selectScenarios(globs?: string, exclude?: string): Scenario[] {
  const toRe = (g: string): RegExp => new RegExp('^' + g.trim().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
  const inc = globs ? globs.split(',').filter(Boolean).map(toRe) : null;
  const exc = exclude ? exclude.split(',').filter(Boolean).map(toRe) : [];
  return SCENARIOS.filter((s) => (!inc || inc.some((re) => re.test(s.id))) && !exc.some((re) => re.test(s.id)));
}
