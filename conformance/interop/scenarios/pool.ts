// The connect options that steer ngx_lua's keepalive pools (docs/behaviour.md §5 connect items 5-7;
// ngx_lua's src/ngx_http_lua_socket_tcp.c): `pool` names the pool a connection is taken from and
// given back to, whatever the URI says; `pool_size` and `backlog` limit the connections a pool
// counts (v0.11, 4d20e30); a pool is freed when closing its last connection brings its count to 0
// (ngx_http_lua_socket_free_pool). A reused connection reaches no new server: the servers' records
// tell a new connection from a reused one on every library version, and v0.12's connect says
// "connection reused" as its third value besides.
//
// Connects run one after another in one client program, so a connect over the limit is always
// refused or times out in its queue: nothing can free a slot while the program waits for it.
import assert from 'node:assert/strict';
import type { StepRecord } from '../../../lab/peers/lua-api.js';
import type { Scenario, ScenarioRecords } from '../types.js';
import { closeSock, expectErr, expectFrame, keepalive, nth, recv, show, sleep, text } from './steps.js';

const POOL_LIMITS = { version: '0.11', what: 'the pool_size and backlog connect options (4d20e30)' } as const;

/** connect's third value as text, or null. */
function third(rec: StepRecord): string | null {
  const v = rec.ret[2];
  return Buffer.isBuffer(v) ? v.toString('latin1') : null;
}

/** The connect succeeded over a connection taken from the pool: no response head as its third value (v0.12 says "connection reused", v0.08 nothing). */
function expectReused(rec: StepRecord): void {
  assert.equal(rec.ret[0], 1, `connect: ${JSON.stringify(show(rec.ret))}`);
  assert.ok(third(rec) === 'connection reused' || third(rec) === null, `connect over a pooled connection: ${JSON.stringify(show(rec.ret))}`);
}

/** The connect succeeded over a new connection: v0.12 returns the 101 head (v0.08 nothing). */
function expectNewConnection(rec: StepRecord): void {
  assert.equal(rec.ret[0], 1, `connect: ${JSON.stringify(show(rec.ret))}`);
  assert.notEqual(third(rec), 'connection reused', `connect reused a pooled connection: ${JSON.stringify(show(rec.ret))}`);
}

/** The n-th more server (1-based) got no connection. */
function unreached(r: ScenarioRecords, n: number): void {
  assert.deepEqual(r.more?.[n - 1] ?? [], [], `more server ${n} was reached`);
}

export const poolScenarios: Scenario[] = [
  {
    id: 'pool-01-name-over-uri', title: 'a new client object connecting elsewhere with the same pool name reuses the pooled connection (the name is the key)',
    server: { steps: [recv, text('first'), recv, text('second'), sleep(300)] },
    moreServers: [{ steps: [recv, text('not this one')] }],
    client: {
      connectOpts: { pool: 'named' },
      steps: [text('one'), recv, keepalive(), { op: 'new' }, { op: 'connect', uri: '@1' }, text('two'), recv],
    },
    check: (r) => {
      assert.equal(nth(r.client, 'set_keepalive').ret[0], 1, `set_keepalive: ${JSON.stringify(show(nth(r.client, 'set_keepalive').ret))}`);
      expectReused(nth(r.client, 'connect', 1));
      expectFrame(nth(r.server, 'recv_frame', 1), 'two', 'text', null);
      expectFrame(nth(r.client, 'recv_frame', 1), 'second', 'text', null);
      unreached(r, 1);
    },
  },
  {
    id: 'pool-02-other-name', title: 'after set_keepalive, a connect with another pool name opens a new connection',
    server: { steps: [recv, text('first'), sleep(300)] },
    moreServers: [{ steps: [recv, text('fresh')] }],
    client: {
      connectOpts: { pool: 'one' },
      steps: [text('one'), recv, keepalive(), { op: 'new' }, { op: 'connect', uri: '@1', opts: { pool: 'two' } }, text('two'), recv],
    },
    check: (r) => {
      assert.equal(nth(r.client, 'set_keepalive').ret[0], 1);
      expectNewConnection(nth(r.client, 'connect', 1));
      expectFrame(nth(r.more![0]!, 'recv_frame'), 'two', 'text', null);
      expectFrame(nth(r.client, 'recv_frame', 1), 'fresh', 'text', null);
    },
  },
  {
    id: 'pool-03-after-close', title: 'after close() nothing is pooled: a new object with the same pool name opens a new connection',
    server: { steps: [recv, text('first'), recv] },
    moreServers: [{ steps: [recv, text('fresh')] }],
    client: {
      connectOpts: { pool: 'closed' },
      steps: [text('one'), recv, closeSock, { op: 'new' }, { op: 'connect', uri: '@1' }, text('two'), recv],
    },
    check: (r) => {
      assert.equal(nth(r.client, 'close').ret[0], 1);
      expectNewConnection(nth(r.client, 'connect', 1));
      expectFrame(nth(r.server, 'recv_frame', 1), '', 'close', null);
      expectFrame(nth(r.more![0]!, 'recv_frame'), 'two', 'text', null);
    },
  },
  {
    id: 'pool-04-reconnect-same-object', title: 'connect again on the same object without set_keepalive: the old connection is closed, a new one opened',
    server: { steps: [recv, text('first'), recv] },
    moreServers: [{ steps: [recv, text('fresh')] }],
    client: {
      connectOpts: { pool: 'again' },
      steps: [text('one'), recv, { op: 'connect', uri: '@1' }, text('two'), recv],
    },
    check: (r) => {
      expectNewConnection(nth(r.client, 'connect', 1));
      // the first connection ends without a close frame: the server's next read fails
      expectErr(nth(r.server, 'recv_frame', 1), /^failed to receive the first 2 bytes: closed$/);
      expectFrame(nth(r.client, 'recv_frame', 1), 'fresh', 'text', null);
    },
  },
  {
    id: 'pool-05-full-no-backlog', title: 'pool_size=1, backlog=0: a second connect while the first connection is open is refused at once',
    needs: POOL_LIMITS,
    server: { steps: [recv, text('first'), sleep(300)] },
    moreServers: [{ steps: [recv] }],
    client: {
      connectOpts: { pool: 'full', pool_size: 1, backlog: 0 },
      steps: [text('one'), recv, { op: 'new' }, { op: 'connect', uri: '@1' }],
    },
    check: (r) => {
      expectErr(nth(r.client, 'connect', 1), /^failed to connect: too many waiting connect operations$/);
      unreached(r, 1);
    },
  },
  {
    id: 'pool-06-queued-times-out', title: 'pool_size=1, backlog=1: a second connect waits in the queue and fails with "timeout" after the connect timeout',
    needs: POOL_LIMITS,
    server: { steps: [recv, text('first'), sleep(600)] },
    moreServers: [{ steps: [recv] }],
    client: {
      connectOpts: { pool: 'queue', pool_size: 1, backlog: 1 },
      steps: [text('one'), recv, { op: 'new', opts: { timeout: 200 } }, { op: 'connect', uri: '@1' }],
    },
    check: (r) => {
      expectErr(nth(r.client, 'connect', 1), /^failed to connect: timeout$/);
      unreached(r, 1);
    },
  },
  {
    id: 'pool-07-freed-when-empty', title: 'closing the last connection frees the pool: the next connect makes it anew with its own pool_size',
    needs: POOL_LIMITS,
    // If the pool of size 1 outlived its last connection, the third connect would be over its limit
    // ("too many waiting connect operations"); freed, the second connect made a pool of size 2.
    server: { steps: [recv, text('first'), recv] },
    moreServers: [{ steps: [recv, text('second'), sleep(300)] }, { steps: [recv, text('third')] }],
    client: {
      connectOpts: { pool: 'freed', pool_size: 1, backlog: 0 },
      steps: [
        text('one'), recv, closeSock,
        { op: 'new' }, { op: 'connect', uri: '@1', opts: { pool_size: 2 } }, text('two'), recv,
        { op: 'new' }, { op: 'connect', uri: '@2', opts: { pool_size: 2 } }, text('three'), recv,
      ],
    },
    check: (r) => {
      expectNewConnection(nth(r.client, 'connect', 1));
      expectNewConnection(nth(r.client, 'connect', 2));
      expectFrame(nth(r.client, 'recv_frame', 2), 'third', 'text', null);
      expectFrame(nth(r.more![1]!, 'recv_frame'), 'three', 'text', null);
    },
  },
];
