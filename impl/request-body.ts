// What nginx does with a request body before the original library's ngx.req.read_body() returns:
// the interim "100 Continue" an Expect header asks for, and a chunked body counted against
// client_max_body_size (bodies are counted, never stored).
import type { RequestHead } from './request-head.js';
import { headerValue } from './request-headers.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;

/** ngx_http_test_expect: HTTP/1.1 with "Expect: 100-continue" gets an interim 100 before the body is read. */
export function expectsContinue(head: RequestHead): boolean {
  if (head.httpVersion === '0.9' || head.httpVersion === '1.0') return false;
  const e = headerValue(head.rawHeaders, 'expect');
  return e !== null && e.toLowerCase() === '100-continue';
}

export const CONTINUE_RESPONSE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1');

/** A hex digit's value, or -1. */
function hexValue(ch: number): number {
  if (ch >= 0x30 && ch <= 0x39) return ch - 0x30;
  const lower = ch | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x57 : -1;
}

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
          const hex = hexValue(ch);
          if (hex >= 0) {
            if (this.digits >= 15) return { kind: 'error', status: 400 };
            this.size = this.size * 16 + hex;
            this.digits++;
            break;
          }
          if (this.digits === 0) return { kind: 'error', status: 400 };
          if (ch === 0x3b || ch === SP || ch === HTAB) this.state = 'ext';
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
