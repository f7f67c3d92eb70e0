// The frame codec, mirroring resty.websocket.protocol (docs/behaviour.md §2-3): the same checks in the
// same order with the same error strings. One core of pure functions serves both the cosocket-driven
// `recvFrame` and the synchronous, incremental `FrameDecoder` used by fuzz targets and runners.
import { ByteQueue, EMPTY } from './byte-queue.js';
import { copyMasked, maskInPlace, writeMaskKey } from './mask.js';
import { TYPE_BY_OPCODE } from './types.js';
import type { Cosocket, FrameType, RecvResult, SendResult } from './types.js';

export const _VERSION = '0.12';

/** Errors recv_frame can return besides socket failures (docs/behaviour.md §2). */
export const RECV_ERRORS = {
  rsv: 'bad RSV1, RSV2, or RSV3 bits',
  reservedData: 'reserved non-control frames',
  reservedControl: 'reserved control frames',
  unmasked: 'frame unmasked',
  lenTooLarge: 'payload len too large',
  controlTooLong: 'too long payload for control frame',
  controlFragmented: 'fragmented control frame',
  exceeding: 'exceeding max payload len',
  closeNoCode: 'close frame with a body must carry a 2-byte status code',
} as const;

/** Prefixes of recv_frame's socket-failure errors, by the read that failed. */
export const READ_FAILURE_PREFIX = {
  head: 'failed to receive the first 2 bytes: ',
  len16: 'failed to receive the 2 byte payload length: ',
  len64: 'failed to receive the 8 byte payload length: ',
  body: 'failed to read masking-len and payload: ',
} as const;

export type ReadStage = keyof typeof READ_FAILURE_PREFIX;

/** What the first two bytes (and the extended length) said about a frame. */
export interface FrameHead {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payloadLen: number;
}

function failure(err: string): RecvResult {
  return { data: null, type: null, err };
}

/**
 * Checks the first two bytes (docs/behaviour.md §2 steps 2-4) and fills `head`. Returns null when the frame may
 * go on, or the error. `head.payloadLen` is the 7-bit length (126/127 mean an extended length follows).
 */
export function parseHead(head: FrameHead, b0: number, b1: number, forceMasking: boolean): string | null {
  if ((b0 & 0x70) !== 0) return RECV_ERRORS.rsv;
  const opcode = b0 & 0x0f;
  if (opcode >= 0x3 && opcode <= 0x7) return RECV_ERRORS.reservedData;
  if (opcode >= 0xb) return RECV_ERRORS.reservedControl;
  const masked = (b1 & 0x80) !== 0;
  if (forceMasking && !masked) return RECV_ERRORS.unmasked;
  head.fin = (b0 & 0x80) !== 0;
  head.opcode = opcode;
  head.masked = masked;
  head.payloadLen = b1 & 0x7f;
  return null;
}

/**
 * Decodes the 64-bit extended length at buf[off..off+8]. Lengths of 2^31 and above are an error,
 * like the original (which works in 32-bit LuaJIT bit ops). Non-minimal encodings are accepted.
 */
export function parseLength64(buf: Buffer, off: number): number | string {
  if (buf[off] !== 0 || buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0) return RECV_ERRORS.lenTooLarge;
  const fifth = buf[off + 4]!;
  if ((fifth & 0x80) !== 0) return RECV_ERRORS.lenTooLarge;
  return fifth * 0x1000000 + (buf[off + 5]! << 16) + (buf[off + 6]! << 8) + buf[off + 7]!;
}

/** The checks that follow the length (docs/behaviour.md §2 steps 6-7): control-frame rules, then the maximum. */
export function checkPayloadLen(head: FrameHead, maxPayloadLen: number): string | null {
  if ((head.opcode & 0x8) !== 0) {
    if (head.payloadLen > 125) return RECV_ERRORS.controlTooLong;
    if (!head.fin) return RECV_ERRORS.controlFragmented;
  }
  if (head.payloadLen > maxPayloadLen) return RECV_ERRORS.exceeding;
  return null;
}

/** Bytes still to read after the length: the masking key (if any) plus the payload. */
export function bodyLength(head: FrameHead): number {
  return head.masked ? head.payloadLen + 4 : head.payloadLen;
}

/**
 * Turns the body (masking key + payload) into recv_frame's result (docs/behaviour.md §2 steps 9-10). The body
 * is unmasked in place: callers hand over buffers they own.
 */
export function finishFrame(head: FrameHead, body: Buffer): RecvResult {
  let payload = body;
  if (head.masked) {
    payload = body.subarray(4);
    maskInPlace(payload, body); // the key is body[0..3]; maskInPlace reads only those

  }
  const type = TYPE_BY_OPCODE[head.opcode] as FrameType;
  if (type === 'close') {
    if (payload.length === 0) return { data: EMPTY, type: 'close', err: null };
    if (payload.length < 2) return failure(RECV_ERRORS.closeNoCode);
    return { data: payload.subarray(2), type: 'close', err: (payload[0]! << 8) | payload[1]! };
  }
  return { data: payload, type, err: head.fin ? null : 'again' };
}

/**
 * protocol.recv_frame(sock, max_payload_len, force_masking): reads one frame with exact-size reads,
 * as the original does, so a failure part-way leaves the socket where the original would leave it.
 */
export function recvFrame(sock: Cosocket, maxPayloadLen: number, forceMasking: boolean): Promise<RecvResult> {
  return Promise.resolve(readFrame(sock, maxPayloadLen, forceMasking));
}

/**
 * recvFrame without the promise when it can do without: a frame whose bytes the socket already
 * buffers (tryReceive) is read and returned synchronously; otherwise the reads go on from the
 * first one that must wait. The bytes, their order and the errors are the same either way, and
 * the server and client build on this so a pipelined frame costs no promise at all.
 */
export function readFrame(sock: Cosocket, maxPayloadLen: number, forceMasking: boolean): RecvResult | Promise<RecvResult> {
  const head: FrameHead = { fin: false, opcode: 0, masked: false, payloadLen: 0 };
  return readStages(sock, head, STAGE_HEAD, null, maxPayloadLen, forceMasking);
}

/**
 * The frame's reads from `stage` on (docs/behaviour.md §2 order: head, extended length, checks, body), each
 * served from the socket's buffer when it can be; the first that must wait goes on in
 * waitForStage. `got` is the bytes of `stage` when a wait has just delivered them.
 */
function readStages(
  sock: Cosocket, head: FrameHead, stage: number, got: Buffer | null, maxPayloadLen: number, forceMasking: boolean,
): RecvResult | Promise<RecvResult> {
  for (;;) {
    const n = stage === STAGE_HEAD || stage === STAGE_LEN16 ? 2 : stage === STAGE_LEN64 ? 8 : bodyLength(head);
    const bytes = got ?? (n === 0 ? EMPTY : (sock.tryReceive?.(n) ?? null));
    got = null;
    if (bytes === null) return waitForStage(sock, head, stage, n, maxPayloadLen, forceMasking);
    if (stage === STAGE_BODY) return finishFrame(head, bytes);
    if (stage === STAGE_HEAD) {
      const err = parseHead(head, bytes[0]!, bytes[1]!, forceMasking);
      if (err !== null) return failure(err);
      if (head.payloadLen === 126 || head.payloadLen === 127) {
        stage = head.payloadLen === 126 ? STAGE_LEN16 : STAGE_LEN64;
        continue;
      }
    } else if (stage === STAGE_LEN16) {
      head.payloadLen = (bytes[0]! << 8) | bytes[1]!;
    } else {
      const len = parseLength64(bytes, 0);
      if (typeof len === 'string') return failure(len);
      head.payloadLen = len;
    }
    const err = checkPayloadLen(head, maxPayloadLen);
    if (err !== null) return failure(err);
    stage = STAGE_BODY;
  }
}

/** Waits for the `n` bytes of `stage`, then goes on synchronously where it can. */
async function waitForStage(
  sock: Cosocket, head: FrameHead, stage: number, n: number, maxPayloadLen: number, forceMasking: boolean,
): Promise<RecvResult> {
  const r = await sock.receive(n);
  if (r.data === null) return failure(READ_FAILURE_PREFIX[STAGE_NAMES[stage]!] + r.err);
  return readStages(sock, head, stage, r.data, maxPayloadLen, forceMasking);
}

const STAGE_HEAD = 0;
const STAGE_LEN16 = 1;
const STAGE_LEN64 = 2;
const STAGE_BODY = 3;
const STAGE_NAMES: readonly ReadStage[] = ['head', 'len16', 'len64', 'body'];

export interface FrameDecoderOptions {
  maxPayloadLen: number;
  forceMasking: boolean;
}

/**
 * The same rules as recvFrame over bytes pushed in any chunking. After an error it keeps no frame
 * state and goes on with the bytes that follow, as the original does when called again on the
 * same socket. `push` takes ownership of the chunk (masked payloads are unmasked in place).
 */
export class FrameDecoder implements FrameHead {
  fin = false;
  opcode = 0;
  masked = false;
  payloadLen = 0;
  readonly maxPayloadLen: number;
  readonly forceMasking: boolean;
  private readonly queue = new ByteQueue();
  private stageId = STAGE_HEAD;

  constructor(opts: FrameDecoderOptions) {
    this.maxPayloadLen = opts.maxPayloadLen;
    this.forceMasking = opts.forceMasking;
  }

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** Bytes pushed but not yet consumed. */
  get buffered(): number {
    return this.queue.length;
  }

  /** The read the decoder is waiting on. */
  get stage(): ReadStage {
    return STAGE_NAMES[this.stageId]!;
  }

  /** How many bytes the current read needs in all (the next frame's first read needs 2). */
  get needed(): number {
    switch (this.stageId) {
      case STAGE_HEAD: return 2;
      case STAGE_LEN16: return 2;
      case STAGE_LEN64: return 8;
      default: return bodyLength(this);
    }
  }

  /** The next frame or error, or null when more bytes are needed. */
  next(): RecvResult | null {
    const q = this.queue;
    for (;;) {
      switch (this.stageId) {
        case STAGE_HEAD: {
          if (q.length < 2) return null;
          const b0 = q.byteAt(0);
          const b1 = q.byteAt(1);
          q.skip(2);
          const err = parseHead(this, b0, b1, this.forceMasking);
          if (err !== null) return failure(err);
          if (this.payloadLen === 126) this.stageId = STAGE_LEN16;
          else if (this.payloadLen === 127) this.stageId = STAGE_LEN64;
          else {
            const res = this.afterLength();
            if (res !== null) return res;
          }
          break;
        }
        case STAGE_LEN16: {
          if (q.length < 2) return null;
          this.payloadLen = (q.byteAt(0) << 8) | q.byteAt(1);
          q.skip(2);
          const res = this.afterLength();
          if (res !== null) return res;
          break;
        }
        case STAGE_LEN64: {
          if (q.length < 8) return null;
          const len = parseLength64(q.take(8), 0);
          if (typeof len === 'string') {
            this.stageId = STAGE_HEAD;
            return failure(len);
          }
          this.payloadLen = len;
          const res = this.afterLength();
          if (res !== null) return res;
          break;
        }
        default: {
          const rest = bodyLength(this);
          if (q.length < rest) return null;
          this.stageId = STAGE_HEAD;
          return finishFrame(this, q.take(rest));
        }
      }
    }
  }

  /**
   * The stream has ended with `sockErr` (default "closed"): the result the original's next
   * recv_frame gives, i.e. the read failure of the current stage. Buffered bytes of an unfinished
   * read are consumed, as ngx_lua consumes a partial read.
   */
  end(sockErr = 'closed'): RecvResult {
    const stage = this.stage;
    this.queue.takeAll();
    this.stageId = STAGE_HEAD;
    return failure(READ_FAILURE_PREFIX[stage] + sockErr);
  }

  // After the length: run the checks, then either finish a body-less frame or wait for the body.
  private afterLength(): RecvResult | null {
    const err = checkPayloadLen(this, this.maxPayloadLen);
    if (err !== null) {
      this.stageId = STAGE_HEAD;
      return failure(err);
    }
    if (bodyLength(this) === 0) {
      this.stageId = STAGE_HEAD;
      return finishFrame(this, EMPTY);
    }
    this.stageId = STAGE_BODY;
    return null;
  }
}

/** Errors build_frame and send_frame return (docs/behaviour.md §3). */
export const SEND_ERRORS = {
  tooBig: 'payload too big',
  controlTooMuch: 'too much payload for control frame',
  controlFragmented: 'fragmented control frame',
} as const;

/** The largest payload the original can frame (it uses 32-bit bit ops). */
export const MAX_FRAME_PAYLOAD = 0x7fffffff;

/** Bytes of the header build_frame writes: 2, plus 2 or 8 for the extended length, plus 4 for the key. */
function headerLength(payloadLen: number, masking: boolean): number {
  return 2 + (payloadLen <= 125 ? 0 : payloadLen <= 0xffff ? 2 : 8) + (masking ? 4 : 0);
}

/** Writes byte 0, the mask bit and the minimal length encoding (the key, if any, is the caller's). */
function writeHeader(out: Buffer, fin: boolean, opcode: number, payloadLen: number, masking: boolean): void {
  out[0] = ((fin ? 0x80 : 0) | opcode) & 0xff;
  const maskBit = masking ? 0x80 : 0;
  if (payloadLen <= 125) {
    out[1] = maskBit | payloadLen;
  } else if (payloadLen <= 0xffff) {
    out[1] = maskBit | 126;
    out.writeUInt16BE(payloadLen, 2);
  } else {
    out[1] = maskBit | 127;
    out.writeUInt32BE(0, 2);
    out.writeUInt32BE(payloadLen, 6);
  }
}

/**
 * protocol.build_frame(fin, opcode, payload_len, payload, masking). Like the original, the opcode
 * is not validated (0x10 leaks into RSV3) and the caller's payload_len is trusted for the header.
 * The masking key is random unless one is given (tests and differential fuzzing pass one).
 */
export function buildFrame(
  fin: boolean,
  opcode: number,
  payloadLen: number,
  payload: Buffer,
  masking: boolean,
  maskKey?: Buffer,
): { frame: Buffer; err: null } | { frame: null; err: string } {
  if (payloadLen > MAX_FRAME_PAYLOAD) return { frame: null, err: SEND_ERRORS.tooBig };
  const headerLen = headerLength(payloadLen, masking);
  const n = payload.length;
  const frame = Buffer.allocUnsafe(headerLen + n);
  writeHeader(frame, fin, opcode, payloadLen, masking);
  if (!masking) {
    if (n > 0) payload.copy(frame, headerLen);
    return { frame, err: null };
  }
  const keyAt = headerLen - 4;
  if (maskKey) maskKey.copy(frame, keyAt, 0, 4);
  else writeMaskKey(frame, keyAt);
  if (n <= MASK_WHILE_COPYING) {
    copyMasked(payload, frame, headerLen, keyAt);
  } else {
    payload.copy(frame, headerLen);
    maskInPlace(frame.subarray(headerLen), frame.subarray(keyAt, headerLen));
  }
  return { frame, err: null };
}

/** Up to this payload size buildFrame masks while copying; above it, copy then mask in place (word-wise or native). */
const MASK_WHILE_COPYING = 128;

/** Unmasked payloads from this size on are sent after their header instead of being copied into one buffer. */
const UNCOPIED_PAYLOAD = 1024;

/** The header build_frame would write for an unmasked frame, or null for a length above 0x7fffffff. */
export function buildFrameHeader(fin: boolean, opcode: number, payloadLen: number): Buffer | null {
  if (payloadLen > MAX_FRAME_PAYLOAD) return null;
  const header = Buffer.allocUnsafe(headerLength(payloadLen, false));
  writeHeader(header, fin, opcode, payloadLen, false);
  return header;
}

/**
 * protocol.send_frame(sock, fin, opcode, payload, max_payload_len, masking). The payload goes
 * through Lua's coercion first (nil/false become "", other non-strings `tostring`).
 */
export function sendFrame(sock: Cosocket, fin: boolean, opcode: number, payload: unknown, maxPayloadLen: number, masking: boolean): Promise<SendResult> {
  return Promise.resolve(writeFrame(sock, fin, opcode, payload, maxPayloadLen, masking));
}

/** sendFrame without the promise when the socket takes the bytes at once (Cosocket.sendNow). */
export function writeFrame(
  sock: Cosocket, fin: boolean, opcode: number, payload: unknown, maxPayloadLen: number, masking: boolean,
): SendResult | Promise<SendResult> {
  const bytes = luaPayload(payload);
  const len = bytes.length;
  if (len > maxPayloadLen) return { bytes: null, err: SEND_ERRORS.tooBig };
  if ((opcode & 0x8) !== 0) {
    if (len > 125) return { bytes: null, err: SEND_ERRORS.controlTooMuch };
    if (!fin) return { bytes: null, err: SEND_ERRORS.controlFragmented };
  }
  let data: Buffer | Buffer[];
  if (!masking && len >= UNCOPIED_PAYLOAD) {
    // A large unmasked payload goes out as it is, after its header: no copy into a frame buffer.
    const header = buildFrameHeader(fin, opcode, len);
    if (header === null) return { bytes: null, err: 'failed to build frame: ' + SEND_ERRORS.tooBig };
    data = [header, bytes];
  } else {
    const built = buildFrame(fin, opcode, len, bytes, masking);
    if (built.frame === null) return { bytes: null, err: 'failed to build frame: ' + built.err };
    data = built.frame;
  }
  const sent = sock.sendNow ? sock.sendNow(data) : sock.send(data);
  return sent instanceof Promise ? sent.then(sendOutcome) : sendOutcome(sent);
}

function sendOutcome(sent: SendResult): SendResult {
  return sent.bytes === null ? { bytes: null, err: 'failed to send frame: ' + sent.err } : sent;
}

/** send_frame's payload coercion: `if not payload then "" elseif not a string then tostring`. */
export function luaPayload(v: unknown): Buffer {
  if (v === null || v === undefined || v === false) return EMPTY;
  return luaToString(v);
}

/** Lua's tostring for the values a payload can be: strings/Buffers as they are, numbers as "%.14g". */
export function luaToString(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'number') return Buffer.from(formatLuaNumber(v), 'latin1');
  if (v === null || v === undefined) return Buffer.from('nil', 'latin1');
  return Buffer.from(String(v), 'utf8');
}

/** LuaJIT's number formatting, C's "%.14g". */
export function formatLuaNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mantissa, expText] = x.toExponential(13).split('e') as [string, string];
  const exp = Number(expText);
  const strip = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);
  if (exp < -4 || exp >= 14) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${strip(mantissa)}e${sign}${digits}`;
  }
  return strip(x.toFixed(Math.max(0, 13 - exp)));
}
