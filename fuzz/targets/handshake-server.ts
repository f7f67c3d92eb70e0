// jsfuzz target: the server's request-head parser and handshake checks (impl/handshake-server.ts).
// Input: the raw request; the head is everything before the first CRLFCRLF.
// Oracle: parse errors are nginx 1.22's refusals with nginx's statuses (impl/request-head.ts, as
// measured against the lab's nginx); what the parser keeps obeys nginx's rules (names of
// [A-Za-z0-9-] only, values without NUL/CR/LF and without surrounding spaces but with any tabs,
// at most one of each unique header, a valid Host, at most 1000 lines); compat checks give exactly
// the verdict the docs/behaviour.md §4 step 4 prescribes over the first 100 header lines (what
// ngx.req.get_headers() returns: first value of each header, in its order, with its error texts)
// and a 101 with the right Accept and the first offered protocol (ngx_lua-escaped); strict accepts
// only what RFC 6455 §4.2.1 allows.
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { acceptFor } from '../../impl/handshake-client.js';
import { checkHandshake, escapeHeaderValue, HANDSHAKE_ERRORS, luaHeader as firstHeader, parseRequestHead, type HandshakeRequest } from '../../impl/handshake-server.js';
import { validHost } from '../../impl/host-uri-checks.js';
import { check } from './oracle.js';

/** The statuses nginx answers a request head with (494 goes out as 400 "Request Header Or Cookie Too Large"). */
const NGINX_STATUSES = new Set([400, 405, 414, 494, 501, 505]);
const NAME = /^[A-Za-z0-9-]+$/;
const UNIQUE = ['host', 'content-length', 'transfer-encoding', 'authorization', 'if-modified-since', 'if-unmodified-since', 'if-match', 'if-none-match', 'if-range', 'expect', 'content-range'];

/** Spec §4 step 3-4, straight from the text. */
export function expectedCompat(req: HandshakeRequest): string | null {
  if (req.httpVersion !== '1.1') return 'bad http version';
  const upgrade = firstHeader(req, 'upgrade');
  if (upgrade === null || upgrade.toLowerCase() !== 'websocket') return `bad "upgrade" request header: ${upgrade ?? 'nil'}`;
  const connection = firstHeader(req, 'connection');
  if (connection === null || !connection.toLowerCase().includes('upgrade')) return 'bad "connection" request header';
  if (firstHeader(req, 'sec-websocket-key') === null) return 'bad "sec-websocket-key" request header';
  if (firstHeader(req, 'sec-websocket-version') !== '13') return 'bad "sec-websocket-version" request header';
  return null;
}

const tokens = (v: string | null): string[] => (v ?? '').split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);

export function fuzz(buf: Buffer): void {
  const raw = buf.toString('latin1');
  const end = raw.indexOf('\r\n\r\n');
  const head = end < 0 ? raw : raw.slice(0, end);
  const parsed = parseRequestHead(head);
  if (parsed.req === null) {
    check(NGINX_STATUSES.has(parsed.status) && parsed.err.startsWith('client sent '), 'unknown parse error or status', { err: parsed.err, status: parsed.status });
    return;
  }
  const req = parsed.req;
  check(/^[A-Z_-]+$/.test(req.method) && req.method !== 'CONNECT' && req.method !== 'TRACE', 'bad method accepted', req.method);
  check(/^(0\.9|1\.\d+)$/.test(req.httpVersion), 'bad version accepted', req.httpVersion);
  check(req.rawHeaders.length <= 1000, 'more than 1000 header lines kept', req.rawHeaders.length);
  for (const [name, value] of req.rawHeaders) {
    check(NAME.test(name), 'header name nginx would refuse or skip', name);
    check(!/[\0\r\n]/.test(value) && value === value.replace(/^ +| +$/g, ''), 'header value nginx would refuse, or spaces not trimmed', value);
  }
  for (const u of UNIQUE) check(req.rawHeaders.filter(([n]) => n.toLowerCase() === u).length <= 1, 'a unique header kept twice', u);
  const host = req.rawHeaders.find(([n]) => n.toLowerCase() === 'host')?.[1] ?? null;
  if (req.httpVersion !== '0.9' && req.httpVersion !== '1.0') check(host !== null, 'HTTP/1.1 without Host accepted', req.rawHeaders);
  if (host !== null) check(validHost(host) && !host.includes('..'), 'invalid Host accepted', host);

  const compat = checkHandshake(req, { checks: { validateHandshakeRequest: false, selectOneSubprotocol: false } });
  const want = expectedCompat(req);
  if (compat.ok) {
    check(want === null, 'compat: accepted what the original rejects', want);
    const key = firstHeader(req, 'sec-websocket-key')!;
    check(compat.key === key, 'compat: key', compat.key);
    check(compat.protocol === firstHeader(req, 'sec-websocket-protocol'), 'compat: protocol not the first value verbatim', compat.protocol);
    const res = compat.response.toString('latin1');
    if (compat.protocol) check(res.includes(`\r\nSec-WebSocket-Protocol: ${escapeHeaderValue(compat.protocol)}\r\n`), 'compat: protocol not echoed as ngx_lua escapes it', res);
    check(res.startsWith('HTTP/1.1 101 ') && res.endsWith('\r\n\r\n'), 'compat: not a 101 head', res.slice(0, 80));
    check(res.includes(`\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n`), 'compat: wrong Accept', res);
  } else {
    check(compat.err === want, 'compat: verdict differs from docs/behaviour.md §4', { ours: compat.err, spec: want });
    check(compat.response === null, 'compat: sent a response on failure', '');
  }

  const strict = checkHandshake(req, { checks: { validateHandshakeRequest: true, selectOneSubprotocol: true }, protocols: ['chat', 'superchat'] });
  if (!strict.ok) {
    const known = Object.values(HANDSHAKE_ERRORS).some((e) => strict.err === e || (e.endsWith(': ') && strict.err.startsWith(e)));
    check(known, 'strict: unknown error', strict.err);
    check(strict.response !== null && /^HTTP\/1\.1 4\d\d /.test(strict.response.toString('latin1')), 'strict: failure without a 4xx answer', strict.err);
    return;
  }
  check(req.method === 'GET' && req.httpVersion === '1.1', 'strict: accepted a non-GET or non-1.1 request', req.method);
  check(tokens(firstHeader(req, 'upgrade')).includes('websocket'), 'strict: Upgrade without websocket', firstHeader(req, 'upgrade'));
  check(tokens(firstHeader(req, 'connection')).includes('upgrade'), 'strict: Connection without the upgrade token', firstHeader(req, 'connection'));
  const key = firstHeader(req, 'sec-websocket-key') ?? '';
  check(/^[A-Za-z0-9+/]{22}==$/.test(key) && Buffer.from(key, 'base64').length === 16, 'strict: key is not base64 of 16 bytes', key);
  check(firstHeader(req, 'sec-websocket-version') === '13', 'strict: version', firstHeader(req, 'sec-websocket-version'));
  if (strict.protocol !== null) {
    const offered = (firstHeader(req, 'sec-websocket-protocol') ?? '').split(',').map((t) => t.trim());
    check(offered.includes(strict.protocol) && ['chat', 'superchat'].includes(strict.protocol), 'strict: selected a protocol not offered or not supported', strict.protocol);
  }
}
