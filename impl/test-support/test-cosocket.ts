// Test support: an in-memory cosocket for the protocol and endpoint tests. Bytes arrive either
// pushed (feed/end, while a read may be waiting) or from a script the reads pull from on demand,
// where 'timeout' fails the read that meets it (consuming what it had, like ngx_lua's partial
// read). What is sent is recorded; close() is remembered.
import type { Cosocket, OkResult, SendResult, SockRecv } from '../types.js';

export type ScriptEvent = Buffer | 'timeout';

export interface TestCosocketOptions {
  /** Offer tryReceive (the synchronous fast path), as NodeCosocket does. */
  fastPath?: boolean;
  /** Events the reads pull when they need more bytes; at its end the stream is closed. */
  script?: ScriptEvent[];
}

export class TestCosocket implements Cosocket {
  readonly sent: Buffer[] = [];
  closed = false;
  tryReceive?: (n: number) => Buffer | null;
  private buffered = Buffer.alloc(0);
  private pending: { n: number; resolve: (r: SockRecv) => void } | null = null;
  private ended = false;
  private readonly script: ScriptEvent[] | null;

  constructor(opts: TestCosocketOptions = {}) {
    this.script = opts.script ?? null;
    if (opts.fastPath) this.tryReceive = (n) => (n > 0 && this.buffered.length >= n ? this.take(n) : null);
  }

  /** Bytes arrive (a waiting read that they complete resolves). */
  feed(chunk: Buffer): void {
    this.buffered = Buffer.concat([this.buffered, chunk]);
    const p = this.pending;
    if (p && this.buffered.length >= p.n) {
      this.pending = null;
      p.resolve({ data: this.take(p.n), err: null });
    }
  }

  /** The peer closed: a waiting read and every later one that cannot be served fail with "closed". */
  end(): void {
    this.ended = true;
    const p = this.pending;
    this.pending = null;
    p?.resolve(this.failRead('closed'));
  }

  receive(n: number): Promise<SockRecv> {
    for (;;) {
      if (this.buffered.length >= n) return Promise.resolve({ data: this.take(n), err: null });
      if (this.script === null) break;
      const e = this.script.shift();
      if (e === undefined || this.closed) return Promise.resolve(this.failRead('closed'));
      if (e === 'timeout') return Promise.resolve(this.failRead('timeout'));
      this.buffered = Buffer.concat([this.buffered, e]);
    }
    if (this.ended || this.closed) return Promise.resolve(this.failRead('closed'));
    return new Promise((resolve) => (this.pending = { n, resolve }));
  }

  private failRead(err: string): SockRecv {
    return { data: null, err, partial: this.take(this.buffered.length) };
  }

  private take(n: number): Buffer {
    const out = Buffer.from(this.buffered.subarray(0, n));
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  receiveUntil(): Promise<SockRecv> {
    throw new Error('not used');
  }

  send(data: Buffer | string | readonly Buffer[]): Promise<SendResult> {
    const buf = Buffer.isBuffer(data) ? data : typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.concat(data);
    this.sent.push(buf);
    return Promise.resolve({ bytes: buf.length, err: null });
  }

  setTimeout(): void {}

  close(): Promise<OkResult> {
    this.closed = true;
    return Promise.resolve({ ok: 1, err: null });
  }
}
