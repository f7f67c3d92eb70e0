// Child process of the codec benchmark: our FrameDecoder/buildFrame against ws's Receiver/Sender
// in the same process, on the same input, interleaved round by round. The parent starts one child
// with bufferutil and one without (ws reads WS_NO_BUFFER_UTIL when it is first required, our
// mask.ts reads WSLAB_NO_BUFFER_UTIL when it is loaded), so both sides always use the same masking.
import type { Writable } from 'node:stream';
import * as wsModule from 'ws';
// impl by path, not by package name: a child runs from the bench build, beside the impl/*.js built with it (bench/build.ts).
import { buildFrame, FrameDecoder } from '../impl/protocol.js';
import { maskInPlace, maskInPlaceJs, usingNativeMask } from '../impl/mask.js';
import { isMain, median, MiB, timeLoop } from './common.js';

export interface CodecChildParams {
  sizes: number[];
  rounds: number;
  /** Time per side per round. */
  roundMs: number;
  /** Bytes of frames per decode/encode pass. */
  passBytes: number;
  /** Socket-sized chunks the decoders are fed. */
  chunkBytes: number;
}

export interface CodecCell {
  op: 'decode' | 'encode';
  size: number;
  masked: boolean;
  framesPerPass: number;
  ours: { framesPerSec: number; mibPerSec: number };
  ws: { framesPerSec: number; mibPerSec: number };
  /** Median over rounds of ours/ws (frames per second). */
  ratio: number;
  ratios: number[];
}

export interface UnmaskCell {
  size: number;
  maskInPlace: number; // MiB/s
  maskInPlaceJs: number;
  bufferCopy: number;
  ratioMask: number; // maskInPlace / Buffer.copy
  ratioMaskJs: number;
}

export interface CodecChildResult {
  variant: 'bufferutil' | 'js';
  nativeMask: boolean;
  cells: CodecCell[];
  unmask: UnmaskCell[];
}

// ws exports Receiver and Sender (its wrapper.mjs) but @types/ws does not declare them.
type WsReceiver = Writable;
interface WsInternals {
  Receiver: new (opts: { isServer: boolean; maxPayload: number; skipUTF8Validation: boolean; allowSynchronousEvents: boolean }) => WsReceiver;
  Sender: { frame(data: Buffer, opts: { fin: boolean; opcode: number; mask: boolean; readOnly: boolean; rsv1: boolean }): Buffer[] };
}
const { Receiver, Sender } = wsModule as unknown as WsInternals;

const BINARY = 0x2;
const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

function framesFor(size: number, passBytes: number): number {
  return Math.max(2, Math.min(8192, Math.ceil(passBytes / (size + 14))));
}

/** `count` binary frames of `size` bytes in one stream, cut into `chunkBytes` pieces. */
function frameStream(size: number, count: number, masked: boolean, chunkBytes: number): Buffer[] {
  const payload = Buffer.alloc(size, 0x61);
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const r = buildFrame(true, BINARY, size, payload, masked, KEY);
    frames.push(r.frame!);
  }
  const all = Buffer.concat(frames);
  const chunks: Buffer[] = [];
  for (let off = 0; off < all.length; off += chunkBytes) chunks.push(all.subarray(off, Math.min(all.length, off + chunkBytes)));
  return chunks;
}

type Pass = () => number; // returns frames produced (checked)

// Our decoder: push each chunk, drain every frame; the payload is `data` (unmasked in place).
function ourDecodePass(chunks: Buffer[], expect: number): Pass {
  const dec = new FrameDecoder({ maxPayloadLen: 0x7fffffff, forceMasking: false });
  return () => {
    let n = 0;
    let bytes = 0;
    for (const c of chunks) {
      dec.push(c);
      for (let r = dec.next(); r !== null; r = dec.next()) {
        if (r.data === null) throw new Error(`our decoder failed: ${r.err}`);
        n++;
        bytes += r.data.length;
      }
    }
    if (n !== expect || bytes < 0) throw new Error(`our decoder produced ${n} frames, expected ${expect}`);
    return n;
  };
}

// ws: a Receiver (a Writable) fed the same chunks; 'message' fires synchronously with the payload.
// It also tracks fragments/message length and validates UTF-8 for text (we send binary).
function wsDecodePass(chunks: Buffer[], expect: number, masked: boolean): Pass {
  const rx = new Receiver({ isServer: masked, maxPayload: 0, skipUTF8Validation: false, allowSynchronousEvents: true });
  let n = 0;
  let bytes = 0;
  rx.on('message', (data: Buffer) => {
    n++;
    bytes += data.length;
  });
  rx.on('error', (e: Error) => {
    throw e;
  });
  return () => {
    n = 0;
    for (const c of chunks) rx.write(c);
    if (n !== expect || bytes < 0) throw new Error(`ws Receiver produced ${n} frames, expected ${expect}`);
    return n;
  };
}

// Ours: buildFrame allocates header+payload and copies the payload (masking XORs the copy).
function ourEncodePass(size: number, count: number, masked: boolean): Pass {
  const payload = Buffer.alloc(size, 0x62);
  return () => {
    let bytes = 0;
    for (let i = 0; i < count; i++) bytes += buildFrame(true, BINARY, size, payload, masked).frame!.length;
    if (bytes <= 0) throw new Error('no output');
    return count;
  };
}

// ws: Sender.frame. Masked with readOnly=true merges header+masked copy into one buffer, like ours;
// unmasked it returns [header, payload] without copying the payload (ws then writes both, corked).
function wsEncodePass(size: number, count: number, masked: boolean): Pass {
  const payload = Buffer.alloc(size, 0x62);
  const opts = { fin: true, opcode: BINARY, mask: masked, readOnly: true, rsv1: false };
  return () => {
    let bytes = 0;
    for (let i = 0; i < count; i++) {
      const parts = Sender.frame(payload, opts);
      for (const p of parts) bytes += p.length;
    }
    if (bytes <= 0) throw new Error('no output');
    return count;
  };
}

function rate(pass: Pass, roundMs: number): number {
  let frames = 0;
  const t = timeLoop(() => {
    frames += pass();
  }, roundMs, 1e6);
  return frames / t.seconds;
}

function compare(ours: Pass, ws: Pass, rounds: number, roundMs: number): { ours: number; ws: number; ratios: number[] } {
  // warm-up: let both sides reach optimised code before anything is measured
  rate(ours, Math.max(5, roundMs / 2));
  rate(ws, Math.max(5, roundMs / 2));
  const o: number[] = [];
  const w: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    // alternate who goes first so drift (thermal, other load) does not favour one side
    const first = r % 2 === 0;
    const a = first ? rate(ours, roundMs) : 0;
    const b = rate(ws, roundMs);
    const c = first ? a : rate(ours, roundMs);
    o.push(c);
    w.push(b);
    ratios.push(c / b);
  }
  return { ours: median(o), ws: median(w), ratios };
}

function measureUnmask(size: number, rounds: number, roundMs: number): UnmaskCell {
  const buf = Buffer.alloc(size, 0x5a);
  const dst = Buffer.alloc(size);
  const mib = (fn: () => void): number => {
    const t = timeLoop(fn, roundMs, 1e7);
    return (t.iters * size) / MiB / t.seconds;
  };
  const m: number[] = [];
  const j: number[] = [];
  const c: number[] = [];
  mib(() => maskInPlace(buf, KEY));
  mib(() => maskInPlaceJs(buf, KEY));
  mib(() => buf.copy(dst));
  for (let r = 0; r < rounds; r++) {
    m.push(mib(() => maskInPlace(buf, KEY)));
    j.push(mib(() => maskInPlaceJs(buf, KEY)));
    c.push(mib(() => buf.copy(dst)));
  }
  const cell = { size, maskInPlace: median(m), maskInPlaceJs: median(j), bufferCopy: median(c), ratioMask: 0, ratioMaskJs: 0 };
  cell.ratioMask = cell.maskInPlace / cell.bufferCopy;
  cell.ratioMaskJs = cell.maskInPlaceJs / cell.bufferCopy;
  return cell;
}

export async function runCodecChild(p: CodecChildParams): Promise<CodecChildResult> {
  // mask.ts loads bufferutil with a dynamic import: give it a moment to land
  for (let i = 0; i < 50 && !process.env.WSLAB_NO_BUFFER_UTIL && !usingNativeMask(); i++) await new Promise((r) => setTimeout(r, 10));
  const cells: CodecCell[] = [];
  for (const op of ['decode', 'encode'] as const) {
    for (const size of p.sizes) {
      for (const masked of [false, true]) {
        const count = framesFor(size, p.passBytes);
        let ours: Pass;
        let ws: Pass;
        if (op === 'decode') {
          // the same chunks go to both decoders; both unmask them in place (XOR twice = same bytes)
          const chunks = frameStream(size, count, masked, p.chunkBytes);
          ours = ourDecodePass(chunks, count);
          ws = wsDecodePass(chunks, count, masked);
        } else {
          ours = ourEncodePass(size, count, masked);
          ws = wsEncodePass(size, count, masked);
        }
        const r = compare(ours, ws, p.rounds, p.roundMs);
        cells.push({
          op,
          size,
          masked,
          framesPerPass: count,
          ours: { framesPerSec: r.ours, mibPerSec: (r.ours * size) / MiB },
          ws: { framesPerSec: r.ws, mibPerSec: (r.ws * size) / MiB },
          ratio: median(r.ratios),
          ratios: r.ratios,
        });
      }
    }
  }
  const unmask = p.sizes.filter((s) => s >= 125).map((s) => measureUnmask(s, p.rounds, p.roundMs));
  return { variant: process.env.WSLAB_NO_BUFFER_UTIL ? 'js' : 'bufferutil', nativeMask: usingNativeMask(), cells, unmask };
}

if (isMain(import.meta.url)) {
  const params = JSON.parse(process.argv[2]!) as CodecChildParams;
  const res = await runCodecChild(params);
  process.stdout.write(JSON.stringify(res) + '\n');
}
