// URIs without a port (docs/behaviour.md §5 connect item 4; client.lua: `port = ssl and 443 or 80`):
// ws:// goes to 80 and wss:// to 443 (v0.10, 697acc0; before, wss:// went to 80 too), and the Host
// header still names the port (§5 item 10: "the port always written, 80 and 443 included"). The
// runner listens on 127.0.0.1:80 / :443 and forwards to the scenario's server; where the port cannot
// be bound (in use, or no permission) every direction is skipped with that reason.
import assert from 'node:assert/strict';
import type { Scenario } from '../types.js';
import { expectFrame, nth, recv, text } from './steps.js';

/** The Host line of the request head the server recorded. */
function hostOf(head: unknown): string | undefined {
  const text = Buffer.isBuffer(head) ? head.toString('latin1') : '';
  return text.split('\r\n').find((l) => /^host:/i.test(l));
}

export const defaultPortScenarios: Scenario[] = [
  {
    id: 'port-01-ws-default-80', title: 'ws://127.0.0.1/path without a port connects to 80 and sends Host: 127.0.0.1:80',
    defaultPort: true,
    server: { steps: [{ op: 'request_head' }, recv, text('on 80')] },
    client: { steps: [text('hello'), recv] },
    check: (r) => {
      assert.equal(nth(r.client, 'connect').ret[0], 1, `connect: ${JSON.stringify(nth(r.client, 'connect').ret.map(String))}`);
      assert.equal(hostOf(nth(r.server, 'request_head').ret[0]), 'Host: 127.0.0.1:80');
      expectFrame(nth(r.server, 'recv_frame'), 'hello', 'text', null);
      expectFrame(nth(r.client, 'recv_frame'), 'on 80', 'text', null);
    },
  },
  {
    id: 'port-02-wss-default-443', title: 'wss://127.0.0.1/path without a port connects to 443 and sends Host: 127.0.0.1:443',
    needs: { version: '0.10', what: 'wss:// without a port goes to 443, not 80 (697acc0)' },
    tls: true,
    defaultPort: true,
    server: { steps: [{ op: 'request_head' }, recv, text('on 443')] },
    client: { steps: [text('hello'), recv] },
    check: (r) => {
      assert.equal(nth(r.client, 'connect').ret[0], 1, `connect: ${JSON.stringify(nth(r.client, 'connect').ret.map(String))}`);
      assert.equal(hostOf(nth(r.server, 'request_head').ret[0]), 'Host: 127.0.0.1:443');
      expectFrame(nth(r.server, 'recv_frame'), 'hello', 'text', null);
      expectFrame(nth(r.client, 'recv_frame'), 'on 443', 'text', null);
    },
  },
];
