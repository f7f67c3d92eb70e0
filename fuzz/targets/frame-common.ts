// The frame-decoder oracle shared by the compat, strict and planted targets.
//
// Input layout: byte 0 picks the options (bits 0-2: max payload length, bit 3: force masking,
// bits 4-7: the largest chunk), byte 1 seeds the chunk sizes, the rest is the byte stream.
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { READ_FAILURE_PREFIX, RECV_ERRORS } from '../../impl/protocol.js';
import type { RecvResult } from '../../impl/types.js';
import { check, chunkSizes, copyChunks, FuzzCrash, isInteger, MemoryGuard, splitBy } from './oracle.js';

/** What the targets need from a decoder: FrameDecoder's surface. */
export interface DecoderLike {
  push(chunk: Buffer): void;
  next(): RecvResult | null;
  end(sockErr?: string): RecvResult | null;
}

export type DecoderFactory = (opts: { maxPayloadLen: number; forceMasking: boolean }) => DecoderLike;

export const MAX_PAYLOAD_CHOICES = [0, 1, 125, 126, 127, 65535, 65536, 1 << 20] as const;
export const MAX_CHUNK_CHOICES = [0, 1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 31, 64, 127, 256, 1024] as const;

export interface FrameInput {
  maxPayloadLen: number;
  forceMasking: boolean;
  chunks: Buffer[];
  stream: Buffer;
}

export function parseFrameInput(buf: Buffer): FrameInput | null {
  if (buf.length < 2) return null;
  const opts = buf[0]!;
  const stream = buf.subarray(2);
  const sizes = chunkSizes(stream.length, buf[1]! * 0x01000193 + 1, MAX_CHUNK_CHOICES[opts >> 4]!);
  return {
    maxPayloadLen: MAX_PAYLOAD_CHOICES[opts & 7]!,
    forceMasking: (opts & 8) !== 0,
    chunks: splitBy(stream, sizes),
    stream,
  };
}

/** Encodes options + stream back into a target input (seeds, tests, the diff corpus). */
export function encodeFrameInput(maxIndex: number, forceMasking: boolean, chunkIndex: number, seed: number, stream: Buffer): Buffer {
  return Buffer.concat([Buffer.from([(chunkIndex << 4) | (forceMasking ? 8 : 0) | maxIndex, seed & 0xff]), stream]);
}

const DECODE_ERRORS = new Set<string>(Object.values(RECV_ERRORS));
const READ_ERRORS = new Set<string>(Object.values(READ_FAILURE_PREFIX).map((p) => p + 'closed'));
const DATA_TYPES = new Set(['continuation', 'text', 'binary', 'ping', 'pong']);

/**
 * Runs the decoder over `chunks`, draining after every push, then ends the stream. Each push and
 * drain is bounded: every result consumes at least two bytes, so more results than that is a hang.
 */
export function decodeAll(make: DecoderFactory, input: FrameInput, chunks: readonly Buffer[]): RecvResult[] {
  const dec = make({ maxPayloadLen: input.maxPayloadLen, forceMasking: input.forceMasking });
  const results: RecvResult[] = [];
  const limit = (input.stream.length >> 1) + 2;
  for (const chunk of chunks) {
    dec.push(chunk);
    for (let r = dec.next(); r !== null; r = dec.next()) {
      results.push(r);
      check(results.length <= limit, 'no progress', `more than ${limit} results from ${input.stream.length} bytes`);
    }
  }
  const last = dec.end('closed');
  if (last !== null) results.push(last);
  return results;
}

/** One result against docs/behaviour.md §2: a frame that respects the limits, or a documented error. */
export function checkResult(r: RecvResult, input: FrameInput, isLast: boolean): void {
  check(r !== null && typeof r === 'object', 'result shape', r);
  if (r.data === null) {
    check(r.type === null, 'error result has a type', r);
    check(typeof r.err === 'string', 'error is not a string', r);
    if (isLast) check(READ_ERRORS.has(r.err), 'unknown end-of-stream error', r.err);
    else check(DECODE_ERRORS.has(r.err), 'unknown error', r.err);
    if (r.err === RECV_ERRORS.unmasked) check(input.forceMasking, 'frame unmasked without force_masking', r);
    return;
  }
  check(!isLast, 'a frame after the stream ended', r);
  check(Buffer.isBuffer(r.data), 'data is not a Buffer', r);
  check(r.data.length <= input.maxPayloadLen, 'payload above max_payload_len', { len: r.data.length, max: input.maxPayloadLen });
  if (r.type === 'close') {
    check(r.data.length <= 123, 'close reason longer than 123 bytes', r.data.length);
    if (r.err === null) check(r.data.length === 0, 'close without code but with a reason', r);
    else check(isInteger(r.err, 0, 0xffff), 'close code out of range', r.err);
    return;
  }
  check(DATA_TYPES.has(r.type), 'unknown frame type', r.type);
  check(r.err === null || r.err === 'again', 'frame err neither nil nor "again"', r.err);
  if (r.type === 'ping' || r.type === 'pong') {
    check(r.data.length <= 125, 'control payload above 125', r.data.length);
    check(r.err === null, 'fragmented control frame accepted', r);
  }
}

export function sameResults(a: readonly RecvResult[], b: readonly RecvResult[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.type !== y.type || x.err !== y.err) return false;
    if ((x.data === null) !== (y.data === null)) return false;
    if (x.data !== null && !x.data.equals(y.data!)) return false;
  }
  return true;
}

/**
 * The compat oracle: every result is documented, and the results do not depend on the chunking
 * (the same stream in one chunk must decode the same). Returns the results for strict checks.
 */
export function fuzzFrames(buf: Buffer, make: DecoderFactory): { input: FrameInput; results: RecvResult[] } | null {
  const input = parseFrameInput(buf);
  if (input === null) return null;
  // The decoder holds at most what it was given; two decodes plus copies stay within a few times the input.
  const guard = new MemoryGuard(4 * input.stream.length + 4096);
  let results: RecvResult[];
  let whole: RecvResult[];
  try {
    results = decodeAll(make, input, copyChunks(input.chunks));
    whole = decodeAll(make, input, [Buffer.from(input.stream)]);
  } catch (e) {
    if (e instanceof FuzzCrash) throw e;
    throw new FuzzCrash('decoder threw', e instanceof Error ? `${e.name}: ${e.message}` : String(e));
  }
  guard.check('after decoding');
  results.forEach((r, i) => checkResult(r, input, i === results.length - 1));
  check(results.length > 0, 'no result at all', '');
  check(sameResults(results, whole), 'results depend on the chunking', { chunked: results.length, whole: whole.length });
  return { input, results };
}
