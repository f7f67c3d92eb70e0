// The interop catalogue: every upstream test of docs/behaviour.md §8 that a WebSocket peer can observe, plus
// the behaviour the spec documents beyond them.
import { globSelector } from '../../../lab/glob.js';
import type { Scenario } from '../types.js';
import { behaviourScenarios } from './behaviour.js';
import { csScenarios } from './cs.js';
import { defaultPortScenarios } from './default-port.js';
import { halfClosedScenarios } from './half-closed.js';
import { limitsScenarios } from './limits.js';
import { poolScenarios } from './pool.js';
import { requestHeadScenarios } from './request-head.js';
import { sanityScenarios } from './sanity.js';

export const SCENARIOS: readonly Scenario[] = [...sanityScenarios, ...csScenarios, ...requestHeadScenarios, ...limitsScenarios, ...behaviourScenarios, ...poolScenarios, ...defaultPortScenarios, ...halfClosedScenarios];

/** Scenarios whose id matches any of the comma-separated globs ("cs-*,limits-*"). */
export function selectScenarios(globs?: string, exclude?: string): Scenario[] {
  const selected = globSelector(globs, exclude);
  return SCENARIOS.filter((s) => selected(s.id));
}
