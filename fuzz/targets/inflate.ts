// jsfuzz target: the strict server's receive path under a negotiated permessage-deflate (RFC 7692):
// WebSocketServer.recvFrame over an in-memory cosocket, so FrameParser with RSV1 allowed, the
// endpoint's RSV1 rules (first frame of a data message only), per-frame inflating of fragmented
// compressed messages, the inflated-size limit, context takeover or reset, and the strict message
// checks on the inflated data.
//
// Input layout: byte 0 picks the negotiated parameters (bits 0-1: client_max_window_bits 15, 12, 9
// or 8; bit 2: client_no_context_takeover; bits 3-4: maxMessageLen; bits 5-7: the largest chunk),
// byte 1 seeds the chunk sizes, the rest is what the client sends (masked frames).
//
// Oracle: every result is documented (a frame, or an error text the spec lists; a failure sends a
// close frame with 1002, 1007, 1009 or 1011); the results do not depend on the chunking; and each
// compressed frame's data is what zlib's one-shot inflate of the message so far gives (after the
// earlier compressed messages when the context is kept), with an inflate error exactly when that
// inflate fails and "inflated message too long" exactly when it passes the limit.
import { isUtf8 } from 'node:buffer';
import zlib from 'node:zlib';
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { READ_FAILURE_PREFIX, RECV_ERRORS } from '../../impl/protocol.js';
import { STRICT_ERRORS } from '../../impl/message-validator.js';
import { DEFLATE_ERRORS, type DeflateParams, zlibWindowBits } from '../../impl/permessage-deflate.js';
import { WebSocketServer } from '../../impl/server.js';
import { TestCosocket } from '../../impl/test-support/test-cosocket.js';
import type { RecvResult } from '../../impl/types.js';
import { readFrameAt } from '../../lab/wire.js';
import { farthestPastWindow } from './deflate-distances.js';
import { check, chunkSizes, copyChunks, FuzzCrash, splitBy } from './oracle.js';

export const WINDOW_BITS = [15, 12, 9, 8] as const;
export const MAX_MESSAGE_CHOICES = [65535, 4096, 100, 1] as const;
const CHUNK_CHOICES = [0, 1, 2, 3, 7, 16, 127, 1024] as const;
const MAX_PAYLOAD = 65535;
const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff]);
const TOO_FAR_BACK = DEFLATE_ERRORS.inflate + 'invalid distance too far back';

export interface InflateInput {
  clientMaxWindowBits: number;
  clientNoContextTakeover: boolean;
  maxMessageLen: number;
  chunks: Buffer[];
  stream: Buffer;
}

export function parseInflateInput(buf: Buffer): InflateInput | null {
  if (buf.length < 2) return null;
  const o = buf[0]!;
  const stream = buf.subarray(2);
  return {
    clientMaxWindowBits: WINDOW_BITS[o & 3]!,
    clientNoContextTakeover: (o & 4) !== 0,
    maxMessageLen: MAX_MESSAGE_CHOICES[(o >> 3) & 3]!,
    chunks: splitBy(stream, chunkSizes(stream.length, buf[1]! * 0x01000193 + 1, CHUNK_CHOICES[o >> 5]!)),
    stream,
  };
}

/** Options + stream back into a target input (seeds, tests). */
export function encodeInflateInput(o: { windowIndex: number; noContextTakeover: boolean; maxIndex: number; chunkIndex: number; seed: number }, stream: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(o.chunkIndex << 5) | (o.maxIndex << 3) | (o.noContextTakeover ? 4 : 0) | o.windowIndex, o.seed & 0xff]), stream]);
}

const FIXED_ERRORS = new Set<string>([
  ...Object.values(RECV_ERRORS), ...Object.values(READ_FAILURE_PREFIX).map((p) => p + 'closed'),
  DEFLATE_ERRORS.rsv1Control, DEFLATE_ERRORS.rsv1Continuation, DEFLATE_ERRORS.tooLong,
]);
/** Error texts that may carry a detail after them ("invalid close status code: 1005", zlib's message). */
const ERROR_PREFIXES: readonly string[] = [...Object.values(STRICT_ERRORS), DEFLATE_ERRORS.inflate];

/** The strict server's results for the stream delivered in `chunks`, and the close code it failed with (if any). */
async function receiveAll(input: InflateInput, chunks: Buffer[]): Promise<{ results: RecvResult[]; closeCode: number | null }> {
  const sock = new TestCosocket({ script: chunks, fastPath: true });
  const params: DeflateParams = {
    serverNoContextTakeover: false, clientNoContextTakeover: input.clientNoContextTakeover,
    serverMaxWindowBits: 15, clientMaxWindowBits: input.clientMaxWindowBits,
  };
  const server = new WebSocketServer(sock, { strict: true, max_payload_len: MAX_PAYLOAD, permessageDeflate: { maxMessageLen: input.maxMessageLen } }, null, params);
  check(server.permessageDeflate !== null, 'permessage-deflate not in use', params);
  const results: RecvResult[] = [];
  // Every result takes at least two bytes of the stream.
  const limit = (input.stream.length >> 1) + 2;
  try {
    for (;;) {
      const r = await server.recvFrame();
      results.push(r);
      if (r.data === null) break;
      check(results.length <= limit, 'no progress', `more than ${limit} results from ${input.stream.length} bytes`);
    }
  } finally {
    server.releaseDeflate();
  }
  const sent = Buffer.concat(sock.sent);
  // A failure's close frame: 88 02 code (the server does not mask).
  const closeCode = sent.length >= 4 && sent[0] === 0x88 && sent[1] === 0x02 ? sent.readUInt16BE(2) : null;
  return { results, closeCode };
}

interface WireFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  payload: Buffer;
}

/** The frames of the stream as far as they are whole and masked (the impl's results line up with them). */
function wireFrames(stream: Buffer): WireFrame[] {
  const out: WireFrame[] = [];
  for (let at = 0; ;) {
    const f = readFrameAt(stream, at);
    if (typeof f === 'string' || !f.masked || f.payload.length > MAX_PAYLOAD) return out;
    out.push({ fin: f.fin, rsv1: (f.rsv & 4) !== 0, opcode: f.opcode, payload: f.payload });
    at = f.end;
  }
}

type Reference = { out: Buffer } | { tooLong: true } | { zlibErr: string } | { streamEnded: true };

/** zlib's one-shot inflate of `data` (sync flush: a message cut short is not an error), at most `limit` bytes past `skip`. */
function inflateRef(data: Buffer, bits: number, skip: number, limit: number): Reference {
  try {
    // A window of 8 is inflated with 9, as zlib deflates it (RFC 7692 §7.1.2.2 leaves the sender that freedom).
    // One output buffer for all of it: zlib then accepts every match within the output so far, even
    // past the window (see deflate-distances.ts), so no endpoint inflates more than this reference.
    const most = skip + limit + 1;
    const { buffer: all, engine } = zlib.inflateRawSync(data, { windowBits: zlibWindowBits(bits), finishFlush: zlib.constants.Z_SYNC_FLUSH, maxOutputLength: most, chunkSize: Math.max(zlib.constants.Z_MIN_CHUNK, most), info: true }) as unknown as { buffer: Buffer; engine: zlib.InflateRaw };
    // A block with BFINAL set ended the DEFLATE stream before the input did (RFC 7692 §7.2.3.4 lets
    // a sender do that; what follows starts a new stream): this one-shot reference stops there.
    if (engine.bytesWritten < data.length) return { streamEnded: true };
    if (all.length - skip > limit) return { tooLong: true };
    return { out: all.subarray(skip) };
  } catch (e) {
    if (e instanceof RangeError) return { tooLong: true };
    return { zlibErr: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The inflate oracle over the results, frame by frame (results[i] is frames[i] until the first
 * failure). The endpoint inflates a data frame with RSV1 that starts a message, and the
 * continuation frames (without RSV1) of such a message; every other frame passes as it came.
 */
function checkInflation(input: InflateInput, results: RecvResult[], frames: WireFrame[]): void {
  // With context takeover, the compressed messages so far (each with its trailer) and what they inflated to.
  const history: Buffer[] = [];
  let historyOut = 0;
  let message: { opcode: number; compressed: boolean; bodies: Buffer[]; out: Buffer[] } | null = null;
  for (let i = 0; i < results.length; i++) {
    const r = results[i]!;
    const f = frames[i];
    if (f === undefined) return; // past the whole masked frames: the decoder's and the reads' failures
    let inflated = false;
    if ((f.opcode === 1 || f.opcode === 2) && message === null) {
      message = { opcode: f.opcode, compressed: f.rsv1, bodies: [], out: [] };
      inflated = f.rsv1;
    } else if (f.opcode === 0 && !f.rsv1 && message !== null) {
      inflated = message.compressed;
    }
    if (!inflated) {
      if (r.data === null) return;
      if (f.opcode <= 2 && f.fin) message = null;
      continue;
    }
    const m = message!;
    m.bodies.push(f.payload);
    const prefix = input.clientNoContextTakeover ? [] : history;
    const stream = Buffer.concat([...prefix, ...m.bodies, f.fin ? TRAILER : Buffer.alloc(0)]);
    const ref = inflateRef(stream, input.clientMaxWindowBits, input.clientNoContextTakeover ? 0 : historyOut, input.maxMessageLen);
    // Past a BFINAL block the one-shot reference has no answer: the endpoint starts a new context there.
    if ('streamEnded' in ref) return;
    if (r.data === null) {
      // Which of a data error and the size limit comes first inside one frame depends on how the
      // output is chunked: either failure is right unless zlib inflates the frame cleanly within the limit.
      // A match that reaches past the window is refused or not depending on where zlib's output
      // buffers end (see deflate-distances.ts); the one-shot reference accepts it, so the
      // endpoint's refusal needs the stream to hold such a match.
      const reachesPastWindow = r.err === TOO_FAR_BACK && farthestPastWindow(stream, zlibWindowBits(input.clientMaxWindowBits)) > 0;
      if (r.err.startsWith(DEFLATE_ERRORS.inflate) || r.err === DEFLATE_ERRORS.tooLong) check(!('out' in ref) || reachesPastWindow, 'inflate failed where zlib inflates within the limit', { err: r.err, frame: i, limit: input.maxMessageLen });
      return;
    }
    check(!('zlibErr' in ref), 'inflated what zlib refuses', { frame: i, zlib: 'zlibErr' in ref ? ref.zlibErr : '' });
    check(!('tooLong' in ref), 'passed the inflated-size limit', { frame: i, limit: input.maxMessageLen });
    const want = (ref as { out: Buffer }).out;
    m.out.push(r.data);
    const got = Buffer.concat(m.out);
    check(got.equals(want), 'inflated data differs from zlib', { frame: i, got: got.length, want: want.length });
    if (f.fin) {
      if (m.opcode === 1) check(isUtf8(got), 'compressed text message that is not UTF-8 accepted', got.toString('hex'));
      if (!input.clientNoContextTakeover) {
        history.push(...m.bodies, TRAILER);
        historyOut += want.length;
      }
      message = null;
    }
  }
}

async function runOnce(input: InflateInput): Promise<{ results: RecvResult[]; closeCode: number | null }> {
  try {
    return await receiveAll(input, copyChunks(input.chunks));
  } catch (e) {
    if (e instanceof FuzzCrash) throw e;
    throw new FuzzCrash('endpoint threw', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
}

export async function fuzz(buf: Buffer): Promise<void> {
  const input = parseInflateInput(buf);
  if (input === null) return;
  const chunked = await runOnce(input);
  const whole = await runOnce({ ...input, chunks: [Buffer.from(input.stream)] });
  const { results, closeCode } = chunked;
  check(results.length > 0, 'no result at all', '');
  for (const r of results.slice(0, -1)) check(r.data !== null, 'a result after a failure', r);
  const last = results[results.length - 1]!;
  check(last.data === null, 'the stream ended without a failure', last);
  const err = last.err!;
  check(FIXED_ERRORS.has(err) || ERROR_PREFIXES.some((p) => err.startsWith(p)), 'unknown error', err);
  if (closeCode !== null) check([1002, 1007, 1009, 1011].includes(closeCode), 'failure with an unexpected close code', closeCode);
  else check(err.endsWith('closed'), 'a failure without a close frame', err);
  check(whole.results.length === results.length && whole.results.every((r, i) => r.err === results[i]!.err && r.type === results[i]!.type && (r.data === null ? results[i]!.data === null : results[i]!.data !== null && r.data.equals(results[i]!.data!))),
    'results depend on the chunking', { chunked: results.length, whole: whole.results.length });
  checkInflation(input, results, wireFrames(input.stream));
}
