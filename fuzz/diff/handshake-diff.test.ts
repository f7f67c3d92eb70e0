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

  it('the HTTP-edge rows: nginx\'s refusals, value whitespace, get_headers()\'s 100 lines and the escaped protocol, same as ours', async () => {
    const head = 'GET /diff-handshake HTTP/1.1';
    const fill = (n: number, f: (i: number) => string): string[] => Array.from({ length: n }, (_, i) => f(i));
    const rows: Array<[string, Buffer, unknown]> = [
      ['10k a: lines', request([head, ...ws, ...fill(10_000, () => 'a:')]), { kind: 'nginx', status: 400 }],
      ['1000 X-H-i lines', request([head, ...ws, ...fill(1000, (i) => `X-H-${i}: v`)]), { kind: 'nginx', status: 400 }],
      ['9000-byte line', request([head, ...ws, 'X: ' + 'a'.repeat(8997)]), { kind: 'nginx', status: 400 }],
      ['head over 33 KiB', request([head, ...ws, ...fill(40, () => 'X-Big: ' + 'b'.repeat(900))]), { kind: 'nginx', status: 400 }],
      ['Content-Length over 1m', request([head, ...ws, 'Content-Length: 1000000000000']), { kind: 'nginx', status: 413 }],
      ['space in a name', request([head, ...ws, 'X Y: 1']), { kind: 'nginx', status: 400 }],
      ['obs-fold', request([head, ...ws, ' folded']), { kind: 'nginx', status: 400 }],
      ['Host 127..0.1', request([head, 'Host: 127..0.1', ...ws.slice(1)]), { kind: 'nginx', status: 400 }],
      ['tab before a value is kept', request([head, ws[0]!, 'Upgrade:\twebsocket', ...ws.slice(2)]), { kind: 'err', err: 'bad "upgrade" request header: \twebsocket' }],
      ['Upgrade as the 101st line is not seen', request([head, ...fill(99, (i) => `X-${i}: 1`), ...ws]), { kind: 'err', err: 'bad "upgrade" request header: nil' }],
      ['protocol "\\f" comes back escaped', request([head, ...ws, 'Sec-WebSocket-Protocol:\f']), { kind: 'ok', accept: 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=', protocol: '%0C' }],
      ['Expect: 100-continue', request([head, ...ws, 'Expect: 100-continue', 'Content-Length: 2']), { kind: 'nginx', status: 100 }],
    ];
    for (const [name, r, want] of rows) {
      expect(await probeHandshake(port, r, 2500), name).toEqual(want);
      expect(oursHandshake(r), name).toEqual(want);
    }
  }, 60_000);

  it(`a ${TIME_MS / 1000}s generated run finds no divergence`, async () => {
    const report = await runHandshakeDiff({ port, timeMs: TIME_MS, findingsDir: `${process.env.TMPDIR ?? '/tmp'}/wslab-handshake-diff-test` });
    expect(report.cases).toBeGreaterThan(100);
    expect(report.outcomes.ok ?? 0).toBeGreaterThan(0);
    expect(report.divergences, JSON.stringify(report.divergences, null, 2)).toEqual([]);
  }, TIME_MS + 60_000);
});
