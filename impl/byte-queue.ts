// A FIFO of received chunks. Reads of n bytes that lie inside one chunk are zero-copy
// subarrays; only a read that spans chunks concatenates (the one copy).

export class ByteQueue {
  private chunks: Buffer[] = [];
  private first = 0; // index of the first live chunk; compacted lazily to keep shift() off the hot path
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
    for (let c = this.first; ; c++) {
      const chunk = this.chunks[c]!;
      if (i < chunk.length) return chunk[i]!;
      i -= chunk.length;
    }
  }

  /** Removes and returns exactly n bytes (n <= length). */
  take(n: number): Buffer {
    if (n === 0) return EMPTY;
    const head = this.chunks[this.first]!;
    this.total -= n;
    if (n < head.length) {
      this.chunks[this.first] = head.subarray(n);
      return head.subarray(0, n);
    }
    if (n === head.length) {
      this.dropFirst();
      return head;
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.first]!;
      const want = n - filled;
      if (chunk.length <= want) {
        chunk.copy(out, filled);
        filled += chunk.length;
        this.dropFirst();
      } else {
        chunk.copy(out, filled, 0, want);
        this.chunks[this.first] = chunk.subarray(want);
        filled += want;
      }
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
    const live = this.chunks.length - this.first;
    if (live === 1) return this.chunks[this.first]!.indexOf(pattern);
    // Rare (a header split across TCP segments): flatten once, then search.
    const flat = Buffer.concat(this.chunks.slice(this.first), this.total);
    this.chunks = [flat];
    this.first = 0;
    return flat.indexOf(pattern);
  }

  private dropFirst(): void {
    this.chunks[this.first] = EMPTY;
    this.first++;
    if (this.first === this.chunks.length) {
      this.chunks = [];
      this.first = 0;
    } else if (this.first > 64) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
  }
}

export const EMPTY: Buffer = Buffer.alloc(0);
