// recvMessage(): whole messages on top of recv_frame, the piece the original leaves to every
// application (upstream #58, "frames look cut at 32 KiB"). It reassembles a fragmented text or
// binary message, answers pings that arrive in between (pongs are dropped), and returns
// `{ data, type, err }` like recv_frame: the original's errors verbatim, plus its own for the
// sequencing it needs and for the caps. Built only on an endpoint's public methods (recvFrame,
// sendPong, sendClose, checks), so it works for the server and the client alike; recv_frame
// itself stays exactly the original's.
//
// Caps (ws's maxPayload and maxFragments; 8.21.0 added the latter after a tiny-fragment memory
// DoS): the strict switches capMessageSize and capFragments turn them on with ws's server defaults,
// the options set them explicitly (0 = no cap). Each frame is still bounded by max_recv_len.
import type { StrictChecks } from './profile.js';
import type { RecvResult, SendResult } from './types.js';

export const MESSAGE_ERRORS = {
  tooLong: 'message too long',
  tooManyFragments: 'too many fragments',
  strayContinuation: 'continuation frame without a message to continue',
  interleaved: 'data frame inside a fragmented message',
  pongPrefix: 'failed to send pong: ',
} as const;

/** ws's WebSocketServer defaults. */
export const DEFAULT_MAX_MESSAGE_LEN = 100 * 1024 * 1024;
export const DEFAULT_MAX_FRAGMENTS = 16 * 1024;

export interface MessageEndpoint {
  recvFrame(): Promise<RecvResult>;
  sendPong(data?: unknown): Promise<SendResult>;
  sendClose(code?: unknown, msg?: unknown): Promise<SendResult>;
  readonly checks: StrictChecks;
}

export interface RecvMessageOptions {
  /** Largest reassembled message in bytes; 0 = no cap. Default: 100 MiB with strict capMessageSize, else no cap. */
  max_message_len?: number;
  /** Most frames in one message; 0 = no cap. Default: 16384 with strict capFragments, else no cap. */
  max_fragments?: number;
}

export type MessageResult =
  | { data: Buffer; type: 'text' | 'binary'; err: null }
  | { data: Buffer; type: 'close'; err: number | null }
  | { data: null; type: null; err: string };

interface Assembly {
  type: 'text' | 'binary' | null;
  parts: Buffer[];
  length: number;
  frames: number;
  /** Set once a cap failed the message stream: every later call returns it. */
  failed: string | null;
}

// Per endpoint, so a timeout in the middle of a message loses nothing: the next call goes on.
const assemblies = new WeakMap<MessageEndpoint, Assembly>();

function fail(err: string): MessageResult {
  return { data: null, type: null, err };
}

/** Receives one whole message (or a close frame, or an error) from a server or client endpoint. */
export async function recvMessage(ws: MessageEndpoint, opts: RecvMessageOptions = {}): Promise<MessageResult> {
  let a = assemblies.get(ws);
  if (!a) {
    a = { type: null, parts: [], length: 0, frames: 0, failed: null };
    assemblies.set(ws, a);
  }
  if (a.failed !== null) return fail(a.failed);
  const maxLen = opts.max_message_len ?? (ws.checks.capMessageSize ? DEFAULT_MAX_MESSAGE_LEN : 0);
  const maxFrames = opts.max_fragments ?? (ws.checks.capFragments ? DEFAULT_MAX_FRAGMENTS : 0);
  const failStream = async (err: string, code: 1002 | 1008 | 1009): Promise<MessageResult> => {
    a.failed = err;
    a.parts = [];
    if (ws.checks.failWithCloseCode) await ws.sendClose(code);
    return fail(err);
  };
  for (;;) {
    const r = await ws.recvFrame();
    if (r.data === null) return r;
    switch (r.type) {
      case 'ping': {
        const sent = await ws.sendPong(r.data);
        if (sent.err !== null) return fail(MESSAGE_ERRORS.pongPrefix + sent.err);
        continue;
      }
      case 'pong':
        continue;
      case 'close':
        a.type = null;
        a.parts = [];
        a.length = a.frames = 0;
        return r;
      case 'continuation':
        if (a.type === null) return failStream(MESSAGE_ERRORS.strayContinuation, 1002);
        break;
      case 'text':
      case 'binary':
        if (a.type !== null) return failStream(MESSAGE_ERRORS.interleaved, 1002);
        a.type = r.type;
        break;
    }
    a.frames++;
    if (maxFrames > 0 && a.frames > maxFrames) return failStream(MESSAGE_ERRORS.tooManyFragments, 1008);
    if (maxLen > 0 && a.length + r.data.length > maxLen) return failStream(MESSAGE_ERRORS.tooLong, 1009);
    a.length += r.data.length;
    if (r.data.length > 0) a.parts.push(r.data);
    if (r.err === 'again') continue;
    const data = a.parts.length === 1 ? a.parts[0]! : Buffer.concat(a.parts, a.length);
    const type = a.type!;
    a.type = null;
    a.parts = [];
    a.length = a.frames = 0;
    return { data, type, err: null };
  }
}
