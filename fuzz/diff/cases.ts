// How our side answers differential cases (lab/oracle-cases.ts), in the driver's line format
// (fixtures/lua/diff/driver.lua) so the comparison is a plain string comparison.
import { buildFrame, FrameDecoder, FrameParser, readFrame, recvFrame, sendFrame, toRecvResult } from 'resty-websocket/protocol';
import type { Cosocket, ReceiveCallback, RecvResult, SendResult, SockRecv } from 'resty-websocket';
import { timeoutPoints, type BuildCase, type DiffCase, type LuaValue, type RecvCase, type SendCase } from '../../lab/oracle-cases.js';
import type { DecoderFactory } from '../targets/frame-common.js';

// Error strings come from a small set; their hex form is made once each (a differential run
// encodes two per case).
const errHex = new Map<string, string>();

function encodeErr(err: string): string {
  let hex = errHex.get(err);
  if (hex === undefined) {
    hex = `s${Buffer.from(err, 'latin1').toString('hex')}`;
    if (errHex.size < 4096) errHex.set(err, hex);
  }
  return hex;
}

function encodeResult(r: RecvResult): string {
  const data = r.data === null ? '~' : r.data.length === 0 ? '' : r.data.toString('hex');
  const type = r.type ?? '~';
  const err = r.err === null ? '~' : typeof r.err === 'number' ? `n${r.err}` : encodeErr(r.err);
  return ` ${data},${type},${err}`;
}

const HEX_DIGIT = Array.from('0123456789abcdef', (d) => d.charCodeAt(0));
const SPACE = 0x20;
const COMMA = 0x2c;
const TILDE = 0x7e;
/** Data up to this long is compared digit by digit; longer data is encoded once and compared natively. */
const SHORT_DATA = 16;

/** Where a type or error field (null: '~'; a close code: 'n' and the number) ends in `answer` if it is there at `at`, else -1. */
function fieldEndAt(answer: string, at: number, field: string | number | null): number {
  if (field === null) return answer.charCodeAt(at) === TILDE ? at + 1 : -1;
  const text = typeof field === 'number' ? `n${field}` : field;
  return answer.startsWith(text, at) ? at + text.length : -1;
}

/**
 * Where `r`'s encoding (encodeResult) ends in `answer` if `answer` holds it at `at`, else -1. Read
 * in place: the encoded string, made and compared per frame, was a sixth of a differential run.
 */
function resultEndAt(answer: string, at: number, r: RecvResult): number {
  if (answer.charCodeAt(at++) !== SPACE) return -1;
  if (r.data === null) {
    if (answer.charCodeAt(at++) !== TILDE) return -1;
  } else if (r.data.length <= SHORT_DATA) {
    if (at + 2 * r.data.length > answer.length) return -1;
    for (let i = 0; i < r.data.length; i++, at += 2) {
      const b = r.data[i]!;
      if (answer.charCodeAt(at) !== HEX_DIGIT[b >> 4] || answer.charCodeAt(at + 1) !== HEX_DIGIT[b & 15]) return -1;
    }
  } else {
    const hex = r.data.toString('hex');
    if (!answer.startsWith(hex, at)) return -1;
    at += hex.length;
  }
  if (answer.charCodeAt(at++) !== COMMA) return -1;
  at = fieldEndAt(answer, at, r.type);
  if (at < 0 || answer.charCodeAt(at++) !== COMMA) return -1;
  at = fieldEndAt(answer, at, typeof r.err === 'string' ? encodeErr(r.err) : r.err);
  // the next result starts here, or the answer ends
  return at >= 0 && (at === answer.length || answer.charCodeAt(at) === SPACE) ? at : -1;
}

/** Splits `stream` by `sizes`; what is left after the sizes run out is one last chunk. */
export function resplit(stream: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  for (const n of sizes) {
    if (off >= stream.length) break;
    out.push(Buffer.from(stream.subarray(off, off + n)));
    off += n;
  }
  if (off < stream.length) out.push(Buffer.from(stream.subarray(off)));
  return out;
}

export const defaultDecoder: DecoderFactory = (opts) => new FrameDecoder(opts);

/**
 * Our answer to a recv case: the decoder fed chunk by chunk, drained after each; at a timeout
 * offset the pending read fails (end("timeout"), which consumes a partial read like ngx_lua) and
 * decoding goes on; at the end of the stream, end("closed").
 */
export function oursRecv(c: RecvCase, make: DecoderFactory = defaultDecoder): string {
  const dec = make({ maxPayloadLen: c.maxPayloadLen, forceMasking: c.forceMasking });
  // Pieces joined once: a string grown by += is a rope of thousands of pieces on a long stream,
  // which the comparison with the original's answer then flattens (a third of a run's time).
  const out = ['R'];
  let count = 0;
  const points = timeoutPoints(c);
  const limit = c.stream.length + points.length + 2;
  const drain = (): void => {
    for (let r = dec.next(); r !== null && count < limit; r = dec.next()) {
      out.push(encodeResult(r));
      count++;
    }
  };
  let from = 0;
  for (const t of points) {
    for (const chunk of resplit(c.stream.subarray(from, t), c.chunks)) {
      dec.push(chunk);
      drain();
    }
    const r = dec.end('timeout');
    out.push(encodeResult(r ?? { data: null, type: null, err: 'failed to receive the first 2 bytes: timeout' }));
    from = t;
  }
  for (const chunk of resplit(c.stream.subarray(from), c.chunks)) {
    dec.push(chunk);
    drain();
  }
  const last = dec.end('closed');
  out.push(last === null ? encodeResult({ data: null, type: null, err: 'failed to receive the first 2 bytes: closed' }) : encodeResult(last));
  return out.join('');
}

/** A cosocket over a fixed stream with ngx_lua's receive(n): n bytes, or "closed" with the partial rest. */
class StreamSocket implements Cosocket {
  protected pos = 0;
  constructor(
    protected readonly stream: Buffer,
    protected readonly timeouts: number[],
  ) {}
  async receive(n: number): Promise<SockRecv> {
    return this.read(n);
  }
  /** receive(n)'s outcome, now. */
  protected read(n: number): SockRecv {
    if (this.meetsTimeout(n)) return { data: null, err: 'timeout', partial: this.take(this.timeouts.shift()!) };
    if (this.stream.length - this.pos >= n) return { data: this.take(this.pos + n), err: null };
    return { data: null, err: 'closed', partial: this.take(this.stream.length) };
  }
  /** Whether a read of `n` bytes reaches the next timeout point. */
  protected meetsTimeout(n: number): boolean {
    const t = this.timeouts[0];
    return t !== undefined && this.pos + n > t;
  }
  /** A copy of the stream up to `end` from where reading is (a payload is unmasked in place), read. */
  protected take(end: number): Buffer {
    const n = end - this.pos;
    const b = Buffer.allocUnsafe(n);
    // a frame head or mask key byte by byte: Buffer#copy costs more than that few bytes
    if (n <= 16) for (let i = 0; i < n; i++) b[i] = this.stream[this.pos + i]!;
    else this.stream.copy(b, 0, this.pos, end);
    this.pos = end;
    return b;
  }
  receiveUntil(): never {
    throw new Error('not used');
  }
  async send(): Promise<SendResult> {
    return { bytes: null, err: 'closed' };
  }
  setTimeout(): void {}
  async close(): Promise<{ ok: 1; err: null }> {
    return { ok: 1, err: null };
  }
}

/**
 * The same stream with the buffered reads of the server's and client's socket (impl/socket.ts):
 * bytes already there are taken without a promise (tryReceive), and a read that must wait (here:
 * one that meets a timeout or the end) answers through receiveLater, a microtask later.
 */
class BufferedStreamSocket extends StreamSocket {
  tryReceive(n: number): Buffer | null {
    return this.meetsTimeout(n) || this.stream.length - this.pos < n ? null : this.take(this.pos + n);
  }
  receiveLater(n: number, to: ReceiveCallback): void {
    const r = this.read(n);
    queueMicrotask(() => to.received(r));
  }
}

/**
 * How a cosocket is read: 'buffered' (readFrame over tryReceive and receiveLater, the path the
 * server's and the client's recvFrame build on, where a buffered frame is read synchronously and
 * costs no promise) or 'waiting' (the public recvFrame with one awaited receive per read, a
 * cosocket without those).
 */
export type RecvFramePath = 'buffered' | 'waiting';

/**
 * Streams up to this long also go the waiting way. Longer ones are the few streams of thousands of
 * tiny frames, where a promise per read was most of a run's time; the parser under both ways is one.
 */
export const WAITING_PATH_MAX_STREAM = 4096;

/** The ways recvFrame is checked on `c`. */
export function recvFramePaths(c: RecvCase): RecvFramePath[] {
  return c.stream.length <= WAITING_PATH_MAX_STREAM ? ['buffered', 'waiting'] : ['buffered'];
}

/** One frame read `path`'s way: synchronously when the buffered socket holds it, else a promise. */
function readOne(sock: StreamSocket, c: RecvCase, path: RecvFramePath): RecvResult | Promise<RecvResult> {
  if (path === 'waiting') return recvFrame(sock, c.maxPayloadLen, c.forceMasking);
  const o = readFrame(sock, new FrameParser(c.maxPayloadLen, c.forceMasking));
  return o instanceof Promise ? o.then(toRecvResult) : toRecvResult(o);
}

/**
 * A recv case read frame by frame over a cosocket: each result goes to `take`, until the stream is
 * closed or `take` returns false.
 */
async function eachRecvFrameResult(c: RecvCase, path: RecvFramePath, take: (r: RecvResult) => boolean): Promise<void> {
  const points = timeoutPoints(c);
  const sock = path === 'buffered' ? new BufferedStreamSocket(c.stream, points) : new StreamSocket(c.stream, points);
  for (let i = 0; i < c.stream.length + points.length + 2; i++) {
    const next = readOne(sock, c, path);
    const r = next instanceof Promise ? await next : next;
    if (!take(r)) return;
    if (r.data === null && r.err.endsWith(': closed')) return;
  }
}

/** Our answer to a recv case through recvFrame over a cosocket read `path`'s way. */
export async function oursRecvFrame(c: RecvCase, path: RecvFramePath = 'buffered'): Promise<string> {
  const out = ['R'];
  await eachRecvFrameResult(c, path, (r) => out.push(encodeResult(r)) > 0);
  return out.join('');
}

/**
 * Whether recvFrame over a cosocket (read `path`'s way) answers `c` exactly `expected`, compared
 * result by result and stopping at the first difference: a stream of thousands of frames is never
 * built into one answer (oursRecvFrame builds it, for a report).
 */
export async function recvFrameAnswers(c: RecvCase, expected: string, path: RecvFramePath = 'buffered'): Promise<boolean> {
  if (expected[0] !== 'R') return false;
  let at = 1;
  await eachRecvFrameResult(c, path, (r) => {
    at = resultEndAt(expected, at, r);
    return at >= 0;
  });
  return at === expected.length;
}

/** recvFrame's whole answer on the first of `c`'s paths that does not answer `expected`, or null when all do. */
export async function recvFrameDisagreement(c: RecvCase, expected: string): Promise<string | null> {
  for (const path of recvFramePaths(c)) if (!(await recvFrameAnswers(c, expected, path))) return oursRecvFrame(c, path);
  return null;
}

export function keyBytes(key: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(key >>> 0);
  return b;
}

export function oursBuild(c: BuildCase): string {
  const r = buildFrame(c.fin, c.opcode, c.payloadLen, c.payload, c.masking, keyBytes(c.key));
  return r.frame !== null ? `F ${r.frame.toString('hex')}` : `E ${Buffer.from(r.err, 'latin1').toString('hex')}`;
}

/** A cosocket that only records what is sent (send_frame needs nothing else). */
class RecordingSocket implements Cosocket {
  readonly sent: Buffer[] = [];
  async send(data: Buffer | string | readonly Buffer[]): Promise<SendResult> {
    const buf = Buffer.isBuffer(data) ? data : typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.concat(data);
    this.sent.push(Buffer.from(buf));
    return { bytes: buf.length, err: null };
  }
  receive(): never {
    throw new Error('not used');
  }
  receiveUntil(): never {
    throw new Error('not used');
  }
  setTimeout(): void {}
  async close(): Promise<{ ok: 1; err: null }> {
    return { ok: 1, err: null };
  }
}

function jsValue(p: LuaValue): unknown {
  return p.t === 'nil' ? undefined : p.v;
}

/**
 * Our answer to a send case. sendFrame masks with a random key, so a masked frame is re-keyed to the
 * case's key (unmask with ours, mask with the case's): the header and payload must then be identical.
 */
export async function oursSend(c: SendCase): Promise<string> {
  const sock = new RecordingSocket();
  const r = await sendFrame(sock, c.fin, c.opcode, jsValue(c.payload), c.maxPayloadLen, c.masking);
  if (r.bytes === null) return `E ${Buffer.from(r.err, 'latin1').toString('hex')}`;
  const frame = Buffer.concat(sock.sent);
  if (c.masking) rekey(frame, keyBytes(c.key));
  return `S ${r.bytes} ${frame.toString('hex')}`;
}

/** Replaces a masked frame's key, re-masking its payload (in place). */
export function rekey(frame: Buffer, key: Buffer): void {
  if (frame.length < 2 || (frame[1]! & 0x80) === 0) return;
  const len7 = frame[1]! & 0x7f;
  const keyAt = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
  if (frame.length < keyAt + 4) return;
  const old = Buffer.from(frame.subarray(keyAt, keyAt + 4));
  for (let i = keyAt + 4, j = 0; i < frame.length; i++, j++) frame[i] = frame[i]! ^ old[j & 3]! ^ key[j & 3]!;
  key.copy(frame, keyAt);
}

export async function oursAnswer(c: DiffCase, make?: DecoderFactory): Promise<string> {
  switch (c.kind) {
    case 'recv':
      return oursRecv(c, make);
    case 'build':
      return oursBuild(c);
    case 'send':
      return oursSend(c);
  }
}
