import { acceptFor, FrameDecoder } from 'resty-websocket';
import { describe, expect, it } from 'vitest';
import { decodeFrames, encodeFrame, encodeFrameHead, encodeHead, headEnd, headValue } from './wire.js';

const KEY = Buffer.from([1, 2, 3, 4]);

describe('the lab wire codec', () => {
  it('writes any bits and every length form, and reads them back', () => {
    const frames = [
      encodeFrame({ fin: false, rsv: 5, opcode: 0xb, maskKey: null, payload: Buffer.from('abc') }),
      encodeFrame({ fin: true, rsv: 0, opcode: 2, maskKey: KEY, lenForm: '16', payload: Buffer.from('abc') }),
      encodeFrame({ fin: true, rsv: 0, opcode: 1, maskKey: null, lenForm: '64', payload: Buffer.from('x') }),
      encodeFrame({ fin: true, rsv: 0, opcode: 2, maskKey: null, payload: Buffer.alloc(300, 0x61) }),
    ];
    expect(frames[1]!.subarray(0, 8)).toEqual(Buffer.from([0x82, 0xfe, 0, 3, 1, 2, 3, 4]));
    const { frames: read, rest } = decodeFrames(Buffer.concat(frames));
    expect(rest).toBe('');
    expect(read.map((f) => [f.fin, f.rsv, f.opcode, f.masked, f.lenForm])).toEqual([
      [false, 5, 0xb, false, 'min'], [true, 0, 2, true, '16'], [true, 0, 1, false, '64'], [true, 0, 2, false, 'min'],
    ]);
    expect(read[1]!.payload).toBe(Buffer.from('abc').toString('hex'));
  });

  it('writes what impl decodes, masked or not', () => {
    const wire = encodeFrame({ fin: true, rsv: 0, opcode: 1, maskKey: KEY, payload: Buffer.from('hello') });
    const decoder = new FrameDecoder({ maxPayloadLen: 65535, forceMasking: true });
    decoder.push(wire);
    expect(decoder.next()).toEqual({ data: Buffer.from('hello'), type: 'text', err: null });
  });

  it('declares a length no body follows', () => {
    expect(encodeFrameHead({ fin: true, rsv: 0, opcode: 2 }, true, 2n ** 64n - 1n, '64')).toEqual(Buffer.from([0x82, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  });

  it('writes and reads heads', () => {
    const head = encodeHead('GET / HTTP/1.1', [['Host', 'x'], ['Sec-WebSocket-Key', ' dGhlIHNhbXBsZSBub25jZQ== ']]);
    expect(head).toBe('GET / HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key:  dGhlIHNhbXBsZSBub25jZQ== \r\n\r\n');
    expect(headEnd(Buffer.from(`${head}rest`))).toBe(head.length);
    expect(headEnd(Buffer.from('GET / HTTP/1.1\r\n'))).toBe(-1);
    expect(acceptFor(headValue(head, 'sec-websocket-key') ?? '')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(headValue(head, 'origin')).toBeNull();
  });
});
