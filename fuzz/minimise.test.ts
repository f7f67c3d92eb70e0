import { describe, expect, it } from 'vitest';
import { minimise, minimiseAsync } from './minimise.js';

describe('minimise', () => {
  const fails = (b: Buffer): boolean => b.includes(0x7f) && b.includes(0x80);

  it('removes everything the failure does not need', () => {
    const input = Buffer.from([1, 2, 3, 0x7f, 4, 5, 6, 7, 0x80, 9, 10]);
    const out = minimise(input, fails);
    expect(fails(out)).toBe(true);
    expect(out.length).toBe(2);
  });

  it('keeps an input nothing can be removed from', () => {
    const input = Buffer.from([0x7f, 0x80]);
    expect(minimise(input, fails)).toEqual(input);
  });

  it('gives the same answer with an asynchronous predicate', async () => {
    const input = Buffer.from('xxxxxxxx\x7fyyyyyyyy\x80zzzz', 'latin1');
    const out = await minimiseAsync(input, async (b) => fails(b));
    expect(out).toEqual(minimise(input, fails));
    expect(out.length).toBe(2);
  });

  it('stops at the attempt budget', () => {
    let calls = 0;
    minimise(Buffer.alloc(1000, 1), () => (calls++, false), 50);
    expect(calls).toBeLessThanOrEqual(50);
  });
});
