// The server side of the opening handshake (docs/behaviour.md §4 new()): a request-head parser that
// reads headers the way the original sees them through nginx (names case-insensitive, values
// trimmed, the FIRST value of a repeated header), the original's checks in its order with its
// error strings, and the 101 response in its header order. Pure functions: also a fuzz target.
import { acceptFor } from './handshake-client.js';
import type { StrictChecks } from './profile.js';

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

/** nginx's large_client_header_buffers default: a request line or header over 8 KiB is refused. */
export const MAX_HEADER_LINE = 8192;

export interface HandshakeRequest {
  method: string;
  target: string;
  /** "1.1", "1.0", ... as in the request line ("0.9" for a line without a version). */
  httpVersion: string;
  /** Header lines as received, in order. */
  rawHeaders: Array<[string, string]>;
}

export type ParseResult = { req: HandshakeRequest; err: null } | { req: null; err: string; status: 400 | 414 | 494 | 505 };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Parses a request head (everything before the blank line, without it). What nginx itself would
 * refuse before any Lua runs (a broken request line, a bad header line, HTTP/1.1 without Host)
 * is an error with the status nginx answers with.
 */
export function parseRequestHead(head: Buffer | string): ParseResult {
  const text = typeof head === 'string' ? head : head.toString('latin1');
  const lines = text.split(/\r?\n/);
  // nginx skips empty lines before the request line.
  while (lines.length > 0 && lines[0] === '') lines.shift();
  const requestLine = lines.shift() ?? '';
  if (requestLine.length > MAX_HEADER_LINE) return { req: null, err: 'request line too long', status: 414 };
  const m = /^([A-Z_]+) +(\S+)(?: +HTTP\/(\d)\.(\d+))? *$/.exec(requestLine);
  if (!m) return { req: null, err: 'bad request line', status: 400 };
  const major = m[3];
  const minor = m[4];
  if (major !== undefined && major !== '1') return { req: null, err: 'unsupported HTTP version', status: 505 };
  const httpVersion = major === undefined ? '0.9' : `${major}.${Number(minor)}`;
  const rawHeaders: Array<[string, string]> = [];
  for (const line of lines) {
    // The head ends at the first empty line (nginx accepts bare LF line ends too).
    if (line === '') break;
    if (line.length > MAX_HEADER_LINE) return { req: null, err: 'header line too long', status: 494 };
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon) : '';
    // ignore_invalid_headers (nginx's default): a line without a colon or with a bad name is skipped.
    if (!TOKEN.test(name) || name.includes('_')) continue;
    rawHeaders.push([name, line.slice(colon + 1).trim()]);
  }
  const req: HandshakeRequest = { method: m[1]!, target: m[2]!, httpVersion, rawHeaders };
  const host = firstHeader(req, 'host');
  if (httpVersion === '1.1' && host === null) return { req: null, err: 'client sent HTTP/1.1 request without "Host" header', status: 400 };
  if (host === '') return { req: null, err: 'client sent invalid host header', status: 400 };
  return { req, err: null };
}

/** The first value of a header (ngx.req.get_headers() gives a list for repeats; the original takes [1]). */
export function firstHeader(req: HandshakeRequest, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [n, v] of req.rawHeaders) if (n.toLowerCase() === lower) return v;
  return null;
}

function tokens(value: string | null): string[] {
  return value === null ? [] : value.split(',').map((t) => t.trim().toLowerCase()).filter(Boolean);
}

export interface HandshakeOptions {
  checks: Pick<StrictChecks, 'validateHandshakeRequest' | 'selectOneSubprotocol'>;
  /** Subprotocols the server supports, most preferred first (strict selectOneSubprotocol). */
  protocols?: readonly string[];
}

export type HandshakeOutcome =
  | { ok: true; response: Buffer; protocol: string | null; key: string }
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

  const upgrade = firstHeader(req, 'upgrade');
  const upgradeOk = strict ? tokens(upgrade).includes('websocket') : upgrade !== null && upgrade.toLowerCase() === 'websocket';
  if (!upgradeOk) return fail(HANDSHAKE_ERRORS.upgrade + (upgrade ?? 'nil'));

  const connection = firstHeader(req, 'connection');
  // compat: a plain substring test ("xupgradex" passes); strict: a token of the list.
  const connectionOk = strict ? tokens(connection).includes('upgrade') : connection !== null && connection.toLowerCase().includes('upgrade');
  if (!connectionOk) return fail(HANDSHAKE_ERRORS.connection);

  const key = firstHeader(req, 'sec-websocket-key');
  if (key === null) return fail(HANDSHAKE_ERRORS.key);
  if (strict && !/^[A-Za-z0-9+/]{21}[AQgw]==$/.test(key)) return fail(HANDSHAKE_ERRORS.key);

  const version = firstHeader(req, 'sec-websocket-version');
  if (version !== '13') return fail(HANDSHAKE_ERRORS.version, 426, 'Upgrade Required', 'Sec-WebSocket-Version: 13\r\n');

  const offered = firstHeader(req, 'sec-websocket-protocol');
  let protocol: string | null = offered;
  if (offered !== null && opts.checks.selectOneSubprotocol) {
    const list = offered.split(',').map((t) => t.trim()).filter(Boolean);
    protocol = opts.protocols ? (opts.protocols.find((p) => list.includes(p)) ?? null) : (list[0] ?? null);
  }
  return { ok: true, response: buildResponse(key, protocol), protocol, key };
}

/** The 101 response, headers in the original's wire order (docs/behaviour.md §4 step 7, after nginx's own). */
export function buildResponse(key: string, protocol: string | null): Buffer {
  let head = 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\n';
  // nginx leaves out a header whose value is empty (an empty Sec-WebSocket-Protocol request header).
  if (protocol) head += `Sec-WebSocket-Protocol: ${protocol}\r\n`;
  head += `Upgrade: websocket\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`;
  return Buffer.from(head, 'latin1');
}
