// The HTTP request head as nginx 1.22 reads it in front of the original library: the state machines
// of ngx_http_parse_request_line and ngx_http_parse_header_line (ignore_invalid_headers on,
// underscores_in_headers off). Incremental: bytes go in as they arrive and the verdict comes as
// early as nginx gives it (a bad header line is answered before the head ends). Around it: the
// header buffers that bound a head (header-buffers.ts), the Host and URI checks (host-uri-checks.ts),
// the header handlers that refuse a request (request-headers.ts), the pages a refusal is answered
// with (nginx-error-pages.ts) and what follows the head, Expect and a chunked body (request-body.ts).
// Every rule was measured against the lab's nginx peer (README "Security and limits").
import { DEFAULT_HEAD_LIMITS, HeaderBuffers, type HeadLimits } from './header-buffers.js';
import { complexUriOk, validHost } from './host-uri-checks.js';
import { headerLineRefusal, processRequestHeader, type BodyFraming } from './request-headers.js';

/** nginx statuses a request head can end in. 494 is nginx-internal: it goes out as 400. */
export type HeadStatus = 400 | 405 | 413 | 414 | 494 | 501 | 505;

export interface RequestHead extends BodyFraming {
  method: string;
  /** The request target as sent. */
  target: string;
  /** "1.1", "1.0", ... ("0.9" for a request line without a version: nginx reads no headers then). */
  httpVersion: string;
  /** The header lines nginx keeps, in order, values as nginx keeps them (only spaces trimmed). */
  rawHeaders: Array<[string, string]>;
}

export type HeadVerdict =
  | { kind: 'more' }
  | { kind: 'done'; head: RequestHead; /** bytes of the last chunk that belong to the head */ used: number }
  | HeadRefusal;

export type HeadRefusal = { kind: 'error'; status: HeadStatus; err: string };

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
  private readonly buffers: HeaderBuffers;
  private readonly maxHeaders: number;
  private phase: 'line' | 'headers' | 'finished' = 'line';
  private rl: RlState = 'start';
  private hl: HlState = 'start';
  /** Absolute offset of the next byte. */
  private pos = 0;
  // request line
  private method = '';
  private target = '';
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
    const all = { ...DEFAULT_HEAD_LIMITS, ...limits };
    this.buffers = new HeaderBuffers(all);
    this.maxHeaders = all.maxHeaders;
  }

  /** Bytes taken so far. */
  get consumed(): number {
    return this.pos;
  }

  push(chunk: Buffer): HeadVerdict {
    if (this.phase === 'finished') throw new Error('RequestHeadParser: push after the verdict');
    for (let i = 0; i < chunk.length; i++) {
      const exhausted = this.buffers.roomFor(this.pos, this.phase === 'line');
      if (exhausted) return this.finish({ kind: 'error', ...exhausted });
      const ch = chunk[i]!;
      this.pos++;
      this.buffers.take(ch);
      const v = this.phase === 'line' ? this.requestLineByte(ch) : this.headerByte(ch);
      if (v === null) continue;
      if (v.kind === 'error') return this.finish(v);
      if (v.kind === 'more') continue;
      this.phase = 'finished';
      return { kind: 'done', head: v.head, used: i + 1 };
    }
    return { kind: 'more' };
  }

  private finish(v: HeadRefusal): HeadVerdict {
    this.phase = 'finished';
    return v;
  }

  /** The request-line machine moves to `state` and waits for the next byte. */
  private go(state: RlState): null {
    this.rl = state;
    return null;
  }

  /** The header-line machine moves to `state` and waits for the next byte. */
  private goHeader(state: HlState): null {
    this.hl = state;
    return null;
  }

  private bad(err = 'client sent invalid request'): HeadRefusal {
    return { kind: 'error', status: 400, err };
  }

  /** ngx_http_parse_request_line. `this.pos - 1` is the offset of `ch`. */
  private requestLineByte(ch: number): HeadVerdict | null {
    const p = this.pos - 1;
    switch (this.rl) {
      case 'start':
        if (ch === CR || ch === LF) return null;
        if (!isUpperOrMethod(ch)) return this.bad('client sent invalid method');
        this.buffers.beginLine(p, ch);
        return this.go('method');
      case 'method':
        if (ch === SP) {
          this.method = this.buffers.text(this.buffers.lineFrom, p);
          return this.go('spacesBeforeUri');
        }
        if (!isUpperOrMethod(ch)) return this.bad('client sent invalid method');
        return null;
      case 'spacesBeforeUri':
        if (ch === 0x2f) {
          this.uriStart = p;
          return this.go('afterSlashInUri');
        }
        if (isAlpha(ch)) {
          this.uriStart = p;
          return this.go('schema');
        }
        if (ch === SP) return null;
        return this.bad();
      case 'schema':
        if (isAlpha(ch) || isDigit(ch) || ch === 0x2b || ch === 0x2d || ch === 0x2e) return null;
        if (ch === 0x3a) return this.go('schemaSlash');
        return this.bad();
      case 'schemaSlash':
        if (ch !== 0x2f) return this.bad();
        return this.go('schemaSlashSlash');
      case 'schemaSlashSlash':
        if (ch !== 0x2f) return this.bad();
        return this.go('hostStart');
      case 'hostStart':
        this.hostStart = p;
        if (ch === 0x5b) return this.go('hostIpLiteral');
        this.rl = 'host';
        return this.hostByte(ch, p);
      case 'host':
        return this.hostByte(ch, p);
      case 'hostIpLiteral':
        if (isAlpha(ch) || isDigit(ch) || ':.-_~!$&\'()*+,;='.includes(String.fromCharCode(ch))) return null;
        if (ch === 0x5d) {
          this.hostEnd = p + 1;
          return this.go('hostEnd');
        }
        return this.bad();
      case 'hostEnd':
        return this.hostEndByte(ch, p, true);
      case 'port':
        if (isDigit(ch)) return null;
        if (ch === 0x2f) return this.go('afterSlashInUri');
        if (ch === 0x3f) return this.go('uri');
        if (ch === SP) {
          this.uriEnd = p;
          return this.go('http09');
        }
        return this.bad();
      case 'afterSlashInUri':
      case 'checkUri':
        if (usual(ch)) return this.go('checkUri');
        if (ch === SP || ch === CR || ch === LF) return this.uriEndByte(ch, p);
        switch (ch) {
          case 0x2e:
            if (this.rl === 'checkUri') return null;
            this.complex = true;
            return this.go('uri');
          case 0x25:
            this.complex = true;
            return this.go('uri');
          case 0x2f:
            if (this.rl === 'checkUri') return this.go('afterSlashInUri');
            this.complex = true;
            return this.go('uri');
          case 0x3f:
            return this.go('uri');
          case 0x23:
            this.complex = true;
            return this.go('uri');
          case 0x2b:
            return null;
          default:
            if (ch < 0x20 || ch === 0x7f) return this.bad();
            return this.go('checkUri');
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
        if (ch === CR || ch === LF) {
          this.http09 = true;
          return ch === CR ? this.go('almostDone') : this.requestLineDone();
        }
        if (ch === 0x48) return this.go('httpH');
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
        return this.go('major');
      case 'major':
        if (ch === 0x2e) return this.go('firstMinor');
        if (!isDigit(ch) || this.major > 99) return this.bad();
        this.major = this.major * 10 + (ch - 0x30);
        if (this.major > 1) return { kind: 'error', status: 505, err: 'client sent unsupported HTTP version' };
        return null;
      case 'firstMinor':
        if (!isDigit(ch)) return this.bad();
        this.minor = ch - 0x30;
        return this.go('minor');
      case 'minor':
        if (ch === CR) return this.go('almostDone');
        if (ch === LF) return this.requestLineDone();
        if (ch === SP) return this.go('spacesAfterDigit');
        if (!isDigit(ch) || this.minor > 99) return this.bad();
        this.minor = this.minor * 10 + (ch - 0x30);
        return null;
      case 'spacesAfterDigit':
        if (ch === SP) return null;
        if (ch === CR) return this.go('almostDone');
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
    if (ch === SP) return this.go('http09');
    this.http09 = true;
    if (ch === CR) return this.go('almostDone');
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
        return this.go('port');
      case 0x2f:
        return this.go('afterSlashInUri');
      case 0x3f:
        return this.go('uri');
      case SP:
        this.uriEnd = p;
        return this.go('http09');
      default:
        return this.bad();
    }
  }

  private expect(ch: number, want: number, next: RlState): HeadVerdict | null {
    if (ch !== want) return this.bad();
    return this.go(next);
  }

  private requestLineDone(): HeadVerdict | null {
    const target = this.buffers.text(this.uriStart, this.uriEnd);
    if (this.http09 && this.method !== 'GET') return this.bad('client sent invalid method in HTTP/0.9 request');
    if (this.hostStart >= 0 && !validHost(this.buffers.text(this.hostStart, this.hostEnd))) return this.bad('client sent invalid host in request line');
    const pathFrom = this.hostStart >= 0 ? target.indexOf('/', target.indexOf('//') + 2) : 0;
    if (this.complex && pathFrom >= 0 && !complexUriOk(target.slice(pathFrom))) return this.bad();
    this.target = target;
    this.buffers.endLine();
    if (this.http09) return this.headDone();
    this.phase = 'headers';
    return null;
  }

  /** ngx_http_parse_header_line, then the header's handler. */
  private headerByte(ch: number): HeadVerdict | null {
    const p = this.pos - 1;
    switch (this.hl) {
      case 'start':
        this.invalidName = false;
        if (ch === CR) return this.goHeader('headerAlmostDone');
        if (ch === LF) return this.headDone();
        this.buffers.beginLine(p, ch);
        this.hl = 'name';
        if (ch === 0x3a) return this.bad('client sent invalid header line');
        return this.nameByte(ch);
      case 'name':
        if (ch === 0x3a) {
          this.nameEnd = p;
          return this.goHeader('spaceBeforeValue');
        }
        if (ch === CR || ch === LF) {
          this.nameEnd = this.valueStart = this.valueEnd = p;
          return this.headerLineEnd(ch);
        }
        return this.nameByte(ch);
      case 'spaceBeforeValue':
        if (ch === SP) return null;
        if (ch === CR || ch === LF) {
          this.valueStart = this.valueEnd = p;
          return this.headerLineEnd(ch);
        }
        if (ch === 0) return this.bad('client sent invalid header line');
        this.valueStart = p;
        return this.goHeader('value');
      case 'value':
        if (ch === SP) {
          this.valueEnd = p;
          return this.goHeader('spaceAfterValue');
        }
        if (ch === CR || ch === LF) {
          this.valueEnd = p;
          return this.headerLineEnd(ch);
        }
        if (ch === 0) return this.bad('client sent invalid header line');
        return null;
      case 'spaceAfterValue':
        if (ch === SP) return null;
        if (ch === CR) return this.goHeader('almostDone');
        if (ch === LF) return this.headerLineDone();
        if (ch === 0) return this.bad('client sent invalid header line');
        return this.goHeader('value');
      case 'almostDone':
        if (ch === LF) return this.headerLineDone();
        if (ch === CR) return null;
        return this.bad('client sent invalid header line');
      case 'headerAlmostDone':
        if (ch === LF) return this.headDone();
        return this.bad('client sent invalid header line');
    }
  }

  /**
   * A header name byte: letters, digits and "-" make a valid name; "_" and other visible bytes make
   * the line one nginx drops; controls and spaces are refused.
   */
  private nameByte(ch: number): HeadVerdict | null {
    if (isNameByte(ch)) return null;
    if (ch <= 0x20 || ch === 0x7f) return this.bad('client sent invalid header line');
    this.invalidName = true;
    return null;
  }

  /** CR or LF after a header line: LF ends it, CR wants the LF. */
  private headerLineEnd(ch: number): HeadVerdict | null {
    return ch === CR ? this.goHeader('almostDone') : this.headerLineDone();
  }

  private headerLineDone(): HeadVerdict | null {
    this.hl = 'start';
    const name = this.buffers.text(this.buffers.lineFrom, this.nameEnd);
    const value = this.buffers.text(this.valueStart, this.valueEnd);
    this.buffers.endLine();
    // ignore_invalid_headers: a name with "_" or a non-token byte is dropped ("client sent invalid header line").
    if (this.invalidName) return null;
    if (this.headers.length >= this.maxHeaders) return { kind: 'error', status: 494, err: 'client sent too many header lines' };
    const refusal = headerLineRefusal(name, value, this.seen);
    if (refusal) return { kind: 'error', ...refusal };
    this.headers.push([name, value]);
    return null;
  }

  /** The head is complete: nginx's header handlers have the last word. */
  private headDone(): HeadVerdict {
    const http11 = !this.http09 && (this.major > 1 || this.minor >= 1);
    const framing = processRequestHeader(this.method, http11, this.headers);
    if ('err' in framing) return { kind: 'error', ...framing };
    const httpVersion = this.http09 ? '0.9' : `${this.major}.${this.minor}`;
    return { kind: 'done', used: 0, head: { method: this.method, target: this.target, httpVersion, rawHeaders: this.headers, ...framing } };
  }
}
