// The upstream tests that look at the bytes a client puts on the wire (t/cs.t 19-21, 27, 30-37,
// t/sanity.t 21): the scripted server (ours and fixtures/lua/wslab/scripted_server.lua) records
// the request head as it arrived (`request_head`) and the SNI (`tls_info`), so each assertion runs
// in four directions, and the comparator compares the whole request head of ours with the Lua
// client's (only a random key, the free port and the run's routing id normalised).
import assert from 'node:assert/strict';
import { acceptFor } from 'resty-websocket';
import type { StepRecord } from '../../../lab/peers/lua-api.js';
import type { Scenario } from '../types.js';
import { expectFrame, expectResponseHeaders, nth, recv, text } from './steps.js';

const head: Scenario['server']['steps'][number] = { op: 'request_head' };
const sni: Scenario['server']['steps'][number] = { op: 'tls_info' };

function str(r: StepRecord): string | null {
  const v = r.ret[0];
  return Buffer.isBuffer(v) ? v.toString('latin1') : null;
}

/** The request head's lines, request line first. */
function lines(r: { server: StepRecord[] }): string[] {
  const h = str(nth(r.server, 'request_head'));
  assert.ok(h !== null, 'the server recorded no request head');
  return h.split('\r\n');
}

/** The original's request (docs/behaviour.md §5 connect step 10), line by line, with the optional lines given. */
function expectRequest(ls: string[], o: { host?: RegExp; protocol?: string; origin?: string; key?: string | RegExp; extra?: string[] } = {}): void {
  assert.match(ls[0]!, /^GET \/scripted(\?id=\d+)? HTTP\/1\.1$/);
  const want: Array<string | RegExp> = [
    'Upgrade: websocket',
    new RegExp(`^Host: ${(o.host ?? /127\.0\.0\.1:\d+/).source}$`),
    typeof o.key === 'string' ? `Sec-WebSocket-Key: ${o.key}` : new RegExp(`^Sec-WebSocket-Key: ${(o.key ?? /[A-Za-z0-9+/]{22}==/).source}$`),
    ...(o.protocol !== undefined ? [`Sec-WebSocket-Protocol: ${o.protocol}`] : []),
    'Sec-WebSocket-Version: 13',
    ...(o.origin !== undefined ? [`Origin: ${o.origin}`] : []),
    'Connection: Upgrade',
    ...(o.extra ?? []),
  ];
  assert.equal(ls.length - 1, want.length, `request lines: ${JSON.stringify(ls)}`);
  want.forEach((w, i) => (typeof w === 'string' ? assert.equal(ls[i + 1], w) : assert.match(ls[i + 1]!, w)));
}

/** The echo that proves the connection works after the handshake. */
const serverSteps = (...first: Scenario['server']['steps']): Scenario['server']['steps'] => [...first, recv];
const clientSteps: Scenario['client']['steps'] = [text('after the handshake')];
const echoed = (r: { server: StepRecord[] }): void => expectFrame(nth(r.server, 'recv_frame'), 'after the handshake', 'text', null);

const CS27_HEADERS = ['a-header: a header value', 'another-header: another header value', 'yet-another-header: yet another header value'];

const V012_HOST = { version: '0.12', what: 'the host connect option (0f304cc)' };

export const requestHeadScenarios: Scenario[] = [
  {
    id: 'cs-19-request-bytes', title: 'the request bytes with protocols="json": line order, no other headers', upstream: 'cs.t 19',
    server: { steps: serverSteps(head) }, client: { connectOpts: { protocols: 'json' }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { protocol: 'json' });
      echoed(r);
    },
  },
  {
    id: 'cs-20-protocols-table', title: 'protocols={"xml","json"} is sent as "xml,json"', upstream: 'cs.t 20',
    server: { steps: serverSteps(head) }, client: { connectOpts: { protocols: ['xml', 'json'] }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { protocol: 'xml,json' });
      echoed(r);
    },
  },
  {
    id: 'cs-21-origin', title: 'origin="test.com": the Origin line comes after the Version line', upstream: 'cs.t 21',
    server: { steps: serverSteps(head) }, client: { connectOpts: { origin: 'test.com' }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { origin: 'test.com' });
      echoed(r);
    },
  },
  {
    id: 'cs-27-custom-headers', title: 'a custom headers array reaches the server, verbatim and last', upstream: 'cs.t 27',
    server: { steps: serverSteps(head) },
    client: { connectOpts: { headers: CS27_HEADERS }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { extra: CS27_HEADERS });
      echoed(r);
    },
  },
  {
    id: 'cs-30-default-host', title: 'the default Host is 127.0.0.1:<port>, the port always included', upstream: 'cs.t 30',
    server: { steps: serverSteps(head) }, client: { steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r));
      echoed(r);
    },
  },
  {
    id: 'cs-31-custom-host', title: 'host="client.test" is the Host header', upstream: 'cs.t 31', needs: V012_HOST,
    server: { steps: serverSteps(head) }, client: { connectOpts: { host: 'client.test' }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { host: /client\.test/ });
      echoed(r);
    },
  },
  {
    id: 'cs-32-custom-host-port', title: 'host="client.test:8080" is sent verbatim', upstream: 'cs.t 32', needs: V012_HOST,
    server: { steps: serverSteps(head) }, client: { connectOpts: { host: 'client.test:8080' }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { host: /client\.test:8080/ });
      echoed(r);
    },
  },
  {
    id: 'cs-33-wss-host-sni', title: 'wss with host="test.com": Host and SNI are both test.com', upstream: 'cs.t 33', tls: true, needs: V012_HOST,
    server: { steps: serverSteps(head, sni) }, client: { connectOpts: { host: 'test.com', ssl_verify: false }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { host: /test\.com/ });
      assert.equal(str(nth(r.server, 'tls_info')), 'test.com');
      echoed(r);
    },
  },
  {
    id: 'cs-34-wss-host-port-sni', title: 'wss with host="test.com:8443": the SNI is "test.com:8443", port and all', upstream: 'cs.t 34', tls: true, needs: V012_HOST,
    server: { steps: serverSteps(head, sni) }, client: { connectOpts: { host: 'test.com:8443', ssl_verify: false }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { host: /test\.com:8443/ });
      assert.equal(str(nth(r.server, 'tls_info')), 'test.com:8443');
      echoed(r);
    },
  },
  {
    id: 'cs-35-server-name', title: 'server_name="test.com": SNI test.com, Host 127.0.0.1:<port>', upstream: 'cs.t 35', tls: true,
    needs: { version: '0.10', what: 'the server_name option (9e907f9)' },
    server: { steps: serverSteps(head, sni) }, client: { connectOpts: { server_name: 'test.com', ssl_verify: false }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r));
      assert.equal(str(nth(r.server, 'tls_info')), 'test.com');
      echoed(r);
    },
  },
  {
    id: 'cs-36-host-and-server-name', title: 'host="client.test" and server_name="test.com": Host client.test, SNI test.com', upstream: 'cs.t 36', tls: true, needs: V012_HOST,
    server: { steps: serverSteps(head, sni) }, client: { connectOpts: { host: 'client.test', server_name: 'test.com', ssl_verify: false }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { host: /client\.test/ });
      assert.equal(str(nth(r.server, 'tls_info')), 'test.com');
      echoed(r);
    },
  },
  {
    id: 'cs-37-custom-key', title: 'key="y7KXwBSpVrxtkR0O+bQt+Q==" is the Sec-WebSocket-Key the server sees', upstream: 'cs.t 37',
    needs: { version: '0.12', what: 'the key connect option (314e725)' },
    server: { steps: serverSteps(head) }, client: { connectOpts: { key: 'y7KXwBSpVrxtkR0O+bQt+Q==' }, steps: clientSteps },
    check: (r) => {
      expectRequest(lines(r), { key: 'y7KXwBSpVrxtkR0O+bQt+Q==' });
      const res = nth(r.client, 'connect').ret[2];
      assert.ok(Buffer.isBuffer(res), 'connect returned no response header');
      assert.match(res.toString('latin1'), new RegExp(`\\r\\nSec-WebSocket-Accept: ${acceptFor('y7KXwBSpVrxtkR0O+bQt+Q==').replace(/[+/]/g, '\\$&')}(\\r\\n|$)`));
      echoed(r);
    },
  },
  {
    // The block's request has "Connection: keep-alive, Upgrade"; a client always sends its own
    // "Connection: Upgrade", so that line is the one part of Firefox's request not reproduced.
    id: 'sanity-21-firefox-handshake', title: "Firefox 22's handshake: key 05EiFj8mhoZ5F/oFE3Tyeg==, protocol chat, Origin null (Accept tBNO4O+F4DrQyajB62pvtRNU8LM=)", upstream: 'sanity.t 21',
    needs: { version: '0.12', what: 'the key connect option (314e725), to send Firefox 22\'s key' },
    server: { steps: serverSteps(head) },
    client: {
      connectOpts: { key: '05EiFj8mhoZ5F/oFE3Tyeg==', protocols: 'chat', origin: 'null', headers: ['Cache-Control: no-cache', 'Pragma: no-cache'] },
      steps: clientSteps,
    },
    check: (r) => {
      expectRequest(lines(r), { key: '05EiFj8mhoZ5F/oFE3Tyeg==', protocol: 'chat', origin: 'null', extra: ['Cache-Control: no-cache', 'Pragma: no-cache'] });
      const res = nth(r.client, 'connect').ret[2];
      assert.ok(Buffer.isBuffer(res), 'connect returned no response header');
      expectResponseHeaders(res.toString('latin1'), { Upgrade: 'websocket', Connection: 'upgrade', 'Sec-WebSocket-Accept': 'tBNO4O+F4DrQyajB62pvtRNU8LM=', 'Sec-WebSocket-Protocol': 'chat' });
      echoed(r);
    },
  },
];
