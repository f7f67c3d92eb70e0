// nginx 1.22's request-head rules as measured against the lab's nginx peer (README "Security and
// limits" has the probe that measured them). Pure: no sockets.
import { describe, expect, it } from 'vitest';
import { complexUriOk, validHost } from './host-uri-checks.js';
import { nginxErrorResponse } from './nginx-error-pages.js';
import { ChunkedBodyCounter } from './request-body.js';
import { RequestHeadParser, type HeadVerdict } from './request-head.js';

const parse = (raw: string, limits = {}): HeadVerdict => new RequestHeadParser(limits).push(Buffer.from(raw, 'latin1'));
const status = (raw: string, limits = {}): number | 'ok' | 'more' => {
  const v = parse(raw, limits);
  return v.kind === 'error' ? v.status : v.kind === 'done' ? 'ok' : 'more';
};
const req = (...lines: string[]): string => ['GET /x HTTP/1.1', 'Host: a', ...lines].join('\r\n') + '\r\n\r\n';
const headers = (raw: string): Array<[string, string]> => {
  const v = parse(raw);
  if (v.kind !== 'done') throw new Error(`not parsed: ${JSON.stringify(v)}`);
  return v.head.rawHeaders;
};

describe('header lines (ngx_http_parse_header_line, ignore_invalid_headers on)', () => {
  it('answers 400 for whitespace, DEL or a control byte in a name, a bare CR, NUL, a leading colon and obs-fold', () => {
    for (const line of ['fo o: x', 'fo\to: x', 'x\x7f: 1', '\x7fx: 1', '\x0bx: 1', 'x\x0c: 1', 'x: a\rb', 'x\x00: 1', 'x: \x00', 'x: a \x00', ':x', ' folded', '\tfolded', 'X : 1']) {
      expect(status(req(line)), JSON.stringify(line)).toBe(400);
    }
  });

  it('skips names with "_" or non-token bytes and keeps a line without a colon as an empty header', () => {
    expect(headers(req('x_y: 1', '!x: 1', 'x\x80y: 1', 'foo', 'x:'))).toEqual([['Host', 'a'], ['foo', ''], ['x', '']]);
  });

  it('trims only spaces around a value: tab, VT and FF stay, control bytes inside stay', () => {
    expect(headers(req('Upgrade:\twebsocket', 'A: websocket\t', 'B: \x0bv\x0c ', 'C:  a \t b  ', 'D: a\x01b'))).toEqual([
      ['Host', 'a'], ['Upgrade', '\twebsocket'], ['A', 'websocket\t'], ['B', '\x0bv\x0c'], ['C', 'a \t b'], ['D', 'a\x01b'],
    ]);
  });

  it('accepts LF line ends and CR CR LF inside the head, not CR CR LF at its end', () => {
    expect(status('GET /x HTTP/1.1\nHost: a\n\n')).toBe('ok');
    expect(status(req('X: a\r'))).toBe('ok');
    expect(status('GET /x HTTP/1.1\r\nHost: a\r\n\r\r\n')).toBe(400);
    expect(status('GET /x HTTP/1.1\r\r\nHost: a\r\n\r\n')).toBe(400);
  });

  it('keeps repeats and case, but a second Host or unique header is 400', () => {
    expect(headers(req('X-A: 1', 'x-a: 2'))).toEqual([['Host', 'a'], ['X-A', '1'], ['x-a', '2']]);
    for (const h of ['host: b', 'Content-Length: 0', 'Transfer-Encoding: chunked', 'Authorization: x', 'If-Modified-Since: x', 'If-Unmodified-Since: x', 'If-Match: x', 'If-None-Match: x', 'If-Range: x', 'Expect: x', 'Content-Range: x']) {
      const dup = h.startsWith('host') ? req(h) : req(h, h);
      expect(status(dup), h).toBe(400);
    }
    for (const h of ['Range: x', 'Upgrade: x', 'Connection: x', 'Cookie: x', 'Sec-WebSocket-Key: x']) expect(status(req(h, h)), h).toBe('ok');
  });

  it('refuses a bad header line at once, before the head is complete', () => {
    expect(status('GET /x HTTP/1.0\r\na b: 1\r\nX: ')).toBe(400);
    expect(status('GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\nX: ')).toBe(400);
    expect(status('GET /x HTTP/1.1\r\nHost: a\r\nX: ')).toBe('more');
  });
});

describe('Host (ngx_http_validate_host)', () => {
  it('refuses "..", "/", spaces, controls and empty hosts; keeps the rest', () => {
    for (const h of ['127..0.1', '.', 'a/b', '', 'a b', 'a\tb', 'a\x01', ':80']) expect(validHost(h), JSON.stringify(h)).toBe(false);
    for (const h of ['a', 'a.', '[::1', 'a\\b', 'a:b:c', 'a\x80', 'A.b:8080', '[::1]:80']) expect(validHost(h), JSON.stringify(h)).toBe(true);
    expect(status(req().replace('Host: a', 'Host: 127..0.1'))).toBe(400);
  });

  it('needs Host for HTTP/1.1 (even with an absolute URI), not for 1.0', () => {
    expect(status('GET /x HTTP/1.1\r\n\r\n')).toBe(400);
    expect(status('GET http://a/x HTTP/1.1\r\n\r\n')).toBe(400);
    expect(status('GET /x HTTP/1.0\r\n\r\n')).toBe('ok');
  });
});

describe('request line (ngx_http_parse_request_line)', () => {
  it('gives nginx\'s statuses', () => {
    const cases: Array<[string, number | 'ok']> = [
      ['GET /x HTTP/1.1', 'ok'], ['GET  /x  HTTP/1.1 ', 'ok'], ['GET /x HTTP/1.10', 'ok'], ['G_T /x HTTP/1.1', 'ok'], ['GET /x\x80 HTTP/1.1', 'ok'],
      ['GET http://a:80/x HTTP/1.1', 'ok'], ['GET http://[::1]/x HTTP/1.1', 'ok'], ['GET /a/../x HTTP/1.1', 'ok'], ['GET /x?../.. HTTP/1.1', 'ok'],
      ['GET /x HTTP/2.0', 505], ['GET /x HTTP/0.9', 400], ['GET /x HTTP/01.1', 400], ['get /x HTTP/1.1', 400], ['GET x HTTP/1.1', 400],
      ['GET * HTTP/1.1', 400], ['GET /x HTTP/1.1x', 400], ['GET /x http/1.1', 400], ['GET /x\x7f HTTP/1.1', 400], ['GET /x?a\x01 HTTP/1.1', 400],
      ['GET /../x HTTP/1.1', 400], ['GET /%00 HTTP/1.1', 400], ['GET /%zz HTTP/1.1', 400], ['GET /%2e%2e/x HTTP/1.1', 400],
      ['GET http://a..b/x HTTP/1.1', 400], ['GET http://a_b/x HTTP/1.1', 400], ['GET http://a:8x/x HTTP/1.1', 400], ['GET http:/a/x HTTP/1.1', 400],
      ['TRACE /x HTTP/1.1', 405], ['CONNECT /x HTTP/1.1', 405],
    ];
    for (const [line, want] of cases) expect(status(`${line}\r\nHost: a\r\n\r\n`), JSON.stringify(line)).toBe(want);
  });

  it('reads an HTTP/0.9 GET without headers and refuses other 0.9 methods', () => {
    const v = parse('GET /x\r\nHost: a\r\n');
    expect(v.kind === 'done' && v.head.httpVersion).toBe('0.9');
    expect(v.kind === 'done' && v.used).toBe(8);
    expect(status('POST /x\r\n')).toBe(400);
    expect(nginxErrorResponse(400, true).toString('latin1')).toMatch(/^<html>/);
  });

  it('skips empty lines before the request line', () => {
    expect(status('\r\n\r\nGET /x HTTP/1.1\r\nHost: a\r\n\r\n')).toBe('ok');
  });

  it('decodes and resolves dot segments only in the path', () => {
    expect(complexUriOk('/a/b/../../c')).toBe(true);
    expect(complexUriOk('/a/../../c')).toBe(false);
    expect(complexUriOk('/a/%2e%2e/%2E%2E')).toBe(false);
    expect(complexUriOk('/a?/../..')).toBe(true);
  });
});

describe('after the head (ngx_http_process_request_header)', () => {
  it('checks Content-Length and Transfer-Encoding like nginx', () => {
    expect(status(req('Content-Length: -1'))).toBe(400);
    expect(status(req('Content-Length: '))).toBe(400);
    expect(status(req('Content-Length: 0\t'))).toBe(400);
    expect(status(req('Content-Length: 01'))).toBe('ok');
    expect(status(req('Content-Length: 99999999999999999999'))).toBe(400);
    expect(status(req('Transfer-Encoding: gzip'))).toBe(501);
    expect(status(req('Transfer-Encoding: Chunked'))).toBe('ok');
    expect(status(req('Transfer-Encoding: chunked', 'Content-Length: 3'))).toBe(400);
    expect(status('GET /x HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n')).toBe(400);
  });
});

describe('header buffers (client_header_buffer_size 1k + large_client_header_buffers 4 8k) and the 1000-line cap', () => {
  const line = (n: number): string => 'X: ' + 'a'.repeat(n - 3);
  it('a request line or header line of 8190 bytes + CRLF fits, one more byte does not (414 / 400 as 494)', () => {
    expect(status(req(line(8190)))).toBe('ok');
    expect(status(req(line(8191)))).toBe(494);
    expect(status(`GET /${'a'.repeat(8190 - 14)} HTTP/1.1\r\nHost: a\r\n\r\n`)).toBe('ok');
    expect(status(`GET /${'a'.repeat(8191 - 14)} HTTP/1.1\r\nHost: a\r\n\r\n`)).toBe(414);
  });

  it('a head fits while its lines fit in the four large buffers (329 lines of 100 bytes do, 330 do not; 8 of 4000, not 9)', () => {
    const many = (count: number, len: number): string => req(...Array.from({ length: count }, () => line(len)));
    expect(status(many(329, 100))).toBe('ok');
    expect(status(many(330, 100))).toBe(494);
    expect(status(many(8, 4000))).toBe('ok');
    expect(status(many(9, 4000))).toBe(494);
  });

  it('1000 header lines pass, the 1001st is 400 (494) at once; skipped lines do not count', () => {
    const lines = (n: number): string[] => Array.from({ length: n }, () => 'X-H: v');
    expect(status(req(...lines(999)))).toBe('ok');
    expect(status(req(...lines(1000)))).toBe(494);
    expect(status(['GET /x HTTP/1.0', ...lines(1001)].join('\r\n') + '\r\nX: ')).toBe(494);
    expect(status(req(...lines(999), 'x_y: 1'))).toBe('ok');
  });

  it('the issue\'s rows: 10k "a:" lines and 1000 "X-H-i: v" lines are 400, a 9000-byte line is 400 "Request Header Or Cookie Too Large", never 494 on the wire', () => {
    expect(status(req(...Array.from({ length: 10_000 }, () => 'a:')))).toBe(494);
    expect(status(req(...Array.from({ length: 1000 }, (_, i) => `X-H-${i}: v`)))).toBe(494);
    expect(status(req(line(9000)))).toBe(494);
    const wire = nginxErrorResponse(494).toString('latin1');
    expect(wire).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(wire).toContain('<title>400 Request Header Or Cookie Too Large</title>');
  });

  it('limits are options: small buffers refuse small heads', () => {
    const limits = { clientHeaderBufferSize: 16, largeBuffers: 1, largeBufferSize: 32, maxHeaders: 2 };
    expect(status(req(), limits)).toBe('ok');
    expect(status(req('X: ' + 'a'.repeat(40)), limits)).toBe(494);
    expect(status(req('A: 1', 'B: 2'), limits)).toBe(494);
  });

  it('parses the same whatever the chunking', () => {
    const raw = Buffer.from(req('Upgrade: websocket', 'X: ' + 'a'.repeat(3000)) + 'FRAME', 'latin1');
    for (const size of [1, 7, 1024, raw.length]) {
      const p = new RequestHeadParser();
      let v: HeadVerdict = { kind: 'more' };
      let offset = 0;
      for (; offset < raw.length && v.kind === 'more'; offset += size) v = p.push(raw.subarray(offset, offset + size));
      expect(v.kind).toBe('done');
      if (v.kind === 'done') expect(offset - size + v.used).toBe(raw.length - 5);
    }
  });
});

describe('ChunkedBodyCounter', () => {
  it('counts a chunked body and stops after the trailers', () => {
    const c = new ChunkedBodyCounter();
    const body = Buffer.from('3;ext=1\r\nabc\r\na\r\n0123456789\r\n0\r\nX-T: 1\r\n\r\nNEXT');
    expect(c.push(body, 100)).toEqual({ kind: 'done', used: body.length - 4 });
    expect(c.total).toBe(13);
  });

  it('refuses a bad size (400) and a body over the cap (413)', () => {
    expect(new ChunkedBodyCounter().push(Buffer.from('zz\r\n'), 100)).toEqual({ kind: 'error', status: 400 });
    expect(new ChunkedBodyCounter().push(Buffer.from('65\r\n'), 100)).toEqual({ kind: 'error', status: 413 });
  });
});
