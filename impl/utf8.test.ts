import { describe, expect, it } from 'vitest';
import { test as fcTest, fc } from '@fast-check/vitest';
import { Utf8Validator, isValidUtf8 } from './utf8.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
function oracle(b: Uint8Array): boolean {
  try {
    decoder.decode(b);
    return true;
  } catch {
    return false;
  }
}

function validate(b: Uint8Array, splits: number[]): boolean {
  const v = new Utf8Validator();
  let off = 0;
  for (const s of [...splits, b.length]) {
    const end = Math.min(b.length, Math.max(off, s));
    if (!v.push(b.subarray(off, end))) return false;
    off = end;
  }
  return v.end();
}

// Bytes biased towards UTF-8 structure: leads, continuations, edge values.
const utf8ish = fc.array(fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xbf }),
  fc.constantFrom(0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0x9f, 0xa0, 0x8f, 0x90),
), { maxLength: 40 }).map((a) => Uint8Array.from(a));

describe('Utf8Validator', () => {
  fcTest.prop([utf8ish, fc.array(fc.nat(40), { maxLength: 6 })])('agrees with a fatal TextDecoder at any split', (bytes, splits) => {
    expect(validate(bytes, splits.sort((a, b) => a - b))).toBe(oracle(bytes));
  });

  fcTest.prop([fc.string({ unit: 'binary', maxLength: 200 })])('accepts every well-formed string, byte by byte', (s) => {
    const b = Buffer.from(s, 'utf8');
    expect(validate(b, [...Array(b.length).keys()])).toBe(true);
  });

  fcTest.prop([utf8ish, fc.nat(300)])('agrees with the oracle on long inputs (native fast path)', (bytes, pad) => {
    const b = Buffer.concat([Buffer.alloc(pad + 70, 0x61), bytes]);
    expect(validate(b, [])).toBe(oracle(b));
    expect(isValidUtf8(b)).toBe(oracle(b));
  });

  it('fails fast, in the push where the impossible byte arrives', () => {
    for (const hex of ['e080', 'eda0', 'f490', 'f080', 'c0', 'c1', 'f5', 'ff', '80', 'cebae1bdb9cfb3cebcceb5eda080']) {
      const b = Buffer.from(hex, 'hex');
      const v = new Utf8Validator();
      expect(v.push(b), hex).toBe(false);
    }
    // A valid prefix is never rejected before the text ends.
    const v = new Utf8Validator();
    expect(v.push(Buffer.from('f09f', 'hex'))).toBe(true);
    expect(v.end()).toBe(false);
  });

  it('reset() forgets a failure and an unfinished character', () => {
    const v = new Utf8Validator();
    v.push(Buffer.from('ff', 'hex'));
    v.reset();
    expect(v.push(Buffer.from('héllo'))).toBe(true);
    expect(v.end()).toBe(true);
  });
});
