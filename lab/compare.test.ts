// What the interop comparator normalises in whole heads, and that it compares everything else.
import { describe, expect, it } from 'vitest';
import { compareRecords, normaliseRequestHead, normaliseResponseHead } from './compare.js';
import type { StepRecord } from './peers/lua-api.js';

const res = (s: string): StepRecord => ({ op: 'connect', ret: [1, null, Buffer.from(s, 'latin1')] });
const req = (s: string): StepRecord => ({ op: 'request_head', ret: [Buffer.from(s, 'latin1')] });
const NGINX = 'HTTP/1.1 101 Switching Protocols\r\nServer: nginx/1.22.1\r\nDate: Tue, 01 Dec 2026 21:55:17 GMT\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=';
const OURS = 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

describe('whole-head comparison', () => {
  it('drops Date and Server, and a random key\'s Accept, from the response head; nothing else', () => {
    expect(normaliseResponseHead(NGINX)).toBe('HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: <accept>');
    expect(compareRecords([res(NGINX)], [res(OURS)], '0.12')).toEqual([]);
    // With a chosen key the Accept is compared.
    expect(compareRecords([res(NGINX)], [res(OURS)], '0.12', { chosenKeys: 'all' })).toHaveLength(1);
    // The Accept of a key the program chose is kept; any other is a random key's.
    const chosen = 'dGhlIHNhbXBsZSBub25jZQ==';
    expect(normaliseResponseHead(NGINX, { chosenKeys: [chosen] })).toContain('Sec-WebSocket-Accept: <accept>');
    expect(normaliseResponseHead(OURS, { chosenKeys: [chosen] })).toContain('Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    // A missing or extra header is a difference.
    expect(compareRecords([res(NGINX)], [res(OURS.replace('Upgrade: websocket\r\n', ''))], '0.12')).toHaveLength(1);
    expect(compareRecords([res(NGINX)], [res(`${OURS}\r\nX-Extra: 1`)], '0.12')).toHaveLength(1);
  });

  it('normalises a random key, the free port and the routing id in the request head; nothing else', () => {
    const lua = 'GET /scripted?id=17 HTTP/1.1\r\nUpgrade: websocket\r\nHost: 127.0.0.1:40001\r\nSec-WebSocket-Key: y7KXwBSpVrxtkR0O+bQt+Q==\r\nSec-WebSocket-Version: 13\r\nOrigin: test.com\r\nConnection: Upgrade';
    const ours = 'GET /scripted HTTP/1.1\r\nUpgrade: websocket\r\nHost: 127.0.0.1:35555\r\nSec-WebSocket-Key: 9a0Cw1Z3nY8sFq2Hj6Rk1A==\r\nSec-WebSocket-Version: 13\r\nOrigin: test.com\r\nConnection: Upgrade';
    expect(normaliseRequestHead(ours)).toBe('GET /scripted HTTP/1.1\r\nUpgrade: websocket\r\nHost: 127.0.0.1:<port>\r\nSec-WebSocket-Key: <key>\r\nSec-WebSocket-Version: 13\r\nOrigin: test.com\r\nConnection: Upgrade');
    expect(compareRecords([req(lua)], [req(ours)], '0.12')).toEqual([]);
    // A dropped Origin, a changed Host, or a chosen key that differs: differences.
    expect(compareRecords([req(lua)], [req(ours.replace('\r\nOrigin: test.com', ''))], '0.12')).toHaveLength(1);
    expect(compareRecords([req(lua)], [req(ours.replace('127.0.0.1:35555', 'client.test'))], '0.12')).toHaveLength(1);
    expect(compareRecords([req(lua)], [req(ours)], '0.12', { chosenKeys: 'all' })).toHaveLength(1);
  });

  it('per connect: a key the program chose is compared, a random one in the same session is not', () => {
    const head = (key: string): string => `GET /scripted HTTP/1.1\r\nUpgrade: websocket\r\nHost: 127.0.0.1:1\r\nSec-WebSocket-Key: ${key}\r\nConnection: Upgrade`;
    const o = { chosenKeys: ['Y2hvc2VuIGtleSBoZXJlIQ=='] };
    expect(normaliseRequestHead(head('Y2hvc2VuIGtleSBoZXJlIQ=='), o)).toContain('Sec-WebSocket-Key: Y2hvc2VuIGtleSBoZXJlIQ==');
    expect(normaliseRequestHead(head('y7KXwBSpVrxtkR0O+bQt+Q=='), o)).toBe(normaliseRequestHead(head('9a0Cw1Z3nY8sFq2Hj6Rk1A=='), o));
    expect(normaliseRequestHead(head('y7KXwBSpVrxtkR0O+bQt+Q=='), o)).toContain('Sec-WebSocket-Key: <key>');
  });

  it('compares line ends: a head joined with bare LFs differs from one joined with CRLFs', () => {
    const crlf = 'GET /scripted HTTP/1.1\r\nUpgrade: websocket\r\nX-A: 1\r\nX-B: 2';
    expect(compareRecords([req(crlf)], [req(crlf.replace('1\r\nX-B', '1\nX-B'))], '0.12')).toHaveLength(1);
  });
});
