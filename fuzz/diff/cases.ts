// How our side answers differential cases (lab/oracle-cases.ts), in the driver's line format
// (fixtures/lua/diff/driver.lua) so the comparison is a plain string comparison.
import { buildFrame, FrameDecoder, recvFrame, sendFrame } from 'resty-websocket/protocol';
import type { Cosocket, RecvResult, SendResult, SockRecv } from 'resty-websocket';
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
  private pos = 0;
  constructor(
    private readonly stream: Buffer,
    private readonly timeouts: number[],
  ) {}
  async receive(n: number): Promise<SockRecv> {
    const t = this.timeouts[0];
    if (t !== undefined && this.pos + n > t) {
      this.timeouts.shift();
      const partial = Buffer.from(this.stream.subarray(this.pos, t));
      this.pos = t;
      return { data: null, err: 'timeout', partial };
    }
    const left = this.stream.length - this.pos;
    if (left >= n) {
      const data = Buffer.from(this.stream.subarray(this.pos, this.pos + n));
      this.pos += n;
      return { data, err: null };
    }
    const partial = Buffer.from(this.stream.subarray(this.pos));
    this.pos = this.stream.length;
    return { data: null, err: 'closed', partial };
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
 * A recv case through the async recvFrame over a cosocket (the path server and client use): each
 * result, encoded, goes to `take`, until the stream is closed or `take` returns false.
 */
async function eachRecvFrameResult(c: RecvCase, take: (encoded: string) => boolean): Promise<void> {
  const points = timeoutPoints(c);
  const sock = new StreamSocket(c.stream, points);
  for (let i = 0; i < c.stream.length + points.length + 2; i++) {
    const r = await recvFrame(sock, c.maxPayloadLen, c.forceMasking);
    if (!take(encodeResult(r))) return;
    if (r.data === null && r.err.endsWith(': closed')) return;
  }
}

/** Our answer to a recv case through recvFrame over a cosocket. */
export async function oursRecvFrame(c: RecvCase): Promise<string> {
  const out = ['R'];
  await eachRecvFrameResult(c, (encoded) => out.push(encoded) > 0);
  return out.join('');
}

/**
 * Whether recvFrame over a cosocket answers `c` exactly `expected`, compared result by result and
 * stopping at the first difference: a stream of thousands of frames is never built into one
 * answer (oursRecvFrame builds it, for a report).
 */
export async function recvFrameAnswers(c: RecvCase, expected: string): Promise<boolean> {
  if (expected[0] !== 'R') return false;
  let at = 1;
  let same = true;
  await eachRecvFrameResult(c, (encoded) => {
    same = expected.startsWith(encoded, at);
    at += encoded.length;
    return same;
  });
  return same && at === expected.length;
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
