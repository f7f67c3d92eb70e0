// t/sanity.t (docs/behaviour.md §8): the server receives frames of every kind and size from a client.
import assert from 'node:assert/strict';
import type { Scenario } from '../types.js';
import { binary, close, expectFrame, expectResponseHeaders, fill, frame, nth, ping, pong, recv, show, text } from './steps.js';

const big = (n: number) => ({ newOpts: { max_payload_len: n } });

export const sanityScenarios: Scenario[] = [
  {
    id: 'sanity-01-handshake', title: 'simple handshake with a subprotocol', upstream: 'sanity.t 1',
    server: { steps: [recv] },
    client: { connectOpts: { protocols: 'chat' }, steps: [close()] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), '', 'close', null),
  },
  {
    // The block's expectation is the 101 response: sent with the block's key, it carries the block's
    // Accept. The client sees the response through connect's third value (v0.12).
    id: 'sanity-01-response-headers', title: 'the 101 response to key x3JJHMbDL1EzLkh9GBhXDw== with protocol chat: Accept HSmrc0sMlYUkAGmm5OPpG2HaGWk=, no Content-Type', upstream: 'sanity.t 1',
    needs: { version: '0.12', what: "the key connect option (314e725) and connect's third return value (06c8886)" },
    server: { steps: [] },
    client: { connectOpts: { key: 'x3JJHMbDL1EzLkh9GBhXDw==', protocols: 'chat', origin: 'http://example.com' }, steps: [] },
    check: (r) => {
      const connect = nth(r.client, 'connect');
      assert.equal(connect.ret[0], 1, `connect: ${JSON.stringify(show(connect.ret))}`);
      const res = connect.ret[2];
      assert.ok(Buffer.isBuffer(res), 'connect returned no response header');
      expectResponseHeaders(res.toString('latin1'), { Upgrade: 'websocket', Connection: 'upgrade', 'Sec-WebSocket-Accept': 'HSmrc0sMlYUkAGmm5OPpG2HaGWk=', 'Sec-WebSocket-Protocol': 'chat' }, ['Content-Type']);
    },
  },
  ...([
    ['02', 'text, 3 bytes', 'foo'],
    ['03', 'text, 0 bytes', ''],
    ['04', 'text, 125 bytes (7-bit length)', 'a'.repeat(124) + 'b'],
    ['05', 'text, 126 bytes (16-bit length)', 'a'.repeat(125) + 'b'],
    ['06', 'text, 127 bytes', 'a'.repeat(126) + 'b'],
  ] as const).map(([n, title, payload]): Scenario => ({
    id: `sanity-${n}-text`, title, upstream: `sanity.t ${Number(n)}`,
    server: { steps: [recv] },
    client: { steps: [text(payload)] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), payload, 'text', null),
  })),
  {
    id: 'sanity-07-text-65535', title: 'text, 65535 bytes with the default max', upstream: 'sanity.t 7',
    server: { steps: [recv] }, client: { steps: [text(fill(65535))] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 65535, 'text', null),
  },
  {
    id: 'sanity-08-text-65536', title: 'text, 65536 bytes (64-bit length) with max_payload_len 65536', upstream: 'sanity.t 8',
    server: { opts: { max_payload_len: 65536 }, steps: [recv] }, client: { ...big(65536), steps: [text(fill(65536))] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 65536, 'text', null),
  },
  {
    id: 'sanity-09-text-1mib', title: 'text, 1 MiB + 1 with max 1048577', upstream: 'sanity.t 9',
    server: { opts: { max_payload_len: 1048577 }, steps: [recv] }, client: { ...big(1048577), steps: [text(fill(1048577))] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 1048577, 'text', null),
  },
  {
    id: 'sanity-10-binary', title: 'binary, 3 bytes', upstream: 'sanity.t 10',
    server: { steps: [recv] }, client: { steps: [binary('foo')] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 'foo', 'binary', null),
  },
  {
    id: 'sanity-11-close-body', title: 'close with code 1000 and a reason', upstream: 'sanity.t 11',
    server: { steps: [recv] }, client: { steps: [close(1000, 'yes, closed')] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 'yes, closed', 'close', 1000),
  },
  {
    id: 'sanity-12-close-code', title: 'close with a code only', upstream: 'sanity.t 12',
    server: { steps: [recv] }, client: { steps: [close(1002)] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), '', 'close', 1002),
  },
  {
    id: 'sanity-13-close-empty', title: 'close without a payload', upstream: 'sanity.t 13',
    server: { steps: [recv] }, client: { steps: [close()] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), '', 'close', null),
  },
  {
    id: 'sanity-14-ping-empty', title: 'empty ping', upstream: 'sanity.t 14',
    server: { steps: [recv] }, client: { steps: [ping()] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), '', 'ping', null),
  },
  {
    id: 'sanity-15-ping-utf8', title: 'ping with a UTF-8 payload', upstream: 'sanity.t 15',
    server: { steps: [recv] }, client: { steps: [ping('are you there? 你好')] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 'are you there? 你好', 'ping', null),
  },
  {
    id: 'sanity-16-pong-utf8', title: 'pong with a UTF-8 payload', upstream: 'sanity.t 16',
    server: { steps: [recv] }, client: { steps: [pong('are you there? 你好')] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 'are you there? 你好', 'pong', null),
  },
  {
    id: 'sanity-17-exceeding', title: '65536 bytes with the default max: exceeding', upstream: 'sanity.t 17',
    server: { steps: [recv, recv] }, client: { ...big(65536), steps: [text(fill(65536))] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame'), null, null, 'exceeding max payload len');
      expectFrame(nth(r.server, 'recv_frame', 1), null, null, 'fatal error already happened');
    },
  },
  {
    id: 'sanity-18-text-fin0', title: 'text with FIN cleared: "again"', upstream: 'sanity.t 18',
    server: { steps: [recv] }, client: { steps: [frame(false, 0x1, 'foo')] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 'foo', 'text', 'again'),
  },
  {
    id: 'sanity-19-continuation-fin1', title: 'a lone final continuation frame is accepted', upstream: 'sanity.t 19',
    server: { steps: [recv] }, client: { steps: [frame(true, 0x0, 'foo')] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 'foo', 'continuation', null),
  },
  {
    id: 'sanity-20-continuation-fin0', title: 'a lone non-final continuation frame is accepted', upstream: 'sanity.t 20',
    server: { steps: [recv] }, client: { steps: [frame(false, 0x0, 'foo')] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 'foo', 'continuation', 'again'),
  },
];
