// --repeat N on conformance and interop: every case (scenario and direction) whose verdict moved
// between the runs is reported, a case an errored run lost included.
import { describe, expect, it } from 'vitest';
import { unstableCases, type ConformanceRun } from './index.js';
import { unstableRuns, type InteropRunReport } from './interop/index.js';

const conformanceRun = (results: Array<[string, string, string, string, string?]>): ConformanceRun =>
  ({ results: results.map(([agent, id, behavior, behaviorClose, error]) => ({ agent, id, behavior, behaviorClose, ...(error ? { error } : {}) })) }) as unknown as ConformanceRun;
const interopRun = (results: Array<[string, string, string, boolean?]>): InteropRunReport =>
  ({ results: results.map(([scenario, direction, verdict, flaky]) => ({ scenario, direction, verdict, ...(flaky ? { flaky: 'first run failed' } : {}) })) }) as unknown as InteropRunReport;

describe('--repeat', () => {
  it('conformance: names each (agent, case) whose verdict differed, errors and missing cases included', () => {
    const a = conformanceRun([['ws-server', '1.1.1', 'OK', 'OK'], ['ws-server', '7.1.1', 'OK', 'OK'], ['lua-server', '5.9', 'FAILED', 'FAILED']]);
    const b = conformanceRun([['ws-server', '1.1.1', 'OK', 'OK'], ['ws-server', '7.1.1', 'OK', 'UNCLEAN'], ['lua-server', '5.9', 'FAILED', 'FAILED', 'peer died']]);
    const c = conformanceRun([['ws-server', '1.1.1', 'OK', 'OK'], ['ws-server', '7.1.1', 'OK', 'OK']]);
    expect(unstableCases([a, b, c])).toEqual([
      { agent: 'ws-server', id: '7.1.1', verdicts: ['OK / OK', 'OK / UNCLEAN', 'OK / OK'] },
      { agent: 'lua-server', id: '5.9', verdicts: ['FAILED / FAILED', 'error: peer died', '(absent)'] },
    ]);
    expect(unstableCases([a, a])).toEqual([]);
  });

  it('interop: a run that needed its retry counts as a different verdict', () => {
    const a = interopRun([['cs-01', 'ts-lua', 'pass'], ['cs-02', 'lua-ts', 'pass']]);
    const b = interopRun([['cs-01', 'ts-lua', 'pass', true], ['cs-02', 'lua-ts', 'pass']]);
    expect(unstableRuns([a, b])).toEqual([{ scenario: 'cs-01', direction: 'ts-lua', verdicts: ['pass', 'pass (flaky)'] }]);
    expect(unstableRuns([a, a])).toEqual([]);
  });
});
