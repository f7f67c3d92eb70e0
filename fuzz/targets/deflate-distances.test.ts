// The match-distance reader against zlib: zlib's own deflate never reaches past the window it was
// given, a stream deflated with a larger window does (which zlib's one-shot inflate accepts all the
// same); the inflate target's seeds hold the finding that needed it (72346a0fa21f90d5).
import { constants as zlibConstants, deflateRawSync, inflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { farthestPastWindow } from './deflate-distances.js';

/** 40 KiB of 2 KiB pseudo-random pieces, the first eight repeated 16 KiB later: matches need a window of 15 bits. */
function farRepeats(): Buffer {
  let x = 20261207;
  const piece = (): Buffer => Buffer.from(Array.from({ length: 2048 }, () => (x = (x * 1103515245 + 12345) >>> 0) >>> 24));
  const first = Array.from({ length: 8 }, piece);
  return Buffer.concat([...first, ...first, piece(), piece(), piece(), piece()]);
}

describe('farthestPastWindow', () => {
  const strategies = [
    { name: 'stored blocks', level: 0, strategy: zlibConstants.Z_DEFAULT_STRATEGY },
    { name: 'fixed Huffman', level: 6, strategy: zlibConstants.Z_FIXED },
    { name: 'dynamic Huffman', level: 9, strategy: zlibConstants.Z_DEFAULT_STRATEGY },
  ];
  for (const s of strategies) {
    it(`finds nothing past the window zlib deflated with (${s.name})`, () => {
      for (const bits of [9, 12, 15]) {
        const d = deflateRawSync(farRepeats(), { windowBits: bits, level: s.level, strategy: s.strategy, finishFlush: zlibConstants.Z_SYNC_FLUSH });
        expect(farthestPastWindow(d, bits), `windowBits ${bits}`).toBe(0);
      }
    });
  }

  it('finds matches past a smaller window than the one deflated with', () => {
    const d = deflateRawSync(farRepeats(), { windowBits: 15, level: 9 });
    expect(farthestPastWindow(d, 15)).toBe(0);
    expect(farthestPastWindow(d, 12)).toBeGreaterThan(0);
    // zlib's one-shot inflate with the small window accepts it all the same: the output buffer is the history.
    expect(inflateRawSync(d, { windowBits: 12, chunkSize: 64 * 1024 }).equals(farRepeats())).toBe(true);
  });

  it('reads a stream cut short at a sync flush', () => {
    const d = deflateRawSync(farRepeats(), { windowBits: 15, level: 9, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    expect(farthestPastWindow(d.subarray(0, d.length >> 2), 12)).toBe(0);
    expect(farthestPastWindow(d.subarray(0, d.length - 100), 12)).toBeGreaterThan(0);
  });
});
