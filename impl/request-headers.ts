// The header lines of a request head once nginx has parsed them: the one lookup everything uses, and
// nginx's header handlers (ngx_http_headers_in, ngx_http_process_request_header) that refuse a
// request by its headers before any Lua runs.
import { validHost } from './host-uri-checks.js';

export type HeaderRefusal = { status: 400 | 405 | 501; err: string };

/** How the body after the head is framed. */
export interface BodyFraming {
  /** Content-Length as a number (null without one). */
  contentLength: number | null;
  /** Transfer-Encoding: chunked. */
  chunked: boolean;
}

/** ngx.req.get_headers()'s default max_headers: the library sees only the first 100 header lines. */
export const LUA_GET_HEADERS_MAX = 100;

/** Headers nginx keeps only once (ngx_http_process_unique_header_line, plus Host): a repeat is 400. Measured. */
const UNIQUE_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'authorization', 'if-modified-since', 'if-unmodified-since',
  'if-match', 'if-none-match', 'if-range', 'expect', 'content-range',
]);

/** The first value of a header, names compared case-insensitively. */
export function headerValue(headers: ReadonlyArray<readonly [string, string]>, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return null;
}

const badRequest = (err: string): HeaderRefusal => ({ status: 400, err });

/** A header line nginx keeps: refused as a repeat of a unique header or an invalid Host. `seen` collects the unique names. */
export function headerLineRefusal(name: string, value: string, seen: Set<string>): HeaderRefusal | null {
  const lower = name.toLowerCase();
  if (UNIQUE_HEADERS.has(lower)) {
    if (seen.has(lower)) return badRequest(lower === 'host' ? 'client sent duplicate host header' : 'client sent duplicate header line');
    seen.add(lower);
  }
  if (lower === 'host' && !validHost(value)) return badRequest('client sent invalid host header');
  return null;
}

/** ngx_atoof: decimal digits only, at least one, no overflow past 2^63-1; else null. */
function parseOffset(s: string): number | null {
  if (!/^[0-9]+$/.test(s)) return null;
  const n = BigInt(s);
  return n > 0x7fffffffffffffffn ? null : Number(n);
}

/** ngx_http_process_request_header: the checks once all headers are in, and the body's framing when none refuses. */
export function processRequestHeader(method: string, http11: boolean, headers: ReadonlyArray<readonly [string, string]>): HeaderRefusal | BodyFraming {
  if (headerValue(headers, 'host') === null && http11) return badRequest('client sent HTTP/1.1 request without "Host" header');
  const cl = headerValue(headers, 'content-length');
  let contentLength: number | null = null;
  if (cl !== null) {
    contentLength = parseOffset(cl);
    if (contentLength === null) return badRequest('client sent invalid "Content-Length" header');
  }
  const te = headerValue(headers, 'transfer-encoding');
  let chunked = false;
  if (te !== null) {
    if (!http11) return badRequest('client sent HTTP/1.0 request with "Transfer-Encoding" header');
    if (te.toLowerCase() !== 'chunked') return { status: 501, err: 'client sent unknown "Transfer-Encoding"' };
    if (cl !== null) return badRequest('client sent "Content-Length" and "Transfer-Encoding" headers at the same time');
    chunked = true;
  }
  if (method === 'CONNECT') return { status: 405, err: 'client sent CONNECT method' };
  if (method === 'TRACE') return { status: 405, err: 'client sent TRACE method' };
  return { contentLength, chunked };
}
