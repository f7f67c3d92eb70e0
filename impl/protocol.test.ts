import { describe, expect, it } from 'vitest';
import { test as fcTest, fc } from '@fast-check/vitest';
import net from 'node:net';
import { once } from 'node:events';
import {
  buildFrame, FrameDecoder, recvFrame, sendFrame, formatLuaNumber, luaPayload, RECV_ERRORS, MAX_FRAME_PAYLOAD,
  READ_FAILURE_PREFIX, isRecvError, recvErrorText, toRecvResult,
} from './protocol.js';
import { maskInPlace, maskInPlaceJs } from './mask.js';
import { NodeCosocket } from './socket.js';
import { TestCosocket } from './test-support/test-cosocket.js';
import type { RecvResult } from './types.js';

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** Decodes a whole byte stream, split into the given chunk sizes, then the end-of-stream error. */
function decodeAll(bytes: Buffer, chunkSizes: number[], opts = { maxPayloadLen: 65535, forceMasking: false }): RecvResult[] {
  const d = new FrameDecoder(opts);
  const out: RecvResult[] = [];
  let off = 0;
  let i = 0;
  while (off < bytes.length) {
    const size = Math.max(1, chunkSizes.length ? chunkSizes[i++ % chunkSizes.length]! : bytes.length);
    d.push(Buffer.from(bytes.subarray(off, off + size)));
    off += size;
    for (let r = d.next(); r !== null; r = d.next()) out.push(r);
  }
  out.push(d.end());
  return out;
}

const plain = (r: RecvResult) => ({ data: r.data === null ? null : r.data.toString('hex'), type: r.type, err: r.err });

function frame(fin: boolean, opcode: number, payload: Buffer, masked: boolean): Buffer {
  const b = buildFrame(fin, opcode, payload.length, payload, masked, KEY);
  if (b.frame === null) throw new Error(b.err);
  return b.frame;
}

describe('buildFrame', () => {
  it('uses the minimal length encoding at every boundary', () => {
    for (const [len, headerLen, marker] of [[0, 2, 0], [125, 2, 125], [126, 4, 126], [65535, 4, 126], [65536, 10, 127]] as const) {
      const f = frame(true, 0x2, Buffer.alloc(len), false);
      expect(f.length).toBe(headerLen + len);
      expect(f[1]! & 0x7f).toBe(marker);
    }
  });

  it('ORs an unvalidated opcode into byte 0, so 0x10 leaks into RSV3 (docs/behaviour.md §3)', () => {
    expect(frame(true, 0x10, Buffer.alloc(0), false)[0]).toBe(0x90);
    expect(frame(true, 0x3, Buffer.alloc(0), false)[0]).toBe(0x83);
    expect(frame(false, 0xb, Buffer.alloc(0), false)[0]).toBe(0x0b);
  });

  it('writes the key after the length and masks the payload with it', () => {
    const f = frame(true, 0x1, Buffer.from('Hello'), true);
    // RFC 6455 §5.7 example: a masked "Hello" with key 37 fa 21 3d.
    expect(f.toString('hex')).toBe('818537fa213d7f9f4d5158');
  });

  it('refuses payload lengths above 0x7fffffff', () => {
    expect(buildFrame(true, 1, MAX_FRAME_PAYLOAD + 1, Buffer.alloc(0), false)).toEqual({ frame: null, err: 'payload too big' });
    expect(buildFrame(true, 1, MAX_FRAME_PAYLOAD, Buffer.alloc(0), false).frame!.subarray(0, 10).toString('hex')).toBe('817f000000007fffffff');
  });

  fcTest.prop([fc.uint8Array({ maxLength: 700 }), fc.option(fc.uint8Array({ minLength: 4, maxLength: 4 }), { nil: undefined })])(
    'masks any payload with the key it writes (given or drawn), on the small-copy and the large path',
    (bytes, key) => {
      const payload = Buffer.from(bytes);
      const f = buildFrame(true, 0x2, payload.length, payload, true, key && Buffer.from(key)).frame!;
      const headerLen = f.length - payload.length;
      const k = f.subarray(headerLen - 4, headerLen);
      if (key) expect([...k]).toEqual([...key]);
      for (let i = 0; i < payload.length; i++) expect(f[headerLen + i]).toBe(payload[i]! ^ k[i & 3]!);
      expect(payload).toEqual(Buffer.from(bytes)); // the caller's payload is left as it was
    },
  );

  it('draws a fresh masking key per frame', () => {
    const keys = new Set<string>();
    for (let i = 0; i < 50; i++) keys.add(buildFrame(true, 1, 1, Buffer.from('a'), true).frame!.subarray(2, 6).toString('hex'));
    expect(keys.size).toBeGreaterThan(45);
  });
});

describe('masking', () => {
  fcTest.prop([fc.uint8Array({ maxLength: 1200 }), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.nat(7), fc.constantFrom(maskInPlace, maskInPlaceJs)])(
    'is an involution and equals the byte-wise definition at any alignment (native and JS paths)',
    (bytes, key, shift, maskFn) => {
      const backing = Buffer.alloc(bytes.length + 8);
      const buf = backing.subarray(shift, shift + bytes.length);
      buf.set(bytes);
      const k = Buffer.from(key);
      maskFn(buf, k);
      for (let i = 0; i < bytes.length; i++) expect(buf[i]).toBe(bytes[i]! ^ k[i & 3]!);
      maskFn(buf, k);
      expect(Buffer.compare(buf, Buffer.from(bytes))).toBe(0);
    },
  );
});

describe('FrameDecoder round trip', () => {
  const opcodes = [0x0, 0x1, 0x2, 0x8, 0x9, 0xa];
  const lengths = [0, 1, 2, 125, 126, 127, 65535, 65536, 200_000];
  for (const opcode of opcodes) {
    for (const fin of [true, false]) {
      for (const masked of [true, false]) {
        it(`opcode ${opcode} fin=${fin} masked=${masked} at every length boundary`, () => {
          for (const len of lengths) {
            const payload = Buffer.alloc(len, len & 0xff);
            if (len > 1) payload.writeUInt16BE(1000, 0);
            const bytes = frame(fin, opcode, payload, masked);
            const [r] = decodeAll(bytes, [], { maxPayloadLen: 1 << 20, forceMasking: false });
            const control = (opcode & 8) !== 0;
            if (control && len > 125) expect(r!.err).toBe(RECV_ERRORS.controlTooLong);
            else if (control && !fin) expect(r!.err).toBe(RECV_ERRORS.controlFragmented);
            else if (opcode === 0x8 && len === 1) expect(r!.err).toBe(RECV_ERRORS.closeNoCode);
            else if (opcode === 0x8 && len === 0) expect(plain(r!)).toEqual({ data: '', type: 'close', err: null });
            else if (opcode === 0x8) expect(plain(r!)).toEqual({ data: payload.subarray(2).toString('hex'), type: 'close', err: 1000 });
            else expect(plain(r!)).toEqual({ data: payload.toString('hex'), type: ['continuation', 'text', 'binary'][opcode] ?? (opcode === 9 ? 'ping' : 'pong'), err: fin ? null : 'again' });
          }
        });
      }
    }
  }

  it('accepts a 2^31-1 length and waits for that many bytes; 2^31, 2^32 and 2^63 are too large (docs/behaviour.md §2.5)', () => {
    const d = new FrameDecoder({ maxPayloadLen: MAX_FRAME_PAYLOAD, forceMasking: false });
    d.push(hex('82 7f 00 00 00 00 7f ff ff ff'));
    expect(d.next()).toBeNull();
    expect(d.stage).toBe('body');
    expect(d.needed).toBe(MAX_FRAME_PAYLOAD);
    for (const len of ['0000000080000000', '0000000100000000', '8000000000000000']) {
      const [r] = decodeAll(hex('827f' + len), []);
      expect(r!.err).toBe('payload len too large');
    }
  });

  it('accepts non-minimal length encodings (docs/behaviour.md §2.5)', () => {
    for (const h of ['81 7e 00 03', '81 7f 00 00 00 00 00 00 00 03']) {
      const [r] = decodeAll(Buffer.concat([hex(h), Buffer.from('foo')]), []);
      expect(plain(r!)).toEqual({ data: Buffer.from('foo').toString('hex'), type: 'text', err: null });
    }
  });

  it('has no fragmentation state: stray continuations and interleaved text frames are accepted (docs/behaviour.md §2.10)', () => {
    const bytes = Buffer.concat([frame(true, 0, Buffer.from('a'), false), frame(false, 1, Buffer.from('b'), false), frame(false, 1, Buffer.from('c'), false)]);
    expect(decodeAll(bytes, []).slice(0, 3).map((r) => [r.type, r.err])).toEqual([['continuation', null], ['text', 'again'], ['text', 'again']]);
  });

  it('returns close codes without validation and reasons without UTF-8 checks (docs/behaviour.md §2.9)', () => {
    for (const code of [0, 1005, 5000, 65535]) {
      const p = Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from([0xff, 0xfe])]);
      expect(plain(decodeAll(frame(true, 8, p, true), [])[0]!)).toEqual({ data: 'fffe', type: 'close', err: code });
    }
  });

  it('allows empty frames with max_payload_len 0 (the test is strictly greater-than)', () => {
    expect(plain(decodeAll(frame(true, 1, Buffer.alloc(0), false), [], { maxPayloadLen: 0, forceMasking: false })[0]!)).toEqual({ data: '', type: 'text', err: null });
  });
});

// One input per error string of docs/behaviour.md §2, with the options that produce it.
const ERROR_TABLE: Array<[string, string, { maxPayloadLen?: number; forceMasking?: boolean }]> = [
  ['c1 00', 'bad RSV1, RSV2, or RSV3 bits', {}],
  ['a2 00', 'bad RSV1, RSV2, or RSV3 bits', {}],
  ['93 00', 'bad RSV1, RSV2, or RSV3 bits', {}], // RSV before the reserved opcode
  ['83 00', 'reserved non-control frames', {}],
  ['87 00', 'reserved non-control frames', {}],
  ['8b 00', 'reserved control frames', {}],
  ['8f 00', 'reserved control frames', {}],
  ['81 03 66 6f 6f', 'frame unmasked', { forceMasking: true }],
  ['82 7f 00 00 00 01 00 00 00 00', 'payload len too large', {}],
  ['89 7e 00 7e', 'too long payload for control frame', {}],
  ['09 7e 00 7e', 'too long payload for control frame', {}], // length check comes before the FIN check
  ['09 00', 'fragmented control frame', {}],
  ['89 0b' + '61'.repeat(11), 'exceeding max payload len', { maxPayloadLen: 10 }],
  ['81 7e 00 0b', 'exceeding max payload len', { maxPayloadLen: 10 }],
  ['88 01 03', 'close frame with a body must carry a 2-byte status code', {}],
  ['81', 'failed to receive the first 2 bytes: closed', {}],
  ['81 7e 00', 'failed to receive the 2 byte payload length: closed', {}],
  ['81 7f 00 00 00', 'failed to receive the 8 byte payload length: closed', {}],
  ['81 05 61 62', 'failed to read masking-len and payload: closed', {}],
  ['81 85 01 02', 'failed to read masking-len and payload: closed', {}],
];

describe('every recv_frame error string (docs/behaviour.md §2)', () => {
  for (const [input, err, opts] of ERROR_TABLE) {
    it(`${input} -> ${err}`, () => {
      const o = { maxPayloadLen: opts.maxPayloadLen ?? 65535, forceMasking: opts.forceMasking ?? false };
      expect(decodeAll(hex(input), [], o)[0]).toEqual({ data: null, type: null, err });
    });
  }

  it('gives "too long" for a 126-byte ping but "exceeding" for an 11-byte ping with max 10', () => {
    expect(decodeAll(hex('89 7e 00 7e'), [], { maxPayloadLen: 10, forceMasking: false })[0]!.err).toBe('too long payload for control frame');
  });
});

describe('chunk-split invariance', () => {
  const frameArb = fc.record({
    fin: fc.boolean(), opcode: fc.constantFrom(0, 1, 2, 3, 8, 9, 10, 11), masked: fc.boolean(), rsv: fc.constantFrom(0, 0, 0, 0x40),
    payload: fc.uint8Array({ maxLength: 300 }),
  }).map(({ fin, opcode, masked, rsv, payload }) => {
    const f = frame(fin, opcode, Buffer.from(payload), masked);
    f[0] = f[0]! | rsv;
    return f;
  });
  fcTest.prop([fc.array(frameArb, { maxLength: 6 }), fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }), fc.boolean()])(
    'any split of a stream decodes to the same frames and errors',
    (frames, chunks, force) => {
      const stream = Buffer.concat(frames);
      const opts = { maxPayloadLen: 200, forceMasking: force };
      const whole = decodeAll(stream, [], opts).map(plain);
      expect(decodeAll(stream, chunks, opts).map(plain)).toEqual(whole);
      expect(decodeAll(stream, [1], opts).map(plain)).toEqual(whole);
    },
  );
});

describe('FrameDecoder.nextFrame: heads and failures as values', () => {
  // Frames with any first byte (RSV bits and reserved opcodes included) and any mask bit.
  const headArb = fc.record({
    b0: fc.integer({ min: 0, max: 255 }), masked: fc.boolean(),
    len: fc.constantFrom(0, 1, 2, 125, 126, 127, 65535, 65536), fill: fc.integer({ min: 0, max: 255 }),
  });
  fcTest.prop([headArb, fc.boolean(), fc.constantFrom(0, 125, 65535, 1 << 20)])(
    'the head is what the frame\'s bytes say, whether the frame decodes or fails', ({ b0, masked, len, fill }, force, max) => {
      const body = Buffer.alloc(len, fill);
      const f = frame(true, 1, body, masked);
      f[0] = b0;
      const d = new FrameDecoder({ maxPayloadLen: max, forceMasking: force });
      d.push(f);
      const got = d.nextFrame();
      expect(got).not.toBeNull();
      const { head, outcome } = got!;
      expect({ fin: head.fin, opcode: head.opcode, masked: head.masked }).toEqual({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked });
      // Past the first two bytes the length is the real one; a failure in them leaves the 7-bit one.
      const sevenBit = body.length <= 125 ? body.length : body.length <= 0xffff ? 126 : 127;
      expect([body.length, sevenBit]).toContain(head.payloadLen);
      if (!isRecvError(outcome)) expect(head.payloadLen).toBe(body.length);
      // next() is nextFrame()'s outcome at the API edge, whatever the chunking.
      const bytewise = decodeAll(Buffer.concat([Buffer.from([b0]), frame(true, 1, body, masked).subarray(1)]), [1], { maxPayloadLen: max, forceMasking: force });
      expect(toRecvResult(outcome)).toEqual(bytewise[0]);
    });

  /** The close code a strict endpoint used to derive from the error text (before errors were values). */
  const codeFromText = (err: string): number | null =>
    err === RECV_ERRORS.exceeding || err === RECV_ERRORS.lenTooLarge ? 1009 : Object.values(READ_FAILURE_PREFIX).some((p) => err.startsWith(p)) ? null : 1002;

  fcTest.prop([fc.uint8Array({ maxLength: 200 }), fc.constantFrom(0, 1, 125, 126, 65535), fc.boolean(), fc.constantFrom('closed', 'timeout')])(
    'every failure has the original\'s string, the close code the text implies, and its read', (bytes, max, force, sockErr) => {
      const d = new FrameDecoder({ maxPayloadLen: max, forceMasking: force });
      d.push(Buffer.from(bytes));
      const texts = new Set<string>(Object.values(RECV_ERRORS));
      for (let f = d.nextFrame(); f !== null; f = d.nextFrame()) {
        if (!isRecvError(f.outcome)) continue;
        const e = f.outcome;
        expect(texts.has(recvErrorText(e)), recvErrorText(e)).toBe(true);
        expect(e.closeCode).toBe(codeFromText(recvErrorText(e)));
        expect(e.sockErr).toBeNull();
      }
      const stage = d.stage;
      const partial = d.buffered;
      const end = d.end(sockErr);
      expect(end).toEqual({ data: null, type: null, err: READ_FAILURE_PREFIX[stage] + sockErr });
      expect(codeFromText(end.err as string)).toBeNull();
      expect(partial).toBeLessThan(stage === 'head' ? 2 : Number.MAX_SAFE_INTEGER);
    });
});

describe('recvFrame over a cosocket', () => {
  const frameArb = fc.record({
    fin: fc.boolean(), opcode: fc.constantFrom(0, 1, 2, 3, 8, 9, 11), masked: fc.boolean(), rsv: fc.constantFrom(0, 0, 0, 0x40),
    payload: fc.oneof(fc.uint8Array({ maxLength: 140 }), fc.uint8Array({ minLength: 200, maxLength: 300 })),
  }).map(({ fin, opcode, masked, rsv, payload }) => {
    const f = frame(fin, opcode, Buffer.from(payload), masked);
    f[0] = f[0]! | rsv;
    return f;
  });
  fcTest.prop([
    fc.array(frameArb, { maxLength: 6 }),
    fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 10 }),
    fc.nat({ max: 12 }),
    fc.boolean(),
    fc.boolean(),
  ])('gives the FrameDecoder\'s results for any chunking, buffered or arriving later, with or without tryReceive', async (frames, chunks, upFront, force, fastPath) => {
    const stream = Buffer.concat(frames);
    const opts = { maxPayloadLen: 250, forceMasking: force };
    const expected = decodeAll(Buffer.from(stream), [], opts).map(plain);
    const pieces: Buffer[] = [];
    for (let off = 0, i = 0; off < stream.length; i++) {
      const size = chunks[i % chunks.length]!;
      pieces.push(Buffer.from(stream.subarray(off, off + size)));
      off += size;
    }
    const sock = new TestCosocket({ fastPath });
    pieces.splice(0, upFront).forEach((p) => sock.feed(p));
    const feeder = (async () => {
      for (const p of pieces) {
        await new Promise((r) => setImmediate(r));
        sock.feed(p);
      }
      await new Promise((r) => setImmediate(r));
      sock.end();
    })();
    const got: ReturnType<typeof plain>[] = [];
    // every result but the last consumes at least 2 bytes
    for (let n = 0; n <= stream.length / 2 + 1; n++) {
      const r = plain(await recvFrame(sock, opts.maxPayloadLen, opts.forceMasking));
      got.push(r);
      if (r.err !== null && String(r.err).endsWith(': closed')) break;
    }
    await feeder;
    expect(got).toEqual(expected);
  });
});

describe('luaPayload / formatLuaNumber', () => {
  it('coerces like send_frame: nil and false become "", numbers use %.14g', () => {
    expect(luaPayload(null).toString()).toBe('');
    expect(luaPayload(false).toString()).toBe('');
    expect(luaPayload(true).toString()).toBe('true');
    expect(luaPayload(12.5).toString()).toBe('12.5');
    const cases: Array<[number, string]> = [[100, '100'], [0.1, '0.1'], [1e15, '1e+15'], [123456789012344, '1.2345678901234e+14'],
      [1e-5, '1e-05'], [0.0001, '0.0001'], [-0, '-0'], [1 / 3, '0.33333333333333'], [2 ** 53, '9.007199254741e+15'], [NaN, 'nan'], [-Infinity, '-inf']];
    for (const [n, s] of cases) expect(formatLuaNumber(n)).toBe(s);
  });
});

async function socketPair(): Promise<{ a: net.Socket; b: net.Socket; close: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [b] = (await once(server, 'connection')) as [net.Socket];
  await once(a, 'connect');
  return { a, b, close: () => { a.destroy(); b.destroy(); server.close(); } };
}

describe('recvFrame and sendFrame over a real socket', () => {
  it('round-trips, and returns the byte count of the whole frame (docs/behaviour.md §3)', async () => {
    const { a, b, close } = await socketPair();
    const tx = new NodeCosocket(a);
    const rx = new NodeCosocket(b);
    expect(await sendFrame(tx, true, 1, 'x', 65535, false)).toEqual({ bytes: 3, err: null });
    expect(await sendFrame(tx, true, 1, 'x', 65535, true)).toEqual({ bytes: 7, err: null });
    const big = Buffer.from(Array.from({ length: 65535 }, (_, i) => (i * 31) & 0xff));
    expect(await sendFrame(tx, true, 2, big, 65535, false)).toEqual({ bytes: 65539, err: null });
    expect(plain(await recvFrame(rx, 65535, false))).toEqual({ data: '78', type: 'text', err: null });
    expect(plain(await recvFrame(rx, 65535, true))).toEqual({ data: '78', type: 'text', err: null });
    // Sent as header + payload without a copy; the receiver must see the exact bytes.
    expect(Buffer.compare((await recvFrame(rx, 65535, false)).data!, big)).toBe(0);
    close();
  });

  it('checks send_frame arguments in the original order', async () => {
    const { a, close } = await socketPair();
    const tx = new NodeCosocket(a);
    expect(await sendFrame(tx, true, 9, Buffer.alloc(126), 10, false)).toEqual({ bytes: null, err: 'payload too big' });
    expect(await sendFrame(tx, true, 9, Buffer.alloc(126), 1000, false)).toEqual({ bytes: null, err: 'too much payload for control frame' });
    expect(await sendFrame(tx, false, 8, '', 1000, false)).toEqual({ bytes: null, err: 'fragmented control frame' });
    await tx.close();
    expect(await sendFrame(tx, true, 1, 'a', 1000, false)).toEqual({ bytes: null, err: 'failed to send frame: closed' });
    close();
  });

  it('reports a timeout without consuming state, and desynchronises after a timeout inside a frame (docs/behaviour.md §5)', async () => {
    const { a, b, close } = await socketPair();
    const rx = new NodeCosocket(b, { timeout: 50 });
    expect(await recvFrame(rx, 65535, false)).toEqual({ data: null, type: null, err: 'failed to receive the first 2 bytes: timeout' });
    a.write(hex('81'));
    expect((await recvFrame(rx, 65535, false)).err).toBe('failed to receive the first 2 bytes: timeout');
    a.write(hex('03 66 6f 6f'));
    // The 0x81 was consumed by the timed-out read; 0x03 is now read as a header byte.
    expect((await recvFrame(rx, 65535, false)).err).toBe('reserved non-control frames');
    close();
  });

  it('reports the socket error of the read that failed', async () => {
    const { a, b, close } = await socketPair();
    const rx = new NodeCosocket(b);
    a.end(hex('81 7e 00'));
    expect((await recvFrame(rx, 65535, false)).err).toBe('failed to receive the 2 byte payload length: closed');
    expect((await recvFrame(rx, 65535, false)).err).toBe('failed to receive the first 2 bytes: closed');
    close();
  });
});
