// t/limits.t (docs/behaviour.md §8): max_send_len and max_recv_len on both sides (v0.12, 801c70e).
import type { Scenario } from '../types.js';
import { expectErr, expectFrame, expectSent, fill, nth, recv, text } from './steps.js';

const needs = { version: '0.12', what: 'max_recv_len / max_send_len (801c70e)' };

export const limitsScenarios: Scenario[] = [
  {
    id: 'limits-01-client-max-send', title: 'client max_send_len=200: 200 bytes go, 201 is "payload too big"', upstream: 'limits.t 1', needs,
    server: { steps: [recv] },
    client: { newOpts: { max_send_len: 200 }, steps: [text(fill(200)), text(fill(201))] },
    check: (r) => {
      expectSent(nth(r.client, 'send_text'));
      expectErr(nth(r.client, 'send_text', 1), /^payload too big$/);
      expectFrame(nth(r.server, 'recv_frame'), 200, 'text', null);
    },
  },
  {
    id: 'limits-02-client-max-recv', title: 'client max_recv_len=200: receiving 201 is "exceeding max payload len"', upstream: 'limits.t 2', needs,
    server: { steps: [text(fill(201))] },
    client: { newOpts: { max_recv_len: 200 }, steps: [recv] },
    check: (r) => expectFrame(nth(r.client, 'recv_frame'), null, null, 'exceeding max payload len'),
  },
  {
    id: 'limits-03-server-max-send', title: 'server max_send_len=200: sending 300 fails, receiving 300 works', upstream: 'limits.t 3', needs,
    server: { opts: { max_send_len: 200 }, steps: [recv, text(fill(300))] },
    client: { steps: [text(fill(300))] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame'), 300, 'text', null);
      expectErr(nth(r.server, 'send_text'), /^payload too big$/);
    },
  },
  {
    id: 'limits-04-server-max-recv', title: 'server max_recv_len=200: sending 400 works, receiving 300 fails', upstream: 'limits.t 4', needs,
    server: { opts: { max_recv_len: 200 }, steps: [text(fill(400)), recv] },
    client: { steps: [recv, text(fill(300))] },
    check: (r) => {
      expectSent(nth(r.server, 'send_text'));
      expectFrame(nth(r.client, 'recv_frame'), 400, 'text', null);
      expectFrame(nth(r.server, 'recv_frame'), null, null, 'exceeding max payload len');
    },
  },
];
