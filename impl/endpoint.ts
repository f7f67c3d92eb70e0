// What the server and the client objects share: the state rules around recv_frame and send_frame
// (fatal, strict failures with a close code), send_close's code arithmetic, and the four senders
// that are send_frame with a fixed opcode.
import { luaTruthy } from './handshake-client.js';
import { isValidCloseCode } from './message-validator.js';
import { luaToString, READ_FAILURE_PREFIX, RECV_ERRORS, sendFrame } from './protocol.js';
import type { Cosocket, RecvResult, SendResult } from './types.js';

export const BAD_STATUS_CODE = 'bad status code';

export function recvFail(err: string): RecvResult {
  return { data: null, type: null, err };
}

/** Lua's `a or b`. */
export function luaOr<T>(v: T | null | undefined | false, fallback: T): T {
  return v === null || v === undefined || v === false ? fallback : v;
}

const tobitView = new Float64Array(1);
const tobitInt = new Int32Array(tobitView.buffer);
/** LuaJIT's bit.tobit: round to nearest (ties to even) and wrap to 32 bits. */
export function luaTobit(x: number): number {
  tobitView[0] = x + 6755399441055744.0; // 2^52 + 2^51
  return tobitInt[0]!;
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

/** The close code a strict endpoint fails the connection with for a recv_frame error; null when the socket itself failed. */
export function closeCodeFor(err: string): 1002 | 1009 | null {
  if (err === RECV_ERRORS.exceeding || err === RECV_ERRORS.lenTooLarge) return 1009;
  if (Object.values(READ_FAILURE_PREFIX).some((p) => err.startsWith(p))) return null;
  return 1002;
}

/** strict validateSendOpcode: the six opcodes RFC 6455 defines. */
export function isSendableOpcode(opcode: number): boolean {
  return opcode === 0x0 || opcode === 0x1 || opcode === 0x2 || opcode === 0x8 || opcode === 0x9 || opcode === 0xa;
}

/** strict validateCloseCodes on send (RFC 6455 §7.4): the codes an endpoint may put on the wire. */
export function isSendableCloseCode(code: unknown): boolean {
  return typeof code === 'number' && Number.isInteger(code) && isValidCloseCode(code);
}

/** strict failWithCloseCode (RFC 6455 §7.1.7): a close frame with `code` unless one was sent, then the socket closes. */
export async function failWithClose(sock: Cosocket, code: 1002 | 1007 | 1009, alreadyClosed: boolean, masked: boolean): Promise<void> {
  if (!alreadyClosed) await sendFrame(sock, true, 0x8, Buffer.from([code >> 8, code & 0xff]), 125, masked);
  await sock.close();
}

/** send_text, send_binary, send_ping and send_pong: one FIN=1 frame of their opcode through send_frame. */
export abstract class FrameSenders {
  abstract sendFrame(fin: boolean, opcode: number, payload?: unknown): Promise<SendResult>;

  sendText(data?: unknown): Promise<SendResult> {
    return this.sendFrame(true, 0x1, data);
  }

  sendBinary(data?: unknown): Promise<SendResult> {
    return this.sendFrame(true, 0x2, data);
  }

  sendPing(data?: unknown): Promise<SendResult> {
    return this.sendFrame(true, 0x9, data);
  }

  sendPong(data?: unknown): Promise<SendResult> {
    return this.sendFrame(true, 0xa, data);
  }
}
