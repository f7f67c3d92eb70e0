// The HTTP request head as nginx 1.22 reads it in front of the original library: the state machines
// of ngx_http_parse_request_line and ngx_http_parse_header_line (ignore_invalid_headers on,
// underscores_in_headers off), the header handlers that refuse a request (duplicate or invalid
// Host, duplicate "unique" headers, Content-Length, Transfer-Encoding, CONNECT/TRACE) and the
// header buffers (client_header_buffer_size + large_client_header_buffers) whose exhaustion is
// nginx's "Request Header Or Cookie Too Large". Incremental: bytes go in as they arrive and the
// verdict comes as early as nginx gives it (a bad header line is answered before the head ends).
// Every rule here was measured against the lab's nginx peer (README "Security and limits").

/** nginx statuses a request head can end in. 494 is nginx-internal: it goes out as 400. */
export type HeadStatus = 400 | 405 | 413 | 414 | 494 | 501 | 505;

export interface HeadLimits {
  /** client_header_buffer_size: the first buffer (default 1024). */
  clientHeaderBufferSize: number;
  /** large_client_header_buffers number (default 4). */
  largeBuffers: number;
  /** large_client_header_buffers size (default 8192): a request line or header line must fit in one. */
  largeBufferSize: number;
  /** Header lines nginx keeps before it answers 400 "Request Header Or Cookie Too Large" (measured: 1000). */
  maxHeaders: number;
}

export const DEFAULT_HEAD_LIMITS: Readonly<HeadLimits> = Object.freeze({
  clientHeaderBufferSize: 1024,
  largeBuffers: 4,
  largeBufferSize: 8192,
  maxHeaders: 1000,
});

export interface RequestHead {
  method: string;
  /** The request target as sent. */
  target: string;
  /** "1.1", "1.0", ... ("0.9" for a request line without a version: nginx reads no headers then). */
  httpVersion: string;
  /** The header lines nginx keeps, in order, values as nginx keeps them (only spaces trimmed). */
  rawHeaders: Array<[string, string]>;
  /** Content-Length as a number (null without one). */
  contentLength: number | null;
  /** Transfer-Encoding: chunked. */
  chunked: boolean;
}

export type HeadVerdict =
  | { kind: 'more' }
  | { kind: 'done'; head: RequestHead; /** bytes of the last chunk that belong to the head */ used: number }
  | { kind: 'error'; status: HeadStatus; err: string };

/** nginx's reason phrases and error pages (ngx_http_special_response.c), "nginx" without the version. */
const PAGES: Record<HeadStatus | 408, [string, string]> = {
  400: ['Bad Request', '<center><h1>400 Bad Request</h1></center>'],
  405: ['Not Allowed', '<center><h1>405 Not Allowed</h1></center>'],
  408: ['Request Time-out', '<center><h1>408 Request Time-out</h1></center>'],
  413: ['Request Entity Too Large', '<center><h1>413 Request Entity Too Large</h1></center>'],
  414: ['Request-URI Too Large', '<center><h1>414 Request-URI Too Large</h1></center>'],
  494: ['Bad Request', '<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>'],
  501: ['Not Implemented', '<center><h1>501 Not Implemented</h1></center>'],
  505: ['HTTP Version Not Supported', '<center><h1>505 HTTP Version Not Supported</h1></center>'],
};

/**
 * The response nginx sends for a refused request: 494 goes out as 400 with its own title, and an
 * HTTP/0.9 request gets the page without a status line.
 */
export function nginxErrorResponse(status: HeadStatus | 408, http09 = false): Buffer {
  const [reason, center] = PAGES[status];
  const wire = status === 494 ? 400 : status;
  const title = status === 494 ? '400 Request Header Or Cookie Too Large' : `${wire} ${reason}`;
  const body = `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n${center}\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n`;
  if (http09) return Buffer.from(body, 'latin1');
  return Buffer.from(`HTTP/1.1 ${wire} ${reason}\r\nContent-Type: text/html\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`, 'latin1');
}

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;

/** ngx_http_parse.c `usual`: URI bytes that need no attention (not controls, SP, # % + . / ? DEL). */
function usual(ch: number): boolean {
  if (ch >= 0x80) return true;
  if (ch <= 0x20 || ch === 0x7f) return false;
  return ch !== 0x23 && ch !== 0x25 && ch !== 0x2b && ch !== 0x2e && ch !== 0x2f && ch !== 0x3f;
}
const isUpperOrMethod = (ch: number): boolean => (ch >= 0x41 && ch <= 0x5a) || ch === 0x5f || ch === 0x2d;
const isAlpha = (ch: number): boolean => ((ch | 0x20) >= 0x61 && (ch | 0x20) <= 0x7a);
const isDigit = (ch: number): boolean => ch >= 0x30 && ch <= 0x39;
/** ngx_http_parse_header_line's lowcase[]: the bytes of a valid header name (a-z, A-Z, 0-9, -). */
const isNameByte = (ch: number): boolean => isAlpha(ch) || isDigit(ch) || ch === 0x2d;

/** Headers nginx keeps only once (ngx_http_process_unique_header_line, plus Host): a repeat is 400. Measured. */
const UNIQUE_HEADERS = new Set([
  'host', 'content-length', 'transfer-encoding', 'authorization', 'if-modified-since', 'if-unmodified-since',
  'if-match', 'if-none-match', 'if-range', 'expect', 'content-range',
]);

/** ngx_http_validate_host: no "..", no "/", no controls or spaces, not empty (a trailing dot is dropped). */
export function validHost(host: string): boolean {
  let dotPos = -2;
  let hostLen = host.length;
  let state: 'usual' | 'literal' | 'rest' = 'usual';
  for (let i = 0; i < host.length; i++) {
    const ch = host.charCodeAt(i);
    if (ch === 0x2e) {
      if (dotPos === i - 1) return false;
      dotPos = i;
    } else if (ch === 0x3a) {
      if (state === 'usual') {
        hostLen = i;
        state = 'rest';
      }
    } else if (ch === 0x5b) {
      if (i === 0) state = 'literal';
    } else if (ch === 0x5d) {
      if (state === 'literal') {
        hostLen = i + 1;
        state = 'rest';
      }
    } else if (ch === 0x2f || ch <= 0x20 || ch === 0x7f) {
      return false;
    }
  }
  if (dotPos === hostLen - 1) hostLen--;
  return hostLen > 0;
}

/** ngx_atoof: decimal digits only, at least one, no overflow past 2^63-1; else null. */
function parseOffset(s: string): number | null {
  if (!/^[0-9]+$/.test(s)) return null;
  const n = BigInt(s);
  return n > 0x7fffffffffffffffn ? null : Number(n);
}

/**
 * ngx_http_parse_complex_uri's refusals: a bad %-escape, an escaped NUL, and a ".." that climbs
 * above the root (after decoding and merging slashes). The query string is not looked at.
 */
export function complexUriOk(path: string): boolean {
  let decoded = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '?') break;
    if (c === '#') break;
    if (c !== '%') {
      decoded += c;
      continue;
    }
    const hex = path.slice(i + 1, i + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return false;
    const v = parseInt(hex, 16);
    if (v === 0) return false;
    decoded += String.fromCharCode(v);
    i += 2;
  }
  let depth = 0;
  for (const seg of decoded.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (depth === 0) return false;
      depth--;
    } else depth++;
  }
  return true;
}

type RlState =
  | 'start' | 'method' | 'spacesBeforeUri' | 'schema' | 'schemaSlash' | 'schemaSlashSlash' | 'hostStart' | 'host'
  | 'hostIpLiteral' | 'hostEnd' | 'port' | 'afterSlashInUri' | 'checkUri' | 'uri' | 'http09' | 'httpH' | 'httpHT' | 'httpHTT'
  | 'httpHTTP' | 'firstMajor' | 'major' | 'firstMinor' | 'minor' | 'spacesAfterDigit' | 'almostDone';
type HlState = 'start' | 'name' | 'spaceBeforeValue' | 'value' | 'spaceAfterValue' | 'almostDone' | 'headerAlmostDone';

/**
 * One request head, byte by byte. `push` returns 'more' until the head is complete or refused;
 * the bytes after the head (a body, frames) are left to the caller (`used`).
 */
export class RequestHeadParser {
  private readonly limits: HeadLimits;
  private phase: 'line' | 'headers' | 'finished' = 'line';
  private rl: RlState = 'start';
  private hl: HlState = 'start';
  /** Absolute offset of the next byte. */
  private pos = 0;
  /** Where the current nginx header buffer ends (absolute), and how many large buffers are in use. */
  private bufEnd: number;
  private largeUsed = 0;
  /** Absolute offset where the current request line or header line started (-1: between lines). */
  private lineStart = -1;
  /** The current line's bytes (a Buffer, not a number[]: a slow client's 8 KiB line costs 8 KiB). */
  private line = Buffer.allocUnsafe(128);
  private lineLen = 0;
  // request line
  private method = '';
  private uriStart = -1;
  private uriEnd = -1;
  private hostStart = -1;
  private hostEnd = -1;
  private major = 0;
  private minor = 0;
  private complex = false;
  private http09 = false;
  // header line
  private nameEnd = -1;
  private valueStart = -1;
  private valueEnd = -1;
  private invalidName = false;
  private headers: Array<[string, string]> = [];
  private seen = new Set<string>();

  constructor(limits: Partial<HeadLimits> = {}) {
    this.limits = { ...DEFAULT_HEAD_LIMITS, ...limits };
    this.bufEnd = this.limits.clientHeaderBufferSize;
  }

  /** Bytes taken so far. */
  get consumed(): number {
    return this.pos;
  }

  push(chunk: Buffer): HeadVerdict {
    if (this.phase === 'finished') throw new Error('RequestHeadParser: push after the verdict');
    for (let i = 0; i < chunk.length; i++) {
      if (this.pos === this.bufEnd) {
        const full = this.bufferFull();
        if (full) return this.finish(full);
      }
      const ch = chunk[i]!;
      this.pos++;
      if (this.lineStart >= 0) this.pushLineByte(ch);
      const v = this.phase === 'line' ? this.requestLineByte(ch) : this.headerByte(ch);
      if (v === null) continue;
      if (v.kind === 'error') return this.finish(v);
      if (v.kind === 'more') continue;
      this.phase = 'finished';
      return { kind: 'done', head: v.head, used: i + 1 };
    }
    return { kind: 'more' };
  }

  private finish(v: { kind: 'error'; status: HeadStatus; err: string }): HeadVerdict {
    this.phase = 'finished';
    return v;
  }

  /** ngx_http_alloc_large_header_buffer: the current line moves to a fresh large buffer, if one is left and it fits. */
  private bufferFull(): { kind: 'error'; status: HeadStatus; err: string } | null {
    const midLine = this.lineStart >= 0;
    if (this.phase === 'line' && !midLine) {
      // Only CRLFs so far: nginx reuses the buffer from its start.
      this.bufEnd = this.pos + this.limits.clientHeaderBufferSize;
      return null;
    }
    const tooLong = midLine && this.pos - this.lineStart >= this.limits.largeBufferSize;
    if (tooLong || this.largeUsed >= this.limits.largeBuffers) {
      return this.phase === 'line'
        ? { kind: 'error', status: 414, err: 'client sent too long URI' }
        : { kind: 'error', status: 494, err: midLine ? 'client sent too long header line' : 'client sent too large request' };
    }
    this.largeUsed++;
    this.bufEnd = (midLine ? this.lineStart : this.pos) + this.limits.largeBufferSize;
    return null;
  }

  private lineText(from: number, to: number): string {
    const base = this.lineStart;
    return this.line.toString('latin1', from - base, to - base);
  }

  private beginLine(): void {
    this.lineStart = this.pos - 1;
    this.lineLen = 0;
    this.pushLineByte(this.lastByte);
  }

  private lastByte = 0;

  private pushLineByte(ch: number): void {
    if (this.lineLen === this.line.length) {
      const bigger = Buffer.allocUnsafe(this.line.length * 2);
      this.line.copy(bigger, 0, 0, this.lineLen);
      this.line = bigger;
    }
    this.line[this.lineLen++] = ch;
  }

  private bad(err = 'client sent invalid request'): { kind: 'error'; status: HeadStatus; err: string } {
    return { kind: 'error', status: 400, err };
  }

  /** ngx_http_parse_request_line. `this.pos - 1` is the offset of `ch`. */
  private requestLineByte(ch: number): HeadVerdict | null {
    const p = this.pos - 1;
    this.lastByte = ch;
    switch (this.rl) {
      case 'start':
        if (ch === CR || ch === LF) return null;
        if (!isUpperOrMethod(ch)) return this.bad('client sent invalid method');
        this.beginLine();
        this.rl = 'method';
        return null;
      case 'method':
        if (ch === SP) {
          this.method = this.lineText(this.lineStart, p);
          this.rl = 'spacesBeforeUri';
          return null;
        }
        if (!isUpperOrMethod(ch)) return this.bad('client sent invalid method');
        return null;
      case 'spacesBeforeUri':
        if (ch === 0x2f) {
          this.uriStart = p;
          this.rl = 'afterSlashInUri';
          return null;
        }
        if (isAlpha(ch)) {
          this.uriStart = p;
          this.rl = 'schema';
          return null;
        }
        if (ch === SP) return null;
        return this.bad();
      case 'schema':
        if (isAlpha(ch) || isDigit(ch) || ch === 0x2b || ch === 0x2d || ch === 0x2e) return null;
        if (ch === 0x3a) {
          this.rl = 'schemaSlash';
          return null;
        }
        return this.bad();
      case 'schemaSlash':
        if (ch !== 0x2f) return this.bad();
        this.rl = 'schemaSlashSlash';
        return null;
      case 'schemaSlashSlash':
        if (ch !== 0x2f) return this.bad();
        this.rl = 'hostStart';
        return null;
      case 'hostStart':
        this.hostStart = p;
        if (ch === 0x5b) {
          this.rl = 'hostIpLiteral';
          return null;
        }
        this.rl = 'host';
        return this.hostByte(ch, p);
      case 'host':
        return this.hostByte(ch, p);
      case 'hostIpLiteral':
        if (isAlpha(ch) || isDigit(ch) || ':.-_~!$&\'()*+,;='.includes(String.fromCharCode(ch))) return null;
        if (ch === 0x5d) {
          this.hostEnd = p + 1;
          this.rl = 'hostEnd';
          return null;
        }
        return this.bad();
      case 'hostEnd':
        return this.hostEndByte(ch, p, true);
      case 'port':
        if (isDigit(ch)) return null;
        if (ch === 0x2f) {
          this.rl = 'afterSlashInUri';
          return null;
        }
        if (ch === 0x3f) {
          this.rl = 'uri';
          return null;
        }
        if (ch === SP) {
          this.uriEnd = p;
          this.rl = 'http09';
          return null;
        }
        return this.bad();
      case 'afterSlashInUri':
      case 'checkUri':
        if (usual(ch)) {
          this.rl = 'checkUri';
          return null;
        }
        if (ch === SP || ch === CR || ch === LF) return this.uriEndByte(ch, p);
        switch (ch) {
          case 0x2e:
            if (this.rl === 'afterSlashInUri') this.complex = true;
            this.rl = this.rl === 'afterSlashInUri' ? 'uri' : 'checkUri';
            return null;
          case 0x25:
            this.complex = true;
            this.rl = 'uri';
            return null;
          case 0x2f:
            if (this.rl === 'afterSlashInUri') {
              this.complex = true;
              this.rl = 'uri';
            } else this.rl = 'afterSlashInUri';
            return null;
          case 0x3f:
            this.rl = 'uri';
            return null;
          case 0x23:
            this.complex = true;
            this.rl = 'uri';
            return null;
          case 0x2b:
            return null;
          default:
            if (ch < 0x20 || ch === 0x7f) return this.bad();
            this.rl = 'checkUri';
            return null;
        }
      case 'uri':
        if (usual(ch)) return null;
        if (ch === SP || ch === CR || ch === LF) return this.uriEndByte(ch, p);
        switch (ch) {
          case 0x23:
            this.complex = true;
            return null;
          default:
            if (ch < 0x20 || ch === 0x7f) return this.bad();
            return null;
        }
      case 'http09':
        if (ch === SP) return null;
        if (ch === CR) {
          this.http09 = true;
          this.rl = 'almostDone';
          return null;
        }
        if (ch === LF) {
          this.http09 = true;
          return this.requestLineDone();
        }
        if (ch === 0x48) {
          this.rl = 'httpH';
          return null;
        }
        return this.bad();
      case 'httpH':
        return this.expect(ch, 0x54, 'httpHT');
      case 'httpHT':
        return this.expect(ch, 0x54, 'httpHTT');
      case 'httpHTT':
        return this.expect(ch, 0x50, 'httpHTTP');
      case 'httpHTTP':
        return this.expect(ch, 0x2f, 'firstMajor');
      case 'firstMajor':
        if (ch < 0x31 || ch > 0x39) return this.bad();
        this.major = ch - 0x30;
        if (this.major > 1) return { kind: 'error', status: 505, err: 'client sent unsupported HTTP version' };
        this.rl = 'major';
        return null;
      case 'major':
        if (ch === 0x2e) {
          this.rl = 'firstMinor';
          return null;
        }
        if (!isDigit(ch) || this.major > 99) return this.bad();
        this.major = this.major * 10 + (ch - 0x30);
        if (this.major > 1) return { kind: 'error', status: 505, err: 'client sent unsupported HTTP version' };
        return null;
      case 'firstMinor':
        if (!isDigit(ch)) return this.bad();
        this.minor = ch - 0x30;
        this.rl = 'minor';
        return null;
      case 'minor':
        if (ch === CR) {
          this.rl = 'almostDone';
          return null;
        }
        if (ch === LF) return this.requestLineDone();
        if (ch === SP) {
          this.rl = 'spacesAfterDigit';
          return null;
        }
        if (!isDigit(ch) || this.minor > 99) return this.bad();
        this.minor = this.minor * 10 + (ch - 0x30);
        return null;
      case 'spacesAfterDigit':
        if (ch === SP) return null;
        if (ch === CR) {
          this.rl = 'almostDone';
          return null;
        }
        if (ch === LF) return this.requestLineDone();
        return this.bad();
      case 'almostDone':
        if (ch === LF) return this.requestLineDone();
        return this.bad();
    }
  }

  /** SP, CR or LF after the URI: the version follows, or (CR/LF) the line is an HTTP/0.9 request. */
  private uriEndByte(ch: number, p: number): HeadVerdict | null {
    this.uriEnd = p;
    if (ch === SP) {
      this.rl = 'http09';
      return null;
    }
    this.http09 = true;
    if (ch === CR) {
      this.rl = 'almostDone';
      return null;
    }
    return this.requestLineDone();
  }

  private hostByte(ch: number, p: number): HeadVerdict | null {
    if (isAlpha(ch) || isDigit(ch) || ch === 0x2e || ch === 0x2d) return null;
    return this.hostEndByte(ch, p);
  }

  private hostEndByte(ch: number, p: number, literal = false): HeadVerdict | null {
    if (!literal) this.hostEnd = p;
    switch (ch) {
      case 0x3a:
        this.rl = 'port';
        return null;
      case 0x2f:
        this.rl = 'afterSlashInUri';
        return null;
      case 0x3f:
        this.rl = 'uri';
        return null;
      case SP:
        this.uriEnd = p;
        this.rl = 'http09';
        return null;
      default:
        return this.bad();
    }
  }

  private expect(ch: number, want: number, next: RlState): HeadVerdict | null {
    if (ch !== want) return this.bad();
    this.rl = next;
    return null;
  }

  private requestLineDone(): HeadVerdict | null {
    const target = this.lineText(this.uriStart, this.uriEnd);
    if (this.http09 && this.method !== 'GET') return this.bad('client sent invalid method in HTTP/0.9 request');
    if (this.hostStart >= 0 && !validHost(this.lineText(this.hostStart, this.hostEnd))) return this.bad('client sent invalid host in request line');
    const pathFrom = this.hostStart >= 0 ? target.indexOf('/', target.indexOf('//') + 2) : 0;
    if (this.complex && pathFrom >= 0 && !complexUriOk(target.slice(pathFrom))) return this.bad();
    this.target = target;
    this.lineStart = -1;
    this.lineLen = 0;
    if (this.http09) return this.headDone();
    this.phase = 'headers';
    return null;
  }

  private target = '';

  /** ngx_http_parse_header_line, then the header's handler. */
  private headerByte(ch: number): HeadVerdict | null {
    const p = this.pos - 1;
    this.lastByte = ch;
    switch (this.hl) {
      case 'start':
        this.invalidName = false;
        if (ch === CR) {
          this.hl = 'headerAlmostDone';
          return null;
        }
        if (ch === LF) return this.headDone();
        this.beginLine();
        this.hl = 'name';
        if (isNameByte(ch)) return null;
        if (ch === 0x5f) {
          this.invalidName = true;
          return null;
        }
        if (ch <= 0x20 || ch === 0x7f || ch === 0x3a) return this.bad('client sent invalid header line');
        this.invalidName = true;
        return null;
      case 'name':
        if (isNameByte(ch)) return null;
        if (ch === 0x5f) {
          this.invalidName = true;
          return null;
        }
        if (ch === 0x3a) {
          this.nameEnd = p;
          this.hl = 'spaceBeforeValue';
          return null;
        }
        if (ch === CR || ch === LF) {
          this.nameEnd = this.valueStart = this.valueEnd = p;
          if (ch === CR) {
            this.hl = 'almostDone';
            return null;
          }
          return this.headerLineDone();
        }
        if (ch <= 0x20 || ch === 0x7f) return this.bad('client sent invalid header line');
        this.invalidName = true;
        return null;
      case 'spaceBeforeValue':
        if (ch === SP) return null;
        if (ch === CR || ch === LF) {
          this.valueStart = this.valueEnd = p;
          if (ch === CR) {
            this.hl = 'almostDone';
            return null;
          }
          return this.headerLineDone();
        }
        if (ch === 0) return this.bad('client sent invalid header line');
        this.valueStart = p;
        this.hl = 'value';
        return null;
      case 'value':
        if (ch === SP) {
          this.valueEnd = p;
          this.hl = 'spaceAfterValue';
          return null;
        }
        if (ch === CR || ch === LF) {
          this.valueEnd = p;
          if (ch === CR) {
            this.hl = 'almostDone';
            return null;
          }
          return this.headerLineDone();
        }
        if (ch === 0) return this.bad('client sent invalid header line');
        return null;
      case 'spaceAfterValue':
        if (ch === SP) return null;
        if (ch === CR) {
          this.hl = 'almostDone';
          return null;
        }
        if (ch === LF) return this.headerLineDone();
        if (ch === 0) return this.bad('client sent invalid header line');
        this.hl = 'value';
        return null;
      case 'almostDone':
        if (ch === LF) return this.headerLineDone();
        if (ch === CR) return null;
        return this.bad('client sent invalid header line');
      case 'headerAlmostDone':
        if (ch === LF) return this.headDone();
        return this.bad('client sent invalid header line');
    }
  }

  private headerLineDone(): HeadVerdict | null {
    this.hl = 'start';
    const name = this.lineText(this.lineStart, this.nameEnd);
    const value = this.lineText(this.valueStart, this.valueEnd);
    this.lineStart = -1;
    this.lineLen = 0;
    // ignore_invalid_headers: a name with "_" or a non-token byte is dropped ("client sent invalid header line").
    if (this.invalidName) return null;
    if (this.headers.length >= this.limits.maxHeaders) return { kind: 'error', status: 494, err: 'client sent too many header lines' };
    const lower = name.toLowerCase();
    if (UNIQUE_HEADERS.has(lower)) {
      if (this.seen.has(lower)) return this.bad(lower === 'host' ? 'client sent duplicate host header' : 'client sent duplicate header line');
      this.seen.add(lower);
    }
    if (lower === 'host' && !validHost(value)) return this.bad('client sent invalid host header');
    this.headers.push([name, value]);
    return null;
  }

  /** ngx_http_process_request_header: the checks once all headers are in. */
  private headDone(): HeadVerdict | null {
    const version = this.http09 ? '0.9' : `${this.major}.${this.minor}`;
    const find = (n: string): string | null => this.headers.find(([k]) => k.toLowerCase() === n)?.[1] ?? null;
    const host = find('host');
    const http11 = !this.http09 && (this.major > 1 || this.minor >= 1);
    if (host === null && http11) return this.bad('client sent HTTP/1.1 request without "Host" header');
    const cl = find('content-length');
    let contentLength: number | null = null;
    if (cl !== null) {
      contentLength = parseOffset(cl);
      if (contentLength === null) return this.bad('client sent invalid "Content-Length" header');
    }
    const te = find('transfer-encoding');
    let chunked = false;
    if (te !== null) {
      if (!http11) return this.bad('client sent HTTP/1.0 request with "Transfer-Encoding" header');
      if (te.toLowerCase() !== 'chunked') return { kind: 'error', status: 501, err: 'client sent unknown "Transfer-Encoding"' };
      if (cl !== null) return this.bad('client sent "Content-Length" and "Transfer-Encoding" headers at the same time');
      chunked = true;
    }
    if (this.method === 'CONNECT') return { kind: 'error', status: 405, err: 'client sent CONNECT method' };
    if (this.method === 'TRACE') return { kind: 'error', status: 405, err: 'client sent TRACE method' };
    return { kind: 'done', used: 0, head: { method: this.method, target: this.target, httpVersion: version, rawHeaders: this.headers, contentLength, chunked } };
  }
}

/** The first value of a header, names compared case-insensitively. */
export function headerValue(headers: ReadonlyArray<readonly [string, string]>, name: string): string | null {
  const lower = name.toLowerCase();
  for (const [n, v] of headers) if (n.toLowerCase() === lower) return v;
  return null;
}

/** ngx.req.get_headers()'s default max_headers: the library sees only the first 100 header lines. */
export const LUA_GET_HEADERS_MAX = 100;

/** ngx_http_test_expect: HTTP/1.1 with "Expect: 100-continue" gets an interim 100 before the body is read. */
export function expectsContinue(head: RequestHead): boolean {
  if (head.httpVersion === '0.9' || head.httpVersion === '1.0') return false;
  const e = headerValue(head.rawHeaders, 'expect');
  return e !== null && e.toLowerCase() === '100-continue';
}

export const CONTINUE_RESPONSE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/**
 * A chunked request body counted, never stored (ngx_http_parse_chunked, simplified to what it
 * accepts): hex sizes, extensions after ";", CRLF or LF line ends, trailers after the last chunk.
 */
export class ChunkedBodyCounter {
  private state: 'size' | 'ext' | 'sizeLf' | 'data' | 'dataCr' | 'dataLf' | 'trailer' | 'trailerLine' | 'done' = 'size';
  private size = 0;
  private digits = 0;
  private left = 0;
  /** Payload bytes so far. */
  total = 0;

  /** Returns 'more', 'done' with the bytes of `chunk` used, or 'error'. */
  push(chunk: Buffer, maxTotal: number): { kind: 'more' } | { kind: 'done'; used: number } | { kind: 'error'; status: 400 | 413 } {
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      switch (this.state) {
        case 'size': {
          const hex = isDigit(ch) ? ch - 0x30 : (ch | 0x20) >= 0x61 && (ch | 0x20) <= 0x66 ? (ch | 0x20) - 0x57 : -1;
          if (hex >= 0) {
            if (this.digits >= 15) return { kind: 'error', status: 400 };
            this.size = this.size * 16 + hex;
            this.digits++;
            break;
          }
          if (this.digits === 0) return { kind: 'error', status: 400 };
          if (ch === 0x3b || ch === SP || ch === 0x09) this.state = 'ext';
          else if (ch === CR) this.state = 'sizeLf';
          else if (ch === LF) this.chunkHeadDone();
          else return { kind: 'error', status: 400 };
          break;
        }
        case 'ext':
          if (ch === CR) this.state = 'sizeLf';
          else if (ch === LF) this.chunkHeadDone();
          break;
        case 'sizeLf':
          if (ch !== LF) return { kind: 'error', status: 400 };
          this.chunkHeadDone();
          break;
        case 'data': {
          const take = Math.min(this.left, chunk.length - i);
          this.left -= take;
          i += take - 1;
          if (this.left === 0) this.state = 'dataCr';
          break;
        }
        case 'dataCr':
          if (ch === CR) this.state = 'dataLf';
          else if (ch === LF) this.state = 'size';
          else return { kind: 'error', status: 400 };
          break;
        case 'dataLf':
          if (ch !== LF) return { kind: 'error', status: 400 };
          this.state = 'size';
          break;
        case 'trailer':
          if (ch === LF) return { kind: 'done', used: i + 1 };
          this.state = ch === CR ? 'trailer' : 'trailerLine';
          break;
        case 'trailerLine':
          if (ch === LF) this.state = 'trailer';
          break;
        case 'done':
          return { kind: 'done', used: i };
      }
      if (this.state === 'data' && this.total > maxTotal && maxTotal > 0) return { kind: 'error', status: 413 };
    }
    return { kind: 'more' };
  }

  private chunkHeadDone(): void {
    if (this.size === 0) {
      this.state = 'trailer';
      return;
    }
    this.total += this.size;
    this.left = this.size;
    this.size = 0;
    this.digits = 0;
    this.state = 'data';
  }
}
