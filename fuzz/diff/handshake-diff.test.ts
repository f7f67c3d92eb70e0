// The server handshake against the original server:new() in nginx: the probe reads the spec's
// verified verdicts, and a generated run finds no divergence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNativePeer } from '../../lab/peers/native/index.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { IN_CI } from '../test-env.js';
import { handshakeDiffUnavailable, oursHandshake, runHandshakeDiff } from './handshake-diff.js';
import { probeHandshake } from './handshake-nginx.js';

const why = handshakeDiffUnavailable();
const TIME_MS = IN_CI ? 20_000 : 3_000;

const request = (lines: string[]): Buffer => Buffer.from([...lines, '', ''].join('\r\n'), 'latin1');
const ws = ['Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==', 'Sec-WebSocket-Version: 13'];

describe.skipIf(why !== null && !IN_CI)(`server handshake vs the original in nginx${why ? ` (${why})` : ''}`, () => {
  let peer: RunningPeer;
  let port: number;
  beforeAll(async () => {
    peer = await startNativePeer({});
    port = Number(new URL(peer.httpUrl).port);
  }, 60_000);
  afterAll(async () => {
    await peer?.stop();
  });

  it('reads the docs/behaviour.md §4 verdicts from the original', async () => {
    const cases: Array<[string[], unknown]> = [
      [['GET /diff-handshake HTTP/1.1', ...ws, 'Sec-WebSocket-Protocol: chat, superchat'], { kind: 'ok', accept: 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=', protocol: 'chat, superchat' }],
      [['POST /diff-handshake HTTP/1.1', ...ws.slice(0, 2), 'Connection: xupgradex', ...ws.slice(3)], { kind: 'ok', accept: 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=', protocol: null }],
      [['GET /diff-handshake HTTP/1.1', 'Host: a', 'Upgrade: websocket, h2c', ...ws.slice(2)], { kind: 'err', err: 'bad "upgrade" request header: websocket, h2c' }],
      [['GET /diff-handshake HTTP/1.0', ...ws], { kind: 'err', err: 'bad http version' }],
      [['GET /diff-handshake HTTP/1.1', ...ws.slice(0, 4), 'Sec-WebSocket-Version:  13 '], { kind: 'ok', accept: 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=', protocol: null }],
    ];
    for (const [lines, want] of cases) {
      const r = request(lines);
      expect(await probeHandshake(port, r), lines[0]).toEqual(want);
      expect(oursHandshake(r), lines[0]).toEqual(want);
    }
  });

  it(`a ${TIME_MS / 1000}s generated run finds no divergence`, async () => {
    const report = await runHandshakeDiff({ port, timeMs: TIME_MS, findingsDir: `${process.env.TMPDIR ?? '/tmp'}/wslab-handshake-diff-test` });
    expect(report.cases).toBeGreaterThan(100);
    expect(report.outcomes.ok ?? 0).toBeGreaterThan(0);
    expect(report.divergences, JSON.stringify(report.divergences, null, 2)).toEqual([]);
  }, TIME_MS + 60_000);
});
