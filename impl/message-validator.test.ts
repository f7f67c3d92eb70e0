import { describe, expect, it } from 'vitest';
import { MessageValidator, STRICT_ERRORS, isValidCloseCode } from './message-validator.js';
import { COMPAT, STRICT } from './profile.js';
import type { RecvResult } from './types.js';

const f = (type: 'text' | 'binary' | 'continuation' | 'ping', data: string | Buffer, fin = true): RecvResult =>
  ({ data: Buffer.isBuffer(data) ? data : Buffer.from(data), type, err: fin ? null : 'again' }) as RecvResult;
const close = (code: number | null, reason: Buffer | string = ''): RecvResult => ({ data: Buffer.isBuffer(reason) ? reason : Buffer.from(reason), type: 'close', err: code });

function run(checks: typeof STRICT, frames: RecvResult[]) {
  const v = new MessageValidator(checks);
  return frames.map((r) => v.check(r));
}

describe('MessageValidator', () => {
  it('passes a well-formed fragmented text message with a ping in between', () => {
    const res = run(STRICT, [f('text', 'hé', false), f('ping', ''), f('continuation', 'llo', false), f('continuation', ' world')]);
    expect(res.every((r) => r.ok)).toBe(true);
  });

  it('fails a stray continuation and an interleaved data frame with 1002 (RFC 6455 §5.4)', () => {
    expect(run(STRICT, [f('continuation', 'x')])[0]).toEqual({ ok: false, err: STRICT_ERRORS.strayContinuation, closeCode: 1002 });
    expect(run(STRICT, [f('text', 'a', false), f('binary', 'b')])[1]).toEqual({ ok: false, err: STRICT_ERRORS.interleavedData, closeCode: 1002 });
  });

  it('fails invalid UTF-8 with 1007 in the fragment where it appears (fail fast, §8.1)', () => {
    const res = run(STRICT, [f('text', 'ok', false), f('continuation', Buffer.from('eda080', 'hex'), false), f('continuation', 'never checked')]);
    expect(res[0]).toEqual({ ok: true });
    expect(res[1]).toEqual({ ok: false, err: STRICT_ERRORS.invalidUtf8Text, closeCode: 1007 });
  });

  it('checks a code point split across fragments, and an unfinished one at the end', () => {
    expect(run(STRICT, [f('text', Buffer.from('f09f', 'hex'), false), f('continuation', Buffer.from('9880', 'hex'))]).every((r) => r.ok)).toBe(true);
    expect(run(STRICT, [f('text', Buffer.from('f09f', 'hex'), false), f('continuation', Buffer.alloc(0))])[1]).toMatchObject({ ok: false, closeCode: 1007 });
  });

  it('checks close codes and close reasons', () => {
    expect(run(STRICT, [close(1000, 'bye')])[0]).toEqual({ ok: true });
    expect(run(STRICT, [close(null)])[0]).toEqual({ ok: true });
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535]) {
      expect(run(STRICT, [close(code)])[0], String(code)).toEqual({ ok: false, err: `${STRICT_ERRORS.invalidCloseCode}: ${code}`, closeCode: 1002 });
    }
    expect(run(STRICT, [close(1000, Buffer.from('ff', 'hex'))])[0]).toEqual({ ok: false, err: STRICT_ERRORS.invalidUtf8Reason, closeCode: 1007 });
    expect([1000, 1003, 1007, 1011, 3000, 4999].every(isValidCloseCode)).toBe(true);
  });

  it('checks nothing in compat, and only the switches that are on', () => {
    const bad = [f('continuation', 'x'), f('text', Buffer.from('ff', 'hex')), close(5000)];
    expect(run(COMPAT, bad).every((r) => r.ok)).toBe(true);
    const onlyUtf8 = run({ ...COMPAT, validateUtf8: true }, bad);
    expect(onlyUtf8.map((r) => r.ok)).toEqual([true, false, true]);
  });
});
