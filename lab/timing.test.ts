// The run's lag measure: a stall of the event loop is logged with its time, so a session can ask
// for the longest stall while it ran (lab/session/run.ts decides from it whether its margins held).
import { describe, expect, it } from 'vitest';
import { RunTiming } from './timing.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function blockFor(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

describe('RunTiming.peakLagSince', () => {
  it('reports a stall that overlapped the interval, and not one that ended before it', async () => {
    const timing = new RunTiming();
    const release = timing.acquire();
    try {
      await sleep(60);
      const beforeStall = performance.now();
      blockFor(300);
      await sleep(45); // the next sample measures the stall
      const stall = timing.peakLagSince(beforeStall);
      expect(stall).toBeGreaterThanOrEqual(270);
      const afterStall = performance.now();
      await sleep(45);
      // Only the lag of the samples since then: not the stall's.
      expect(timing.peakLagSince(afterStall)).toBeLessThan(stall);
    } finally {
      release();
    }
  });

  it('counts a stall still in progress (the pending tick)', () => {
    const timing = new RunTiming();
    const release = timing.acquire();
    try {
      const start = performance.now();
      blockFor(80);
      expect(timing.peakLagSince(start)).toBeGreaterThanOrEqual(50);
    } finally {
      release();
    }
  });
});
