import { describe, expect, it } from 'vitest';
import { buildResponse, checkHandshake, HANDSHAKE_ERRORS, parseRequestHead } from './handshake-server.js';
import { COMPAT, STRICT } from './profile.js';

function request(lines: string[], requestLine = 'GET /ws HTTP/1.1'): string {
  return [requestLine, 'Host: 127.0.0.1', ...lines].join('\r\n');
}
const GOOD = ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==', 'Sec-WebSocket-Version: 13'];

function check(head: string, strict = false) {
  const parsed = parseRequestHead(head);
  if (parsed.req === null) throw new Error(parsed.err);
  return checkHandshake(parsed.req, { checks: strict ? STRICT : COMPAT });
}
const err = (head: string, strict = false) => {
  const r = check(head, strict);
  return r.ok ? null : r.err;
};

describe('server handshake checks (docs/behaviour.md §4 new())', () => {
  it('answers the Accept vectors of the upstream tests', () => {
    const r = check(request(GOOD));
    expect(r.ok && r.response.toString()).toContain('Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n');
    const ff = check(request(['Upgrade: websocket', 'Connection: keep-alive, Upgrade', 'Sec-WebSocket-Key: 05EiFj8mhoZ5F/oFE3Tyeg==', 'Sec-WebSocket-Version: 13']));
    expect(ff.ok && ff.response.toString()).toContain('Sec-WebSocket-Accept: tBNO4O+F4DrQyajB62pvtRNU8LM=\r\n');
  });

  it('writes the 101 headers in the original order and echoes the whole first protocol value', () => {
    const r = check(request([...GOOD, 'Sec-WebSocket-Protocol: chat, superchat', 'Sec-WebSocket-Protocol: other']));
    expect(r.ok && r.response.toString()).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nSec-WebSocket-Protocol: chat, superchat\r\nUpgrade: websocket\r\nSec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=\r\n\r\n',
    );
    const strict = check(request([...GOOD, 'Sec-WebSocket-Protocol: chat, superchat']), true);
    expect(strict.ok && strict.protocol).toBe('chat');
    expect(buildResponse('k', null).toString()).not.toContain('Sec-WebSocket-Protocol');
  });

  it('gives every error string of the original, in its check order', () => {
    expect(err(request(GOOD, 'GET /ws HTTP/1.0'))).toBe(HANDSHAKE_ERRORS.httpVersion);
    expect(err(request(GOOD.slice(1)))).toBe('bad "upgrade" request header: nil');
    expect(err(request(['Upgrade: foo', ...GOOD.slice(1)]))).toBe('bad "upgrade" request header: foo');
    expect(err(request(['Upgrade: websocket, h2c', ...GOOD.slice(1)]))).toBe('bad "upgrade" request header: websocket, h2c');
    expect(err(request([GOOD[0]!, 'Connection: keep-alive', ...GOOD.slice(2)]))).toBe('bad "connection" request header');
    expect(err(request([GOOD[0]!, ...GOOD.slice(2)]))).toBe('bad "connection" request header');
    expect(err(request([...GOOD.slice(0, 2), GOOD[3]!]))).toBe('bad "sec-websocket-key" request header');
    expect(err(request([...GOOD.slice(0, 3), 'Sec-WebSocket-Version: 12']))).toBe('bad "sec-websocket-version" request header');
    expect(err(request(GOOD.slice(0, 3)))).toBe('bad "sec-websocket-version" request header');
    // Order: a bad Upgrade wins over a bad version.
    expect(err(request(['Upgrade: nope', 'Connection: x', 'Sec-WebSocket-Version: 1']))).toBe('bad "upgrade" request header: nope');
  });

  it('accepts what the original accepts (docs/behaviour.md §4 and §7.4)', () => {
    expect(err(request(['Upgrade: WebSocket', ...GOOD.slice(1)]))).toBeNull();
    expect(err(request([GOOD[0]!, 'Connection: xupgradex', ...GOOD.slice(2)]))).toBeNull();
    expect(err(request([...GOOD.slice(0, 2), 'Sec-WebSocket-Key: abc', GOOD[3]!]))).toBeNull();
    expect(err(request([...GOOD.slice(0, 2), 'Sec-WebSocket-Key:', GOOD[3]!]))).toBeNull();
    expect(err(request([...GOOD.slice(0, 3), 'Sec-WebSocket-Version:  13  ']))).toBeNull();
    expect(err(request(GOOD, 'POST /ws HTTP/1.1'))).toBeNull();
    // Repeated headers: only the first value counts.
    expect(err(request(['Upgrade: foo', ...GOOD]))).toBe('bad "upgrade" request header: foo');
  });

  it('strict: checks method, token lists and the key, and answers with an HTTP error', () => {
    const post = check(request(GOOD, 'POST /ws HTTP/1.1'), true);
    expect(!post.ok && post.response?.toString()).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(err(request(['Upgrade: h2c, websocket', 'Connection: keep-alive, Upgrade', ...GOOD.slice(2)]), true)).toBeNull();
    expect(err(request([GOOD[0]!, 'Connection: xupgradex', ...GOOD.slice(2)]), true)).toBe('bad "connection" request header');
    // 22 base64 digits + "==" is 16 bytes only when the last digit leaves no stray bits (A, Q, g, w).
    expect(err(request([...GOOD.slice(0, 2), 'Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDx==', GOOD[3]!]), true)).toBe('bad "sec-websocket-key" request header');
    const key = check(request([...GOOD.slice(0, 2), 'Sec-WebSocket-Key: abc', GOOD[3]!]), true);
    expect(!key.ok && key.response?.toString()).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    const version = check(request([...GOOD.slice(0, 3), 'Sec-WebSocket-Version: 8']), true);
    expect(!version.ok && version.response?.toString()).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n[\s\S]*Sec-WebSocket-Version: 13\r\n/);
    // compat sends nothing on failure.
    const compat = check(request([...GOOD.slice(0, 3), 'Sec-WebSocket-Version: 8']));
    expect(!compat.ok && compat.response).toBeNull();
  });
});

describe('parseRequestHead', () => {
  it('refuses what nginx refuses before any Lua runs', () => {
    expect(parseRequestHead('GET /ws HTTP/1.1\r\nUpgrade: websocket')).toMatchObject({ req: null, status: 400 });
    expect(parseRequestHead('GARBAGE')).toMatchObject({ req: null, status: 400 });
    expect(parseRequestHead('GET /ws HTTP/2.0\r\nHost: a')).toMatchObject({ req: null, status: 505 });
    expect(parseRequestHead('GET /ws HTTP/1.1\r\nHost:')).toMatchObject({ req: null, status: 400 });
    expect(parseRequestHead(`GET /${'a'.repeat(9000)} HTTP/1.1\r\nHost: a`)).toMatchObject({ req: null, status: 414 });
  });

  it('skips invalid header names like nginx (ignore_invalid_headers), keeps a line without a colon, and ends the head at a bare-LF blank line', () => {
    const r = parseRequestHead('GET / HTTP/1.1\nHost: a\nnocolon\nX_Under: 1\nX\x80: 1\nUpgrade: websocket\n\nX-After: 1');
    expect(r.req?.rawHeaders).toEqual([['Host', 'a'], ['nocolon', ''], ['Upgrade', 'websocket']]);
    // A space or a control byte in a name is not skipped: nginx answers 400.
    expect(parseRequestHead('GET / HTTP/1.1\nHost: a\nno colon here\n')).toMatchObject({ req: null, status: 400 });
  });

  it('leaves out an empty Sec-WebSocket-Protocol in the 101, as nginx drops empty headers', () => {
    const r = parseRequestHead(request([...GOOD, 'Sec-WebSocket-Protocol:']));
    const out = checkHandshake(r.req!, { checks: COMPAT });
    expect(out.ok && out.response.toString()).not.toContain('Sec-WebSocket-Protocol');
  });

  it('keeps header order, trims values, and reads HTTP/1.0 without Host', () => {
    const r = parseRequestHead('\r\nGET /a?b HTTP/1.0\r\nX-A:  1 \r\nx-a: 2');
    expect(r.req).toMatchObject({ method: 'GET', target: '/a?b', httpVersion: '1.0', rawHeaders: [['X-A', '1'], ['x-a', '2']] });
  });
});
