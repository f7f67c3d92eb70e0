// The lab's wire codec: WebSocket frames and HTTP upgrade heads as the lab's own peers write and
// read them, independently of impl/'s codec. Writing, it puts any defect on the wire a test asks for
// (any FIN/RSV bits, reserved opcodes, non-minimal or impossible lengths, masked or not); reading, it
// takes what a library sent apart without trusting the code under test, the random masking key
// normalised. The Sec-WebSocket-Accept value is impl's `acceptFor` (the one definition).

/** Byte 0 of a frame: FIN, RSV1..3 as a 3-bit number, and the opcode (0..15). */
export interface FrameBits {
  fin: boolean;
  rsv: number;
  opcode: number;
}

/** The length field's form: minimal, or forced 16-bit / 64-bit (non-minimal encodings). */
export type LengthForm = 'min' | '16' | '64';

export interface RawFrame extends FrameBits {
  /** A 4-byte masking key, or null for an unmasked frame. */
  maskKey: Buffer | null;
  /** A form too small for the payload is widened. */
  lenForm?: LengthForm;
  /** The payload before masking. */
  payload: Buffer;
}

/**
 * A frame's head up to its masking key: byte 0, the mask bit and `length` in the form asked for (a
 * form too small for it is widened). The length need not match what follows: a head alone can
 * declare 2^64-1 bytes.
 */
export function encodeFrameHead(bits: FrameBits, masked: boolean, length: number | bigint, lenForm: LengthForm = 'min'): Buffer {
  const b0 = (bits.fin ? 0x80 : 0) | ((bits.rsv & 7) << 4) | (bits.opcode & 0x0f);
  const maskBit = masked ? 0x80 : 0;
  const use64 = lenForm === '64' || length > 0xffff;
  if (use64) {
    const head = Buffer.alloc(10);
    head[0] = b0;
    head[1] = maskBit | 127;
    head.writeBigUInt64BE(BigInt(length), 2);
    return head;
  }
  if (lenForm === '16' || length > 125) return Buffer.from([b0, maskBit | 126, Number(length) >> 8, Number(length) & 0xff]);
  return Buffer.from([b0, maskBit | Number(length)]);
}

/** A whole frame: its head, the masking key if any, and the payload masked with it. */
export function encodeFrame(f: RawFrame): Buffer {
  const head = encodeFrameHead(f, f.maskKey !== null, f.payload.length, f.lenForm);
  if (f.maskKey === null) return Buffer.concat([head, f.payload]);
  const payload = Buffer.from(f.payload);
  for (let i = 0; i < payload.length; i++) payload[i] ^= f.maskKey[i & 3]!;
  return Buffer.concat([head, f.maskKey, payload]);
}

/** A frame as a library sent it: masking removed, the key reduced to whether there was one. */
export interface WireFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Length field form as sent ("min" when minimal). */
  lenForm: LengthForm;
  /** The unmasked payload (hex), or its length and a hash when long. */
  payload: string;
}

function payloadText(b: Buffer): string {
  if (b.length <= 64) return b.toString('hex');
  let h = 0x811c9dc5;
  for (const x of b) h = Math.imul(h ^ x, 0x01000193) >>> 0;
  return `<${b.length} bytes ${h.toString(16)}>`;
}

/** One frame as read off the wire: its bits, how its length was written, and its unmasked payload. */
export interface ReadFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  lenForm: LengthForm;
  payload: Buffer;
  /** Offset of the frame's first byte, and just past its last. */
  start: number;
  end: number;
}

/**
 * The whole frame at `at`, or 'partial' when `bytes` ends inside it, or 'huge' for a 64-bit length
 * with its top bit set (RFC 6455 §5.2 forbids it; no payload can follow).
 */
export function readFrameAt(bytes: Buffer, at: number): ReadFrame | 'partial' | 'huge' {
  if (bytes.length - at < 2) return 'partial';
  const b0 = bytes[at]!;
  const b1 = bytes[at + 1]!;
  let len = b1 & 0x7f;
  let p = at + 2;
  let lenForm: LengthForm = 'min';
  if (len === 126) {
    if (bytes.length - p < 2) return 'partial';
    len = bytes.readUInt16BE(p);
    p += 2;
    if (len <= 125) lenForm = '16';
  } else if (len === 127) {
    if (bytes.length - p < 8) return 'partial';
    const hi = bytes.readUInt32BE(p);
    if (hi & 0x80000000) return 'huge';
    len = hi * 2 ** 32 + bytes.readUInt32BE(p + 4);
    p += 8;
    if (len <= 0xffff) lenForm = '64';
  }
  const masked = (b1 & 0x80) !== 0;
  const key = masked ? bytes.subarray(p, p + 4) : null;
  if (masked) p += 4;
  if (bytes.length - p < len) return 'partial';
  const payload = Buffer.from(bytes.subarray(p, p + len));
  if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3]!;
  return { fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, lenForm, payload, start: at, end: p + len };
}

/** Decodes every whole frame in `bytes`; bytes left over (a frame cut short) are returned as hex. */
export function decodeFrames(bytes: Buffer): { frames: WireFrame[]; rest: string; stray?: string } {
  const frames: WireFrame[] = [];
  let at = 0;
  // A client's `headers = {}` bug (docs/behaviour.md §5 step 10) puts a CRLF after the request head: kept apart
  // so the frames behind it are still decoded (and their masking keys normalised).
  const stray = bytes[0] === 0x0d && bytes[1] === 0x0a ? '0d0a' : undefined;
  if (stray) at = 2;
  for (;;) {
    const f = readFrameAt(bytes, at);
    if (typeof f === 'string') break;
    frames.push({ fin: f.fin, rsv: f.rsv, opcode: f.opcode, masked: f.masked, lenForm: f.lenForm, payload: payloadText(f.payload) });
    at = f.end;
  }
  const rest = bytes.subarray(at);
  return { frames, rest: rest.length <= 64 ? rest.toString('hex') : payloadText(rest), ...(stray ? { stray } : {}) };
}

/** Offset just past a head's blank line (CRLFCRLF), or -1 while the head is incomplete. */
export function headEnd(buf: Buffer): number {
  const i = buf.indexOf('\r\n\r\n');
  return i < 0 ? -1 : i + 4;
}

/** An HTTP head: the start line, one "name: value" line a header, the blank line. */
export function encodeHead(startLine: string, headers: ReadonlyArray<readonly [string, string]>): string {
  return `${startLine}\r\n${headers.map(([n, v]) => `${n}: ${v}\r\n`).join('')}\r\n`;
}

/** The first value of a header in a head's text (name case-insensitive), spaces trimmed; null when absent. */
export function headValue(head: string, name: string): string | null {
  const escaped = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`\\r\\n${escaped}:[ \\t]*([^\\r\\n]*)`, 'i').exec(head)?.[1]?.trim() ?? null;
}
