// The frame codec, mirroring resty.websocket.protocol (docs/behaviour.md §2-3): the same checks in the
// same order with the same error strings. One state machine (FrameParser) decodes frames; the
// cosocket-driven `recvFrame` feeds it exact-size reads and the incremental `FrameDecoder` (fuzz
// targets, runners) feeds it from pushed chunks. Failures are values (RecvError) until the API edge.
import { ByteQueue, EMPTY } from './byte-queue.js';
import { copyMasked, maskInPlace, writeMaskKey } from './mask.js';
import { luaPayload } from './lua.js';
import { TYPE_BY_OPCODE } from './types.js';
import type { Cosocket, FrameType, RecvResult, SendResult, SockRecv } from './types.js';

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

/** What the first two bytes (and the extended length) said about a frame: a value, never updated. */
export interface FrameHead {
  readonly fin: boolean;
  readonly opcode: number;
  readonly masked: boolean;
  /** The payload length; for a frame that failed before its extended length was read, the 7-bit one. */
  readonly payloadLen: number;
}

/** The frame checks' failures by name (the keys of RECV_ERRORS), or `read` for a socket read that failed. */
export type RecvErrorKind = keyof typeof RECV_ERRORS | 'read';

/**
 * A recv_frame failure as a value: what failed, at which of the frame's reads, and the close code
 * a strict endpoint fails the connection with (RFC 6455 §7.4.1: 1009 for a frame too big, 1002
 * for any other protocol error, none when the socket itself failed). The original's error string
 * is made from it only at the API edge (recvErrorText).
 */
export interface RecvError {
  readonly kind: RecvErrorKind;
  /** The read that failed, or the last read before the check that failed. */
  readonly stage: ReadStage;
  readonly closeCode: 1002 | 1009 | null;
  /** kind `read`: the socket's error ("timeout", "closed", ...); null otherwise. */
  readonly sockErr: string | null;
  /** kind `read`: bytes the failed read consumed (ngx_lua's partial result); 0 otherwise. */
  readonly partial: number;
}

/** What recv_frame gives when it does not fail: the success shapes of RecvResult. */
export type RecvFrame = Exclude<RecvResult, { data: null }>;

/** recv_frame's outcome inside impl/: a frame, or a structured failure. */
export type FrameOutcome = RecvFrame | RecvError;

export function isRecvError(o: FrameOutcome): o is RecvError {
  return 'kind' in o;
}

/** The original's error string for a failure (docs/behaviour.md §2). */
export function recvErrorText(e: RecvError): string {
  return e.kind === 'read' ? READ_FAILURE_PREFIX[e.stage] + e.sockErr : RECV_ERRORS[e.kind];
}

/** The API edge: recv_frame's `data, typ, err` for an outcome. */
export function toRecvResult(o: FrameOutcome): RecvResult {
  return isRecvError(o) ? { data: null, type: null, err: recvErrorText(o) } : o;
}

function checkFailure(kind: keyof typeof RECV_ERRORS, stage: ReadStage): RecvError {
  const closeCode = kind === 'exceeding' || kind === 'lenTooLarge' ? 1009 : 1002;
  return Object.freeze({ kind, stage, closeCode, sockErr: null, partial: 0 });
}

/** The check failures, one value each (they carry nothing frame-specific). */
const CHECK_FAILED = {
  rsv: checkFailure('rsv', 'head'),
  reservedData: checkFailure('reservedData', 'head'),
  reservedControl: checkFailure('reservedControl', 'head'),
  unmasked: checkFailure('unmasked', 'head'),
  lenTooLarge: checkFailure('lenTooLarge', 'len64'),
  closeNoCode: checkFailure('closeNoCode', 'body'),
} as const;

/** A socket read of `stage` that failed with `sockErr` after consuming `partial` bytes. */
export function readFailure(stage: ReadStage, sockErr: string, partial = 0): RecvError {
  return { kind: 'read', stage, closeCode: null, sockErr, partial };
}

const STAGE_HEAD = 0;
const STAGE_LEN16 = 1;
const STAGE_LEN64 = 2;
const STAGE_BODY = 3;
const STAGE_NAMES: readonly ReadStage[] = ['head', 'len16', 'len64', 'body'];

/**
 * The frame state machine (docs/behaviour.md §2), the one core of both recvFrame and FrameDecoder: one state
 * field, the read it waits for. Each read's bytes go in through `advance`, exactly `needed` of
 * them, and the checks run where the original runs them: RSV, opcode and mask bit after the first
 * two bytes; the 64-bit length's range after those 8 bytes; the control-frame rules and the
 * maximum once the length is known; the close code after the body. After a frame or a failure
 * it is back at the first read with no frame state, as recv_frame keeps none between calls.
 */
export class FrameParser {
  readonly maxPayloadLen: number;
  readonly forceMasking: boolean;
  /** RSV bits a frame may carry: none, or RSV1 once permessage-deflate is negotiated (RFC 7692 §6). */
  private readonly rsvForbidden: number;
  private state = STAGE_HEAD;
  // The frame in progress (the last one once it is done). Read out only as a FrameHead value.
  private fin = false;
  private opcode = 0;
  private masked = false;
  private payloadLen = 0;
  private rsv1Bit = false;

  constructor(maxPayloadLen: number, forceMasking: boolean, allowRsv1 = false) {
    this.maxPayloadLen = maxPayloadLen;
    this.forceMasking = forceMasking;
    this.rsvForbidden = allowRsv1 ? 0x30 : 0x70;
  }

  /** Whether frames may carry RSV1 (permessage-deflate negotiated). */
  get allowsRsv1(): boolean {
    return this.rsvForbidden === 0x30;
  }

  /** Whether the frame in progress (or the last one) has RSV1 set: only ever true when RSV1 is allowed. */
  get rsv1(): boolean {
    return this.rsv1Bit;
  }

  /** The read the parser waits for. */
  get stage(): ReadStage {
    return STAGE_NAMES[this.state]!;
  }

  /** How many bytes that read takes: 2, 2 or 8, or the masking key plus the payload. */
  get needed(): number {
    switch (this.state) {
      case STAGE_HEAD: return 2;
      case STAGE_LEN16: return 2;
      case STAGE_LEN64: return 8;
      default: return this.masked ? this.payloadLen + 4 : this.payloadLen;
    }
  }

  /** The head of the frame in progress, or of the last one (as far as it was read). */
  head(): FrameHead {
    return { fin: this.fin, opcode: this.opcode, masked: this.masked, payloadLen: this.payloadLen };
  }

  /**
   * Takes the bytes of the current read: exactly `needed` of them, at bytes[at..]; owned (a
   * masked payload is unmasked in place, and a payload is returned as a view of them). Returns
   * the frame or the failure, or null when another read follows.
   */
  advance(bytes: Buffer, at = 0): FrameOutcome | null {
    switch (this.state) {
      case STAGE_HEAD: {
        const b0 = bytes[at]!;
        const b1 = bytes[at + 1]!;
        this.fin = (b0 & 0x80) !== 0;
        this.opcode = b0 & 0x0f;
        this.masked = (b1 & 0x80) !== 0;
        this.payloadLen = b1 & 0x7f;
        this.rsv1Bit = (b0 & 0x40) !== 0;
        if ((b0 & this.rsvForbidden) !== 0) return CHECK_FAILED.rsv;
        if (this.opcode >= 0x3 && this.opcode <= 0x7) return CHECK_FAILED.reservedData;
        if (this.opcode >= 0xb) return CHECK_FAILED.reservedControl;
        if (this.forceMasking && !this.masked) return CHECK_FAILED.unmasked;
        if (this.payloadLen === 126) this.state = STAGE_LEN16;
        else if (this.payloadLen === 127) this.state = STAGE_LEN64;
        else return this.afterLength();
        return null;
      }
      case STAGE_LEN16:
        this.payloadLen = (bytes[at]! << 8) | bytes[at + 1]!;
        return this.afterLength();
      case STAGE_LEN64: {
        const len = parseLength64(bytes, at);
        if (len === null) {
          this.state = STAGE_HEAD;
          return CHECK_FAILED.lenTooLarge;
        }
        this.payloadLen = len;
        return this.afterLength();
      }
      default: {
        const body = at === 0 ? bytes : bytes.subarray(at, at + this.needed);
        this.state = STAGE_HEAD;
        return this.finish(body);
      }
    }
  }

  /** Whether the current read is the body (whose bytes become the payload, so they need a Buffer of their own). */
  get readsBody(): boolean {
    return this.state === STAGE_BODY;
  }

  /** The current read failed with `sockErr` (it consumed `partial` bytes): the failure, and back to the first read. */
  fail(sockErr: string, partial = 0): RecvError {
    const stage = STAGE_NAMES[this.state]!;
    this.state = STAGE_HEAD;
    return readFailure(stage, sockErr, partial);
  }

  // The length is known (docs/behaviour.md §2 steps 6-7): control-frame rules, then the maximum; a frame
  // without body bytes is done at once (no read of 0 bytes).
  private afterLength(): FrameOutcome | null {
    const stage = STAGE_NAMES[this.state]!;
    this.state = STAGE_HEAD;
    if ((this.opcode & 0x8) !== 0) {
      if (this.payloadLen > 125) return CONTROL_TOO_LONG[stage];
      if (!this.fin) return CONTROL_FRAGMENTED[stage];
    }
    if (this.payloadLen > this.maxPayloadLen) return EXCEEDING[stage];
    if (this.payloadLen === 0 && !this.masked) return this.finish(EMPTY);
    this.state = STAGE_BODY;
    return null;
  }

  // The body (masking key + payload) becomes recv_frame's result (docs/behaviour.md §2 steps 9-10).
  private finish(body: Buffer): FrameOutcome {
    let payload = body;
    if (this.masked) {
      payload = body.subarray(4);
      maskInPlace(payload, body); // the key is body[0..3]; maskInPlace reads only those
    }
    const type = TYPE_BY_OPCODE[this.opcode] as FrameType;
    if (type === 'close') {
      if (payload.length === 0) return { data: EMPTY, type: 'close', err: null };
      if (payload.length < 2) return CHECK_FAILED.closeNoCode;
      return { data: payload.subarray(2), type: 'close', err: (payload[0]! << 8) | payload[1]! };
    }
    return { data: payload, type, err: this.fin ? null : 'again' };
  }
}

/** The checks made once the length is known, by the read that gave the length. */
function byLengthStage(kind: 'controlTooLong' | 'controlFragmented' | 'exceeding'): Record<ReadStage, RecvError> {
  return { head: checkFailure(kind, 'head'), len16: checkFailure(kind, 'len16'), len64: checkFailure(kind, 'len64'), body: checkFailure(kind, 'body') };
}
const CONTROL_TOO_LONG = byLengthStage('controlTooLong');
const CONTROL_FRAGMENTED = byLengthStage('controlFragmented');
const EXCEEDING = byLengthStage('exceeding');

/**
 * Decodes the 64-bit extended length at buf[off..off+8], or null for "payload len too large":
 * lengths of 2^31 and above, like the original (which works in 32-bit LuaJIT bit ops).
 * Non-minimal encodings are accepted.
 */
export function parseLength64(buf: Buffer, off: number): number | null {
  if (buf[off] !== 0 || buf[off + 1] !== 0 || buf[off + 2] !== 0 || buf[off + 3] !== 0) return null;
  const fifth = buf[off + 4]!;
  if ((fifth & 0x80) !== 0) return null;
  return fifth * 0x1000000 + (buf[off + 5]! << 16) + (buf[off + 6]! << 8) + buf[off + 7]!;
}

/**
 * protocol.recv_frame(sock, max_payload_len, force_masking): reads one frame with exact-size reads,
 * as the original does, so a failure part-way leaves the socket where the original would leave it.
 */
export function recvFrame(sock: Cosocket, maxPayloadLen: number, forceMasking: boolean): Promise<RecvResult> {
  const r = readFrame(sock, new FrameParser(maxPayloadLen, forceMasking));
  return r instanceof Promise ? r.then(toRecvResult) : Promise.resolve(toRecvResult(r));
}

/**
 * Drives `parser` (at its first read) through one frame with exact-size reads of `sock`, without
 * a promise when it can do without: a frame whose bytes the socket already buffers (tryReceive)
 * is read and returned synchronously; otherwise the reads go on from the first one that must
 * wait. The bytes, their order and the failures are the same either way, and the server and
 * client build on this so a pipelined frame costs no promise at all.
 */
export function readFrame(sock: Cosocket, parser: FrameParser): FrameOutcome | Promise<FrameOutcome> {
  return readStages(sock, parser, null);
}


/** The parser's reads from where it is, each served from the socket's buffer when it can be. `got` is the bytes a wait just delivered. */
function readStages(sock: Cosocket, parser: FrameParser, got: Buffer | null): FrameOutcome | Promise<FrameOutcome> {
  const out = readBuffered(sock, parser, got);
  if (out !== null) return out;
  return sock.receiveLater !== undefined ? new Promise((resolve) => readLater(sock, parser, resolve)) : waitForStage(sock, parser);
}

/** readStages as far as the socket's buffer goes: the outcome, or null when the current read must wait. */
function readBuffered(sock: Cosocket, parser: FrameParser, got: Buffer | null): FrameOutcome | null {
  for (;;) {
    const bytes = got ?? sock.tryReceive?.(parser.needed) ?? null;
    got = null;
    if (bytes === null) return null;
    const out = parser.advance(bytes);
    if (out !== null) return out;
  }
}

/**
 * Drives `parser` from its current read to the frame's outcome, passed to `done`, over a socket
 * that can call back (receiveLater). An idle connection waits in here: one closure and the
 * socket's pending read, where an async function per layer kept a generator, promises and
 * their reactions alive per connection (bench/README.md, heap per idle connection).
 */
export function readLater(sock: Cosocket, parser: FrameParser, done: (o: FrameOutcome) => void): void {
  sock.receiveLater!(parser.needed, {
    received(r: SockRecv): void {
      const out = readFrameAfter(sock, parser, r);
      if (out !== null) done(out);
      else readLater(sock, parser, done);
    },
  });
}

/** Goes on after a wait for the parser's current read gave `r`: the outcome, or null when the next read must wait too. */
export function readFrameAfter(sock: Cosocket, parser: FrameParser, r: SockRecv): FrameOutcome | null {
  if (r.data === null) return parser.fail(r.err, r.partial.length);
  return readBuffered(sock, parser, r.data);
}

/** Goes on with `bytes`, the parser's current read (taken with tryReceive): the outcome, or null when a read must wait. */
export function readFrameFrom(sock: Cosocket, parser: FrameParser, bytes: Buffer): FrameOutcome | null {
  return readBuffered(sock, parser, bytes);
}

/** Waits for the bytes of the parser's current read, then goes on synchronously where it can. */
async function waitForStage(sock: Cosocket, parser: FrameParser): Promise<FrameOutcome> {
  const r = await sock.receive(parser.needed);
  if (r.data === null) return parser.fail(r.err, r.partial.length);
  return readStages(sock, parser, r.data);
}

export interface FrameDecoderOptions {
  maxPayloadLen: number;
  forceMasking: boolean;
}

/** A frame or failure FrameDecoder decoded, with the head it had (as far as it was read). */
export interface DecodedFrame {
  head: FrameHead;
  outcome: FrameOutcome;
}

/**
 * recvFrame's state machine (FrameParser) over bytes pushed in any chunking: the same rules and
 * results. After a failure it keeps no frame state and goes on with the bytes that follow, as the
 * original does when called again on the same socket. `push` takes ownership of the chunk
 * (masked payloads are unmasked in place).
 */
export class FrameDecoder {
  private readonly parser: FrameParser;
  private readonly queue = new ByteQueue();

  constructor(opts: FrameDecoderOptions) {
    this.parser = new FrameParser(opts.maxPayloadLen, opts.forceMasking);
  }

  get maxPayloadLen(): number {
    return this.parser.maxPayloadLen;
  }

  get forceMasking(): boolean {
    return this.parser.forceMasking;
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
    return this.parser.stage;
  }

  /** How many bytes the current read needs in all (the next frame's first read needs 2). */
  get needed(): number {
    return this.parser.needed;
  }

  /** The next frame or failure as a value, or null when more bytes are needed. */
  nextOutcome(): FrameOutcome | null {
    const q = this.queue;
    const p = this.parser;
    for (;;) {
      const n = p.needed;
      if (q.length < n) return null;
      let out: FrameOutcome | null;
      const held = p.readsBody ? null : q.headHolding(n);
      if (held !== null) {
        // A head or length read inside one chunk is read where it lies (no Buffer of its own).
        const at = q.headOffset;
        q.skip(n);
        out = p.advance(held, at);
      } else {
        out = p.advance(q.take(n));
      }
      if (out !== null) return out;
    }
  }

  /** The next frame or failure with its head, or null when more bytes are needed. */
  nextFrame(): DecodedFrame | null {
    const outcome = this.nextOutcome();
    return outcome === null ? null : { head: this.parser.head(), outcome };
  }

  /** The next recv_frame result (`data, typ, err`), or null when more bytes are needed. */
  next(): RecvResult | null {
    const outcome = this.nextOutcome();
    return outcome === null ? null : toRecvResult(outcome);
  }

  /**
   * The stream has ended with `sockErr` (default "closed"): the result the original's next
   * recv_frame gives, i.e. the read failure of the current stage. Buffered bytes of an unfinished
   * read are consumed, as ngx_lua consumes a partial read.
   */
  end(sockErr = 'closed'): RecvResult {
    const partial = this.queue.takeAll();
    return toRecvResult(this.parser.fail(sockErr, partial.length));
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
