// jsfuzz target: the client's response-head checks. Input: byte 0 picks the offered subprotocols,
// the rest is what the server sent; the header block is everything before the first CRLFCRLF (as
// the client reads it). compat: the original's status-line regex, nothing else; strict
// (validateHandshakeResponse): a result is null or one of the documented errors, and an accepted
// response really is a 101 with the right Sec-WebSocket-Accept.
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { acceptFor, checkStatusLine, parseResponseHead, validateHandshakeResponse } from '../../impl/handshake-client.js';
import { check } from './oracle.js';

const KEY = 'x3JJHMbDL1EzLkh9GBhXDw==';
const OFFERED: readonly (readonly string[])[] = [[], ['chat'], ['xml', 'json']];
const STRICT_ERRORS = [
  'bad HTTP response status line: ',
  'bad HTTP response header line: ',
  'bad HTTP response status code: ',
  'bad "upgrade" response header: ',
  'bad "connection" response header: ',
  'bad "sec-websocket-accept" response header: ',
  'bad "sec-websocket-extensions" response header: ',
  'bad "sec-websocket-protocol" response header: ',
];

export function fuzz(buf: Buffer): void {
  if (buf.length < 1) return;
  const offered = OFFERED[buf[0]! % OFFERED.length]!;
  const received = buf.subarray(1).toString('latin1');
  const end = received.indexOf('\r\n\r\n');
  const header = end < 0 ? received : received.slice(0, end);

  const compat = checkStatusLine(header);
  const statusOk = /^[ \t\n\v\f\r]*HTTP\/1\.1[ \t\n\v\f\r]+/.test(header);
  if (statusOk) check(compat === null, 'compat: rejected a HTTP/1.1 status line', header.slice(0, 100));
  else check(compat === 'bad HTTP response status line: ' + header, 'compat: error text', String(compat).slice(0, 100));

  const parsed = parseResponseHead(header);
  if (parsed.err === null) {
    check(Number.isInteger(parsed.res.status) && parsed.res.status >= 0 && parsed.res.status <= 999, 'status out of range', parsed.res.status);
    for (const name of parsed.res.headers.keys()) {
      check(name === name.toLowerCase() && name.length > 0 && !/\s/.test(name), 'header name not normalised', name);
    }
  } else {
    check(STRICT_ERRORS.some((p) => parsed.err.startsWith(p)), 'parseResponseHead: unknown error', parsed.err.slice(0, 100));
  }

  const strict = validateHandshakeResponse(header, KEY, offered);
  if (strict !== null) {
    check(typeof strict === 'string' && STRICT_ERRORS.some((p) => strict.startsWith(p)), 'strict: unknown error', String(strict).slice(0, 100));
    return;
  }
  check(compat === null, 'strict accepted what compat rejects', header.slice(0, 100));
  const trimmed = header.replace(/^[ \t\n\v\f\r]+/, '');
  check(/^HTTP\/1\.1 101(?:[ \r]|$)/.test(trimmed), 'strict: accepted a non-101 response', trimmed.slice(0, 60));
  const accept = trimmed.split('\r\n').filter((l) => /^sec-websocket-accept:/i.test(l));
  check(accept.length === 1 && accept[0]!.slice(accept[0]!.indexOf(':') + 1).trim() === acceptFor(KEY), 'strict: accepted without the right Sec-WebSocket-Accept', accept);
}
