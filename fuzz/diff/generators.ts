// Structure-aware fast-check generators for differential cases: valid and near-valid frames,
// every length form with its boundaries (125/126/127, 65535/65536, 2^31-1, 2^31, 2^32, 2^63),
// non-minimal lengths, bit flips, truncations, random chunkings; build_frame and send_frame
// arguments, Lua-coerced payloads included.
import fc from 'fast-check';
import type { BuildCase, DiffCase, LuaValue, RecvCase, SendCase } from '../../lab/oracle-cases.js';
import { encodeFrame, encodeFrameHead } from '../../lab/wire.js';

const u8 = fc.integer({ min: 0, max: 255 });
const bytes = (max: number): fc.Arbitrary<Buffer> => fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a));

export const MAX_PAYLOAD_CHOICES = [0, 1, 2, 3, 125, 126, 127, 65535, 65536, 0x7fffffff, 0x80000000, 2 ** 53] as const;

/** Declared 64-bit lengths (as 8 bytes) around the 31-bit limit and beyond. */
const BIG_LENGTHS: readonly number[][] = [
  [0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff], // 2^31-1
  [0, 0, 0, 0, 0x80, 0, 0, 0], // 2^31
  [0, 0, 0, 1, 0, 0, 0, 0], // 2^32
  [0x80, 0, 0, 0, 0, 0, 0, 0], // 2^63
  [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], // 2^64-1
  [0, 0, 0, 0, 0, 0x01, 0, 0], // 65536
  [0, 0, 0, 0, 0, 0, 0xff, 0xff], // 65535, non-minimal
];

const CLOSE_CODES = [0, 1, 999, 1000, 1001, 1002, 1004, 1005, 1006, 1007, 1011, 1015, 2999, 3000, 4999, 5000, 0x7fff, 0x8000, 0xfffe, 0xffff];

interface FrameSpec {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  lengthForm: 'minimal' | 'len16' | 'len64' | 'big';
  big: number[];
  payload: Buffer;
  key: Buffer;
}

const opcodeArb = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(0x0, 0x1, 0x2, 0x8, 0x9, 0xa) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 15 }) },
);

// The 64 KiB payloads cost ~1000x a small case on both sides: rare, but always present in a run.
// When such a frame is refused (too long, unmasked, a flipped bit ...), both sides go on to read its
// payload as frames. On the wire the payload is all 0x80 (a masked one is filled so that it masks to
// that), read as frames: final masked empty continuations, 6 bytes each whatever the maximum payload
// length, 10,923 frames per 64 KiB. Another fill is mostly a failure every 2 bytes (RSV bits set, a
// length over a small maximum): 32,768 results per case, two thirds of our side's time in a run.
const REPARSED_FILL = 0x80;
const BIG_PAYLOAD = 65535;

/** A big payload whose masked form is REPARSED_FILL throughout. */
function fillUnderKey(n: number, key: Buffer): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = REPARSED_FILL ^ key[i & 3]!;
  return b;
}

const payloadArb = fc.oneof(
  { weight: 300, arbitrary: bytes(40) },
  { weight: 90, arbitrary: fc.constantFrom(0, 1, 2, 124, 125, 126, 127, 128).chain((n) => fc.constant(Buffer.alloc(n, 0x61))) },
  { weight: 60, arbitrary: fc.tuple(fc.constantFrom(...CLOSE_CODES), bytes(10)).map(([code, rest]) => {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(code);
    return Buffer.concat([b, rest]);
  }) },
  { weight: 1, arbitrary: fc.constantFrom(BIG_PAYLOAD, BIG_PAYLOAD + 1).map((n) => Buffer.alloc(n, REPARSED_FILL)) },
);

function frameSpecArb(forceMasking: boolean): fc.Arbitrary<FrameSpec> {
  return fc.record({
    fin: fc.oneof({ weight: 5, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    rsv: fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) }),
    opcode: opcodeArb,
    masked: fc.oneof({ weight: 8, arbitrary: fc.constant(forceMasking) }, { weight: 1, arbitrary: fc.boolean() }),
    lengthForm: fc.constantFrom('minimal', 'minimal', 'minimal', 'len16', 'len64', 'big'),
    big: fc.constantFrom(...BIG_LENGTHS),
    payload: payloadArb,
    key: fc.uint8Array({ minLength: 4, maxLength: 4 }).map((a) => Buffer.from(a)),
  }).map((f) => (f.masked && f.payload.length >= BIG_PAYLOAD ? { ...f, payload: fillUnderKey(f.payload.length, f.key) } : f));
}

/** Serialises a frame spec, including non-minimal length forms and declared lengths with no body. */
function encodeFrameSpec(f: FrameSpec): Buffer {
  if (f.lengthForm === 'big') return encodeFrameHead(f, f.masked, Buffer.from(f.big).readBigUInt64BE(0), '64');
  const lenForm = f.lengthForm === 'len16' ? '16' : f.lengthForm === 'len64' ? '64' : 'min';
  return encodeFrame({ ...f, maskKey: f.masked ? f.key : null, lenForm });
}

type Mutation = { t: 'none' } | { t: 'flip'; at: number; bit: number } | { t: 'cut'; at: number } | { t: 'insert'; at: number; b: number };

function applyMutations(stream: Buffer, muts: readonly Mutation[]): Buffer {
  let s = Buffer.from(stream);
  for (const m of muts) {
    if (s.length === 0) break;
    if (m.t === 'flip') s[m.at % s.length] = s[m.at % s.length]! ^ (1 << m.bit);
    else if (m.t === 'cut') s = s.subarray(0, m.at % (s.length + 1));
    else if (m.t === 'insert') {
      const at = m.at % (s.length + 1);
      s = Buffer.concat([s.subarray(0, at), Buffer.from([m.b]), s.subarray(at)]);
    }
  }
  return s;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.constant<Mutation>({ t: 'none' }) },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('cut' as const), at: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('insert' as const), at: fc.nat(), b: u8 }) },
);

/** Chunk sizes: one chunk, single bytes, or random sizes up to a random maximum. */
const chunkingArb: fc.Arbitrary<number[]> = fc.oneof(
  { weight: 2, arbitrary: fc.constant<number[]>([]) },
  { weight: 1, arbitrary: fc.constant<number[]>(Array.from({ length: 400 }, () => 1)) },
  { weight: 4, arbitrary: fc.array(fc.integer({ min: 1, max: 16 }), { minLength: 1, maxLength: 64 }) },
  { weight: 1, arbitrary: fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 8 }) },
);

// Made once: an arbitrary built per generated case (inside chain) was a fifth of a run's generation time.
const frameListArb = {
  masked: fc.array(frameSpecArb(true), { minLength: 1, maxLength: 4 }),
  unmasked: fc.array(frameSpecArb(false), { minLength: 1, maxLength: 4 }),
};

export const recvCaseArb: fc.Arbitrary<RecvCase> = fc
  .record({
    maxPayloadLen: fc.constantFrom(...MAX_PAYLOAD_CHOICES),
    forceMasking: fc.boolean(),
    raw: fc.oneof({ weight: 9, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    rawBytes: bytes(64),
    seed: fc.nat(),
    muts: fc.array(mutationArb, { maxLength: 3 }),
    chunks: chunkingArb,
    timeouts: fc.oneof(
      { weight: 5, arbitrary: fc.constant<number[]>([]) },
      { weight: 1, arbitrary: fc.array(fc.nat({ max: 400 }), { minLength: 1, maxLength: 3 }) },
    ),
  })
  .chain((r) =>
    frameListArb[r.forceMasking ? 'masked' : 'unmasked'].map((frames): RecvCase => {
      const stream = r.raw ? r.rawBytes : applyMutations(Buffer.concat(frames.map(encodeFrameSpec)), r.muts);
      const timeouts = r.timeouts.map((t) => t % (stream.length + 1));
      return { kind: 'recv', maxPayloadLen: r.maxPayloadLen, forceMasking: r.forceMasking, stream, chunks: r.chunks, timeouts };
    }),
  );

const keyArb = fc.integer({ min: 1, max: 0xffffffff });

export const buildCaseArb: fc.Arbitrary<BuildCase> = fc
  .record({
    fin: fc.boolean(),
    opcode: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 0, max: 15 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) }),
    masking: fc.boolean(),
    key: keyArb,
    // bytes() is mostly short: the 16-bit length form's high byte needs lengths from 256 up (128 up for a shift by one too few).
    payload: fc.oneof(
      { weight: 200, arbitrary: bytes(300) },
      { weight: 20, arbitrary: fc.constantFrom(126, 128, 255, 256, 1000, 4096, 65534).map((n) => Buffer.alloc(n, 0x64)) },
      { weight: 1, arbitrary: fc.constantFrom(65535, 65536).map((n) => Buffer.alloc(n, 0x63)) },
    ),
    lenMode: fc.constantFrom('exact', 'exact', 'exact', 'exact', 'other', 'huge'),
    otherLen: fc.constantFrom(0, 1, 125, 126, 127, 128, 256, 1000, 65534, 65535, 65536, 70000, 0x7fffffff),
    hugeLen: fc.constantFrom(0x80000000, 0xffffffff, 2 ** 32, 2 ** 32 + 5, 2 ** 40, 2 ** 53),
  })
  .map((r): BuildCase => {
    // A declared length other than the payload's is only well-defined unmasked: masking a short
    // payload to a longer declared length raises a Lua error in the original (byte() is nil).
    const payloadLen =
      r.lenMode === 'huge' ? r.hugeLen : r.lenMode === 'other' && !r.masking ? r.otherLen : r.payload.length;
    return { kind: 'build', fin: r.fin, opcode: r.opcode, payloadLen, masking: r.masking, key: r.key, payload: r.payload };
  });

const luaValueArb: fc.Arbitrary<LuaValue> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<LuaValue>({ t: 'nil' }) },
  { weight: 1, arbitrary: fc.boolean().map((v): LuaValue => ({ t: 'bool', v })) },
  {
    weight: 3,
    arbitrary: fc
      .oneof(
        fc.integer({ min: -1e6, max: 1e6 }),
        fc.double({ noNaN: true, noDefaultInfinity: true }),
        fc.constantFrom(12.5, 0.1, -0, 1e14, 1e15, 123456789012345, 1e-5, 1e21, 2 ** 53, 1 / 3),
      )
      .map((v): LuaValue => ({ t: 'number', v })),
  },
  {
    weight: 5,
    arbitrary: fc
      .oneof({ weight: 100, arbitrary: bytes(200) }, { weight: 6, arbitrary: fc.constantFrom(125, 126) }, { weight: 1, arbitrary: fc.constantFrom(65535, 65536) })
      .map((v): LuaValue => ({ t: 'string', v: typeof v === 'number' ? Buffer.alloc(v, 0x64) : v })),
  },
);

export const sendCaseArb: fc.Arbitrary<SendCase> = fc.record({
  kind: fc.constant('send' as const),
  fin: fc.oneof({ weight: 4, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
  opcode: fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0x1f }) }),
  maxPayloadLen: fc.constantFrom(0, 3, 125, 126, 65535, 65536, 0x7fffffff),
  masking: fc.boolean(),
  key: keyArb,
  payload: luaValueArb,
});

export const diffCaseArb: fc.Arbitrary<DiffCase> = fc.oneof(
  { weight: 6, arbitrary: recvCaseArb },
  { weight: 2, arbitrary: buildCaseArb },
  { weight: 2, arbitrary: sendCaseArb },
);
