// t/cs.t (docs/behaviour.md §8): a client against a server, each scenario the block's calls in its
// order with its messages, so the expectations are the block's own lines. The request-byte and SNI
// tests (cs.t 19-21, 27, 30-37) are in request-head.ts; cs.t 25 and 26 run against the peer's
// second TLS listener, whose certificate is self-signed and trusted by neither client
// (tls: 'self-signed'). Where a block echoes what it receives, the scripted server sends the
// same bytes back: a script cannot echo, but it knows what the client sends.
import assert from 'node:assert/strict';
import type { Scenario } from '../types.js';
import { binary, close, closeSock, expectErr, expectFrame, keepalive, nth, ping, pong, recv, show, sleep, text, timeout } from './steps.js';

const HELLO = '你好, WebSocket!';

/**
 * connect, send "hello <i>", receive the echo, set_keepalive; repeated on one client object
 * (cs.t 13, 22, 26). The first connect is the scenario's own (the runner puts it first).
 */
function keepaliveLoop(rounds: number): Scenario['client']['steps'] {
  const steps: Scenario['client']['steps'] = [];
  for (let i = 1; i <= rounds; i++) {
    if (i > 1) steps.push({ op: 'connect', uri: '', opts: {} });
    steps.push(text(`hello ${i}`), recv, keepalive());
  }
  return steps;
}

/**
 * "received: hello <i> (text)" for every round, each set_keepalive succeeded, and the server got
 * every round on its one connection (a client that did not reuse it would reach a second request,
 * which the script does not serve). With `reused`, connect's third value is "connection reused"
 * after the first round and something else on the first ("new connection", cs.t 13).
 */
function checkKeepaliveLoop(rounds: number, reused = false): Scenario['check'] {
  return (r) => {
    for (let i = 1; i <= rounds; i++) {
      expectFrame(nth(r.client, 'recv_frame', i - 1), `hello ${i}`, 'text', null);
      assert.equal(nth(r.client, 'set_keepalive', i - 1).ret[0], 1, `set_keepalive ${i}: ${JSON.stringify(show(nth(r.client, 'set_keepalive', i - 1).ret))}`);
      expectFrame(nth(r.server, 'recv_frame', i - 1), `hello ${i}`, 'text', null);
      const connect = nth(r.client, 'connect', i - 1);
      assert.equal(connect.ret[0], 1, `connect ${i}: ${JSON.stringify(show(connect.ret))}`);
      if (!reused) continue;
      const res = connect.ret[2];
      const said = Buffer.isBuffer(res) ? res.toString('latin1') : res;
      if (i === 1) assert.notEqual(said, 'connection reused', 'the first connect reused a connection');
      else assert.equal(said, 'connection reused', `connect ${i}`);
    }
  };
}

/** The server's echo loop for `rounds` rounds, then a while open: a server that closes first makes set_keepalive fail by timing. */
function serverEcho(rounds: number): Scenario['server']['steps'] {
  const steps: Scenario['server']['steps'] = [];
  for (let i = 1; i <= rounds; i++) steps.push(recv, text(`hello ${i}`));
  steps.push(sleep(300));
  return steps;
}

/** cs.t 1, 2, 15: the server sends HELLO, the client answers "copy: HELLO", the server sends that back. */
function roundTrip(send: typeof text): Pick<Scenario, 'server' | 'client' | 'check'> {
  const type = send === text ? 'text' : 'binary';
  return {
    server: { steps: [send(HELLO), recv, send(`copy: ${HELLO}`)] },
    client: { steps: [recv, send(`copy: ${HELLO}`), recv] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), HELLO, type, null);
      expectFrame(nth(r.server, 'recv_frame'), `copy: ${HELLO}`, type, null);
      expectFrame(nth(r.client, 'recv_frame', 1), `copy: ${HELLO}`, type, null);
    },
  };
}

export const csScenarios: Scenario[] = [
  { id: 'cs-01-text', title: 'text round trip: the server sends, the client answers, the server echoes', upstream: 'cs.t 1', ...roundTrip(text) },
  { id: 'cs-02-binary', title: 'binary round trip', upstream: 'cs.t 2', ...roundTrip(binary) },
  {
    id: 'cs-03-close-empty', title: 'close without a body, answered', upstream: 'cs.t 3',
    // The client then reads the server's second close frame, as the block does (its result unchecked).
    server: { steps: [close(), recv, close()] }, client: { steps: [recv, close(), recv] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), '', 'close', null);
      expectFrame(nth(r.server, 'recv_frame'), '', 'close', null);
    },
  },
  {
    id: 'cs-04-close-body', title: 'close with a body, both ways', upstream: 'cs.t 4',
    server: { steps: [close(1001, "client, let's close!"), recv] }, client: { steps: [recv, close(1000, "server, let's close!")] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), "client, let's close!", 'close', 1001);
      expectFrame(nth(r.server, 'recv_frame'), "server, let's close!", 'close', 1000);
    },
  },
  ...([
    ['05', 'ping without a body', ping(), ping(), '', '', 'ping'],
    ['06', 'ping with a body', ping('hey, client?'), ping('hey, server?'), 'hey, client?', 'hey, server?', 'ping'],
    ['07', 'pong without a body', pong(), pong(), '', '', 'pong'],
    ['08', 'pong with a body', pong('halo, client!'), pong('halo, server!'), 'halo, client!', 'halo, server!', 'pong'],
  ] as const).map(([n, title, s, c, toClient, toServer, type]): Scenario => ({
    id: `cs-${n}-${type}`, title, upstream: `cs.t ${Number(n)}`,
    server: { steps: [s, recv] }, client: { steps: [recv, c] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), toClient, type, null);
      expectFrame(nth(r.server, 'recv_frame'), toServer, type, null);
    },
  })),
  {
    id: 'cs-09-client-timeout', title: 'client set_timeout(1): a timeout, then a successful read (non-fatal)', upstream: 'cs.t 9',
    server: { steps: [sleep(200), text(HELLO)] },
    client: { steps: [timeout(1), recv, timeout(1000), recv] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), null, null, 'failed to receive the first 2 bytes: timeout');
      expectFrame(nth(r.client, 'recv_frame', 1), HELLO, 'text', null);
    },
  },
  {
    id: 'cs-10-client-new-timeout', title: 'client new{timeout=100}: a timeout, then a successful read', upstream: 'cs.t 10',
    server: { steps: [sleep(200), text(HELLO)] },
    client: { newOpts: { timeout: 100 }, steps: [recv, timeout(1000), recv] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), null, null, 'failed to receive the first 2 bytes: timeout');
      expectFrame(nth(r.client, 'recv_frame', 1), HELLO, 'text', null);
    },
  },
  {
    id: 'cs-11-server-timeout', title: 'server set_timeout(1): a timeout, then a successful read', upstream: 'cs.t 11',
    server: { steps: [timeout(1), recv, timeout(1000), recv] },
    client: { steps: [sleep(200), text(HELLO)] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame'), null, null, 'failed to receive the first 2 bytes: timeout');
      expectFrame(nth(r.server, 'recv_frame', 1), HELLO, 'text', null);
    },
  },
  {
    id: 'cs-12-server-new-timeout', title: 'server new{timeout=1}: the same', upstream: 'cs.t 12',
    server: { opts: { timeout: 1 }, steps: [recv, timeout(1000), recv] },
    client: { steps: [sleep(200), text(HELLO)] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame'), null, null, 'failed to receive the first 2 bytes: timeout');
      expectFrame(nth(r.server, 'recv_frame', 1), HELLO, 'text', null);
    },
  },
  {
    id: 'cs-13-keepalive-reuse', title: 'one client object, 3 rounds over one kept-alive connection: "new connection", then "connection reused" twice', upstream: 'cs.t 13',
    needs: { version: '0.12', what: '"connection reused" from connect (06c8886)' },
    server: { steps: serverEcho(3) },
    client: { steps: keepaliveLoop(3) },
    check: checkKeepaliveLoop(3, true),
  },
  {
    // The block's other expectation, the debug-log line naming the pool, is nginx's log, not the wire.
    id: 'cs-14-pool-option', title: 'connect with pool="my_conn_pool": one echo round, then set_keepalive', upstream: 'cs.t 14',
    server: { steps: [recv, text('hello websocket'), sleep(300)] },
    client: { connectOpts: { pool: 'my_conn_pool' }, steps: [text('hello websocket'), recv, keepalive()] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), 'hello websocket', 'text', null);
      assert.equal(nth(r.client, 'set_keepalive').ret[0], 1, `set_keepalive: ${JSON.stringify(show(nth(r.client, 'set_keepalive').ret))}`);
    },
  },
  {
    id: 'cs-15-server-send-masked', title: 'server send_masked=true: the client accepts masked frames', upstream: 'cs.t 15',
    server: { opts: { send_masked: true }, steps: roundTrip(text).server.steps },
    client: roundTrip(text).client,
    check: roundTrip(text).check,
  },
  {
    id: 'cs-16-client-send-unmasked', title: 'client send_unmasked=true: the server fails with "frame unmasked"', upstream: 'cs.t 16',
    server: { steps: [text(HELLO), recv, recv] },
    client: { newOpts: { send_unmasked: true }, steps: [recv, text(`copy: ${HELLO}`), recv] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), HELLO, 'text', null);
      expectFrame(nth(r.server, 'recv_frame'), null, null, 'frame unmasked');
      assert.deepEqual(nth(r.server, 'recv_frame').state, { fatal: true, closed: false });
      expectFrame(nth(r.server, 'recv_frame', 1), null, null, 'fatal error already happened');
      // The block accepts either: the answer may still be on its way when the server gives up.
      const sent = nth(r.client, 'send_text');
      if (sent.ret[0] === null) expectErr(sent, /^failed to send frame: broken pipe$/);
      else expectErr(nth(r.client, 'recv_frame', 1), /^failed to receive the first 2 bytes: (closed|connection reset by peer)$/);
    },
  },
  {
    id: 'cs-17-send-close-then-close', title: 'send_close() then close()', upstream: 'cs.t 17',
    server: { steps: [close(), recv] }, client: { steps: [recv, close(), closeSock] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), '', 'close', null);
      assert.equal(nth(r.client, 'close').ret[0], 1);
      expectFrame(nth(r.server, 'recv_frame'), '', 'close', null);
    },
  },
  {
    id: 'cs-18-close-sends-close-frame', title: 'close() alone sends an empty close frame first', upstream: 'cs.t 18',
    server: { steps: [close(), recv] }, client: { steps: [recv, closeSock] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), '', 'close', null);
      assert.equal(nth(r.client, 'close').ret[0], 1);
      expectFrame(nth(r.server, 'recv_frame'), '', 'close', null);
    },
  },
  {
    id: 'cs-22-wss-keepalive', title: 'wss with keepalive, 3 rounds', upstream: 'cs.t 22', tls: true,
    server: { steps: serverEcho(3) },
    client: { connectOpts: { ssl_verify: false }, steps: keepaliveLoop(3) },
    check: checkKeepaliveLoop(3),
  },
  {
    id: 'cs-23-wss-close', title: 'wss without keepalive, then close()', upstream: 'cs.t 23', tls: true,
    server: { steps: [recv, text('hello'), recv] },
    client: { steps: [text('hello'), recv, closeSock] },
    check: (r) => {
      expectFrame(nth(r.client, 'recv_frame'), 'hello', 'text', null);
      assert.equal(nth(r.client, 'close').ret[0], 1);
      expectFrame(nth(r.server, 'recv_frame', 1), '', 'close', null);
    },
  },
  {
    id: 'cs-24-wss-verify', title: 'wss with ssl_verify=true, a trusted CA and server_name test.com', upstream: 'cs.t 24', tls: true,
    needs: { version: '0.10', what: 'the server_name option (9e907f9)' },
    // The block resolves test.com with a mock DNS server; the name to verify is the same here,
    // given as server_name with the peer's address in the URI.
    server: { steps: [recv, text('hello')] },
    client: { connectOpts: { ssl_verify: true, server_name: 'test.com' }, steps: [text('hello'), recv, closeSock] },
    check: (r) => {
      assert.equal(nth(r.client, 'connect').ret[0], 1, `connect: ${String(nth(r.client, 'connect').ret[1])}`);
      expectFrame(nth(r.server, 'recv_frame'), 'hello', 'text', null);
      expectFrame(nth(r.client, 'recv_frame'), 'hello', 'text', null);
      assert.equal(nth(r.client, 'close').ret[0], 1);
    },
  },
  {
    id: 'tls-01-verify-ip-literal', title: 'ssl_verify=true to an IP-literal URI: the name check fails ("certificate host mismatch")', tls: true,
    server: { steps: [recv] },
    client: { connectOpts: { ssl_verify: true }, steps: [text('x')] },
    check: (r) => {
      expectErr(nth(r.client, 'connect'), /^ssl handshake failed: certificate host mismatch$/);
      expectErr(nth(r.client, 'send_text'), /^failed to send frame: closed$/);
    },
  },
  {
    id: 'cs-25-self-signed', title: 'ssl_verify=true against a self-signed certificate: "18: self-signed certificate", then "closed"', upstream: 'cs.t 25',
    tls: 'self-signed',
    server: { steps: [recv] },
    client: { connectOpts: { ssl_verify: true }, steps: [text('never sent')] },
    check: (r) => {
      // OpenSSL's chain check fails before ngx_lua checks the name: the SNI "127.0.0.1" would also
      // fail that one ("certificate host mismatch", tls-01), so the order is observed too.
      expectErr(nth(r.client, 'connect'), /^ssl handshake failed: 18: self-signed certificate$/);
      expectErr(nth(r.client, 'send_text'), /^failed to send frame: closed$/);
      assert.deepEqual(nth(r.client, 'send_text').state, { fatal: true, closed: false });
      assert.deepEqual(r.server, [], 'the server got no request');
    },
  },
  {
    id: 'cs-26-self-signed-no-verify', title: 'the same self-signed listener without ssl_verify: 3 rounds over one kept-alive connection', upstream: 'cs.t 26',
    tls: 'self-signed',
    server: { steps: serverEcho(3) },
    client: { connectOpts: { ssl_verify: false }, steps: keepaliveLoop(3) },
    check: checkKeepaliveLoop(3),
  },
  {
    id: 'cs-28-bad-close-code', title: 'server send_close(0xf000): "bad status code", nothing sent', upstream: 'cs.t 28',
    needs: { version: '0.09', what: 'server send_close returns "bad status code" (b341b7d)' },
    server: { steps: [close(0xf000, "client, let's close!"), sleep(50)] },
    client: { steps: [recv] },
    check: (r) => {
      expectErr(nth(r.server, 'send_close'), /^bad status code$/);
      assert.deepEqual(nth(r.server, 'send_close').state, { fatal: false, closed: false });
      expectErr(nth(r.client, 'recv_frame'), /^failed to receive the first 2 bytes: (closed|connection reset by peer)$/);
    },
  },
  {
    id: 'cs-29-mutual-tls', title: 'mutual TLS with client_cert and client_priv_key', upstream: 'cs.t 29', tls: true, clientCert: true,
    needs: { version: '0.10', what: 'client_cert / client_priv_key (9e907f9)' },
    server: { steps: [recv, text('hello')] },
    client: { steps: [text('hello'), recv, closeSock] },
    check: (r) => {
      expectFrame(nth(r.server, 'recv_frame'), 'hello', 'text', null);
      expectFrame(nth(r.client, 'recv_frame'), 'hello', 'text', null);
      assert.equal(nth(r.client, 'close').ret[0], 1);
    },
  },
  {
    // The block's server also sets X-My-Custom-Header before new(); neither scripted server can add
    // a response header (our server has no API for one), so the header's presence is not checked.
    id: 'cs-38-connect-response', title: "connect's third value is the raw 101 response header", upstream: 'cs.t 38',
    needs: { version: '0.12', what: "connect's third return value (06c8886)" },
    server: { steps: [recv] }, client: { steps: [close()] },
    check: (r) => {
      const res = nth(r.client, 'connect').ret[2];
      assert.ok(Buffer.isBuffer(res) && /^HTTP\/1\.1 101 Switching Protocols\r\n/.test(res.toString()), `res: ${String(res)}`);
    },
  },
  {
    id: 'cs-39-reuse-new-object', title: 'the first response string, then "connection reused" for a new client object after set_keepalive', upstream: 'cs.t 39',
    needs: { version: '0.12', what: '"connection reused" from connect (06c8886)' },
    server: { steps: [recv, text('first connection'), recv, text('reused connection'), sleep(300)] },
    client: {
      steps: [text('first connection'), recv, keepalive(), { op: 'new' }, { op: 'connect', uri: '', opts: {} }, text('reused connection'), recv],
    },
    check: (r) => {
      const first = nth(r.client, 'connect').ret[2];
      assert.ok(Buffer.isBuffer(first) && /^HTTP\/1\.1 101 Switching Protocols\r\n/.test(first.toString('latin1')), `first res: ${JSON.stringify(show([first ?? null]))}`);
      expectFrame(nth(r.client, 'recv_frame'), 'first connection', 'text', null);
      assert.equal(nth(r.client, 'set_keepalive').ret[0], 1);
      const reused = nth(r.client, 'connect', 1).ret[2];
      assert.equal(Buffer.isBuffer(reused) ? reused.toString() : reused, 'connection reused');
      expectFrame(nth(r.client, 'recv_frame', 1), 'reused connection', 'text', null);
    },
  },
];

