// The session comparison is a pure function of a session and two observations: tested here on
// observations written by hand, without nginx or sockets.
import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../peers/lua-api.js';
import { compareObservations, describeDivergence } from './compare.js';
import type { ClientSession, ServerSession, SessionObservation } from './types.js';

const b = (s: string): Buffer => Buffer.from(s, 'latin1');
const rec = (op: string, ...ret: StepRecord['ret']): StepRecord => ({ op, ret, state: { fatal: false, closed: false } });

const server: ServerSession = {
  kind: 'wslab-session', role: 'server', request: { method: 'GET', version: '1.1', headers: [] }, opts: { timeout: 200 },
  steps: [{ op: 'recv_frame' }, { op: 'send_text', payload: 'hi' }], traffic: [], end: 'fin',
};

function obs(over: Partial<SessionObservation> = {}): SessionObservation {
  return {
    records: [rec('new', true, null), rec('recv_frame', b('x'), b('text'), null), rec('send_text', 4, null)],
    head: 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket',
    wire: { frames: [{ fin: true, rsv: 0, opcode: 1, masked: false, lenForm: 'min', payload: 'hi' }], rest: '' },
    libraryClosed: true,
    ...over,
  } as SessionObservation;
}

describe('compareObservations', () => {
  it('the same observations agree', () => {
    expect(compareObservations(server, obs(), obs(), '0.12')).toEqual({ first: null, explained: null, recordExplained: [] });
  });

  it('a different return value is the first divergence, on the records channel, with both records', () => {
    const ours = obs({ records: [rec('new', true, null), rec('recv_frame', b('y'), b('text'), null), rec('send_text', 4, null)] });
    const c = compareObservations(server, obs(), ours, '0.12');
    expect(c.first).toMatchObject({ channel: 'records', step: 1, op: 'recv_frame' });
    expect(c.explained).toBeNull();
    expect(describeDivergence(c.first!)).toMatch(/^step 1 \(recv_frame\): lua .* vs ours /);
  });

  it('the channels after the records: head, wire, TCP close, in that order', () => {
    expect(compareObservations(server, obs(), obs({ head: 'HTTP/1.1 101 Switching Protocols' }), '0.12').first?.channel).toBe('head');
    expect(compareObservations(server, obs(), obs({ wire: { frames: [], rest: '' } }), '0.12').first?.channel).toBe('wire');
    expect(compareObservations(server, obs(), obs({ libraryClosed: false }), '0.12').first).toMatchObject({ channel: 'tcp', lua: 'library closed TCP', ours: 'TCP left open' });
  });

  it('after a reset the side that saw less must have seen a prefix of the other', () => {
    const less = obs({ wire: { frames: [], rest: '' }, reset: true });
    expect(compareObservations(server, obs(), less, '0.12').first).toBeNull();
    const other = obs({ wire: { frames: [{ fin: true, rsv: 0, opcode: 2, masked: false, lenForm: 'min', payload: 'x' }], rest: '' }, reset: true });
    expect(compareObservations(server, obs(), other, '0.12').first?.channel).toBe('wire');
  });

  it('a declared difference explains the first divergence only on the versions it names', () => {
    const prelude: ServerSession = { ...server, prelude: 'send_headers' };
    const lua = obs({ records: [rec('new', null, b('response header already sent'))] });
    const ours = obs({ records: [rec('new', true, null)] });
    expect(compareObservations(prelude, lua, ours, '0.12').explained?.id).toBe('api-response-before-new');
    const recvLen: ServerSession = { ...server, opts: { timeout: 200, max_recv_len: 1 } };
    const luaGot = obs();
    const oursRefused = obs({ records: [rec('new', true, null), rec('recv_frame', null, null, b('exceeding max payload len')), rec('send_text', 4, null)] });
    expect(compareObservations(recvLen, luaGot, oursRefused, '0.08').explained?.id).toBe('v012-max-recv-len');
    expect(compareObservations(recvLen, luaGot, oursRefused, '0.12').explained).toBeNull();
  });

  it("client sessions: a random key's head lines are not compared; connect's missing third value on 0.08 is a record-level explanation", () => {
    const client: ClientSession = { kind: 'wslab-session', role: 'client', newOpts: {}, path: '/', steps: [{ op: 'connect', uri: '', opts: {} }], response: { raw: '' }, traffic: [], end: 'hold' };
    const head = (key: string): string => `GET / HTTP/1.1\r\nHost: 127.0.0.1:1\r\nSec-WebSocket-Key: ${key}`;
    const lua: SessionObservation = { records: [rec('new', true, null), rec('connect', 1, null, null)], head: head('AAAAAAAAAAAAAAAAAAAAAA=='), wire: { frames: [], rest: '' }, libraryClosed: false };
    const ours: SessionObservation = { ...lua, records: [rec('new', true, null), rec('connect', 1, null, b('HTTP/1.1 101 Switching Protocols'))], head: head('BBBBBBBBBBBBBBBBBBBBBB==') };
    const c = compareObservations(client, lua, ours, '0.08');
    expect(c.first).toBeNull();
    expect(c.recordExplained).toHaveLength(1);
    expect(compareObservations(client, lua, ours, '0.12').first).toMatchObject({ channel: 'records', op: 'connect' });
  });
});
