// The fuzzing endpoint: our side of one test connection, with Autobahn's WebSocket protocol rules
// for what it receives and how it closes (autobahn/websocket/protocol.py: closedByMe, failedByMe,
// droppedByMe, wasClean, the close-handshake and server-drop timeouts; failByDrop = false), the
// wire log, and raw frame control for what it sends (chops, sync, RSV, masks, repeated payloads).
// When the opening handshake negotiated permessage-deflate (sections 12, 13), messages are
// compressed and decompressed here (deflate.ts), and RSV1 marks a compressed message.
// It records (events, close flags, which timeout fired and how close a call it was); it does not
// judge: run-case.ts computes the verdict from the record once the connection is gone.
import { randomBytes } from 'node:crypto';
import { FrameDecoder, isRecvError, recvErrorText } from 'resty-websocket/protocol';
import { Utf8Validator, isValidUtf8, type Stream } from 'resty-websocket';
import { encodeFrame } from '../../lab/wire.js';
import { CLOSE, type CaseRun, type ConformanceCase, type EndpointOutcome, type FrameSpec, type FuzzingEndpoint, type VerdictTimer, type WireLogEntry } from './types.js';
import { sameEvents } from './events.js';
import { MessageCodec, Rsv1Splitter, type DeflateParams } from './deflate.js';
import { runTiming, type RunTiming } from '../../lab/timing.js';

const MAX_WIRE_LOG_DATA = 256;
/** Autobahn's WebSocketProtocol._QUEUED_WRITE_DELAY: 0.00001 s between queued writes. */
const QUEUED_WRITE_DELAY_NS = 10_000n;
/** Autobahn's closeHandshakeTimeout and serverConnectionDropTimeout defaults (seconds). */
const CLOSE_HANDSHAKE_TIMEOUT = 1;
const SERVER_DROP_TIMEOUT = 1;
/** Codes a close frame may carry (autobahn's CLOSE_STATUS_CODES_ALLOWED plus 3000-4999). */
function allowedCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1011) || (code >= 3000 && code <= 4999);
}

function hexLog(data: Buffer): string {
  return data.length > MAX_WIRE_LOG_DATA ? `${data.subarray(0, MAX_WIRE_LOG_DATA).toString('hex')} ...` : data.toString('hex');
}
function textLog(data: Buffer): string {
  return data.length > MAX_WIRE_LOG_DATA ? `${data.subarray(0, MAX_WIRE_LOG_DATA).toString('latin1')} ...` : data.toString('latin1');
}

/** A case's frame on the wire, FIN set and RSV clear unless it says otherwise (no validation: cases send broken frames on purpose). */
function frameOctets(f: FrameSpec, payload: Buffer, mask: Buffer | null): Buffer {
  return encodeFrame({ fin: f.fin ?? true, rsv: f.rsv ?? 0, opcode: f.opcode, maskKey: mask, payload });
}

function fill(payload: Buffer, len: number | undefined): Buffer {
  if (len === undefined || len === payload.length) return payload;
  if (payload.length === 0) return Buffer.alloc(len);
  const out = Buffer.allocUnsafe(len);
  for (let off = 0; off < len; off += payload.length) payload.copy(out, off, 0, Math.min(payload.length, len - off));
  return out;
}

export interface EndpointStats {
  txFrameStats: Record<number, number>;
  rxFrameStats: Record<number, number>;
  txOctetStats: Record<number, number>;
  rxOctetStats: Record<number, number>;
}


export class Endpoint implements FuzzingEndpoint {
  readonly isServer: boolean;
  state: 'OPEN' | 'CLOSING' | 'CLOSED' = 'OPEN';
  createWirelog = true;
  readonly wirelog: WireLogEntry[] = [];
  readonly stats: EndpointStats = { txFrameStats: {}, rxFrameStats: {}, txOctetStats: {}, rxOctetStats: {} };
  readonly outcome: EndpointOutcome = {
    closedByMe: false, failedByMe: false, droppedByMe: false, wasClean: false, wasNotCleanReason: null,
    localCloseCode: null, localCloseReason: null, remoteCloseCode: null, remoteCloseReason: null, timeout: null,
  };
  /** Resolves when the TCP connection is gone. */
  readonly closed: Promise<void>;
  private resolveClosed!: () => void;
  private readonly stream: Stream;
  private readonly decoder = new FrameDecoder({ maxPayloadLen: 0x7fffffff, forceMasking: false });
  private readonly run: CaseRun;
  private readonly kase: ConformanceCase;
  private readonly timers = new Set<NodeJS.Timeout>();
  private closeHandshakeTimer: NodeJS.Timeout | null = null;
  /** A verdict timer that fired late -> the timer that gives the testee that time back. */
  private readonly extended = new Map<NodeJS.Timeout, NodeJS.Timeout>();
  private serverDropTimer: NodeJS.Timeout | null = null;
  private messageOpcode: number | null = null;
  /** The message in progress had RSV1 on its first frame: its payload is compressed. */
  private messageCompressed = false;
  private messageParts: Buffer[] = [];
  readonly deflate: DeflateParams | null;
  private readonly codec: MessageCodec | null;
  /** Takes RSV1 off frame heads for the decoder (null without deflate, and after a frame the decoder refused). */
  private rsv1: Rsv1Splitter | null;
  private readonly utf8 = new Utf8Validator();
  /** Autobahn's send_queue: chops, sync writes and whatever is sent while entries are queued, one entry per event-loop re-entry. */
  private readonly sendQueue: Array<{ data: Buffer; sync: boolean }> = [];
  private sending = false;
  /** Twisted's transport buffer is open: the stream is corked until this event-loop turn's write phase. */
  private buffering = false;
  /** When the testee last sent us anything (performance.now()). */
  private lastRx: number | null = null;
  private readonly timing: RunTiming;

  /**
   * Multiplies the waits that decide a verdict (killAfter, closeAfter, the close-handshake and
   * server-drop timeouts) for loaded machines; continueLater keeps its delays (they are the test).
   */
  private readonly timeScale: number;

  constructor(stream: Stream, isServer: boolean, kase: ConformanceCase, run: Omit<CaseRun, 'p'>, initial?: Buffer, timeScale = 1, timing: RunTiming = runTiming, deflate: DeflateParams | null = null) {
    this.deflate = deflate;
    this.codec = deflate ? new MessageCodec(deflate, isServer) : null;
    this.rsv1 = deflate ? new Rsv1Splitter() : null;
    this.timeScale = timeScale;
    this.timing = timing;
    this.stream = stream;
    this.isServer = isServer;
    this.kase = kase;
    this.run = Object.assign(run, { p: this }) as CaseRun;
    this.closed = new Promise((r) => (this.resolveClosed = r));
    stream.setNoDelay?.(true);
    stream.on('data', (d: Buffer) => this.onData(d));
    stream.on('error', () => {});
    stream.on('close', () => this.connectionLost());
    if (initial && initial.length > 0) this.onData(initial);
  }

  get case(): CaseRun {
    return this.run;
  }

  // ---- sending ---------------------------------------------------------------------------

  private log(e: WireLogEntry): void {
    if (this.createWirelog) this.wirelog.push(e);
  }

  /**
   * Autobahn's sendData: a chopped frame becomes one queued sync entry per chop; a sync write, and any
   * write made while entries are queued, is queued whole; otherwise the octets go straight to the
   * transport. The queue writes one entry, then re-enters the event loop (Autobahn's
   * _QUEUED_WRITE_DELAY, reactor.callLater(1e-5, _send)): here, once the write has been handed to the
   * kernel and at least 10 µs have passed, with every read that arrived meanwhile processed first.
   */
  private sendData(data: Buffer, sync: boolean, chopsize?: number): void {
    if (chopsize && chopsize > 0) {
      for (let i = 0; i < data.length; i += chopsize) this.sendQueue.push({ data: data.subarray(i, i + chopsize), sync: true });
      this.triggerSend();
    } else if (sync || this.sendQueue.length > 0) {
      this.sendQueue.push({ data, sync });
      this.triggerSend();
    } else {
      this.transportWrite(data, false);
    }
  }

  /**
   * Twisted's transport.write (abstract.FileDescriptor.write): the octets join a buffer that the
   * reactor's write phase (doWrite) hands to the socket in one send. Here the stream is corked at the
   * turn's first write and uncorked on setImmediate, after this turn's reads (libuv's check phase
   * follows its poll phase, as Twisted's doWrite follows doRead): everything written in between,
   * direct frames and a queued entry alike, leaves in one writev.
   */
  private transportWrite(piece: Buffer, sync: boolean, done?: () => void): void {
    this.stats.txOctetStats[piece.length] = (this.stats.txOctetStats[piece.length] ?? 0) + 1;
    this.log(['TO', hexLog(piece), sync]);
    if (!this.buffering) {
      this.buffering = true;
      this.stream.cork();
      setImmediate(() => {
        this.buffering = false;
        this.stream.uncork();
      });
    }
    this.stream.write(piece, done ? () => done() : undefined);
  }

  private triggerSend(): void {
    if (this.sending) return;
    this.sending = true;
    this.sendNext();
  }

  private sendNext(): void {
    const next = this.sendQueue.shift();
    if (!next || this.state === 'CLOSED' || this.stream.destroyed) {
      this.sendQueue.length = 0;
      this.sending = false;
      return;
    }
    const started = process.hrtime.bigint();
    this.transportWrite(next.data, next.sync, () => {
      const again = (): void => {
        if (process.hrtime.bigint() - started < QUEUED_WRITE_DELAY_NS) setImmediate(again);
        else this.sendNext();
      };
      setImmediate(again);
    });
  }

  sendFrame(f: FrameSpec): void {
    if (this.state === 'CLOSED') return;
    const base = typeof f.payload === 'string' ? Buffer.from(f.payload, 'utf8') : (f.payload ?? Buffer.alloc(0));
    const payload = fill(base, f.payloadLen);
    const mask = f.mask !== undefined ? f.mask : this.isServer ? null : randomBytes(4);
    this.stats.txFrameStats[f.opcode] = (this.stats.txFrameStats[f.opcode] ?? 0) + 1;
    this.log(['TF', textLog(base), f.opcode, f.fin ?? true, f.rsv ?? 0, mask ? mask.toString('hex') : null, f.payloadLen ?? null, f.chopsize ?? null, !!f.sync]);
    this.sendData(frameOctets(f, payload, mask), !!f.sync, f.chopsize);
  }

  encodeFrame(f: FrameSpec): Buffer {
    const base = typeof f.payload === 'string' ? Buffer.from(f.payload, 'utf8') : (f.payload ?? Buffer.alloc(0));
    const mask = f.mask !== undefined ? f.mask : this.isServer ? null : randomBytes(4);
    return frameOctets(f, fill(base, f.payloadLen), mask);
  }

  sendRaw(data: Buffer, sync = true): void {
    if (this.state === 'CLOSED') return;
    this.sendData(data, sync);
  }

  sendMessage(payload: Buffer | string, binary: boolean, fragmentSize?: number): void {
    if (this.state === 'CLOSED') return;
    const plain = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
    // With permessage-deflate the whole message is compressed, then the compressed octets are
    // fragmented; RSV1 on the first frame only (RFC 7692 §6.1).
    const data = this.codec ? this.codec.compress(plain) : plain;
    const rsv = this.codec ? 4 : 0;
    const opcode = binary ? 2 : 1;
    if (!fragmentSize || data.length <= fragmentSize) {
      this.sendFrame({ opcode, payload: data, rsv });
      return;
    }
    // The frames of one message are direct writes of one turn: they leave together (transportWrite).
    for (let off = 0; off < data.length; off += fragmentSize) {
      const last = off + fragmentSize >= data.length;
      this.sendFrame({ opcode: off === 0 ? opcode : 0, payload: data.subarray(off, off + fragmentSize), fin: last, rsv: off === 0 ? rsv : 0 });
    }
  }

  sendCloseFrame(code?: number | null, reason?: Buffer | string | null, isReply = false): void {
    if (this.state === 'CLOSED') return;
    const parts: Buffer[] = [];
    if (code !== undefined && code !== null) parts.push(Buffer.from([(code >> 8) & 0xff, code & 0xff]));
    if (reason !== undefined && reason !== null) parts.push(typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason);
    this.outcome.localCloseCode = code ?? null;
    this.outcome.localCloseReason = reason === undefined || reason === null ? null : reason.toString();
    this.sendFrame({ opcode: 8, payload: Buffer.concat(parts) });
    if (this.state === 'OPEN') {
      this.state = 'CLOSING';
      this.outcome.closedByMe = !isReply;
      if (!isReply) {
        this.closeHandshakeTimer = this.verdictTimer('closeHandshake', CLOSE_HANDSHAKE_TIMEOUT, () => {
          this.outcome.wasClean = false;
          this.outcome.wasNotCleanReason = 'peer did not respond (in time) in closing handshake';
          this.dropConnection(true);
        });
      }
    }
  }

  sendClose(code?: number, reason?: Buffer | string): void {
    if (this.state !== 'OPEN') return;
    this.sendCloseFrame(code ?? null, reason ?? null, false);
  }

  /** Autobahn's failConnection with failByDrop = false: start (or keep) a closing handshake. */
  failConnection(code: number = CLOSE.GOING_AWAY, reason = 'Going Away'): void {
    if (this.state === 'CLOSED') return;
    this.outcome.failedByMe = true;
    if (this.state !== 'CLOSING') this.sendCloseFrame(code, reason, false);
  }

  private timer(seconds: number, fn: () => void): NodeJS.Timeout {
    // The verdict must not depend on event-loop order: bytes that arrived before the deadline are
    // read first (libuv polls sockets after timers and before immediates), then the timer acts.
    const t = setTimeout(() => {
      this.timers.delete(t);
      setImmediate(fn);
    }, seconds * 1000);
    this.timers.add(t);
    return t;
  }

  /**
   * A wait whose firing decides the verdict: Autobahn's `seconds` (times --time-scale), plus a
   * padding derived from the run's measured scheduling lag and RTT (timing.ts). When it fires on a
   * connection still open, `fn` runs and the outcome records which timeout decided the case and
   * whether it was a close call: the timer fired late by more than the margin (the loop was
   * stalled), or the testee was still sending within the margin before the deadline.
   */
  private verdictTimer(kind: VerdictTimer, seconds: number, fn: () => void): NodeJS.Timeout {
    const autobahnMs = seconds * 1000 * this.timeScale;
    const waitMs = autobahnMs + this.timing.paddingMs();
    const due = performance.now() + waitMs;
    let extraMs = 0;
    let first: NodeJS.Timeout;
    const fire = (): void => {
      if (this.state === 'CLOSED') return;
      const now = performance.now();
      const lateMs = Math.max(0, now - due - extraMs);
      // A timer that fired late means the event loop was stalled: the testee (and, for in-process
      // agents, its very code) had that much less live time than the wait. Give it back once.
      if (extraMs === 0 && lateMs > 20) {
        extraMs = lateMs;
        this.extended.set(first, this.timer(lateMs / 1000, fire));
        return;
      }
      const margin = this.timing.marginMs();
      const quietMs = this.lastRx === null ? null : now - this.lastRx;
      const closeCall = lateMs + extraMs > margin || (quietMs !== null && quietMs < margin);
      // Every verdict timer that acted is recorded; the last one decided the close verdict.
      const record = { timer: kind, autobahnMs, waitedMs: Math.round(waitMs + extraMs), lateMs: Math.round(lateMs + extraMs), quietMs: quietMs === null ? null : Math.round(quietMs), marginMs: Math.round(margin), closeCall };
      this.outcome.timeout = this.outcome.timeout?.closeCall ? { ...record, closeCall: true } : record;
      fn();
    };
    first = this.timer(waitMs / 1000, fire);
    return first;
  }

  /** Cancels a verdict timer, including the time it was given back after firing late. */
  private cancelVerdictTimer(t: NodeJS.Timeout | null): void {
    if (!t) return;
    clearTimeout(t);
    const more = this.extended.get(t);
    if (more) clearTimeout(more);
  }

  continueLater(seconds: number, fn: () => void, tag?: string): void {
    this.log(['CT', seconds, tag ?? null]);
    this.timer(seconds, () => {
      if (this.state === 'CLOSED') return;
      this.log(['CTE', tag ?? null]);
      fn();
    });
  }

  killAfter(seconds: number): void {
    this.log(['KL', seconds]);
    this.verdictTimer('killAfter', seconds, () => {
      this.log(['KLE']);
      this.failConnection();
    });
  }

  closeAfter(seconds: number): void {
    this.log(['TI', seconds]);
    this.verdictTimer('closeAfter', seconds, () => {
      this.log(['TIE']);
      this.sendClose();
    });
  }

  dropConnection(abort: boolean): void {
    if (this.state === 'CLOSED') return;
    this.outcome.droppedByMe = true;
    this.state = 'CLOSED';
    // Like Autobahn's, queued writes not yet made are skipped once the connection is dropped.
    this.sendQueue.length = 0;
    if (abort) this.stream.destroy();
    else this.stream.end();
  }

  // ---- receiving -------------------------------------------------------------------------

  private onData(d: Buffer): void {
    this.lastRx = performance.now();
    this.stats.rxOctetStats[d.length] = (this.stats.rxOctetStats[d.length] ?? 0) + 1;
    this.log(['RO', hexLog(d)]);
    if (this.state === 'CLOSED') return;
    const chunk = Buffer.from(d);
    this.rsv1?.push(chunk);
    this.decoder.push(chunk);
    for (let f = this.decoder.nextFrame(); f !== null; f = this.decoder.nextFrame()) {
      if ((this.state as string) === 'CLOSED') return;
      const { head, outcome } = f;
      const rsv1 = this.rsv1?.rsv1.shift() ?? false;
      if (isRecvError(outcome)) {
        // The testee sent something our decoder refuses (RSV bits, reserved opcode, bad control frame).
        // The decoder goes on from the failed head without skipping a payload, so frame boundaries
        // are no longer the splitter's: it stops (the connection is being failed anyway).
        this.rsv1 = null;
        this.log(['RF', '', head.opcode, head.fin, rsv1 ? 4 : 0, head.masked, null]);
        this.protocolViolation(recvErrorText(outcome));
        continue;
      }
      const r = outcome;
      const opcode = head.opcode;
      this.stats.rxFrameStats[opcode] = (this.stats.rxFrameStats[opcode] ?? 0) + 1;
      this.log(['RF', textLog(r.type === 'close' && r.err !== null ? Buffer.concat([Buffer.from([r.err >> 8, r.err & 0xff]), r.data]) : r.data), opcode, head.fin, rsv1 ? 4 : 0, head.masked, null]);
      if (this.isServer && !head.masked) {
        this.protocolViolation('unmasked client frame');
        continue;
      }
      if (!this.isServer && head.masked) {
        this.protocolViolation('masked server frame');
        continue;
      }
      if (rsv1 && (opcode >= 8 || opcode === 0)) {
        // RFC 7692 §6.1: RSV1 only on the first frame of a data message.
        this.protocolViolation(`RSV1 set on a ${opcode === 0 ? 'continuation' : 'control'} frame`);
        continue;
      }
      this.processFrame(opcode, head.fin, r.type === 'close' ? r.err : null, r.data, rsv1);
    }
  }

  private protocolViolation(_reason: string): void {
    this.failConnection(CLOSE.PROTOCOL_ERROR, 'protocol violation');
  }

  private processFrame(opcode: number, fin: boolean, closeCode: number | null, data: Buffer, rsv1 = false): void {
    switch (opcode) {
      case 0x8:
        this.onCloseFrame(closeCode, closeCode === null ? null : data);
        return;
      case 0x9:
        if (this.state === 'OPEN' || this.state === 'CLOSING') this.onPing(data);
        return;
      case 0xa:
        this.onPong(data);
        return;
      default:
        this.onDataFrame(opcode, fin, data, rsv1);
    }
  }

  private onDataFrame(opcode: number, fin: boolean, data: Buffer, rsv1: boolean): void {
    if (opcode === 0) {
      if (this.messageOpcode === null) return this.protocolViolation('continuation without a message');
    } else {
      if (this.messageOpcode !== null) return this.protocolViolation('data frame inside a fragmented message');
      this.messageOpcode = opcode;
      this.messageCompressed = rsv1;
      this.messageParts = [];
      this.utf8.reset();
    }
    // A compressed message's text is checked once inflated (below); a plain one frame by frame, fail-fast.
    if (this.messageOpcode === 1 && !this.messageCompressed && !this.utf8.push(data)) {
      this.messageOpcode = null;
      this.failConnection(CLOSE.INVALID_PAYLOAD, 'invalid UTF-8');
      return;
    }
    this.messageParts.push(data);
    if (!fin) return;
    const binary = this.messageOpcode === 2;
    this.messageOpcode = null;
    let payload = this.messageParts.length === 1 ? this.messageParts[0]! : Buffer.concat(this.messageParts);
    this.messageParts = [];
    if (this.messageCompressed) {
      try {
        payload = this.codec!.decompress(payload);
      } catch (e) {
        this.protocolViolation(`invalid compressed message: ${(e as Error).message}`);
        return;
      }
      if (!binary && !isValidUtf8(payload)) {
        this.failConnection(CLOSE.INVALID_PAYLOAD, 'invalid UTF-8');
        return;
      }
    } else if (!binary && !this.utf8.end()) {
      this.failConnection(CLOSE.INVALID_PAYLOAD, 'invalid UTF-8');
      return;
    }
    if (this.kase.onMessage) this.kase.onMessage(this.run, payload, binary);
    else {
      this.run.received.push(['message', payload, binary]);
      this.finishWhenDone();
    }
  }

  private onPing(data: Buffer): void {
    this.run.received.push(['ping', data]);
    this.finishWhenDone();
  }

  private onPong(data: Buffer): void {
    this.run.received.push(['pong', data]);
    this.finishWhenDone();
  }

  private onCloseFrame(code: number | null, reason: Buffer | null): void {
    this.outcome.remoteCloseCode = code;
    this.outcome.remoteCloseReason = reason === null ? null : reason.toString('utf8');
    if (code !== null && !allowedCloseCode(code)) {
      this.protocolViolation(`invalid close code ${code}`);
      return;
    }
    if (reason !== null && !isValidUtf8(reason)) {
      this.failConnection(CLOSE.INVALID_PAYLOAD, 'invalid close reason (non-UTF-8 payload)');
      return;
    }
    if (this.state === 'CLOSING') {
      if (this.closeHandshakeTimer) this.cancelVerdictTimer(this.closeHandshakeTimer);
      this.outcome.wasClean = true;
      if (this.isServer) this.dropConnection(true);
      else this.serverDropTimer = this.verdictTimer('serverDrop', SERVER_DROP_TIMEOUT, () => this.onServerDropTimeout());
    } else if (this.state === 'OPEN') {
      this.outcome.wasClean = true;
      this.sendCloseFrame(CLOSE.NORMAL, null, true);
      if (this.isServer) this.dropConnection(false);
      else this.serverDropTimer = this.verdictTimer('serverDrop', SERVER_DROP_TIMEOUT, () => this.onServerDropTimeout());
    }
  }

  private onServerDropTimeout(): void {
    this.outcome.wasClean = false;
    this.outcome.wasNotCleanReason = 'server did not drop TCP connection (in time)';
    this.dropConnection(true);
  }

  /** When what was received matches every expected outcome, start the closing handshake if we are to (case.py). */
  finishWhenDone(): void {
    const run = this.run;
    for (const exp of Object.values(run.expected)) if (!sameEvents(run.received, exp!)) return;
    if (run.expectedClose.closedByMe && !run.suppressClose) this.sendClose(run.expectedClose.closeCode[0]);
  }

  private connectionLost(): void {
    if (this.serverDropTimer) this.cancelVerdictTimer(this.serverDropTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.state !== 'CLOSED') this.state = 'CLOSED';
    if (!this.outcome.wasClean && !this.outcome.droppedByMe && this.outcome.wasNotCleanReason === null) {
      this.outcome.wasNotCleanReason = 'peer dropped the TCP connection without previous WebSocket closing handshake';
    }
    this.resolveClosed();
  }

  /** Ends the connection now (the per-case hard timeout). */
  abort(): void {
    if (this.state !== 'CLOSED') {
      this.outcome.wasNotCleanReason ??= 'case timed out';
      this.dropConnection(true);
    }
  }
}
