// nginx's request header buffers: client_header_buffer_size for the start, then up to
// large_client_header_buffers, each of which must hold a whole request line or header line. Running
// out is 414 in the request line and 494 "Request Header Or Cookie Too Large" after it. The bytes
// of the line being parsed are kept here too, so the parser can cut names and values out of them.

export interface HeadLimits {
  /** client_header_buffer_size: the first buffer (default 1024). */
  clientHeaderBufferSize: number;
  /** large_client_header_buffers number (default 4). */
  largeBuffers: number;
  /** large_client_header_buffers size (default 8192): a request line or header line must fit in one. */
  largeBufferSize: number;
  /** Header lines nginx keeps before it answers 400 "Request Header Or Cookie Too Large" (measured: 1000). */
  maxHeaders: number;
}

export const DEFAULT_HEAD_LIMITS: Readonly<HeadLimits> = Object.freeze({
  clientHeaderBufferSize: 1024,
  largeBuffers: 4,
  largeBufferSize: 8192,
  maxHeaders: 1000,
});

export type BuffersExhausted = { status: 414 | 494; err: string };

export class HeaderBuffers {
  private readonly limits: HeadLimits;
  /** Where the current buffer ends (absolute offset), and how many large buffers are in use. */
  private end: number;
  private largeUsed = 0;
  /** Absolute offset where the current request line or header line started (-1: between lines). */
  private lineStart = -1;
  /** The current line's bytes (a Buffer, not a number[]: a slow client's 8 KiB line costs 8 KiB). */
  private line = Buffer.allocUnsafe(128);
  private lineLen = 0;

  constructor(limits: HeadLimits) {
    this.limits = limits;
    this.end = limits.clientHeaderBufferSize;
  }

  /**
   * Makes room for the byte at absolute offset `pos` (ngx_http_alloc_large_header_buffer): at a
   * buffer's end the current line moves to a fresh large buffer, if one is left and the line fits.
   */
  roomFor(pos: number, inRequestLine: boolean): BuffersExhausted | null {
    if (pos !== this.end) return null;
    const midLine = this.lineStart >= 0;
    if (inRequestLine && !midLine) {
      // Only CRLFs so far: nginx reuses the buffer from its start.
      this.end = pos + this.limits.clientHeaderBufferSize;
      return null;
    }
    const tooLong = midLine && pos - this.lineStart >= this.limits.largeBufferSize;
    if (tooLong || this.largeUsed >= this.limits.largeBuffers) {
      if (inRequestLine) return { status: 414, err: 'client sent too long URI' };
      return { status: 494, err: midLine ? 'client sent too long header line' : 'client sent too large request' };
    }
    this.largeUsed++;
    this.end = (midLine ? this.lineStart : pos) + this.limits.largeBufferSize;
    return null;
  }

  /** Keeps a byte of the current line (between lines, bytes are not kept). */
  take(ch: number): void {
    if (this.lineStart < 0) return;
    if (this.lineLen === this.line.length) {
      const bigger = Buffer.allocUnsafe(this.line.length * 2);
      this.line.copy(bigger, 0, 0, this.lineLen);
      this.line = bigger;
    }
    this.line[this.lineLen++] = ch;
  }

  /** A line starts with `ch`, the byte at absolute offset `pos`. */
  beginLine(pos: number, ch: number): void {
    this.lineStart = pos;
    this.lineLen = 0;
    this.take(ch);
  }

  endLine(): void {
    this.lineStart = -1;
    this.lineLen = 0;
  }

  /** The current line's bytes from absolute offset `from` to `to`, as latin1 text. */
  text(from: number, to: number): string {
    return this.line.toString('latin1', from - this.lineStart, to - this.lineStart);
  }

  /** Absolute offset where the current line started. */
  get lineFrom(): number {
    return this.lineStart;
  }
}
