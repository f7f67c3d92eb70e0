// The stored conformance table of the real Lua library (fixtures/conformance/lua-expected.json):
// every case's verdict for the Lua server and client agents. A run that differs fails the tests, so
// the table documents the original's conformance precisely, case by case.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../lab/paths.js';
import { compareCaseIds } from './cases/index.js';
import type { ConformanceIndex } from './report/index.js';

export const EXPECTED_PATH = join(ROOT_DIR, 'fixtures', 'conformance', 'lua-expected.json');

export interface ExpectedTable {
  /** The library the table was recorded with (its _VERSION and source). */
  library: string;
  /** agent -> case -> "behavior / behaviorClose" */
  agents: Record<string, Record<string, string>>;
}

export const verdict = (e: { behavior: string; behaviorClose: string }): string => `${e.behavior} / ${e.behaviorClose}`;

export function tableFrom(index: ConformanceIndex, agents: readonly string[], library: string): ExpectedTable {
  const out: ExpectedTable = { library, agents: {} };
  for (const a of agents) {
    const cases = index[a] ?? {};
    out.agents[a] = Object.fromEntries(Object.keys(cases).sort(compareCaseIds).map((id) => [id, verdict(cases[id]!)]));
  }
  return out;
}

/**
 * `recorded` (a run's verdicts on the `selected` cases) over `stored`: the selected cases take the
 * run's verdict (or leave the table when the run gave none), every other case keeps the stored one.
 */
export function mergeTables(stored: ExpectedTable, recorded: ExpectedTable, selected: readonly string[]): ExpectedTable {
  const chosen = new Set(selected);
  // A partial recording keeps the table's description of how it was recorded.
  const partial = Object.values(stored.agents).some((cases) => Object.keys(cases).some((id) => !chosen.has(id)));
  const out: ExpectedTable = { library: partial ? stored.library : recorded.library, agents: { ...stored.agents } };
  for (const [agent, cases] of Object.entries(recorded.agents)) {
    const kept = Object.entries(stored.agents[agent] ?? {}).filter(([id]) => !chosen.has(id));
    const all = [...kept, ...Object.entries(cases)].sort(([a], [b]) => compareCaseIds(a, b));
    out.agents[agent] = Object.fromEntries(all);
  }
  return out;
}

export function readExpected(path = EXPECTED_PATH): ExpectedTable {
  return JSON.parse(readFileSync(path, 'utf8')) as ExpectedTable;
}

export function writeExpected(t: ExpectedTable, path = EXPECTED_PATH): void {
  writeFileSync(path, JSON.stringify(t, null, 1) + '\n');
}

/**
 * Cases whose verdict differs from the table: [case, expected, got]. `selected` (the case ids the
 * run was asked for: --cases/--exclude) restricts the comparison, so a case left out on purpose is
 * not reported as "expected ..., got (absent)"; a selected case that gave no verdict still is.
 */
export function diffAgainst(table: Record<string, string>, got: Record<string, { behavior: string; behaviorClose: string }>, selected?: readonly string[]): Array<[string, string, string]> {
  const wanted = selected ? new Set(selected) : null;
  const ids = [...new Set([...Object.keys(table), ...Object.keys(got)])].filter((id) => !wanted || wanted.has(id)).sort(compareCaseIds);
  const out: Array<[string, string, string]> = [];
  for (const id of ids) {
    const want = table[id] ?? '(absent)';
    const have = got[id] ? verdict(got[id]!) : '(absent)';
    if (want !== have) out.push([id, want, have]);
  }
  return out;
}
