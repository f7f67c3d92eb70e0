import { describe, expect, it } from 'vitest';
import { acceptFor, buildHandshakeRequest, checkStatusLine, generateKey, validateHandshakeResponse } from './handshake-client.js';

const KEY = 'y7KXwBSpVrxtkR0O+bQt+Q==';

function request(extra: Record<string, unknown> = {}): string {
  const r = buildHandshakeRequest({ path: '/s', host: '127.0.0.1:7986', key: KEY, ...extra });
  if (r.err !== null) throw new Error(r.err);
  return r.request.toString('latin1');
}

describe('buildHandshakeRequest (docs/behaviour.md §5 step 10)', () => {
  it('cs.t 19: protocols="json", exact bytes and header order', () => {
    expect(request({ protocols: 'json' })).toBe(
      'GET /s HTTP/1.1\r\nUpgrade: websocket\r\nHost: 127.0.0.1:7986\r\nSec-WebSocket-Key: y7KXwBSpVrxtkR0O+bQt+Q==\r\n' +
      'Sec-WebSocket-Protocol: json\r\nSec-WebSocket-Version: 13\r\nConnection: Upgrade\r\n\r\n');
  });

  it('cs.t 20: a protocols array is joined with "," and no spaces', () => {
    expect(request({ protocols: ['xml', 'json'] })).toContain('\r\nSec-WebSocket-Protocol: xml,json\r\n');
  });

  it('cs.t 21: Origin comes after the Version line', () => {
    expect(request({ origin: 'test.com' })).toBe(
      'GET /s HTTP/1.1\r\nUpgrade: websocket\r\nHost: 127.0.0.1:7986\r\nSec-WebSocket-Key: y7KXwBSpVrxtkR0O+bQt+Q==\r\n' +
      'Sec-WebSocket-Version: 13\r\nOrigin: test.com\r\nConnection: Upgrade\r\n\r\n');
  });

  it('cs.t 27: custom headers after Connection, verbatim, each with CRLF', () => {
    expect(request({ headers: ['X-A: 1', 'X-B: two'] })).toMatch(/\r\nConnection: Upgrade\r\nX-A: 1\r\nX-B: two\r\n\r\n$/);
  });

  it('no headers: no stray CRLF', () => {
    expect(request()).toMatch(/Connection: Upgrade\r\n\r\n$/);
    expect(request({ headers: false })).toMatch(/Connection: Upgrade\r\n\r\n$/);
  });

  it('§7.13: headers = {} or a hash table sends a stray CRLF (compat); noStrayCrlf drops it', () => {
    for (const headers of [[], {}, { a: 'X-A: 1' }]) {
      expect(request({ headers })).toMatch(/Connection: Upgrade\r\n\r\n\r\n$/);
      expect(request({ headers, noStrayCrlf: true })).toMatch(/Connection: Upgrade\r\n\r\n$/);
      expect(request({ headers, noStrayCrlf: true })).not.toMatch(/\r\n\r\n\r\n$/);
    }
  });

  it('"custom headers must be a table" for non-tables (0 and "" are truthy in Lua)', () => {
    for (const headers of ['X-A: 1', 0, '', true, 5]) {
      expect(buildHandshakeRequest({ path: '/', host: 'h', key: KEY, headers })).toEqual({ request: null, err: 'custom headers must be a table' });
    }
  });

  it('numbers concatenate with %.14g; booleans raise (returned here)', () => {
    expect(request({ protocols: 12.5 })).toContain('Sec-WebSocket-Protocol: 12.5\r\n');
    expect(request({ protocols: [1, 'b'] })).toContain('Sec-WebSocket-Protocol: 1,b\r\n');
    expect(request({ origin: 3 })).toContain('Origin: 3\r\n');
    expect(buildHandshakeRequest({ path: '/', host: 'h', key: KEY, protocols: true }).err).toBe('attempt to concatenate a boolean value');
    expect(buildHandshakeRequest({ path: '/', host: 'h', key: KEY, headers: ['a', true] }).err).toBe("invalid value (at index 2) in table for 'concat'");
  });

  it('nothing is escaped (CRLF injection is possible, as in the original)', () => {
    expect(request({ origin: 'a\r\nX-Evil: 1' })).toContain('Origin: a\r\nX-Evil: 1\r\n');
  });

  it('strings are UTF-8, Buffers go through byte for byte', () => {
    const r = buildHandshakeRequest({ path: '/', host: 'h', key: KEY, headers: [Buffer.from([0x58, 0x3a, 0xff])], origin: 'é' });
    expect(r.request!.includes(Buffer.from([0x58, 0x3a, 0xff, 0x0d, 0x0a]))).toBe(true);
    expect(r.request!.includes(Buffer.from('Origin: é', 'utf8'))).toBe(true);
  });
});

describe('keys', () => {
  it('generateKey: 16 random bytes in base64, different each time', () => {
    const a = generateKey();
    const b = generateKey();
    expect(Buffer.from(a, 'base64')).toHaveLength(16);
    expect(a).not.toBe(b);
  });

  it('acceptFor matches the known vectors', () => {
    expect(acceptFor('x3JJHMbDL1EzLkh9GBhXDw==')).toBe('HSmrc0sMlYUkAGmm5OPpG2HaGWk=');
    expect(acceptFor('05EiFj8mhoZ5F/oFE3Tyeg==')).toBe('tBNO4O+F4DrQyajB62pvtRNU8LM=');
  });
});

describe('checkStatusLine (compat: the regex ^\\s*HTTP/1\\.1\\s+ only)', () => {
  it('any HTTP/1.1 status passes, with leading whitespace', () => {
    expect(checkStatusLine('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket')).toBeNull();
    expect(checkStatusLine('HTTP/1.1 404 Not Found')).toBeNull();
    expect(checkStatusLine('\r\n \tHTTP/1.1 200 OK')).toBeNull();
    expect(checkStatusLine('HTTP/1.1\x0b200')).toBeNull();
  });
  it('anything else: "bad HTTP response status line: <entire header block>"', () => {
    const block = 'HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket';
    expect(checkStatusLine(block)).toBe('bad HTTP response status line: ' + block);
    expect(checkStatusLine('HTTP/1.1')).toBe('bad HTTP response status line: HTTP/1.1');
    expect(checkStatusLine('blah')).toBe('bad HTTP response status line: blah');
  });
});

describe('validateHandshakeResponse (strict, §7.1)', () => {
  const key = 'x3JJHMbDL1EzLkh9GBhXDw==';
  const good = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: keep-alive, Upgrade', 'Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk='];
  const block = (lines: string[]) => lines.join('\r\n');

  it('accepts a proper 101', () => {
    expect(validateHandshakeResponse(block(good), key, [])).toBeNull();
    expect(validateHandshakeResponse(block([...good, 'Sec-WebSocket-Protocol: chat']), key, ['chat', 'json'])).toBeNull();
  });
  it('rejects a non-101 status', () => {
    expect(validateHandshakeResponse(block(['HTTP/1.1 200 OK', ...good.slice(1)]), key, [])).toBe('bad HTTP response status code: 200');
  });
  it('rejects a wrong or missing Accept, Upgrade, Connection', () => {
    expect(validateHandshakeResponse(block([good[0]!, good[1]!, good[2]!, 'Sec-WebSocket-Accept: bogus']), key, [])).toBe('bad "sec-websocket-accept" response header: bogus');
    expect(validateHandshakeResponse(block([good[0]!, good[2]!, good[3]!]), key, [])).toBe('bad "upgrade" response header: nil');
    expect(validateHandshakeResponse(block([good[0]!, good[1]!, 'Connection: close', good[3]!]), key, [])).toBe('bad "connection" response header: close');
  });
  it('rejects a subprotocol that was not offered, or the whole echoed list', () => {
    expect(validateHandshakeResponse(block([...good, 'Sec-WebSocket-Protocol: xml']), key, ['json'])).toBe('bad "sec-websocket-protocol" response header: xml');
    expect(validateHandshakeResponse(block([...good, 'Sec-WebSocket-Protocol: chat, superchat']), key, ['chat', 'superchat'])).toBe('bad "sec-websocket-protocol" response header: chat, superchat');
    expect(validateHandshakeResponse(block([...good, 'Sec-WebSocket-Protocol: chat']), key, [])).toBe('bad "sec-websocket-protocol" response header: chat');
  });
  it('rejects extensions that were never offered', () => {
    expect(validateHandshakeResponse(block([...good, 'Sec-WebSocket-Extensions: permessage-deflate']), key, [])).toBe('bad "sec-websocket-extensions" response header: permessage-deflate');
  });
});
