// The strict decoder and the reaction oracle of `wslab fuzz --url`, on bytes made here: each check
// fires on the violation it names and stays quiet on the conforming case next to it.
import { describe, expect, it } from 'vitest';
import { acceptFor } from 'resty-websocket';
import type { FrameSpec } from '../../lab/session/types.js';
import { encodeFrame } from '../../lab/wire.js';
import { judgeSession, type SessionBytes } from './judge.js';
import type { ServiceSession } from './model.js';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const request = (extra: Array<[string, string]> = [], method = 'GET'): ServiceSession['request'] => ({
  method,
  version: '1.1',
  headers: [['Host', '127.0.0.1'], ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', KEY], ['Sec-WebSocket-Version', '13'], ...extra],
});
const HEAD = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: ${acceptFor(KEY)}`;
const frame = (opcode: number, payload: string | Buffer, o: { fin?: boolean; rsv?: number; mask?: boolean } = {}): Buffer =>
  encodeFrame({ fin: o.fin ?? true, rsv: o.rsv ?? 0, opcode, maskKey: o.mask ? Buffer.from('01020304', 'hex') : null, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload) });
const close = (code: number, reason = ''): Buffer => frame(8, Buffer.concat([Buffer.from([code >> 8, code & 0xff]), Buffer.from(reason)]));
const spec = (opcode: number, payload: FrameSpec['payload'], o: Partial<FrameSpec> = {}): FrameSpec => ({ fin: true, rsv: 0, opcode, mask: true, payload, ...o });

function judge(frames: FrameSpec[], server: Buffer[], o: { head?: string; closedAt?: number | null; req?: ServiceSession['request']; profile?: 'strict' | 'resty' } = {}) {
  const s: ServiceSession = { kind: 'wslab-service-session', request: o.req ?? request(), traffic: [{ pauseMs: 0, frames }], end: 'fin' };
  const r: SessionBytes = { head: o.head ?? HEAD, after: Buffer.concat(server), reset: false, groupSentAt: [0], arrivals: [{ at: 5, offset: 0 }], ourEndAt: 50, closedAt: o.closedAt === undefined ? 60 : o.closedAt };
  return judgeSession(s, r, o.profile ?? 'strict');
}
const checks = (v: ReturnType<typeof judge>): string[] => v.filter((x) => !x.expectedBy).map((x) => x.check);

describe('judgeSession', () => {
  it('an echo that follows the RFC gives nothing', () => {
    expect(judge([spec(1, 'hi'), spec(9, 'p'), spec(8, { hex: '03e8' })], [frame(1, 'hi'), frame(0xa, 'p'), close(1000)])).toEqual([]);
  });

  it('names each violation in what the server sent', () => {
    expect(checks(judge([], [frame(1, 'x', { mask: true })]))).toEqual(['masked-frame']);
    expect(checks(judge([], [frame(1, 'x', { rsv: 4 })]))).toEqual(['rsv-without-extension']);
    expect(checks(judge([], [frame(3, 'x')]))).toEqual(['reserved-opcode']);
    expect(checks(judge([], [frame(9, 'x', { fin: false })]))).toEqual(['fragmented-control-frame']);
    expect(checks(judge([], [frame(9, Buffer.alloc(126))]))).toEqual(['oversize-control-frame']);
    expect(checks(judge([], [close(1005)]))).toEqual(['invalid-close-code']);
    expect(checks(judge([], [frame(8, Buffer.from([0x03, 0xe8, 0xff]))]))).toEqual(['close-reason-not-utf8']);
    expect(checks(judge([], [frame(1, Buffer.from([0xc3]))]))).toEqual(['text-not-utf8']);
    // A character split over two fragments is fine; a continuation with nothing to continue is not.
    expect(checks(judge([], [frame(1, Buffer.from([0xc3]), { fin: false }), frame(0, Buffer.from([0xa9]))]))).toEqual([]);
    expect(checks(judge([], [frame(0, 'x')]))).toEqual(['stray-continuation']);
    expect(checks(judge([], [frame(1, 'a', { fin: false }), frame(2, 'b')]))).toEqual(['interleaved-data-frame']);
    expect(checks(judge([], [close(1000), frame(1, 'bye')]))).toEqual(['frame-after-close']);
    expect(checks(judge([], [Buffer.from([0x81, 0x7e, 0x00, 0x01, 0x78])]))).toEqual(['non-minimal-length']);
  });

  it('judges the handshake: a 101 to an invalid request, a wrong Accept, a subprotocol not offered', () => {
    expect(checks(judge([], [], { req: request([], 'POST') }))).toEqual(['accepted-invalid-handshake']);
    expect(judge([], [], { req: request([], 'POST'), profile: 'resty' })[0]!.expectedBy).toBe('loose-handshake');
    expect(checks(judge([], [], { head: HEAD.replace(acceptFor(KEY), 'x') }))).toEqual(['bad-accept']);
    const offered = request([['Sec-WebSocket-Protocol', 'chat, superchat']]);
    expect(checks(judge([], [], { req: offered, head: `${HEAD}\r\nSec-WebSocket-Protocol: chat` }))).toEqual([]);
    expect(judge([], [], { req: offered, head: `${HEAD}\r\nSec-WebSocket-Protocol: chat, superchat`, profile: 'resty' }).map((v) => v.expectedBy)).toEqual(['subprotocol-list']);
    // A refusal is the server's right: nothing else is judged.
    expect(judge([spec(1, 'x', { mask: false })], [], { head: 'HTTP/1.1 400 Bad Request' })).toEqual([]);
  });

  it('wants a close with the error\'s code after a protocol error of ours', () => {
    expect(judge([spec(1, 'x', { mask: false })], [close(1002)])).toEqual([]);
    expect(checks(judge([spec(1, 'x', { mask: false })], [close(1000)]))).toEqual(['wrong-close-code-after-framing']);
    expect(checks(judge([spec(1, 'x', { mask: false })], []))).toEqual(['failed-without-close-after-framing']);
    expect(checks(judge([spec(1, 'x', { mask: false })], [], { closedAt: null }))).toEqual(['no-close-after-framing']);
    expect(judge([spec(1, { hex: 'c3' })], [close(1007)])).toEqual([]);
    // Under resty, failing without a close frame is the original's deviation; not reacting at all to a framing error is not.
    expect(judge([spec(1, 'x', { mask: false })], [], { profile: 'resty' })[0]!.expectedBy).toBe('fail-without-close');
    expect(checks(judge([spec(1, 'x', { mask: false })], [], { closedAt: null, profile: 'resty' }))).toEqual(['no-close-after-framing']);
    // A text message whose first fragment is already invalid UTF-8: failing fast with 1007 is right too.
    expect(judge([spec(1, { hex: '80' }, { fin: false }), spec(0xb, { hex: '' }, { rsv: 1 })], [close(1007)])).toEqual([]);
    expect(judge([spec(1, { hex: '80' }, { fin: false }), spec(0xb, { hex: '' }, { rsv: 1 })], [close(1002)])).toEqual([]);
    // After a non-minimal length (servers differ) nothing is judged.
    expect(judge([spec(9, 'p', { lenForm: '16' }), spec(1, 'x', { mask: false })], [close(1000)])).toEqual([]);
  });
});
