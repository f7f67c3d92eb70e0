import { describe, expect, it } from 'vitest';
import { createProgress, fraction } from './progress.js';

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 40, write: (s: string) => out.push(s) } };
}

describe('progress', () => {
  it('rewrites one line on a TTY, throttled, and clears it before a permanent line', () => {
    let t = 0;
    const { out, stream } = sink(true);
    const p = createProgress(stream, { now: () => t });
    p.update('a');
    p.update('b'); // same instant: dropped
    t = 150;
    p.update('x'.repeat(80));
    p.line('done');
    expect(out[0]).toBe('\r\x1b[Ka');
    expect(out[1]).toBe(`\r\x1b[K${'x'.repeat(38)}…`);
    expect(out.slice(2)).toEqual(['\r\x1b[K', 'done\n']);
  });
  it('prints plain lines, at most one per interval, when not a TTY', () => {
    let t = 0;
    const { out, stream } = sink(false);
    const p = createProgress(stream, { now: () => t });
    p.update('first');
    t = 10_000;
    p.update('too soon');
    t = 15_000;
    p.update('second');
    p.line('end');
    expect(out).toEqual(['first\n', 'second\n', 'end\n']);
    expect(out.join('')).not.toContain('\x1b');
  });
  it('formats done/total', () => {
    expect(fraction(5, 200)).toBe('[5/200] 2%');
    expect(fraction(3, 0)).toBe('[3]');
  });
});
