// The client side of the opening handshake (docs/behaviour.md §5 connect steps 5, 9, 10, 12-14):
// the request bytes, the Sec-WebSocket-Key, and the response check. Pure functions only; the
// socket work lives in client.ts.
import { createHash, randomBytes } from 'node:crypto';
import { headerTokens } from './header-tokens.js';
import { formatLuaNumber, luaTruthy, luaTypeName } from './lua.js';

export const WS_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The largest response header the strict profile reads (§7.18). */
export const MAX_RESPONSE_HEADER = 64 * 1024;

/**
 * A fresh Sec-WebSocket-Key: 16 CSPRNG bytes, base64. The original draws them from an unseeded
 * `math.random` (§7.10: the first key of a worker is always y7KXwBSpVrxtkR0O+bQt+Q==); copying that
 * would make keys predictable, so this is a documented deviation in both profiles. Pass `key` to
 * reproduce exact request bytes.
 */
export function generateKey(): string {
  return randomBytes(16).toString('base64');
}

/** base64(sha1(key .. GUID)): the Sec-WebSocket-Accept a server must answer with. */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + WS_GUID, 'latin1').digest('base64');
}

/** Lua's `..` on a value: strings and numbers concatenate, anything else raises. */
function luaConcatPiece(v: unknown): { bytes: Buffer; err: null } | { bytes: null; err: string } {
  if (typeof v === 'string') return { bytes: Buffer.from(v, 'utf8'), err: null };
  if (Buffer.isBuffer(v)) return { bytes: v, err: null };
  if (typeof v === 'number') return { bytes: Buffer.from(formatLuaNumber(v), 'latin1'), err: null };
  return { bytes: null, err: `attempt to concatenate a ${luaTypeName(v)} value` };
}

/**
 * Lua's `table.concat(t, sep)`. A JavaScript array is a Lua array; any other object is a hash
 * table, whose array part is empty, so it concatenates to "" (that is what makes `headers = {}`
 * and hash-style tables send a stray CRLF). Entries must be strings (or Buffers) or numbers.
 */
export function luaConcat(t: object, sep: string): { bytes: Buffer; err: null } | { bytes: null; err: string } {
  if (!Array.isArray(t)) return { bytes: Buffer.alloc(0), err: null };
  const parts: Buffer[] = [];
  const sepBytes = Buffer.from(sep, 'latin1');
  for (let i = 0; i < t.length; i++) {
    const v: unknown = t[i];
    if (typeof v !== 'string' && typeof v !== 'number' && !Buffer.isBuffer(v)) {
      return { bytes: null, err: `invalid value (at index ${i + 1}) in table for 'concat'` };
    }
    if (i > 0) parts.push(sepBytes);
    parts.push(luaConcatPiece(v).bytes!);
  }
  return { bytes: Buffer.concat(parts), err: null };
}

export interface HandshakeRequestParts {
  /** The request target (the URI path, verbatim). */
  path: string;
  /** The Host header value. */
  host: string | Buffer;
  /** The Sec-WebSocket-Key value, verbatim. */
  key: string | Buffer;
  /** `opts.protocols`: a string or number is sent verbatim, an array is joined with ",". */
  protocols?: unknown;
  /** `opts.origin`. */
  origin?: unknown;
  /** `opts.headers`: an array of header lines; any other object is an empty hash table. */
  headers?: unknown;
  /** §7.13: no stray CRLF after the head when the headers table concatenates to "". */
  noStrayCrlf?: boolean;
  /** A Sec-WebSocket-Extensions offer (permessage-deflate), sent after Connection; never in compat. */
  extensions?: string | null;
}

type Piece = { bytes: Buffer | null; err: null } | { bytes: null; err: string };

/** `opts.protocols` (read first): a table is joined with ",", anything else concatenated; null when absent. */
export function protocolsValue(protos: unknown): Piece {
  if (!luaTruthy(protos)) return { bytes: null, err: null };
  return typeof protos === 'object' && protos !== null && !Buffer.isBuffer(protos) ? luaConcat(protos, ',') : luaConcatPiece(protos);
}

/** `opts.origin` (read second). */
export function originValue(origin: unknown): Piece {
  if (!luaTruthy(origin)) return { bytes: null, err: null };
  return luaConcatPiece(origin);
}

/**
 * `opts.headers`: must be a table; its array part joined with CRLF plus a final CRLF. The
 * original appends that CRLF even to an empty concatenation, which is the stray CRLF of §7.13
 * (`noStrayCrlf` drops it).
 */
export function headersValue(headers: unknown, noStrayCrlf: boolean): Piece {
  if (!luaTruthy(headers)) return { bytes: null, err: null };
  if (typeof headers !== 'object' || headers === null || Buffer.isBuffer(headers)) {
    return { bytes: null, err: 'custom headers must be a table' };
  }
  const joined = luaConcat(headers, '\r\n');
  if (joined.err !== null) return joined;
  if (joined.bytes.length === 0 && noStrayCrlf) return { bytes: null, err: null };
  return { bytes: Buffer.concat([joined.bytes, Buffer.from('\r\n')]), err: null };
}

/**
 * The request, byte for byte as the original builds it (docs/behaviour.md §5 step 10):
 *   GET <path> HTTP/1.1 / Upgrade / Host / Sec-WebSocket-Key / [Sec-WebSocket-Protocol] /
 *   Sec-WebSocket-Version: 13 / [Origin] / Connection: Upgrade / <headers...> / blank line.
 * Nothing is escaped, like the original (CRLF injection through any value is possible).
 * Lua strings are bytes: JavaScript strings are written as UTF-8, Buffers as they are.
 * The option errors are checked in the original's order: protocols, origin, then headers.
 */
export function buildHandshakeRequest(p: HandshakeRequestParts): { request: Buffer; err: null } | { request: null; err: string } {
  const parts: Buffer[] = [];
  const text = (s: string): void => {
    parts.push(Buffer.from(s, 'utf8'));
  };
  const proto = protocolsValue(p.protocols);
  if (proto.err !== null) return { request: null, err: proto.err };
  const origin = originValue(p.origin);
  if (origin.err !== null) return { request: null, err: origin.err };
  const headers = headersValue(p.headers, p.noStrayCrlf ?? false);
  if (headers.err !== null) return { request: null, err: headers.err };
  text('GET ' + p.path + ' HTTP/1.1\r\nUpgrade: websocket\r\nHost: ');
  parts.push(typeof p.host === 'string' ? Buffer.from(p.host, 'utf8') : p.host);
  text('\r\nSec-WebSocket-Key: ');
  parts.push(typeof p.key === 'string' ? Buffer.from(p.key, 'utf8') : p.key);
  if (proto.bytes !== null) {
    text('\r\nSec-WebSocket-Protocol: ');
    parts.push(proto.bytes);
  }
  text('\r\nSec-WebSocket-Version: 13');
  if (origin.bytes !== null) {
    text('\r\nOrigin: ');
    parts.push(origin.bytes);
  }
  text('\r\nConnection: Upgrade\r\n');
  if (p.extensions) text(`Sec-WebSocket-Extensions: ${p.extensions}\r\n`);
  if (headers.bytes !== null) parts.push(headers.bytes);
  text('\r\n');
  return { request: Buffer.concat(parts), err: null };
}

/** `^\s*HTTP/1\.1\s+` with PCRE's \s (space, \t, \n, \v, \f, \r). */
const STATUS_LINE_RE = /^[ \t\n\v\f\r]*HTTP\/1\.1[ \t\n\v\f\r]+/;

/**
 * The original's only response check (docs/behaviour.md §5 step 13): the header block (everything before the
 * first CRLFCRLF, decoded as latin1 so no byte is lost) must start with optional whitespace and
 * "HTTP/1.1" plus whitespace. Any status code passes.
 */
export function checkStatusLine(header: string): string | null {
  return STATUS_LINE_RE.test(header) ? null : 'bad HTTP response status line: ' + header;
}

export interface ParsedResponse {
  status: number;
  /** Header names lower-cased; repeated headers keep every value in order. */
  headers: Map<string, string[]>;
}

/** Splits a response header block into the status code and the header fields. */
export function parseResponseHead(header: string): { res: ParsedResponse; err: null } | { res: null; err: string } {
  const lines = header.split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3})(?: [^\r\n]*)?$/.exec(lines[0] ?? '');
  if (m === null) return { res: null, err: 'bad HTTP response status line: ' + header };
  const headers = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0 || /[\s]/.test(line.slice(0, colon))) return { res: null, err: 'bad HTTP response header line: ' + line };
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    const list = headers.get(name);
    if (list) list.push(value);
    else headers.set(name, [value]);
  }
  return { res: { status: Number(m[1]), headers }, err: null };
}

/** The subprotocols a client offered, as the request sent them (split on ","). */
export function offeredProtocols(protocols: unknown): string[] {
  if (!luaTruthy(protocols)) return [];
  let text: string;
  if (Array.isArray(protocols)) text = protocols.map((p) => (typeof p === 'number' ? formatLuaNumber(p) : String(p))).join(',');
  else if (typeof protocols === 'string') text = protocols;
  else if (typeof protocols === 'number') text = formatLuaNumber(protocols);
  else return [];
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/**
 * strict validateHandshakeResponse (§7.1, RFC 6455 §4.1 "the client MUST fail the connection"):
 * status 101, `Upgrade: websocket`, `Connection` containing the token "upgrade", the right
 * Sec-WebSocket-Accept, no extensions unless one was offered (permessage-deflate checks its own,
 * impl/permessage-deflate.ts), and at most one subprotocol that was among the offered ones.
 */
export function validateHandshakeResponse(header: string, key: string, offered: readonly string[], extensionsOffered = false): string | null {
  const parsed = parseResponseHead(header.replace(/^[ \t\n\v\f\r]+/, ''));
  if (parsed.err !== null) return parsed.err;
  const { status, headers } = parsed.res;
  if (status !== 101) return `bad HTTP response status code: ${status}`;
  const upgrade = headers.get('upgrade');
  if (!upgrade || upgrade.length !== 1 || upgrade[0]!.toLowerCase() !== 'websocket') {
    return `bad "upgrade" response header: ${upgrade ? upgrade.join(', ') : 'nil'}`;
  }
  if (!headerTokens(headers.get('connection')).includes('upgrade')) {
    return `bad "connection" response header: ${headers.get('connection')?.join(', ') ?? 'nil'}`;
  }
  const accept = headers.get('sec-websocket-accept');
  if (!accept || accept.length !== 1 || accept[0] !== acceptFor(key)) {
    return `bad "sec-websocket-accept" response header: ${accept ? accept.join(', ') : 'nil'}`;
  }
  const ext = headers.get('sec-websocket-extensions');
  if (ext && !extensionsOffered) return `bad "sec-websocket-extensions" response header: ${ext.join(', ')}`;
  const proto = headers.get('sec-websocket-protocol');
  if (proto) {
    if (proto.length !== 1 || !offered.includes(proto[0]!)) {
      return `bad "sec-websocket-protocol" response header: ${proto.join(', ')}`;
    }
  }
  return null;
}
