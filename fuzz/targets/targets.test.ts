// The oracles themselves: every target passes its seeds, and the frame oracle catches each kind of
// broken decoder it is meant to catch (unknown error text, chunking dependence, hangs, memory).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zlibConstants, deflateRawSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FrameDecoder } from '../../impl/protocol.js';
import type { RecvResult } from '../../impl/types.js';
import { loadTargetFunction, SEEDS_DIR } from '../campaign.js';
import { TARGETS } from '../registry.js';
import { targetAvailable } from '../test-env.js';
import { encodeFrameInput, fuzzFrames, type DecoderFactory, type DecoderLike } from './frame-common.js';
import { FuzzCrash } from './oracle.js';

describe('fuzz targets accept their seed corpora', () => {
  for (const t of TARGETS) {
    it.skipIf(!targetAvailable(t.name))(t.name, async () => {
      const fuzz = await loadTargetFunction(t.name);
      const dir = join(SEEDS_DIR, t.name);
      expect(existsSync(dir)).toBe(true);
      const seeds = readdirSync(dir);
      expect(seeds.length).toBeGreaterThan(5);
      // Async targets (inflate: zlib runs on the thread pool) are awaited, as jsfuzz does.
      for (const f of seeds) await expect((async () => fuzz(readFileSync(join(dir, f))))(), f).resolves.toBeUndefined();
    });
  }
});

/** A FrameDecoder whose results pass through `alter` (one broken rule per test). */
function brokenDecoder(alter: (r: RecvResult, dec: FrameDecoder) => RecvResult | null): DecoderFactory {
  return (opts) => {
    const inner = new FrameDecoder(opts);
    const d: DecoderLike = {
      push: (c) => inner.push(c),
      next: () => {
        const r = inner.next();
        return r === null ? null : alter(r, inner);
      },
      end: (e) => inner.end(e),
    };
    return d;
  };
}

const text = (s: string): Buffer => Buffer.concat([Buffer.from([0x81, s.length]), Buffer.from(s)]);
// max 65535, no force masking, chunks of up to 1 byte.
const input = (stream: Buffer, chunkIndex = 1): Buffer => encodeFrameInput(5, false, chunkIndex, 3, stream);

function crashOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(FuzzCrash);
    return (e as Error).message;
  }
  throw new Error('the oracle did not fire');
}

describe('the frame oracle', () => {
  it('accepts the real decoder on a valid stream', () => {
    expect(() => fuzzFrames(input(Buffer.concat([text('foo'), text('bar')])), (o) => new FrameDecoder(o))).not.toThrow();
  });

  it('rejects an error text the spec does not list', () => {
    const make = brokenDecoder((r) => (r.err === 'reserved non-control frames' ? { data: null, type: null, err: 'reserved frame' } : r));
    expect(crashOf(() => fuzzFrames(input(Buffer.from([0x83, 0x00])), make))).toMatch(/^unknown error: reserved frame/);
  });

  it('rejects results that depend on the chunking', () => {
    let pushes = 0;
    const make: DecoderFactory = (opts) => {
      const inner = new FrameDecoder(opts);
      let chunks = 0;
      return {
        push: (c) => (chunks++, pushes++, inner.push(c)),
        next: () => {
          const r = inner.next();
          // Broken: frames completed by a later chunk lose their last byte.
          return r !== null && r.data !== null && r.type === 'text' && chunks > 1 ? { ...r, data: r.data.subarray(0, -1) } : r;
        },
        end: (e) => inner.end(e),
      };
    };
    expect(crashOf(() => fuzzFrames(input(text('hello')), make))).toMatch(/^results depend on the chunking/);
    expect(pushes).toBeGreaterThan(2);
  });

  it('rejects a decoder that never stops producing results', () => {
    const make: DecoderFactory = () => ({ push: () => {}, next: () => ({ data: Buffer.alloc(0), type: 'text', err: null }), end: () => null });
    expect(crashOf(() => fuzzFrames(input(text('x')), make))).toMatch(/^no progress/);
  });

  it('rejects a decoder that allocates for a length it has not received', () => {
    const retained: Buffer[] = [];
    const make = brokenDecoder((r) => r);
    const allocating: DecoderFactory = (opts) => {
      const d = make(opts);
      return { ...d, push: (c) => (retained.push(Buffer.alloc(8 * 1024 * 1024)), d.push(c)) };
    };
    // 2^31-1 declared, 3 bytes sent.
    const stream = Buffer.from([0x82, 0x7f, 0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    expect(crashOf(() => fuzzFrames(input(stream, 0), allocating))).toMatch(/^memory growth/);
    expect(retained.length).toBeGreaterThan(0);
  });

  it('catches the planted bug (signed close code) on a crafted input', async () => {
    const planted = await loadTargetFunction('frame-planted');
    const compat = await loadTargetFunction('frame-compat');
    const close = input(Buffer.from([0x88, 0x02, 0x90, 0x00]), 0);
    expect(() => compat(close)).not.toThrow();
    expect(crashOf(() => planted(close))).toMatch(/^close code out of range: -28672/);
  });
});

describe('the inflate oracle', () => {
  const key = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const masked = (b0: number, payload: Buffer): Buffer => {
    const m = Buffer.from(payload);
    for (let i = 0; i < m.length; i++) m[i]! ^= key[i & 3]!;
    return Buffer.concat([Buffer.from([b0, 0x80 | payload.length]), key, m]);
  };
  const deflated = (s: string): Buffer => {
    const d = deflateRawSync(Buffer.from(s), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    return d.subarray(0, d.length - 4);
  };
  const opts = { windowIndex: 0, noContextTakeover: false, maxIndex: 0, chunkIndex: 1, seed: 3 };

  it('runs the real endpoint: inflated fragments, RSV1 misuse, bad deflate data and the size limit end as documented', async () => {
    const { fuzz, encodeInflateInput } = await import('./inflate.js');
    const hello = deflated('Hello, Hello, Hello');
    for (const stream of [
      Buffer.concat([masked(0x41, hello.subarray(0, 4)), masked(0x00, hello.subarray(4, 9)), masked(0x80, hello.subarray(9))]),
      Buffer.concat([masked(0x41, hello.subarray(0, 4)), masked(0xc0, hello.subarray(4))]),
      masked(0xc9, Buffer.from('ping')),
      masked(0xc1, Buffer.from([0xff, 0xff, 0xff])),
    ]) {
      for (const noContextTakeover of [false, true]) {
        for (const maxIndex of [0, 3]) await expect(fuzz(encodeInflateInput({ ...opts, noContextTakeover, maxIndex }, stream))).resolves.toBeUndefined();
      }
    }
  });

  it('reads back the input layout it encodes (parameters, chunking)', async () => {
    const { parseInflateInput, encodeInflateInput, WINDOW_BITS, MAX_MESSAGE_CHOICES } = await import('./inflate.js');
    const parsed = parseInflateInput(encodeInflateInput({ windowIndex: 3, noContextTakeover: true, maxIndex: 2, chunkIndex: 7, seed: 1 }, Buffer.from('xyz')))!;
    expect(parsed).toMatchObject({ clientMaxWindowBits: WINDOW_BITS[3], clientNoContextTakeover: true, maxMessageLen: MAX_MESSAGE_CHOICES[2] });
    expect(Buffer.concat(parsed.chunks).toString()).toBe('xyz');
  });
});
