// Behaviour the spec documents beyond the upstream tests: fragmentation, large payloads, close
// handshakes, the closed/fatal state rules and the server's missing closed state.
import assert from 'node:assert/strict';
import type { Scenario } from '../types.js';
import { close, closeSock, cont, expectErr, expectFrame, expectSent, fill, frame, keepalive, nth, ping, recv, sleep, text } from './steps.js';

const MIB = 1 << 20;

export const behaviourScenarios: Scenario[] = [
  {
    id: 'frag-01-three-fragments', title: 'a text message in three fragments arrives as text/again, continuation/again, continuation',
    server: { steps: [recv, recv, recv] },
    client: { steps: [frame(false, 0x1, 'hel'), frame(false, 0x0, 'lo '), frame(true, 0x0, 'world')] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame', 0), 'hel', 'text', 'again');
      expectFrame(nth(r.server, 'recv_frame', 1), 'lo ', 'continuation', 'again');
      expectFrame(nth(r.server, 'recv_frame', 2), 'world', 'continuation', null);
    },
  },
  {
    id: 'frag-02-ping-between', title: 'a ping between two fragments is returned in order',
    server: { steps: [recv, recv, recv] },
    client: { steps: [frame(false, 0x2, 'a'), ping('mid'), frame(true, 0x0, 'b')] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame', 1), 'mid', 'ping', null);
      expectFrame(nth(r.server, 'recv_frame', 2), 'b', 'continuation', null);
    },
  },
  {
    id: 'frag-03-server-sends-fragments', title: 'the server sends a fragmented message with send_frame and a final send_continue',
    needs: { version: '0.12', what: 'server send_continue (9641665)' },
    server: { steps: [frame(false, 0x1, 'part one, '), cont('part two')] },
    client: { steps: [recv, recv] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame', 0), 'part one, ', 'text', 'again');
      expectFrame(nth(r.client, 'recv_frame', 1), 'part two', 'continuation', null);
    },
  },
  {
    id: 'large-01-1mib-both-ways', title: '1 MiB each way with max_payload_len 1 MiB',
    server: { opts: { max_payload_len: MIB }, steps: [recv, { op: 'send_binary', payload: fill(MIB, 'z') }] },
    client: { newOpts: { max_payload_len: MIB }, steps: [{ op: 'send_binary', payload: fill(MIB, 'y') }, recv] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame'), MIB, 'binary', null);
      expectFrame(nth(r.client, 'recv_frame'), MIB, 'binary', null);
    },
  },
  {
    id: 'close-01-handshake', title: 'close handshake: the client closes with 1000, the server echoes it',
    server: { steps: [recv, close(1000, 'bye')] },
    client: { steps: [close(1000, 'bye'), recv, closeSock] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame'), 'bye', 'close', 1000);
      expectFrame(nth(r.client, 'recv_frame'), 'bye', 'close', 1000);
      assert.equal(nth(r.client, 'close').ret[0], 1);
    },
  },
  {
    id: 'close-02-server-no-closed-state', title: 'the server can still send data after its close frame (no closed state)',
    server: { steps: [close(1000, 'done'), text('after close')] },
    client: { steps: [recv, recv] },
    check: (r) => {
      expectSent(nth(r.server, 'send_text'));
      expectFrame(nth(r.client, 'recv_frame', 0), 'done', 'close', 1000);
      expectFrame(nth(r.client, 'recv_frame', 1), 'after close', 'text', null);
    },
  },
  {
    id: 'close-03-client-closed-state', title: 'after send_close the client cannot send ("already closed") but can still read',
    server: { steps: [recv, text('still here')] },
    client: { steps: [close(1000), text('x'), recv] },
    check: (r) => {
      expectErr(nth(r.client, 'send_text'), /^already closed$/);
      assert.deepEqual(nth(r.client, 'send_text').state, { fatal: false, closed: true });
      expectFrame(nth(r.client, 'recv_frame'), 'still here', 'text', null);
    },
  },
  {
    id: 'close-04-close-twice', title: 'close() twice: 1, then nil "closed"',
    server: { steps: [recv] },
    client: { steps: [closeSock, closeSock] },
    check: (r) => {
      assert.equal(nth(r.client, 'close').ret[0], 1);
      expectErr(nth(r.client, 'close', 1), /^closed$/);
    },
  },
  {
    id: 'close-05-bad-code-client', title: 'client send_close(0x8000): "bad status code" and no state change',
    server: { steps: [recv] },
    client: { steps: [close(0x8000), text('still open')] },
    check: (r) => {
      expectErr(nth(r.client, 'send_close'), /^bad status code$/);
      assert.deepEqual(nth(r.client, 'send_close').state, { fatal: false, closed: false });
      expectFrame(nth(r.server, 'recv_frame'), 'still open', 'text', null);
    },
  },
  {
    id: 'close-06-code-wraps', title: 'send_close(1000.7) sends 1001 and send_close(-1) sends 65535 (LuaJIT bit ops)',
    server: { steps: [recv] },
    client: { steps: [close(1000.7, 'rounded')] },
    check: (r) => expectFrame(nth(r.server, 'recv_frame'), 'rounded', 'close', 1001),
  },
  {
    id: 'fatal-01-argument-error', title: 'an argument error (126-byte ping) is fatal: the next send says so',
    server: { steps: [recv] },
    client: { steps: [ping(fill(126)), text('x'), closeSock] },
    check: (r) => {
      expectErr(nth(r.client, 'send_ping'), /^too much payload for control frame$/);
      expectErr(nth(r.client, 'send_text'), /^fatal error already happened$/);
      expectErr(nth(r.client, 'close'), /^fatal error already happened$/);
    },
  },
  {
    id: 'fatal-02-oversized-close-reason', title: 'an oversized close reason: "too much payload", closed and fatal both set',
    server: { steps: [recv] },
    client: { steps: [close(1000, fill(124)), text('x')] },
    check: (r) => {
      expectErr(nth(r.client, 'send_close'), /^too much payload for control frame$/);
      assert.deepEqual(nth(r.client, 'send_close').state, { fatal: true, closed: true });
      expectErr(nth(r.client, 'send_text'), /^fatal error already happened$/);
    },
  },
  {
    id: 'keepalive-01-send-after', title: 'a send after set_keepalive fails with "closed" and sets fatal',
    server: { steps: [recv, text('echo'), sleep(300)] },
    client: { steps: [text('x'), recv, keepalive(), text('after'), text('again')] },
    check: (r) => {
      assert.equal(nth(r.client, 'set_keepalive').ret[0], 1);
      expectErr(nth(r.client, 'send_text', 1), /^failed to send frame: closed$/);
      expectErr(nth(r.client, 'send_text', 2), /^fatal error already happened$/);
    },
  },
  {
    // ngx_lua says "unread data in buffer" when the bytes sit in the cosocket's buffer (read along
    // with an earlier reply) and "connection in dubious state" when they are still in the kernel.
    id: 'keepalive-02-unread', title: 'set_keepalive with an unread frame fails and pools nothing',
    server: { steps: [sleep(100), text('unread'), recv] },
    client: { steps: [sleep(300), keepalive(), closeSock] },
    check: (r) => expectErr(nth(r.client, 'set_keepalive'), /^(connection in dubious state|unread data in buffer)$/),
  },
  {
    id: 'unknown-opcode-send', title: 'send_frame with opcode 0x3 goes out as is; the peer fails with "reserved non-control frames"',
    server: { steps: [recv] },
    client: { steps: [frame(true, 0x3, 'x')] },
    check: (r) => {
      expectSent(nth(r.client, 'send_frame'), 7);
      expectFrame(nth(r.server, 'recv_frame'), null, null, 'reserved non-control frames');
    },
  },
];
