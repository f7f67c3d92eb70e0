// The endpoint core: what the server and the client objects share around recv_frame and
// send_frame (docs/behaviour.md §4-5). The fatal flag, the closed flag as far as it blocks sends,
// "not initialized yet", the strict checks above recv_frame and failing the connection with a
// close code, set_timeout, send_close's code rules and the four senders that are send_frame with a
// fixed opcode. The server and the client add only their handshake and how they close (which
// flags send_close sets, close, set_keepalive).
import { luaPayload, luaTobit, luaToString, luaTruthy } from './lua.js';
import { isValidCloseCode, MessageValidator } from './message-validator.js';
import type { StrictChecks } from './profile.js';
import { DEFLATE_ERRORS, isDeflateFailure } from './permessage-deflate.js';
import type { DeflateParams, PerMessageDeflate } from './permessage-deflate.js';
import { FrameParser, isRecvError, MAX_FRAME_PAYLOAD, readFrame, readFrameAfter, readFrameFrom, SEND_ERRORS, toRecvResult, writeFrame } from './protocol.js';
import type { FrameOutcome, RecvError, RecvFrame } from './protocol.js';
import type { Cosocket, ReceiveCallback, RecvResult, SendResult, SockRecv } from './types.js';

export const BAD_STATUS_CODE = 'bad status code';

/**
 * One parser back at its first read after a frame, for the next frame of any endpoint with its
 * settings: one allocation less per frame, and nothing kept per connection (a spare per endpoint
 * was 88 bytes on every idle one).
 */
let spareParser: FrameParser | null = null;

/** The errors the server and the client say alike. */
export const ENDPOINT_ERRORS = {
  fatal: 'fatal error already happened',
  notInitializedYet: 'not initialized yet',
  closed: 'already closed',
  badStatusCode: BAD_STATUS_CODE,
  /** strict validateSendOpcode. */
  badOpcode: 'bad opcode',
  /** strict rejectMaskedServerFrames (the mirror of the server's "frame unmasked"). */
  frameMasked: 'frame masked',
} as const;

export function recvFail(err: string): RecvResult {
  return { data: null, type: null, err };
}

function sendFail(err: string): SendResult {
  return { bytes: null, err };
}

/**
 * send_close's payload rules (docs/behaviour.md §4): a code that is not a number or is above 0x7fff is
 * "bad status code"; otherwise two bytes of LuaJIT bit ops on it (1000.7 -> 1001, -1 -> 0xffff)
 * followed by msg. No code means an empty payload, whatever msg is.
 */
export function closePayload(code: unknown, msg: unknown): { payload: Buffer | null; err: null } | { payload: null; err: string } {
  if (!luaTruthy(code)) return { payload: null, err: null };
  if (typeof code !== 'number' || code > 0x7fff) return { payload: null, err: BAD_STATUS_CODE };
  const bits = luaTobit(code);
  const head = Buffer.from([(bits >>> 8) & 0xff, bits & 0xff]);
  return { payload: luaTruthy(msg) ? Buffer.concat([head, luaToString(msg)]) : head, err: null };
}

/** strict validateSendOpcode: the six opcodes RFC 6455 defines. */
export function isSendableOpcode(opcode: number): boolean {
  return opcode === 0x0 || opcode === 0x1 || opcode === 0x2 || opcode === 0x8 || opcode === 0x9 || opcode === 0xa;
}

/** strict validateCloseCodes on send (RFC 6455 §7.4): the codes an endpoint may put on the wire. */
export function isSendableCloseCode(code: unknown): boolean {
  return typeof code === 'number' && Number.isInteger(code) && isValidCloseCode(code);
}

/**
 * The original decides fatal-or-not by the error text: `not str_find(err, ": timeout", 1, true)`.
 * Only a read can fail that way, and ngx_lua's word for it is exactly "timeout".
 */
function isTimeout(e: RecvError): boolean {
  return e.kind === 'read' && e.sockErr === 'timeout';
}

/** How an endpoint frames and reads, fixed at construction. */
export interface EndpointConfig {
  maxRecvLen: number;
  maxSendLen: number;
  /** Mask the frames it sends. */
  masking: boolean;
  /** recv_frame's force_masking (on for a server). */
  forceMasking: boolean;
  checks: StrictChecks;
}

/** RSV1 in byte 0 of a frame: set on the first frame of a compressed message (RFC 7692 §6). */
const RSV1 = 0x40;

export abstract class WebSocketEndpoint<S extends Cosocket = Cosocket> implements ReceiveCallback {
  // Plain (not #private) fields: an object made without a socket answers "not initialized yet",
  // like calling the Lua methods on a table without `sock`.
  protected sock: S | null;
  protected readonly maxRecvLen: number;
  protected readonly maxSendLen: number;
  protected readonly masking: boolean;
  protected readonly forceMasking: boolean;
  readonly checks: StrictChecks;
  /** Set by any recv error but a timeout, and by any send error (docs/behaviour.md §5 "Which errors poison an object"). */
  fatal = false;
  /** Set by send_close as the server or client rules say; blocks sends (closedRefusesSend). */
  closed = false;
  /** The strict message checks, one per connection (made at the first frame they look at). */
  protected validator: MessageValidator | null = null;
  private readonly rejectMasked: boolean;
  private readonly validates: boolean;
  /** permessage-deflate once negotiated (impl/permessage-deflate.ts); null: no extension. */
  private deflate: PerMessageDeflate | null = null;
  /** The received message in progress under permessage-deflate: compressed, uncompressed, or none (null). */
  private inflating: boolean | null = null;
  /** Bytes the compressed message in progress inflated to so far. */
  private inflatedLen = 0;
  /** The last send queued behind a compression (null: none is pending, a send goes out at once). */
  private sendTail: Promise<unknown> | null = null;
  /**
   * A recvFrame waiting for bytes (Cosocket.receiveLater, with this endpoint as the reader): its
   * promise's resolve, and the frame's parser once its first bytes came. An idle connection keeps
   * these two fields, no closure, no parser, no promise chain per layer.
   */
  private recvResolve: ((r: RecvResult | Promise<RecvResult>) => void) | null = null;
  private recvParser: FrameParser | null = null;

  protected constructor(sock: S | null, cfg: EndpointConfig) {
    this.sock = sock;
    this.maxRecvLen = cfg.maxRecvLen;
    this.maxSendLen = cfg.maxSendLen;
    this.masking = cfg.masking;
    this.forceMasking = cfg.forceMasking;
    this.checks = cfg.checks;
    const c = cfg.checks;
    // A server forces masking, so only an endpoint that accepts masked frames can reject them.
    this.rejectMasked = c.rejectMaskedServerFrames && !cfg.forceMasking;
    this.validates = c.checkFragmentation || c.validateUtf8 || c.validateCloseCodes;
  }

  /** The underlying cosocket. */
  get socket(): S | null {
    return this.sock;
  }

  /** The permessage-deflate parameters agreed in the handshake, or null when no extension is in use. */
  get permessageDeflate(): DeflateParams | null {
    return this.deflate?.params ?? null;
  }

  /** Starts using a negotiated permessage-deflate (or none), releasing any previous contexts. */
  protected useDeflate(d: PerMessageDeflate | null): void {
    this.deflate?.release();
    this.deflate = d;
    this.inflating = null;
    this.inflatedLen = 0;
    this.sendTail = null;
  }

  /**
   * Frees the permessage-deflate contexts (zlib handles). Closing the connection, failing it, and
   * the socket closing do it; call it when dropping a connection any other way.
   */
  releaseDeflate(): void {
    this.deflate?.release();
  }

  /** Whether a set `closed` flag refuses a send of `opcode` with "already closed". */
  protected abstract closedRefusesSend(opcode: number): boolean;

  /** What send_close's attempt (past the code check) does to the flags. */
  protected abstract closeAttempted(r: SendResult): void;

  /**
   * recv_frame(): `{ data, type, err }`. A frame already buffered is read and checked
   * synchronously (readFrame); the promise is then an already-settled one.
   */
  recvFrame(): Promise<RecvResult> {
    if (this.fatal) return Promise.resolve(recvFail(ENDPOINT_ERRORS.fatal));
    const sock = this.sock;
    if (!sock) return Promise.resolve(recvFail(ENDPOINT_ERRORS.notInitializedYet));
    // (a second recvFrame while one waits goes the general way: the socket answers it "socket busy reading")
    if (sock.receiveLater !== undefined && this.recvResolve === null) {
      const first = sock.tryReceive?.(2) ?? null;
      if (first === null) return this.waitFrame(sock, null, 2);
      const parser = this.takeParser();
      const o = readFrameFrom(sock, parser, first);
      if (o === null) return this.waitFrame(sock, parser, parser.needed);
      const r = this.afterRecv(o, parser);
      spareParser = parser; // an outcome leaves the parser at its first read
      return Promise.resolve(r);
    }
    const parser = new FrameParser(this.maxRecvLen, this.forceMasking, !!this.deflate);
    const r = readFrame(sock, parser);
    return r instanceof Promise ? r.then((o) => this.afterRecv(o, parser)) : Promise.resolve(this.afterRecv(r, parser));
  }

  /** One promise for the reads of a frame that must wait (the first of `n` bytes); `received` goes on. */
  private waitFrame(sock: S, parser: FrameParser | null, n: number): Promise<RecvResult> {
    return new Promise((resolve) => {
      this.recvResolve = resolve;
      this.recvParser = parser;
      sock.receiveLater!(n, this);
    });
  }

  /** @internal Cosocket.receiveLater's callback: the outcome of the read a waiting recvFrame asked for. */
  received(r: SockRecv): void {
    const sock = this.sock!;
    const parser = this.recvParser ?? this.takeParser();
    const o = readFrameAfter(sock, parser, r);
    if (o === null) {
      this.recvParser = parser;
      sock.receiveLater!(parser.needed, this);
      return;
    }
    const resolve = this.recvResolve!;
    this.recvResolve = null;
    this.recvParser = null;
    const result = this.afterRecv(o, parser);
    spareParser = parser;
    resolve(result);
  }

  /** The spare parser if it has this endpoint's settings, else a new one. */
  private takeParser(): FrameParser {
    const p = spareParser;
    const rsv1 = !!this.deflate;
    if (p !== null && p.maxPayloadLen === this.maxRecvLen && p.forceMasking === this.forceMasking && p.allowsRsv1 === rsv1) {
      spareParser = null;
      return p;
    }
    return new FrameParser(this.maxRecvLen, this.forceMasking, rsv1);
  }

  /** The state rules around recv_frame's outcome and the strict checks on it; the API edge for its errors. */
  private afterRecv(o: FrameOutcome, parser: FrameParser): RecvResult | Promise<RecvResult> {
    if (isRecvError(o)) {
      if (!isTimeout(o)) {
        this.fatal = true;
        this.deflate?.release();
        if (o.closeCode !== null) return this.failConnection(o.closeCode).then(() => toRecvResult(o));
      } else if (this.checks.fatalOnPartialTimeout && (o.stage !== 'head' || o.partial > 0)) {
        // §7.9: bytes of the frame were consumed, so the stream can no longer be trusted.
        this.fatal = true;
      }
      return toRecvResult(o);
    }
    if (this.rejectMasked && parser.head().masked) {
      this.fatal = true;
      return this.failConnection(1002).then(() => recvFail(ENDPOINT_ERRORS.frameMasked));
    }
    if (this.deflate) {
      const inflated = this.inflateFrame(o, parser.rsv1);
      return inflated instanceof Promise ? inflated.then((r) => (r.data === null ? r : this.checkMessage(r))) : this.checkMessage(inflated);
    }
    return this.checkMessage(o);
  }

  /** The strict message checks (fragmentation, UTF-8, close codes) on a frame as the application sees it. */
  private checkMessage(o: RecvFrame): RecvResult | Promise<RecvResult> {
    if (this.validates) {
      this.validator ??= new MessageValidator(this.checks);
      const v = this.validator.check(o);
      if (!v.ok) {
        this.fatal = true;
        return this.failConnection(v.closeCode).then(() => recvFail(v.err));
      }
    }
    return o;
  }

  /**
   * permessage-deflate on a received frame (RFC 7692 §6): RSV1 only on the first frame of a data
   * message, which makes the message compressed; the frames of a compressed message are inflated
   * as they come (a fragment's data as far as it inflates). A frame out of message order passes
   * through untouched: the strict fragmentation check, which the option requires, fails it.
   */
  private inflateFrame(o: RecvFrame, rsv1: boolean): RecvFrame | Promise<RecvResult> {
    switch (o.type) {
      case 'close':
      case 'ping':
      case 'pong':
        return rsv1 ? this.failWith(DEFLATE_ERRORS.rsv1Control, 1002) : o;
      case 'continuation': {
        if (rsv1) return this.failWith(DEFLATE_ERRORS.rsv1Continuation, 1002);
        if (this.inflating === null) return o;
        const fin = o.err === null;
        if (this.inflating) return this.inflateData(o, fin);
        if (fin) this.inflating = null;
        return o;
      }
      default: {
        if (this.inflating !== null) return o;
        const fin = o.err === null;
        if (!rsv1) {
          this.inflating = fin ? null : false;
          return o;
        }
        this.inflating = true;
        this.inflatedLen = 0;
        return this.inflateData(o, fin);
      }
    }
  }

  private async inflateData(o: RecvFrame, fin: boolean): Promise<RecvResult> {
    const d = this.deflate!;
    const out = await d.inflate(o.data, fin, d.maxMessageLen - this.inflatedLen);
    if (isDeflateFailure(out)) return this.failWith(out.err, out.closeCode);
    this.inflatedLen += out.length;
    if (fin) this.inflating = null;
    return { ...o, data: out } as RecvFrame;
  }

  /** A failure above recv_frame: fatal, the connection failed with `code`, the error as a value. */
  private failWith(err: string, code: 1002 | 1007 | 1009 | 1011): Promise<RecvResult> {
    this.fatal = true;
    return this.failConnection(code).then(() => recvFail(err));
  }

  /**
   * strict failWithCloseCode, RFC 6455 §7.1.7 "fail the WebSocket connection": a close frame with
   * `code` unless one was sent, then the socket closes. The compression contexts go either way.
   */
  protected async failConnection(code: 1002 | 1007 | 1009 | 1011): Promise<void> {
    this.deflate?.release();
    const sock = this.sock;
    if (!this.checks.failWithCloseCode || !sock) return;
    const alreadyClosed = this.closed;
    this.closed = true;
    if (!alreadyClosed) await writeFrame(sock, true, 0x8, Buffer.from([code >> 8, code & 0xff]), 125, this.masking);
    await sock.close();
  }

  /**
   * send_frame(fin, opcode, payload): checks fatal, then closed, then the socket; any failure,
   * argument errors included, sets fatal. Settles at once when the socket takes the bytes at once.
   */
  sendFrame(fin: unknown, opcode: number, payload?: unknown): Promise<SendResult> {
    // Behind a compression in progress, a frame waits its turn: frames go out in call order.
    if (this.sendTail) return this.inOrder(() => this.sendFrameNow(fin, opcode, payload));
    return this.sendFrameNow(fin, opcode, payload);
  }

  /** send_frame's checks in its order (fatal, closed, socket, strict opcode): the refusal, or null. */
  private sendRefusal(opcode: number): SendResult | null {
    if (this.fatal) return sendFail(ENDPOINT_ERRORS.fatal);
    if (this.closed && this.closedRefusesSend(opcode)) return sendFail(ENDPOINT_ERRORS.closed);
    if (!this.sock) return sendFail(ENDPOINT_ERRORS.notInitializedYet);
    if (this.checks.validateSendOpcode && !isSendableOpcode(opcode)) {
      this.fatal = true;
      return sendFail(ENDPOINT_ERRORS.badOpcode);
    }
    return null;
  }

  private sendFrameNow(fin: unknown, opcode: number, payload?: unknown): Promise<SendResult> {
    const refused = this.sendRefusal(opcode);
    if (refused !== null) return Promise.resolve(refused);
    const r = writeFrame(this.sock!, luaTruthy(fin), opcode, payload, this.maxSendLen, this.masking);
    return r instanceof Promise ? r.then((w) => this.afterSend(w)) : Promise.resolve(this.afterSend(r));
  }

  /** Runs a send after every send queued before it. */
  private inOrder(job: () => Promise<SendResult>): Promise<SendResult> {
    const run = (this.sendTail ?? Promise.resolve()).then(job);
    const tail: Promise<unknown> = run.then(() => {
      if (this.sendTail === tail) this.sendTail = null;
    });
    this.sendTail = tail;
    return run;
  }

  /** A whole text or binary message: compressed under permessage-deflate from `threshold` bytes on. */
  private sendMessage(opcode: 0x1 | 0x2, data: unknown): Promise<SendResult> {
    // Truthiness, not null: an object made without its constructor has no fields (see `sock`).
    const d = this.deflate;
    if (!d) return this.sendFrame(true, opcode, data);
    const bytes = luaPayload(data);
    if (bytes.length < d.threshold) return this.sendFrame(true, opcode, bytes);
    return this.inOrder(() => this.sendCompressed(d, opcode, bytes));
  }

  /**
   * max_send_len applies to the message itself, before compression: deflate adds a few bytes to
   * data it cannot compress, so the frame's own length is only held to what a frame can carry.
   */
  private async sendCompressed(d: PerMessageDeflate, opcode: 0x1 | 0x2, bytes: Buffer): Promise<SendResult> {
    const refused = this.sendRefusal(opcode);
    if (refused !== null) return refused;
    if (bytes.length > this.maxSendLen) return this.afterSend(sendFail(SEND_ERRORS.tooBig));
    const out = await d.deflate(bytes);
    if (isDeflateFailure(out)) return this.afterSend(sendFail(out.err));
    // Something failed the connection while this message was compressing.
    const late = this.sendRefusal(opcode);
    if (late !== null) return late;
    // RSV1 rides in byte 0 above the opcode, where build_frame ORs the opcode in.
    const r = await writeFrame(this.sock!, true, opcode | RSV1, out, MAX_FRAME_PAYLOAD, this.masking);
    return this.afterSend(r);
  }

  // a method, not a bound arrow field: a closure per connection costs heap on every idle one
  private afterSend(r: SendResult): SendResult {
    if (r.err !== null) this.fatal = true;
    return r;
  }

  sendText(data?: unknown): Promise<SendResult> {
    return this.sendMessage(0x1, data);
  }

  sendBinary(data?: unknown): Promise<SendResult> {
    return this.sendMessage(0x2, data);
  }

  sendPing(data?: unknown): Promise<SendResult> {
    return this.sendFrame(true, 0x9, data);
  }

  sendPong(data?: unknown): Promise<SendResult> {
    return this.sendFrame(true, 0xa, data);
  }

  /**
   * send_close(code?, msg?): a code that is not a number or is above 0x7fff is "bad status code"
   * and changes nothing; otherwise the code goes through LuaJIT bit ops (1000.7 -> 1001,
   * -1 -> 0xffff), msg is only sent with a code, and the frame goes through send_frame.
   */
  async sendClose(code?: unknown, msg?: unknown): Promise<SendResult> {
    if (this.checks.validateCloseCodes && luaTruthy(code) && !isSendableCloseCode(code)) return sendFail(BAD_STATUS_CODE);
    const built = closePayload(code, msg);
    if (built.err !== null) return sendFail(built.err);
    const r = await this.sendFrame(true, 0x8, built.payload);
    this.closeAttempted(r);
    return r;
  }

  /** set_timeout(ms): returns nothing, or `{ err: "not initialized yet" }` without a socket. */
  setTimeout(ms: number): { err: string } | undefined {
    if (!this.sock) return { err: ENDPOINT_ERRORS.notInitializedYet };
    this.sock.setTimeout(ms);
    return undefined;
  }
}
