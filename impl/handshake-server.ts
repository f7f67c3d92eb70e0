// The server side of the opening handshake (docs/behaviour.md §4 new()): the request head read as
// nginx 1.22 reads it (impl/request-head.ts), headers seen the way the original sees them through
// ngx.req.get_headers() (names case-insensitive, the first 100 lines, the FIRST value of a repeated
// header), the original's checks in its order with its error strings, and the 101 response in its
// header order. Pure functions: also a fuzz target.
import { acceptFor } from './handshake-client.js';
import { headerTokens } from './header-tokens.js';
import { negotiateAsServer, type DeflateParams, type DeflateSettings } from './permessage-deflate.js';
import type { StrictChecks } from './profile.js';
import type { HeadLimits } from './header-buffers.js';
import { RequestHeadParser, type HeadStatus, type RequestHead } from './request-head.js';
import { headerValue, LUA_GET_HEADERS_MAX } from './request-headers.js';

export const HANDSHAKE_ERRORS = {
  httpVersion: 'bad http version',
  upgrade: 'bad "upgrade" request header: ',
  connection: 'bad "connection" request header',
  key: 'bad "sec-websocket-key" request header',
  version: 'bad "sec-websocket-version" request header',
  /** strict validateHandshakeRequest only. */
  method: 'bad request method',
  host: 'missing "host" request header',
} as const;

export interface HandshakeRequest {
  method: string;
  target: string;
  /** "1.1", "1.0", ... as in the request line ("0.9" for a line without a version). */
  httpVersion: string;
  /** The header lines nginx keeps, in order, values as nginx keeps them (only spaces trimmed). */
  rawHeaders: Array<[string, string]>;
}

export type ParseResult = { req: RequestHead; err: null } | { req: null; err: string; status: HeadStatus };

/**
 * Parses a request head (everything before the blank line, without it) as nginx 1.22 does
 * (impl/request-head.ts). What nginx itself would refuse before any Lua runs is an error with the
 * status nginx answers with (494 goes out as 400 "Request Header Or Cookie Too Large").
 */
export function parseRequestHead(head: Buffer | string, limits: Partial<HeadLimits> = {}): ParseResult {
  const bytes = typeof head === 'string' ? Buffer.from(head, 'latin1') : head;
  const v = new RequestHeadParser(limits).push(Buffer.concat([bytes, Buffer.from('\r\n\r\n')]));
  if (v.kind === 'done') return { req: v.head, err: null };
  if (v.kind === 'error') return { req: null, err: v.err, status: v.status };
  return { req: null, err: 'client sent invalid header line', status: 400 };
}

/** The first value of a header among all the lines nginx kept. */
export function firstHeader(req: HandshakeRequest, name: string): string | null {
  return headerValue(req.rawHeaders, name);
}

/**
 * The first value of a header as the original sees it: through ngx.req.get_headers(), which
 * returns only the first 100 header lines (its default max_headers).
 */
export function luaHeader(req: HandshakeRequest, name: string): string | null {
  return headerValue(req.rawHeaders.length > LUA_GET_HEADERS_MAX ? req.rawHeaders.slice(0, LUA_GET_HEADERS_MAX) : req.rawHeaders, name);
}

export interface HandshakeOptions {
  checks: Pick<StrictChecks, 'validateHandshakeRequest' | 'selectOneSubprotocol'>;
  /** Subprotocols the server supports, most preferred first (strict selectOneSubprotocol). */
  protocols?: readonly string[];
  /** permessage-deflate settings when the server offers it (impl/permessage-deflate.ts); absent: no extensions. */
  deflate?: DeflateSettings | null;
}

export type HandshakeOutcome =
  | { ok: true; response: Buffer; protocol: string | null; key: string; /** The agreed permessage-deflate, if any. */ deflate: DeflateParams | null }
  | { ok: false; err: string; /** strict: the HTTP error to answer with; compat sends nothing. */ response: Buffer | null };

function httpError(status: 400 | 405 | 426, reason: string, extra = ''): Buffer {
  const body = `${status} ${reason}\n`;
  return Buffer.from(`HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\nConnection: close\r\n${extra}\r\n${body}`, 'latin1');
}

/** The original's checks, in its order (docs/behaviour.md §4 new() step 3-4); strict adds RFC 6455 §4.2.1's. */
export function checkHandshake(req: HandshakeRequest, opts: HandshakeOptions): HandshakeOutcome {
  const strict = opts.checks.validateHandshakeRequest;
  const fail = (err: string, status: 400 | 405 | 426 = 400, reason = 'Bad Request', extra = ''): HandshakeOutcome =>
    ({ ok: false, err, response: strict ? httpError(status, reason, extra) : null });

  if (req.httpVersion !== '1.1') return fail(HANDSHAKE_ERRORS.httpVersion);
  if (strict && req.method !== 'GET') return fail(HANDSHAKE_ERRORS.method, 405, 'Method Not Allowed', 'Allow: GET\r\n');

  const upgrade = luaHeader(req, 'upgrade');
  const upgradeOk = strict ? headerTokens(upgrade).includes('websocket') : upgrade !== null && upgrade.toLowerCase() === 'websocket';
  if (!upgradeOk) return fail(HANDSHAKE_ERRORS.upgrade + (upgrade ?? 'nil'));

  const connection = luaHeader(req, 'connection');
  // compat: a plain substring test ("xupgradex" passes); strict: a token of the list.
  const connectionOk = strict ? headerTokens(connection).includes('upgrade') : connection !== null && connection.toLowerCase().includes('upgrade');
  if (!connectionOk) return fail(HANDSHAKE_ERRORS.connection);

  const key = luaHeader(req, 'sec-websocket-key');
  if (key === null) return fail(HANDSHAKE_ERRORS.key);
  if (strict && !/^[A-Za-z0-9+/]{21}[AQgw]==$/.test(key)) return fail(HANDSHAKE_ERRORS.key);

  const version = luaHeader(req, 'sec-websocket-version');
  if (version !== '13') return fail(HANDSHAKE_ERRORS.version, 426, 'Upgrade Required', 'Sec-WebSocket-Version: 13\r\n');

  const offered = luaHeader(req, 'sec-websocket-protocol');
  let protocol: string | null = offered;
  if (offered !== null && opts.checks.selectOneSubprotocol) {
    const list = offered.split(',').map((t) => t.trim()).filter(Boolean);
    protocol = opts.protocols ? (opts.protocols.find((p) => list.includes(p)) ?? null) : (list[0] ?? null);
  }
  let deflate: DeflateParams | null = null;
  let extensions: string | null = null;
  if (opts.deflate) {
    // Every Sec-WebSocket-Extensions line counts: RFC 6455 §9.1 lets a client split the list.
    const values = req.rawHeaders.filter(([name]) => name.toLowerCase() === 'sec-websocket-extensions').map(([, v]) => v);
    const n = negotiateAsServer(values, opts.deflate);
    // A header that does not parse is answered with 400 in any profile, as ws does.
    if (!n.ok) return { ok: false, err: n.err, response: httpError(400, 'Bad Request') };
    deflate = n.params;
    extensions = n.response;
  }
  return { ok: true, response: buildResponse(key, protocol, extensions), protocol, key, deflate };
}

/**
 * ngx_lua escapes a response header value it is given (ngx.header): control bytes but TAB, and
 * DEL, become %XX (measured: a "\f" offered protocol comes back as "%0C").
 */
export function escapeHeaderValue(v: string): string {
  return v.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);
}

/**
 * The 101 response, headers in the original's wire order (docs/behaviour.md §4 step 7, after nginx's
 * own); an agreed extension's Sec-WebSocket-Extensions comes last.
 */
export function buildResponse(key: string, protocol: string | null, extensions: string | null = null): Buffer {
  let head = 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n';
  // nginx leaves out a header whose value is empty (an empty Sec-WebSocket-Protocol request header).
  if (protocol) head += `Sec-WebSocket-Protocol: ${escapeHeaderValue(protocol)}\r\n`;
  head += `Upgrade: websocket\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n`;
  if (extensions !== null) head += `Sec-WebSocket-Extensions: ${extensions}\r\n`;
  head += '\r\n';
  return Buffer.from(head, 'latin1');
}
