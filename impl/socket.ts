// A cosocket-like layer over a Node stream: exact-size reads and reads up to a pattern, with
// ngx_lua's timeout and error semantics. A read that fails part-way consumes what it got and hands
// it back as `partial`, which is what makes the original's stream desynchronise after a timeout
// inside a frame (docs/behaviour.md §5, "A timeout is non-fatal even in the middle of a frame").
import net from 'node:net';
import type tls from 'node:tls';
import { ByteQueue, EMPTY } from './byte-queue.js';
import { luaSocketTimeout } from './lua.js';
import type { Cosocket, OkResult, ReceiveCallback, SendResult, SockRecv } from './types.js';

/** ngx_lua's lua_socket_{connect,send,read}_timeout default. */
export const DEFAULT_TIMEOUT_MS = 60_000;

/**
 * lua_socket_buffer_size's default (a page): an nginx cosocket's recv() fills at most this buffer,
 * so this is all it can hold beyond what a read returned; the rest stays in the kernel.
 */
const NGINX_READ_BUFFER = 4096;

/** Stop reading from the kernel while this much is buffered beyond what a pending read needs. */
const HIGH_WATER = 1 << 20;

/**
 * send() waits once more than this is queued in the stream, not yet taken by the kernel (Node's
 * own mark is 16 KiB per write; Linux autotunes a TCP send buffer up to 4 MiB). A mark of 256 KiB
 * stops an echo with 32 × 16 KiB in flight per connection from reading while it waits, and leaves
 * it idle: the same CPU per message as ws, half the messages per second at 64 connections.
 */
const SEND_HIGH_WATER = 1024 * 1024;
/** ... until the queue is back under this, not until it is empty ('drain'), so the pipe stays full. */
const SEND_LOW_WATER = 256 * 1024;

export type Stream = net.Socket | tls.TLSSocket;

/**
 * ngx_lua's answers to a second read or send on one cosocket while the first still waits
 * (ngx_http_lua_socket_check_busy_reading/writing): the second call fails at once, the first
 * goes on untouched.
 */
export const SOCKET_BUSY = { reading: 'socket busy reading', writing: 'socket busy writing' } as const;
const BUSY_READING: SockRecv = Object.freeze({ data: null, err: SOCKET_BUSY.reading, partial: EMPTY });

/** The error came from a write (Node names the syscall), not from reading. */
function isWriteError(e: unknown): boolean {
  const syscall = (e as NodeJS.ErrnoException | undefined)?.syscall;
  return syscall === 'write' || syscall === 'writev';
}

/** Maps a Node socket error to ngx_lua's wording. */
export function ngxSocketError(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ECONNRESET': return 'connection reset by peer';
    case 'EPIPE': return 'broken pipe';
    case 'ECONNREFUSED': return 'connection refused';
    case 'ETIMEDOUT': return 'timeout';
    case 'ENOENT': return 'no such file or directory';
    case 'EHOSTUNREACH': return 'no route to host';
    case 'ENETUNREACH': return 'network is unreachable';
    case 'ERR_STREAM_DESTROYED':
    case 'ERR_STREAM_WRITE_AFTER_END': return 'closed';
    default: return (e as Error | undefined)?.message ?? String(e);
  }
}

/**
 * The stream's listeners and deferred calls are shared functions that find their cosocket on the
 * stream (`this` for a listener) or in their arguments, not a closure per cosocket: six closures
 * were ~0.4 KiB of heap on every idle server connection.
 */
const COSOCKET = Symbol('cosocket');
type OwnedStream = Stream & { [COSOCKET]?: NodeCosocket };
function streamData(this: OwnedStream, chunk: Buffer): void {
  this[COSOCKET]?.handleData(chunk);
}
function streamEnd(this: OwnedStream): void {
  this[COSOCKET]?.handleEnd();
}
function streamError(this: OwnedStream, e: Error): void {
  this[COSOCKET]?.handleError(e);
}
function streamClose(this: OwnedStream): void {
  this[COSOCKET]?.handleClose();
}
/** Hands a read's outcome to its reader; the record is free again before the reader runs (it may start the next read). */
function deliver(c: NodeCosocket, p: PendingRead, r: SockRecv): void {
  const { to, resolve } = p;
  p.pattern = p.resolve = p.to = null;
  c.spareRead = p;
  if (to !== null) to.received(r);
  else resolve!(r);
}
function uncorkStream(c: NodeCosocket): void {
  c.uncork();
}
function readDeadline(c: NodeCosocket, readSeq: number): void {
  c.onReadDeadline(readSeq);
}

/**
 * The read timers of all sockets: one list per timer length, in the order the sockets were armed
 * (so in the order they are due), and one Node timer per list for its first socket, as Node keeps
 * its own timer lists. A socket's timer is three fields of it, where a Timeout object and its
 * closure per socket were ~0.2 KiB of heap on every idle connection.
 */
class ReadTimerList {
  first: NodeCosocket | null = null;
  last: NodeCosocket | null = null;
  timer: NodeJS.Timeout | null = null;
  constructor(readonly ms: number) {}
}
const readTimerLists = new Map<number, ReadTimerList>();

function fireReadTimers(list: ReadTimerList): void {
  list.timer = null;
  const now = performance.now();
  for (let c = list.first; c !== null; c = list.first) {
    // armed later than the timer's start (Node runs a list's due timers the same way): wait for it
    if (c.readTimerAt > now + 1) {
      list.timer = setTimeout(fireReadTimers, c.readTimerAt - now, list);
      return;
    }
    c.unlinkReadTimer();
    c.onReadTimer();
  }
}

interface PendingRead {
  /** Bytes wanted, or -1 when reading up to `pattern`. */
  n: number;
  pattern: Buffer | null;
  /** Who gets the outcome: a promise's resolve (receive) or a receiveLater reader. */
  resolve: ((r: SockRecv) => void) | null;
  to: ReceiveCallback | null;
  /** The read timeout this read started with. */
  timeoutMs: number;
}

export interface NodeCosocketOptions {
  /** Timeout for reads and sends in ms (for reads: the longest silence while waiting); default 60 s like ngx_lua. */
  timeout?: number;
  /** Bytes already read from the stream (e.g. the rest of an HTTP upgrade request). */
  head?: Buffer;
}

export class NodeCosocket implements Cosocket {
  readonly stream: Stream;
  private readonly queue = new ByteQueue();
  private pending: PendingRead | null = null;
  /**
   * @internal The record of the last settled read, for the next one: a connection waits for its
   * next frame in one record for its whole life instead of one per message (a record made per wait
   * is alive at every scavenge that finds the connection waiting).
   */
  spareRead: PendingRead | null = null;
  /** Counts the reads started; a timer's check names the read it was for. */
  private readSeq = 0;
  /** A send is waiting for the kernel to take its bytes (ngx_lua's write_waiting). */
  private writeWaiting = false;
  private timeoutMs: number;
  /** No more bytes will arrive: the peer's FIN, a reset or another socket error was seen. */
  private ended = false;
  /**
   * A socket error (the kernel's sk_err, e.g. ECONNRESET from the peer's RST) that Node's reading
   * took from the kernel before any call asked for it. An nginx cosocket reads only when Lua
   * calls receive, so the kernel hands that error to whichever recv() or send() comes next, once:
   * the next read or send here reports it, and clears it.
   */
  private socketError: string | null = null;
  /** The kernel socket is gone (reset, or a send failed): sends fail with EPIPE, reads see end of stream. */
  private dead = false;
  /**
   * ngx_lua's read_closed and write_closed: a read that failed other than by a timeout, or a send
   * that failed, finalizes that direction; later reads, or sends, answer "closed" without a syscall.
   */
  private readClosed = false;
  private writeClosed = false;
  /** The last stream error handled (Node reports one both as stream.errored and as an 'error' event). */
  private seenError: Error | null = null;
  private closedByUs = false;
  private readLeftover = 0;
  private corked = false;
  /**
   * One read timer per socket, armed lazily: a read sets `readDeadline` and arms the timer only if
   * it is not armed already; settling a read leaves it armed. When it fires it times out the
   * pending read if its deadline has passed, re-arms for the rest if not, and stops if no read is
   * pending. A setTimeout + clearTimeout per read costs 4-5% of the server's busy time at 1000
   * connections (timer list insert/unenroll), where ws uses no timer per message at all.
   */
  /** The list the socket's read timer is armed in (null: not armed), and its neighbours there. */
  private readTimer: ReadTimerList | null = null;
  private timerPrev: NodeCosocket | null = null;
  private timerNext: NodeCosocket | null = null;
  private readDeadline = 0;
  /** @internal When the armed timer fires (performance.now() time). */
  readTimerAt = 0;
  /**
   * @internal The armed timer fired. nginx handles the I/O events of a cycle before it expires timers, so
   * bytes that had arrived by the deadline are still read; libuv runs due timers before it polls, so
   * the decision waits for this turn's poll phase (setImmediate comes after it).
   */
  onReadTimer(): void {
    if (this.pending !== null) setImmediate(readDeadline, this, this.readSeq);
  }

  /** Arms the read timer to fire in `ms` (it is not armed). */
  private armReadTimer(ms: number): void {
    const len = Math.max(1, Math.ceil(ms));
    let list = readTimerLists.get(len);
    if (list === undefined) {
      list = new ReadTimerList(len);
      readTimerLists.set(len, list);
    }
    this.readTimer = list;
    this.readTimerAt = performance.now() + ms;
    this.timerPrev = list.last;
    if (list.last !== null) list.last.timerNext = this;
    else list.first = this;
    list.last = this;
    list.timer ??= setTimeout(fireReadTimers, len, list);
  }

  /** @internal Takes the socket out of its timer list (it must be armed). */
  unlinkReadTimer(): void {
    const list = this.readTimer!;
    if (this.timerPrev !== null) this.timerPrev.timerNext = this.timerNext;
    else list.first = this.timerNext;
    if (this.timerNext !== null) this.timerNext.timerPrev = this.timerPrev;
    else list.last = this.timerPrev;
    this.timerPrev = this.timerNext = null;
    this.readTimer = null;
    if (list.first === null) {
      if (list.timer !== null) clearTimeout(list.timer);
      list.timer = null;
      readTimerLists.delete(list.ms);
    }
  }
  /** @internal Times the read out if its deadline passed without progress; re-arms for the rest if not. */
  onReadDeadline(readSeq: number): void {
    const p = this.pending;
    if (p === null || readSeq !== this.readSeq) return;
    const left = this.readDeadline - performance.now();
    if (left > 0) {
      if (this.readTimer === null) this.armReadTimer(left);
      return;
    }
    this.pending = null;
    deliver(this, p, this.failRead('timeout'));
  }
  /** @internal */
  uncork(): void {
    this.corked = false;
    this.stream.uncork();
  }
  /** Sends waiting for the queue to fall under SEND_LOW_WATER. */
  private lowWaterWaiters: Array<() => void> | null = null;
  /**
   * Passed (made at the first need) with each write that leaves more than SEND_LOW_WATER queued:
   * Node calls it once the kernel took that write's bytes. Only such a write's completion can
   * release a waiter: a waiter exists only after the queue passed SEND_HIGH_WATER (>= 2 x
   * SEND_LOW_WATER), and writes finish in order, so whenever the queue falls under SEND_LOW_WATER
   * the write just finished had more than SEND_LOW_WATER behind or with it when it was made.
   */
  private written: (() => void) | null = null;
  private writeCallback(queuedAfter: number): (() => void) | undefined {
    if (queuedAfter <= SEND_LOW_WATER) return undefined;
    return (this.written ??= (): void => {
      const waiters = this.lowWaterWaiters;
      if (waiters === null || waiters.length === 0 || this.stream.writableLength > SEND_LOW_WATER) return;
      this.lowWaterWaiters = null;
      for (const w of waiters) w();
    });
  }

  constructor(stream: Stream, opts: NodeCosocketOptions = {}) {
    this.stream = stream;
    this.timeoutMs = opts.timeout ?? DEFAULT_TIMEOUT_MS;
    if (opts.head && opts.head.length > 0) this.queue.push(opts.head);
    // nginx read these with the request head: they are in its buffer, not in the kernel.
    this.readLeftover = this.queue.length;
    (stream as OwnedStream)[COSOCKET] = this;
    stream.setNoDelay?.(true);
    // An nginx connection shuts its side only when it is closed, never because the peer shut
    // its own: after the peer's FIN, sends still reach the kernel, which takes the first and
    // then reports the peer's RST as EPIPE. (A TLS stream ends with its close_notify.)
    if (!('encrypted' in stream)) stream.allowHalfOpen = true;
    stream.on('data', streamData);
    stream.on('end', streamEnd);
    stream.on('error', streamError);
    stream.on('close', streamClose);
    if (stream.destroyed) this.handleClose();
  }

  /** True once the stream ended or was closed. */
  get closed(): boolean {
    return this.ended || this.closedByUs;
  }

  /**
   * The peer's FIN has arrived (nginx's pending_eof, from EPOLLRDHUP), even when bytes sent before
   * it are still unread: Node has taken it from the kernel once its readable state ended, before it
   * emits 'end' (ws reads `_readableState` the same way).
   */
  get peerEnded(): boolean {
    return this.ended || (this.stream as { _readableState?: { ended?: boolean } })._readableState?.ended === true;
  }

  /** A read failed other than by a timeout, or a send failed (ngx_lua's read_closed or write_closed). */
  get failed(): boolean {
    return this.readClosed || this.writeClosed;
  }

  /** Bytes received but not yet read. */
  get buffered(): number {
    return this.queue.length;
  }

  /**
   * Of those, the bytes an nginx cosocket would hold in its own buffer: what had already arrived
   * when the last read returned, as far as its buffer takes it (one recv() fills at most
   * lua_socket_buffer_size), as opposed to bytes still in the kernel. setkeepalive tells the two
   * apart, and close() resets the connection when the kernel holds any.
   */
  get bufferedAtLastRead(): number {
    return Math.min(this.readLeftover, this.queue.length, NGINX_READ_BUFFER);
  }

  /**
   * Bytes nginx would still have in the kernel: everything that arrived after the last read
   * returned (one recv() takes what is there; what comes later waits in the kernel), or, before
   * any read, everything after the bytes that came with the request head.
   */
  private unreadInKernel(): boolean {
    return this.queue.length + this.stream.readableLength > this.bufferedAtLastRead;
  }

  /** tcpsock:settimeout: a value not above 0 (or not a number) means the default, as in ngx_lua. */
  setTimeout(ms: unknown): void {
    this.timeoutMs = luaSocketTimeout(ms, DEFAULT_TIMEOUT_MS);
  }

  get timeout(): number {
    return this.timeoutMs;
  }

  receive(n: number): Promise<SockRecv> {
    if (this.closedByUs || this.readClosed) return Promise.resolve({ data: null, err: 'closed', partial: EMPTY });
    if (this.pending !== null) return Promise.resolve(BUSY_READING);
    if (n <= 0) return Promise.resolve({ data: EMPTY, err: null });
    if (this.queue.length >= n) {
      const data = this.queue.take(n);
      this.readLeftover = this.queue.length;
      this.maybeResume();
      return Promise.resolve({ data, err: null });
    }
    return this.wait(n, null);
  }

  receiveLater(n: number, to: ReceiveCallback): void {
    // what receive() answers without waiting (closed, busy, n <= 0, buffered, ended) comes as it does there
    if (this.closedByUs || this.readClosed || this.pending !== null || n <= 0 || this.queue.length >= n || this.ended) void this.receive(n).then((r) => to.received(r));
    else this.startWait(n, null, null, to);
  }

  tryReceive(n: number): Buffer | null {
    if (this.closedByUs || this.readClosed || this.pending !== null || n <= 0 || this.queue.length < n) return null;
    const data = this.queue.take(n);
    this.readLeftover = this.queue.length;
    this.maybeResume();
    return data;
  }

  receiveUntil(pattern: Buffer | string): Promise<SockRecv> {
    const pat = typeof pattern === 'string' ? Buffer.from(pattern, 'latin1') : pattern;
    if (this.closedByUs || this.readClosed) return Promise.resolve({ data: null, err: 'closed', partial: EMPTY });
    if (this.pending !== null) return Promise.resolve(BUSY_READING);
    const at = this.queue.indexOf(pat);
    if (at >= 0) return Promise.resolve(this.takeUntil(at, pat.length));
    return this.wait(-1, pat);
  }

  /**
   * Sends all bytes. Like ngx_lua, it returns once the bytes are taken for sending; it waits (under
   * the send timeout) only when more than SEND_HIGH_WATER is queued and not yet taken by the kernel,
   * until less than SEND_LOW_WATER is.
   * While received bytes wait to be read, sends made in one turn of the event loop go out together:
   * the stream is corked at the first and uncorked on the next tick (or by the send that finds
   * nothing more to read), so an echo loop that answers 32 pipelined frames from one read makes
   * one writev instead of 32 writes. The bytes and their order are the same either way; only the
   * TCP segmentation differs (ngx_lua makes one send() per call).
   * Every other send is written before it returns, as ngx_lua's send() is, so the kernel's answer
   * is this call's: after the peer's FIN it takes the first bytes and fails the next write once
   * the RST they provoked is back ("broken pipe"); after an RST it fails the next write with it.
   */
  send(data: Buffer | string | readonly Buffer[]): Promise<SendResult> {
    return Promise.resolve(this.sendNow(data));
  }

  sendNow(data: Buffer | string | readonly Buffer[]): SendResult | Promise<SendResult> {
    // A FIN from the peer ends reading only: like an nginx cosocket, sends go on.
    if (this.closedByUs || this.writeClosed) return { bytes: null, err: 'closed' };
    if (this.writeWaiting) return { bytes: null, err: SOCKET_BUSY.writing };
    const stream = this.stream;
    // Node may have destroyed the stream for an error whose 'error' event is still to come.
    if (stream.errored) this.handleError(stream.errored);
    const pendingErr = this.takeSocketError();
    if (pendingErr !== null) return this.failSend(pendingErr);
    // The kernel socket is gone or shut for writing: send() fails with EPIPE.
    if (this.dead || stream.destroyed || !stream.writable) return this.failSend('broken pipe');
    if (this.peerEnded && 'encrypted' in stream) return this.sendConfirmed(data);
    // Batching holds only while more input waits to be answered, with Node reading the stream (an
    // echo loop working through frames that came together): the stream stays corked until the next
    // tick, or until a send finds nothing more to read. Otherwise the bytes are written now, as
    // ngx_lua's send() writes them, so that a failure (EPIPE, ECONNRESET) is this call's. After the
    // peer's FIN each send must meet the kernel alone: the first is taken, the next one meets the
    // RST it provoked ("broken pipe"), where one batched write would take both.
    const batch = !this.peerEnded && this.queue.length > 0 && stream.readableFlowing === true;
    if (batch && !this.corked) {
      this.corked = true;
      stream.cork();
      process.nextTick(uncorkStream, this);
    }
    let bytes = 0;
    if (typeof data === 'string' || Buffer.isBuffer(data)) {
      const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
      bytes = buf.length;
      stream.write(buf, this.writeCallback(stream.writableLength + bytes));
    } else {
      // the pieces of one send (a frame's header and payload) leave in one writev
      const corkHere = !this.corked;
      if (corkHere) stream.cork();
      for (const piece of data) {
        bytes += piece.length;
        stream.write(piece, this.writeCallback(stream.writableLength + piece.length));
      }
      if (corkHere) stream.uncork();
    }
    if (!batch && this.corked) {
      this.corked = false;
      stream.uncork();
    }
    const failed = stream.errored;
    if (failed) {
      this.handleError(failed);
      return this.failSend(ngxSocketError(failed));
    }
    if (stream.writableLength <= SEND_HIGH_WATER) return { bytes, err: null };
    this.writeWaiting = true;
    return new Promise((resolve) => {
      let done = false;
      const finish = (r: SendResult): void => {
        if (done) return;
        done = true;
        this.writeWaiting = false;
        if (r.err !== null) this.writeClosed = true;
        clearTimeout(timer);
        stream.off('drain', onDrain);
        stream.off('error', onError);
        stream.off('close', onClose);
        const i = this.lowWaterWaiters?.indexOf(onDrain) ?? -1;
        if (i >= 0) this.lowWaterWaiters!.splice(i, 1);
        resolve(r);
      };
      const onDrain = (): void => finish({ bytes, err: null });
      (this.lowWaterWaiters ??= []).push(onDrain);
      // A failed write is this send's error; a read's error (handled first, by the listener the
      // constructor added) goes to this send unless a pending read took it.
      const onError = (e: Error): void => finish({ bytes: null, err: isWriteError(e) ? ngxSocketError(e) : (this.takeSocketError() ?? 'broken pipe') });
      const onClose = (): void => finish({ bytes: null, err: this.takeSocketError() ?? 'broken pipe' });
      // ngx_lua's send timeout covers waiting for the kernel to take the bytes.
      const timer = setTimeout(() => finish({ bytes: null, err: 'timeout' }), this.timeoutMs);
      stream.on('drain', onDrain);
      stream.on('error', onError);
      stream.on('close', onClose);
    });
  }

  /**
   * A TLS stream hands its bytes to the kernel after write() returns (through the TLS layer), so the
   * kernel's answer to a send comes with the write's callback. After the peer's FIN that answer is
   * the point (the RST the previous send provoked makes this one fail with EPIPE, as SSL_write does
   * in ngx_lua), so such a send waits for it.
   */
  private sendConfirmed(data: Buffer | string | readonly Buffer[]): Promise<SendResult> {
    const buf = typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.isBuffer(data) ? data : Buffer.concat(data);
    return new Promise((resolve) => {
      this.stream.write(buf, (e) => {
        if (e === null || e === undefined) return resolve({ bytes: buf.length, err: null });
        this.handleError(e);
        resolve(this.failSend(ngxSocketError(e)));
      });
    });
  }

  /**
   * tcpsock:close(): 1, or nil, "closed" when already closed or when both a read and a send have
   * failed (ngx_lua's read_closed and write_closed). Like nginx it closes the socket without
   * shutting it down first, so the kernel sends a FIN, or an RST when bytes are left unread in it
   * (not a FIN and then an RST). Node reads ahead of the program, so "unread in the kernel" is
   * what arrived after the last read returned (unreadInKernel). Bytes Node still holds for
   * sending are written first (then a FIN goes with them), and a TLS stream sends its
   * close_notify (nginx's SSL_shutdown).
   */
  async close(): Promise<OkResult> {
    if (this.closedByUs) return { ok: null, err: 'closed' };
    const bothFailed = this.readClosed && this.writeClosed;
    this.closedByUs = true;
    this.failPending('closed');
    this.detachListeners();
    const stream = this.stream;
    stream.on('error', () => {});
    // Sends corked in this turn were sent as far as the program knows: they reach the kernel first.
    if (this.corked) this.uncork();
    if (!stream.destroyed) {
      if (!('encrypted' in stream) && this.unreadInKernel()) {
        // close(2) with bytes unread answers them with an RST and drops what is unsent. A Unix
        // socket has no RST (Node refuses to reset one): closing it is all there is.
        if (typeof stream.remotePort === 'number') (stream as net.Socket).resetAndDestroy();
        else stream.destroy();
      } else if ('encrypted' in stream || stream.writableLength > 0) {
        stream.end();
        stream.destroySoon?.();
      } else {
        stream.destroy();
      }
    }
    return bothFailed ? { ok: null, err: 'closed' } : { ok: 1, err: null };
  }

  /**
   * Stops reading and hands the stream back with whatever was buffered (keepalive pools and TLS
   * upgrades take the stream over). The cosocket is unusable afterwards.
   */
  detach(): { stream: Stream; buffered: Buffer } {
    this.failPending('closed');
    this.detachListeners();
    this.closedByUs = true;
    return { stream: this.stream, buffered: this.queue.takeAll() };
  }

  private detachListeners(): void {
    this.stream.off('data', streamData);
    this.stream.off('end', streamEnd);
    this.stream.off('error', streamError);
    this.stream.off('close', streamClose);
    // a pooled or handed-over stream must not keep this cosocket alive
    const s = this.stream as OwnedStream;
    if (s[COSOCKET] === this) s[COSOCKET] = undefined;
  }

  private wait(n: number, pattern: Buffer | null): Promise<SockRecv> {
    if (this.ended) {
      this.readClosed = true;
      return Promise.resolve(this.failRead(this.takeSocketError() ?? 'closed'));
    }
    return new Promise((resolve) => this.startWait(n, pattern, resolve, null));
  }

  private startWait(n: number, pattern: Buffer | null, resolve: ((r: SockRecv) => void) | null, to: ReceiveCallback | null): void {
    let p = this.spareRead;
    if (p === null) p = { n, pattern, resolve, to, timeoutMs: this.timeoutMs };
    else {
      this.spareRead = null;
      p.n = n;
      p.pattern = pattern;
      p.resolve = resolve;
      p.to = to;
      p.timeoutMs = this.timeoutMs;
    }
    this.readSeq++;
    const now = performance.now();
    this.readDeadline = now + p.timeoutMs;
    // armed from an earlier read with a longer timeout (settimeout lowered it): re-arm sooner
    if (this.readTimer !== null && this.readTimerAt > this.readDeadline) this.stopReadTimer();
    if (this.readTimer === null) this.armReadTimer(p.timeoutMs);
    this.pending = p;
    this.stream.resume();
  }

  // A failed read consumes what was buffered for it (ngx_lua returns it as the partial result).
  private failRead(err: string): SockRecv {
    return { data: null, err, partial: this.queue.takeAll() };
  }

  private takeUntil(at: number, patLen: number): SockRecv {
    const data = Buffer.from(this.queue.take(at));
    this.queue.take(patLen);
    this.readLeftover = this.queue.length;
    this.maybeResume();
    return { data, err: null };
  }

  /** @internal */
  handleData(chunk: Buffer): void {
    this.queue.push(chunk);
    const p = this.pending;
    if (p !== null) {
      const readSeq = this.readSeq;
      if (p.n >= 0) {
        if (this.queue.length >= p.n) {
          const data = this.queue.take(p.n);
          this.readLeftover = this.queue.length;
          this.settle(p, { data, err: null });
        }
      } else {
        const at = this.queue.indexOf(p.pattern!);
        if (at >= 0) this.settle(p, this.takeUntil(at, p.pattern!.length));
      }
      // ngx_lua re-arms the read timer each time a read makes progress, so the timeout bounds the
      // silence between bytes, not the whole read: a 1 MiB payload trickling in small chops for
      // longer than the timeout is still received.
      if (this.readSeq === readSeq && this.pending !== null) this.readDeadline = performance.now() + p.timeoutMs;
    }
    const need = this.pending?.n ?? 0;
    if (this.queue.length > Math.max(HIGH_WATER, need)) this.stream.pause();
  }

  private settle(p: PendingRead, r: SockRecv): void {
    this.pending = null;
    deliver(this, p, r);
  }

  /** Once no read can come any more, the timer must not keep the process alive for up to a timeout. */
  private stopReadTimer(): void {
    if (this.readTimer !== null) this.unlinkReadTimer();
  }

  private maybeResume(): void {
    if (!this.ended && this.stream.isPaused() && this.queue.length <= HIGH_WATER) this.stream.resume();
  }

  /**
   * @internal A stream error. One Node took from a read (the peer's RST) waits for the next read or
   * send, or fails the pending read; one from a write was that write's, and leaves the socket dead.
   */
  handleError(e: Error): void {
    if (e === this.seenError) return;
    this.seenError = e;
    // After the peer's FIN a recv() returns 0 whatever follows, so a later error is no read's.
    if (!isWriteError(e) && !this.ended) this.socketError = ngxSocketError(e);
    this.dead = true;
    this.handleEnd();
  }

  /** @internal The stream closed: the kernel socket is gone. */
  handleClose(): void {
    this.dead = true;
    this.handleEnd();
  }

  /** @internal No more bytes will come: a pending read fails with the socket's error, or "closed". */
  handleEnd(): void {
    if (this.ended) return;
    this.takeStreamBuffer();
    this.ended = true;
    const p = this.pending;
    if (p !== null) {
      this.readClosed = true;
      this.settle(p, this.failRead(this.takeSocketError() ?? 'closed'));
    }
    this.stopReadTimer();
  }

  /**
   * Bytes Node read before an error destroyed the stream stay in its readable buffer while the
   * stream is paused (no read was waiting), and no 'data' event will bring them. The kernel hands
   * out what it queued before a reset's error, so these come first: they join the queue here.
   */
  private takeStreamBuffer(): void {
    const stream = this.stream;
    if (stream.readableLength === 0) return;
    stream.off('data', streamData);
    for (let chunk = stream.read() as Buffer | null; chunk !== null; chunk = stream.read() as Buffer | null) this.handleData(chunk);
  }

  private takeSocketError(): string | null {
    const e = this.socketError;
    this.socketError = null;
    return e;
  }

  private failSend(err: string): SendResult {
    this.writeClosed = true;
    return { bytes: null, err };
  }

  private failPending(err: string): void {
    const p = this.pending;
    if (p !== null) this.settle(p, this.failRead(err));
    this.stopReadTimer();
  }
}

export interface ConnectOptions {
  host?: string;
  port?: number;
  /** A Unix socket path (instead of host/port). */
  path?: string;
  timeout?: number;
}

/**
 * Opens a TCP or Unix-socket stream, with ngx_lua's connect timeout and error words. `host` must
 * be an address: names are resolved before (impl/tcp-socket.ts does it as nginx's resolver would).
 */
export function openStream(opts: ConnectOptions): Promise<{ stream: net.Socket; err: null } | { stream: null; err: string }> {
  const timeout = opts.timeout && opts.timeout > 0 ? opts.timeout : DEFAULT_TIMEOUT_MS;
  return new Promise((resolve) => {
    // Half-open like an nginx cosocket: after the peer's FIN, reads say "closed" but sends still go out.
    const stream = opts.path !== undefined ? net.connect({ path: opts.path, allowHalfOpen: true }) : net.connect({ host: opts.host, port: opts.port!, allowHalfOpen: true });
    let settled = false;
    // As for reads (NodeCosocket.onReadTimer): a connect that completed by its deadline succeeds,
    // as nginx handles the cycle's events before its timers.
    const timer = setTimeout(() => {
      setImmediate(() => {
        if (settled) return;
        settled = true;
        stream.destroy();
        resolve({ stream: null, err: 'timeout' });
      });
    }, timeout);
    const onError = (e: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ stream: null, err: ngxSocketError(e) });
    };
    stream.once('error', onError);
    stream.once('connect', () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stream.off('error', onError);
      resolve({ stream, err: null });
    });
  });
}

/** Opens a connection (openStream) as a cosocket. */
export async function connectCosocket(
  opts: ConnectOptions,
): Promise<{ sock: NodeCosocket; err: null } | { sock: null; err: string }> {
  const r = await openStream(opts);
  return r.err !== null ? { sock: null, err: r.err } : { sock: new NodeCosocket(r.stream, { timeout: opts.timeout }), err: null };
}
