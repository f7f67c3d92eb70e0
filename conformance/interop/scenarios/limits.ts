// t/limits.t (docs/behaviour.md §8): max_send_len and max_recv_len on both sides (v0.12, 801c70e).
import type { Scenario } from '../types.js';
import { expectErr, expectFrame, expectSent, fill, nth, recv, text } from './steps.js';

const needs = { version: '0.12', what: 'max_recv_len / max_send_len (801c70e)' };

/** The blocks' frames are runs of "1". */
const ones = (n: number) => fill(n, '1');

export const limitsScenarios: Scenario[] = [
  {
    id: 'limits-01-client-max-send', title: 'client max_send_len=200: 200 bytes go and come back, 201 is "payload too big"', upstream: 'limits.t 1', needs,
    server: { steps: [recv, text(ones(200))] },
    client: { newOpts: { max_send_len: 200 }, steps: [text(ones(200)), recv, text(ones(201))] },
    check: (r) => {
      expectSent(nth(r.client, 'send_text'));
      expectFrame(nth(r.server, 'recv_frame'), 200, 'text', null);
      expectSent(nth(r.server, 'send_text'));
      expectFrame(nth(r.client, 'recv_frame'), 200, 'text', null);
      expectErr(nth(r.client, 'send_text', 1), /^payload too big$/);
    },
  },
  {
    id: 'limits-02-client-max-recv', title: 'client max_recv_len=200: 200 comes back, 201 sent and echoed is "exceeding max payload len"', upstream: 'limits.t 2', needs,
    server: { steps: [recv, text(ones(200)), recv, text(ones(201))] },
    client: { newOpts: { max_recv_len: 200 }, steps: [text(ones(200)), recv, text(ones(201)), recv] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), 200, 'text', null);
      expectSent(nth(r.client, 'send_text', 1));
      expectFrame(nth(r.server, 'recv_frame', 1), 201, 'text', null);
      expectSent(nth(r.server, 'send_text', 1));
      expectFrame(nth(r.client, 'recv_frame', 1), null, null, 'exceeding max payload len');
    },
  },
  {
    id: 'limits-03-server-max-send', title: 'server max_send_len=200: sending 200 works, receiving 300 works, sending it back is "payload too big"', upstream: 'limits.t 3', needs,
    server: { opts: { max_send_len: 200 }, steps: [text(ones(200)), recv, text(ones(300))] },
    client: { steps: [recv, text(ones(300))] },
    check: (r) => {
      expectSent(nth(r.server, 'send_text'));
      expectFrame(nth(r.client, 'recv_frame'), 200, 'text', null);
      expectSent(nth(r.client, 'send_text'));
      expectFrame(nth(r.server, 'recv_frame'), 300, 'text', null);
      expectErr(nth(r.server, 'send_text', 1), /^payload too big$/);
    },
  },
  {
    id: 'limits-04-server-max-recv', title: 'server max_recv_len=200: receiving 200 works, sending 400 works, receiving 300 is "exceeding max payload len"', upstream: 'limits.t 4', needs,
    server: { opts: { max_recv_len: 200 }, steps: [recv, text(ones(400)), recv] },
    client: { steps: [text(ones(200)), recv, text(ones(300))] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame'), 200, 'text', null);
      expectSent(nth(r.server, 'send_text'));
      expectFrame(nth(r.client, 'recv_frame'), 400, 'text', null);
      expectSent(nth(r.client, 'send_text', 1));
      expectFrame(nth(r.server, 'recv_frame', 1), null, null, 'exceeding max payload len');
    },
  },
];
