// Shared types of the reference implementation. Values mirror the Lua library's multiple
// return values: `data, typ, err` becomes `{ data, type, err }`, and errors are values, never throws.

/** A 4-bit WebSocket opcode (RFC 6455 §5.2). build/send accept any number, like the original. */
export type Opcode = number;

export const OPCODE = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

/** The type names recv_frame returns (docs/behaviour.md §2 step 10). */
export type FrameType = 'continuation' | 'text' | 'binary' | 'close' | 'ping' | 'pong';

export const TYPE_BY_OPCODE: Readonly<Record<number, FrameType>> = {
  0x0: 'continuation',
  0x1: 'text',
  0x2: 'binary',
  0x8: 'close',
  0x9: 'ping',
  0xa: 'pong',
};

/**
 * What recv_frame returns.
 * - data frames / ping / pong: `err` is null (FIN=1) or "again" (FIN=0);
 * - close: `data` is the reason (possibly empty) and `err` is the status code, or null for an empty close;
 * - failure: `data` and `type` are null and `err` is the original's error string.
 */
export type RecvResult =
  | { data: Buffer; type: Exclude<FrameType, 'close'>; err: null | 'again' }
  | { data: Buffer; type: 'close'; err: number | null }
  | { data: null; type: null; err: string };

/** What send_frame and the send_* methods return: the byte count of the whole frame, or an error. */
export type SendResult = { bytes: number; err: null } | { bytes: null; err: string };

/** The result of a cosocket read: ngx_lua's `data, err, partial`. */
export type SockRecv = { data: Buffer; err: null } | { data: null; err: string; partial: Buffer };

/** ngx_lua's `ok, err` pairs (close, setkeepalive, ...). */
export type OkResult = { ok: 1; err: null } | { ok: null; err: string };

/**
 * The slice of ngx_lua's cosocket API the protocol needs. Error texts are ngx_lua's:
 * "closed", "timeout", "connection reset by peer", "broken pipe".
 */
/** What Cosocket.receiveLater hands a read's outcome to. */
export interface ReceiveCallback {
  received(r: SockRecv): void;
}

export interface Cosocket {
  /** Reads exactly `n` bytes (n = 0 yields an empty buffer at once). */
  receive(n: number): Promise<SockRecv>;
  /**
   * Optional fast path: exactly `n` bytes when they are already buffered, else null (and nothing
   * consumed). Must be equivalent to a receive(n) that resolves at once.
   */
  tryReceive?(n: number): Buffer | null;
  /**
   * Optional: receive(n) with its outcome handed to `to.received` instead of a promise, for a
   * reader that waits anyway (recvFrame: one promise per wait instead of one per layer, and no
   * closure). The same outcomes as receive(n); `to.received` is never called before this returns.
   */
  receiveLater?(n: number, to: ReceiveCallback): void;
  /** Reads up to and excluding `pattern` (ngx_lua's receiveuntil + a reader call with no size). */
  receiveUntil(pattern: Buffer | string): Promise<SockRecv>;
  /** Sends all bytes; returns the number of bytes sent. */
  send(data: Buffer | string | readonly Buffer[]): Promise<SendResult>;
  /**
   * Optional fast path: send(), but the result itself when it is known at once (the bytes were
   * taken without waiting), else the promise send() would return.
   */
  sendNow?(data: Buffer | string | readonly Buffer[]): SendResult | Promise<SendResult>;
  /** Sets the connect/send/read timeout in milliseconds (ngx_lua's settimeout). */
  setTimeout(ms: number): void;
  close(): Promise<OkResult>;
}
