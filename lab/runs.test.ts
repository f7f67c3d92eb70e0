import { describe, expect, it } from 'vitest';
import { differingAcrossRuns } from './runs.js';

describe('differingAcrossRuns', () => {
  it('lists the keys whose verdict moved, in run order, a missing key as (absent)', () => {
    const runs = [
      new Map([['a', 'OK'], ['b', 'OK'], ['c', 'FAILED']]),
      new Map([['a', 'OK'], ['b', 'UNCLEAN'], ['c', 'FAILED']]),
      new Map([['a', 'OK'], ['c', 'FAILED'], ['d', 'OK']]),
    ];
    expect(differingAcrossRuns(runs)).toEqual([
      { key: 'b', values: ['OK', 'UNCLEAN', '(absent)'] },
      { key: 'd', values: ['(absent)', '(absent)', 'OK'] },
    ]);
  });

  it('finds nothing in identical runs, or in a single run', () => {
    const run = new Map([['a', 'OK']]);
    expect(differingAcrossRuns([run, new Map(run)])).toEqual([]);
    expect(differingAcrossRuns([run])).toEqual([]);
    expect(differingAcrossRuns([])).toEqual([]);
  });
});
