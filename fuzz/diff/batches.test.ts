// The generator thread gives the batches fast-check gives in line for the same seed, in order,
// with Buffers as Buffers, and stops at the run's last batch.
import { describe, expect, it } from 'vitest';
import type { DiffCase } from '../../lab/oracle-cases.js';
import { BatchMaker, generatedBatch } from './batches.js';

/** The case's buffers, where a thread boundary would have turned a Buffer into a plain Uint8Array. */
function buffersOf(c: DiffCase): unknown[] {
  if (c.kind === 'recv') return [c.stream];
  if (c.kind === 'build') return [c.payload];
  return c.payload.t === 'string' ? [c.payload.v] : [];
}

describe('BatchMaker', () => {
  it('hands out, in order, the batches generatedBatch makes for the same seed, and null past the last', async () => {
    const sizes = [40, 40, 40, 7];
    const maker = new BatchMaker(12345, (round) => sizes[round] ?? 0);
    try {
      for (let round = 0; round < sizes.length; round++) {
        const made = await maker.take()!;
        const inLine = generatedBatch({ seed: 12345, round, size: sizes[round]! });
        expect(made.round).toBe(round);
        expect(made.list).toHaveLength(sizes[round]!);
        expect(made.requests).toEqual(inLine.requests);
        expect(made.list).toEqual(inLine.list);
        for (const b of made.list.flatMap(buffersOf)) expect(Buffer.isBuffer(b)).toBe(true);
      }
      expect(maker.take()).toBeNull();
    } finally {
      await maker.close();
    }
  });

  it('batches of different seeds or rounds differ (the seed reaches the thread)', async () => {
    const a = new BatchMaker(1, () => 20);
    const b = new BatchMaker(2, () => 20);
    try {
      const [a0, a1, b0] = await Promise.all([a.take()!, a.take()!, b.take()!]);
      expect(a0.requests).not.toEqual(a1.requests);
      expect(a0.requests).not.toEqual(b0.requests);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('fails what is asked of it once closed, instead of waiting for ever', async () => {
    const maker = new BatchMaker(7, () => 10);
    await maker.close();
    await expect(maker.take()!).rejects.toThrow('the case generator was closed');
  });
});
