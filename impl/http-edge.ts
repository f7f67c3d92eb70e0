// The HTTP edge of our server: what nginx does with a connection before the original library's
// server:new() runs, and what ngx.req.read_body() does inside it. Every resource a client can make
// the server hold here is bounded, with nginx's directive names and defaults (the lab's nginx
// config, fixtures/nginx/nginx.conf.template, is the reference; README "Security and limits"):
//   client_header_timeout      60 s for the whole request head, counted from the connection's
//                              start; on expiry the connection is closed without a response
//                              (nginx logs 408 but sends nothing);
//   client_header_buffer_size + large_client_header_buffers  1k + 4 x 8k: a request line that does
//                              not fit in one large buffer is 414, a header line or a head that does
//                              not fit is 400 "Request Header Or Cookie Too Large";
//   max_request_headers        1000 header lines (nginx 1.22 measured), then the same 400;
//   client_max_body_size       1m: a larger Content-Length is 413 at once, a chunked body that grows
//                              past it is 413 when it does; bodies are counted, never stored;
//   client_body_timeout        60 s of silence while a body is read, then a close without response.
// After an error response the connection lingers like nginx's lingering close: reads are
// discarded for at most LINGERING_TIMEOUT_MS of silence and LINGERING_TIME_MS in all.
import type { HandshakeRequest } from './handshake-server.js';
import { luaOr } from './lua.js';
import type { HeadLimits } from './header-buffers.js';
import { nginxErrorResponse } from './nginx-error-pages.js';
import { ChunkedBodyCounter, CONTINUE_RESPONSE, expectsContinue } from './request-body.js';
import { RequestHeadParser, type HeadStatus, type RequestHead } from './request-head.js';
import type { Stream } from './socket.js';

export interface HttpEdgeOptions {
  /** ms for the whole request head from the connection's start (nginx client_header_timeout, default 60 s). */
  client_header_timeout?: number;
  /** The first header buffer in bytes (nginx client_header_buffer_size, default 1024). */
  client_header_buffer_size?: number;
  /** nginx large_client_header_buffers (default 4 x 8192). */
  large_client_header_buffers?: { number?: number; size?: number };
  /** Header lines before 400 (nginx 1.22 keeps at most 1000; default 1000). */
  max_request_headers?: number;
  /** Largest request body in bytes, 0 for no limit (nginx client_max_body_size, default 1 MiB). */
  client_max_body_size?: number;
  /** ms of silence while a request body is read (nginx client_body_timeout, default 60 s). */
  client_body_timeout?: number;
}

export const HTTP_EDGE_DEFAULTS = Object.freeze({
  client_header_timeout: 60_000,
  client_header_buffer_size: 1024,
  large_client_header_buffers: Object.freeze({ number: 4, size: 8192 }),
  max_request_headers: 1000,
  client_max_body_size: 1024 * 1024,
  client_body_timeout: 60_000,
});

/** nginx's lingering_timeout and lingering_time defaults. */
export const LINGERING_TIMEOUT_MS = 5_000;
export const LINGERING_TIME_MS = 30_000;

export type HttpEdgeResult =
  | { ok: true; request: RequestHead; /** bytes after the head and body: the first WebSocket frames */ rest: Buffer }
  | { ok: false; err: string; request: HandshakeRequest | null; /** the status sent, null when the connection was closed silently */ status: HeadStatus | null };

export function headLimits(opts: HttpEdgeOptions): HeadLimits {
  const large = luaOr(opts.large_client_header_buffers, HTTP_EDGE_DEFAULTS.large_client_header_buffers);
  return {
    clientHeaderBufferSize: luaOr(opts.client_header_buffer_size, HTTP_EDGE_DEFAULTS.client_header_buffer_size),
    largeBuffers: luaOr(large.number, HTTP_EDGE_DEFAULTS.large_client_header_buffers.number),
    largeBufferSize: luaOr(large.size, HTTP_EDGE_DEFAULTS.large_client_header_buffers.size),
    maxHeaders: luaOr(opts.max_request_headers, HTTP_EDGE_DEFAULTS.max_request_headers),
  };
}

const lingeringStreams = new WeakSet<Stream>();

/** True while the edge owns a refused connection (its error response, then the lingering close). */
export function isLingering(stream: Stream): boolean {
  return lingeringStreams.has(stream);
}

/**
 * Sends nginx's error page, then discards what the client still sends, for a bounded time.
 * `discardingBody` (a 413): like nginx's discarded-body handler the connection stays open while
 * the body is thrown away, then closes; otherwise (a refused head) like ngx_http_set_lingering_close
 * the write side is shut at once and reads are drained until the client stops.
 */
export function respondAndLinger(stream: Stream, response: Buffer | null, discardingBody = false): void {
  if (stream.destroyed) return;
  lingeringStreams.add(stream);
  let silence: NodeJS.Timeout | null = null;
  const done = (): void => {
    clearTimeout(total);
    if (silence) clearTimeout(silence);
    if (discardingBody && !stream.destroyed) {
      stream.end();
      stream.destroySoon?.();
      setTimeout(() => stream.destroy(), 1000).unref();
    } else stream.destroy();
  };
  const total = setTimeout(done, LINGERING_TIME_MS);
  silence = setTimeout(done, LINGERING_TIMEOUT_MS);
  stream.on('data', () => silence?.refresh());
  stream.once('end', done);
  stream.once('close', done);
  stream.on('error', () => {});
  if (discardingBody) {
    if (response) stream.write(response);
  } else if (response) stream.end(response);
  else stream.end();
  stream.resume();
}

/**
 * Reads the request head and body from a fresh connection as nginx + ngx.req.read_body() do.
 * Succeeds with the head and the bytes after the body (the stream is left paused); anything nginx
 * refuses is answered (or closed) here, with nginx's status.
 */
export function readHttpRequest(stream: Stream, opts: HttpEdgeOptions = {}): Promise<HttpEdgeResult> {
  const parser = new RequestHeadParser(headLimits(opts));
  const maxBody = luaOr(opts.client_max_body_size, HTTP_EDGE_DEFAULTS.client_max_body_size);
  const bodyTimeout = luaOr(opts.client_body_timeout, HTTP_EDGE_DEFAULTS.client_body_timeout);
  return new Promise((resolve) => {
    let head: RequestHead | null = null;
    let bodyLeft = 0;
    let chunked: ChunkedBodyCounter | null = null;
    let settled = false;
    let bodyTimer: NodeJS.Timeout | null = null;
    const finish = (r: HttpEdgeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (bodyTimer) clearTimeout(bodyTimer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      resolve(r);
    };
    const fail = (status: HeadStatus, err: string): void => {
      stream.pause();
      finish({ ok: false, err, request: head, status });
      respondAndLinger(stream, nginxErrorResponse(status, head?.httpVersion === '0.9'), status === 413);
    };
    const closeSilently = (err: string): void => {
      finish({ ok: false, err, request: head, status: null });
      stream.destroy();
    };
    // client_header_timeout is a deadline for the whole head; client_body_timeout bounds silence.
    const timer = setTimeout(() => closeSilently(head ? 'client timed out reading the request body' : 'client timed out reading the request header'),
      luaOr(opts.client_header_timeout, HTTP_EDGE_DEFAULTS.client_header_timeout));
    const startBody = (h: RequestHead, rest: Buffer): void => {
      head = h;
      if (h.contentLength !== null && maxBody > 0 && h.contentLength > maxBody) return fail(413, 'client intended to send too large body');
      if (expectsContinue(h) && (h.chunked || (h.contentLength ?? 0) > 0)) stream.write(CONTINUE_RESPONSE);
      bodyLeft = h.contentLength ?? 0;
      chunked = h.chunked ? new ChunkedBodyCounter() : null;
      // From here the timer is client_body_timeout's.
      clearTimeout(timer);
      bodyTimer = setTimeout(() => closeSilently('client timed out reading the request body'), bodyTimeout);
      body(rest);
    };
    const body = (chunk: Buffer): void => {
      bodyTimer?.refresh();
      let rest = chunk;
      if (chunked) {
        const v = chunked.push(rest, maxBody);
        if (v.kind === 'error') return fail(v.status, v.status === 413 ? 'client intended to send too large chunked body' : 'client sent invalid chunked body');
        if (v.kind === 'more') return;
        rest = rest.subarray(v.used);
        chunked = null;
      } else if (bodyLeft > 0) {
        const take = Math.min(bodyLeft, rest.length);
        bodyLeft -= take;
        rest = rest.subarray(take);
        if (bodyLeft > 0) return;
      }
      stream.pause();
      finish({ ok: true, request: head!, rest: Buffer.from(rest) });
    };
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      if (head) return body(chunk);
      const v = parser.push(chunk);
      if (v.kind === 'more') return;
      if (v.kind === 'error') return fail(v.status, v.err);
      startBody(v.head, chunk.subarray(v.used));
    };
    const onEnd = (): void => {
      closeSilently(head ? 'client prematurely closed connection while reading the request body' : 'client closed connection while reading the request header');
    };
    const onError = (): void => onEnd();
    stream.on('data', onData);
    stream.on('end', onEnd);
    stream.on('close', onEnd);
    stream.on('error', onError);
    if (stream.destroyed) onEnd();
  });
}
