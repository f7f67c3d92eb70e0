// Shared pieces of the fuzz targets: how an input picks its options and chunking, and what counts
// as a crash. A target returns normally for every documented outcome (a frame, a result, one of the
// spec's error strings) and throws a FuzzCrash for anything else; jsfuzz saves every throw.

/** A broken oracle property. The message names the property so findings group by cause. */
export class FuzzCrash extends Error {
  constructor(property: string, detail: unknown) {
    super(`${property}: ${typeof detail === 'string' ? detail : safeJson(detail)}`);
    this.name = 'FuzzCrash';
  }
}

function safeJson(v: unknown): string {
  try {
    return JSON.stringify(v, (_k, x: unknown) =>
      Buffer.isBuffer(x) ? `<${x.length} bytes ${x.subarray(0, 32).toString('hex')}>` : x,
    );
  } catch {
    return String(v);
  }
}

export function check(cond: boolean, property: string, detail: unknown = ''): asserts cond {
  if (!cond) throw new FuzzCrash(property, detail);
}

/**
 * Deterministic chunk sizes chosen by the input: a xorshift32 stream seeded by `seed`, each size in
 * 1..maxChunk. maxChunk 0 means "one chunk".
 */
export function chunkSizes(total: number, seed: number, maxChunk: number): number[] {
  if (maxChunk <= 0 || total === 0) return total === 0 ? [] : [total];
  const sizes: number[] = [];
  let x = (seed | 0) || 0x9e3779b9;
  let left = total;
  while (left > 0) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const n = Math.min(left, 1 + ((x >>> 0) % maxChunk));
    sizes.push(n);
    left -= n;
  }
  return sizes;
}

export function splitBy(buf: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (const n of sizes) {
    out.push(buf.subarray(off, off + n));
    off += n;
  }
  return out;
}

/** Copies so a consumer that works in place (the frame decoder unmasks in place) cannot alter the input. */
export function copyChunks(chunks: readonly Buffer[]): Buffer[] {
  return chunks.map((c) => Buffer.from(c));
}

/**
 * Guards against memory growth out of proportion with the input: a decoder must never allocate for a
 * declared length it has not received. `allowed` is the budget in bytes on top of a small constant.
 */
export class MemoryGuard {
  private readonly start = process.memoryUsage().arrayBuffers;
  constructor(private readonly allowed: number) {}
  check(where: string): void {
    const grown = process.memoryUsage().arrayBuffers - this.start;
    check(grown <= this.allowed + MEMORY_SLACK, 'memory growth', `${where}: +${grown} bytes, budget ${this.allowed}`);
  }
}

/** Buffer pool slabs (8 KiB each) and the like. */
export const MEMORY_SLACK = 256 * 1024;

export function isInteger(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}
