import { describe, expect, it } from 'vitest';
import { globSelector, splitGlobs } from './glob.js';

describe('globSelector', () => {
  it('selects everything when include is absent or empty, and exclude wins', () => {
    expect(['1.1.1', '9.2.1'].filter(globSelector())).toEqual(['1.1.1', '9.2.1']);
    expect(['1.1.1', '9.2.1'].filter(globSelector('', '9.*'))).toEqual(['1.1.1']);
    expect(['1.1.1', '9.2.1'].filter(globSelector('*', '9.*,1.1.1'))).toEqual([]);
  });

  it('treats . literally and gives * and ? their glob meaning', () => {
    const sel = globSelector('1.*,cs-?');
    expect(sel('1.1.1')).toBe(true);
    expect(sel('10.1.1')).toBe(false);
    expect(sel('cs-1')).toBe(true);
    expect(sel('cs-12')).toBe(false);
  });

  it('splits comma-separated patterns and drops blanks', () => {
    expect(splitGlobs(' a*, ,b? ')).toEqual(['a*', 'b?']);
    expect(splitGlobs(undefined)).toEqual([]);
  });
});
