// Frames on the wire, written and read independently of impl/: the raw peers of the session diff
// build exactly the bytes a model asks for (any RSV bits, reserved opcodes, non-minimal lengths,
// masked or not) and read back what a library sent, with the random masking key normalised.

export interface RawFrame {
  fin: boolean;
  /** RSV1..3 as a 3-bit number. */
  rsv: number;
  /** 0..15 */
  opcode: number;
  /** A 4-byte masking key, or null for an unmasked frame. */
  maskKey: Buffer | null;
  /** The length field's form: minimal, or forced 16-bit / 64-bit (non-minimal encodings). */
  lenForm?: 'min' | '16' | '64';
  /** The payload before masking. */
  payload: Buffer;
}

export function encodeFrame(f: RawFrame): Buffer {
  const len = f.payload.length;
  const form = f.lenForm ?? 'min';
  const use64 = form === '64' || (form === 'min' && len > 0xffff) || (form === '16' && len > 0xffff);
  const use16 = !use64 && (form === '16' || len > 125);
  const head: number[] = [(f.fin ? 0x80 : 0) | ((f.rsv & 7) << 4) | (f.opcode & 0x0f)];
  const maskBit = f.maskKey ? 0x80 : 0;
  if (use64) {
    head.push(maskBit | 127, 0, 0, 0, 0, (len >>> 24) & 0xff, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff);
  } else if (use16) {
    head.push(maskBit | 126, (len >>> 8) & 0xff, len & 0xff);
  } else head.push(maskBit | len);
  const payload = Buffer.from(f.payload);
  if (f.maskKey) {
    head.push(...f.maskKey);
    for (let i = 0; i < payload.length; i++) payload[i] ^= f.maskKey[i & 3]!;
  }
  return Buffer.concat([Buffer.from(head), payload]);
}

/** A frame as a library sent it: masking removed, the key reduced to whether there was one. */
export interface WireFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Length field form as sent ("min" when minimal). */
  lenForm: 'min' | '16' | '64';
  /** The unmasked payload (hex), or its length and a hash when long. */
  payload: string;
}

function payloadText(b: Buffer): string {
  if (b.length <= 64) return b.toString('hex');
  let h = 0x811c9dc5;
  for (const x of b) h = Math.imul(h ^ x, 0x01000193) >>> 0;
  return `<${b.length} bytes ${h.toString(16)}>`;
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
    if (bytes.length - at < 2) break;
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    let len = b1 & 0x7f;
    let p = at + 2;
    let lenForm: WireFrame['lenForm'] = 'min';
    if (len === 126) {
      if (bytes.length - p < 2) break;
      len = bytes.readUInt16BE(p);
      p += 2;
      if (len <= 125) lenForm = '16';
    } else if (len === 127) {
      if (bytes.length - p < 8) break;
      const hi = bytes.readUInt32BE(p);
      len = hi * 2 ** 32 + bytes.readUInt32BE(p + 4);
      p += 8;
      if (len <= 0xffff) lenForm = '64';
    }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? bytes.subarray(p, p + 4) : null;
    if (masked) p += 4;
    if (bytes.length - p < len) break;
    const payload = Buffer.from(bytes.subarray(p, p + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i] ^= key[i & 3]!;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, lenForm, payload: payloadText(payload) });
    at = p + len;
  }
  const rest = bytes.subarray(at);
  return { frames, rest: rest.length <= 64 ? rest.toString('hex') : payloadText(rest), ...(stray ? { stray } : {}) };
}
