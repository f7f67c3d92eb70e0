// A FIFO of received chunks. Reads of n bytes that lie inside the first chunk are zero-copy
// subarrays and advance an offset (no remainder buffer is made); only a read that spans chunks
// concatenates (the one copy).

export const EMPTY: Buffer = Buffer.alloc(0);

export class ByteQueue {
  private chunks: Buffer[] = [];
  private first = 0; // index of the first live chunk; compacted lazily to keep shift() off the hot path
  private offset = 0; // bytes of the first live chunk already consumed
  private total = 0;

  get length(): number {
    return this.total;
  }

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /** The byte at position i (0 = oldest). i must be < length. */
  byteAt(i: number): number {
    let c = this.first;
    let chunk = this.chunks[c]!;
    i += this.offset;
    while (i >= chunk.length) {
      i -= chunk.length;
      chunk = this.chunks[++c]!;
    }
    return chunk[i]!;
  }

  /**
   * The oldest chunk when the next n bytes (n <= length) lie inside it, read from `headOffset` on;
   * else null. Nothing is consumed: a reader that needs no Buffer of its own reads them there.
   */
  headHolding(n: number): Buffer | null {
    const head = this.chunks[this.first]!;
    return this.offset + n <= head.length ? head : null;
  }

  /** Where the unread bytes of the oldest chunk start. */
  get headOffset(): number {
    return this.offset;
  }

  /** Drops n bytes (n <= length). */
  skip(n: number): void {
    this.total -= n;
    while (n > 0) {
      const chunk = this.chunks[this.first]!;
      const left = chunk.length - this.offset;
      if (n < left) {
        this.offset += n;
        return;
      }
      n -= left;
      this.dropFirst();
    }
  }

  /** Removes and returns exactly n bytes (n <= length). */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const head = this.chunks[this.first]!;
    const start = this.offset;
    const left = head.length - start;
    if (n <= left) {
      this.total -= n;
      if (n === left) this.dropFirst();
      else this.offset = start + n;
      return start === 0 && n === head.length ? head : head.subarray(start, start + n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.first]!;
      const avail = chunk.length - this.offset;
      const want = Math.min(avail, n - filled);
      chunk.copy(out, filled, this.offset, this.offset + want);
      filled += want;
      this.skip(want);
    }
    return out;
  }

  /** Removes and returns everything buffered. */
  takeAll(): Buffer {
    return this.take(this.total);
  }

  /** Position of the first occurrence of `pattern`, or -1. */
  indexOf(pattern: Buffer): number {
    if (this.total < pattern.length) return -1;
    if (this.chunks.length - this.first > 1) {
      // Rare (a header split across TCP segments): flatten once, then search.
      const flat = this.take(this.total);
      this.chunks = [flat];
      this.first = 0;
      this.offset = 0;
      this.total = flat.length;
    }
    const head = this.chunks[this.first]!;
    const at = head.indexOf(pattern, this.offset);
    return at < 0 ? -1 : at - this.offset;
  }

  private dropFirst(): void {
    this.chunks[this.first] = EMPTY;
    this.first++;
    this.offset = 0;
    if (this.first === this.chunks.length) {
      this.chunks.length = 0;
      this.first = 0;
    } else if (this.first > 64) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}
