// resty.websocket.server v0.12 (docs/behaviour.md §4): the handshake, then recv_frame and the senders
// with the original's checks, errors and fatal-state rules. `strict` turns on RFC 6455 fixes, one
// named switch per deviation (impl/profile.ts, docs/behaviour.md §7).
//
// Usage:
//   const srv = await createServer({ port: 8080, handler: async (ws) => {
//     for (;;) {
//       const { data, type, err } = await ws.recvFrame();
//       if (!data) return;                                  // err says why
//       if (type === 'close') return void ws.sendClose(err === null ? undefined : err, data);
//       if (type === 'text') await ws.sendText(data);
//     }
//   } });
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { ENDPOINT_ERRORS, WebSocketEndpoint } from './endpoint.js';
import { checkHandshake, type HandshakeRequest } from './handshake-server.js';
import { isLingering, readHttpRequest, type HttpEdgeOptions } from './http-edge.js';
import { luaOr, luaTruthy } from './lua.js';
import { PerMessageDeflate, resolveDeflateOption, type DeflateParams, type PerMessageDeflateOption } from './permessage-deflate.js';
import { resolveProfile, type StrictChecks, type StrictOption } from './profile.js';
import { DEFAULT_TIMEOUT_MS, NodeCosocket, type Stream } from './socket.js';
import type { Cosocket, SendResult } from './types.js';

export { _VERSION } from './protocol.js';

export const SERVER_ERRORS = {
  fatal: ENDPOINT_ERRORS.fatal,
  notInitialized: ENDPOINT_ERRORS.notInitializedYet,
  badStatusCode: ENDPOINT_ERRORS.badStatusCode,
  /** strict serverClosedState. */
  closed: ENDPOINT_ERRORS.closed,
  /** strict validateSendOpcode. */
  badOpcode: ENDPOINT_ERRORS.badOpcode,
} as const;

export interface ServerOptions {
  /** Default 65535. A 0 is honoured (it is truthy in Lua). */
  max_payload_len?: number;
  /** Default max_payload_len. */
  max_recv_len?: number;
  /** Default max_payload_len. */
  max_send_len?: number;
  /** Mask the frames the server sends (the original's test hook; RFC 6455 forbids it). */
  send_masked?: boolean;
  /** Read/send timeout in ms (sock:settimeout). It does not cover the 101 response. */
  timeout?: number;
  /** Profile: absent/false = compat (v0.12 as it is), true = every RFC fix, or single switches. */
  strict?: StrictOption;
  /** Subprotocols this server supports, most preferred first (strict selectOneSubprotocol). */
  protocols?: readonly string[];
  /**
   * permessage-deflate (RFC 7692), beyond the original: true or settings (impl/permessage-deflate.ts).
   * Off by default; needs the strict profile (checkFragmentation), else the handshake fails with
   * "permessage-deflate needs the strict profile (checkFragmentation)".
   */
  permessageDeflate?: PerMessageDeflateOption;
}

/** The server's max_recv_len for `opts`, as new() computes it. */
function serverMaxRecvLen(opts: ServerOptions): number {
  return luaOr(opts.max_recv_len, luaOr(opts.max_payload_len, 65535));
}

/**
 * The server object: the endpoint core (impl/endpoint.ts) with force_masking on, and the server's
 * closing rules. The server has no closed state (docs/behaviour.md §4) unless strict serverClosedState.
 */
export class WebSocketServer extends WebSocketEndpoint {
  /** The subprotocol the 101 response carried, if any. */
  readonly protocol: string | null;

  constructor(
    sock: Cosocket | null, opts: ServerOptions = {}, protocol: string | null = null, deflate: DeflateParams | null = null,
  ) {
    const maxPayloadLen = luaOr(opts.max_payload_len, 65535);
    super(sock, {
      maxRecvLen: luaOr(opts.max_recv_len, maxPayloadLen),
      maxSendLen: luaOr(opts.max_send_len, maxPayloadLen),
      masking: luaTruthy(opts.send_masked),
      forceMasking: true,
      checks: profileOf(opts),
    });
    this.protocol = protocol;
    if (deflate !== null) {
      const { settings } = resolveDeflateOption(opts.permessageDeflate, this.checks, this.maxRecvLen);
      if (settings !== null) {
        this.useDeflate(new PerMessageDeflate(deflate, settings, true));
        // The zlib contexts go with the connection, however it ends.
        if (sock instanceof NodeCosocket) sock.stream.once('close', () => this.releaseDeflate());
      }
    }
    // server:new calls settimeout for any non-nil timeout (0 means ngx_lua's default there).
    if (sock && luaTruthy(opts.timeout)) sock.setTimeout(opts.timeout!);
  }

  /** strict serverClosedState: after a close frame only close frames may follow. */
  protected closedRefusesSend(opcode: number): boolean {
    return this.checks.serverClosedState && opcode !== 0x8;
  }

  /** "bad status code" aside, send_close sets fatal only as send_frame does; strict serverClosedState marks a sent close. */
  protected closeAttempted(r: SendResult): void {
    if (this.checks.serverClosedState && r.err === null) this.closed = true;
  }

  /** send_continue(data): a FINAL continuation frame only (v0.12, 9641665). */
  sendContinue(data?: unknown): Promise<SendResult> {
    return this.sendFrame(true, 0x0, data);
  }
}

/**
 * The checks for one options object, made once and shared by the connections made with it (one
 * createServer's): an object of 18 flags per connection was ~0.2 KiB of heap on each idle one.
 * Made again if `strict` was changed since.
 */
const profiles = new WeakMap<ServerOptions, { strict: StrictOption; checks: StrictChecks }>();
function profileOf(opts: ServerOptions): StrictChecks {
  const got = profiles.get(opts);
  if (got !== undefined && got.strict === opts.strict) return got.checks;
  const checks = resolveProfile(opts.strict);
  profiles.set(opts, { strict: opts.strict, checks });
  return checks;
}

/**
 * The handshake request kept for onError while the handler runs, as one flat JSON string: its
 * object, with an array per header line and a sliced string per name and value (each keeping the
 * whole request head alive), was ~0.6 KiB of heap on every idle connection. (JSON.stringify returns
 * a tree of string pieces; reading a character flattens it in place.)
 */
function keptRequest(request: HandshakeRequest): string {
  const s = JSON.stringify([request.method, request.target, request.httpVersion, request.rawHeaders]);
  s.charCodeAt(0);
  return s;
}

/** The request keptRequest kept: an equal copy of the one the handler was given. */
function requestFromKept(kept: string): HandshakeRequest {
  const [method, target, httpVersion, rawHeaders] = JSON.parse(kept) as [string, string, string, Array<[string, string]>];
  return { method, target, httpVersion, rawHeaders };
}

/** createServer's listener for errors on a connection's stream (each read or send reports its own). */
function ignore(): void {}

export type NewServerResult = { server: WebSocketServer; err: null } | { server: null; err: string };

async function upgrade(sock: NodeCosocket, req: HandshakeRequest, opts: ServerOptions): Promise<NewServerResult> {
  const checks = profileOf(opts);
  const deflate = resolveDeflateOption(opts.permessageDeflate, checks, serverMaxRecvLen(opts));
  if (deflate.err !== null) return { server: null, err: deflate.err };
  const outcome = checkHandshake(req, { checks, protocols: opts.protocols, deflate: deflate.settings });
  if (!outcome.ok) {
    // compat sends nothing (the application decides; the README exits with 444); strict answers.
    if (outcome.response) await sock.send(outcome.response);
    return { server: null, err: outcome.err };
  }
  const sent = await sock.send(outcome.response);
  if (sent.err !== null) return { server: null, err: `failed to send response header: ${sent.err}` };
  return { server: new WebSocketServer(sock, opts, outcome.protocol, outcome.deflate), err: null };
}

/**
 * new(opts) on a raw connection: reads the request head and body as nginx does in front of the
 * original (impl/http-edge.ts: nginx's parser, limits and statuses, what Node's HTTP parser
 * would refuse or allow differently), runs the original's checks and sends the 101 response.
 */
export async function acceptWebSocket(stream: Stream, opts: AcceptOptions = {}): Promise<NewServerResult & { request: HandshakeRequest | null }> {
  const edge = await readHttpRequest(stream, opts);
  if (!edge.ok) return { server: null, err: edge.err, request: edge.request };
  const sock = new NodeCosocket(stream, { timeout: DEFAULT_TIMEOUT_MS, head: edge.rest });
  return { ...(await upgrade(sock, edge.request, opts)), request: edge.request };
}

/** new()'s options plus the HTTP edge's limits (nginx directives, impl/http-edge.ts). */
export interface AcceptOptions extends ServerOptions, HttpEdgeOptions {}

/** new(opts) on a Node http server's 'upgrade' event (req, socket, head). */
export async function newServer(req: IncomingMessage, socket: Stream, head: Buffer, opts: ServerOptions = {}): Promise<NewServerResult> {
  const rawHeaders: Array<[string, string]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!.trim()]);
  const request: HandshakeRequest = { method: req.method ?? 'GET', target: req.url ?? '/', httpVersion: req.httpVersion, rawHeaders };
  return upgrade(new NodeCosocket(socket, { head }), request, opts);
}

export interface CreateServerOptions extends AcceptOptions {
  /** Default 0 (a free port). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Serve wss: PEM certificate and key; `ca` + `requestCert` for mutual TLS. */
  tls?: { cert: string | Buffer; key: string | Buffer; ca?: string | Buffer; requestCert?: boolean };
  /** Runs for each upgraded connection; the connection is closed when it returns. */
  handler: (ws: WebSocketServer, request: HandshakeRequest) => unknown;
  /** Called when a handshake fails (the connection is then closed, like the README's `ngx.exit(444)`). */
  onHandshakeError?: (err: string, request: HandshakeRequest | null) => void;
  /**
   * Called when the handler throws or rejects, after the error is logged and counted; the
   * connection is then closed, as nginx finishes a request whose Lua thread aborted.
   */
  onError?: (err: unknown, ws: WebSocketServer, request: HandshakeRequest) => void;
  /** Where a handler error is logged, one line with the stack: default stderr; false for nowhere. */
  log?: ((line: string) => void) | false;
}

/** One line for the log: the stack (or the value) with its line breaks folded. */
export function handlerErrorLine(err: unknown): string {
  const text = err instanceof Error ? (err.stack ?? `${err.name}: ${err.message}`) : String(err);
  return `[error] resty-websocket server: handler failed: ${text.replace(/\s*\n\s*/g, ' | ')}`;
}

export interface RunningServer {
  /** ws://host:port or wss://host:port */
  url: string;
  port: number;
  /** Handlers that threw or rejected so far. */
  readonly handlerErrors: number;
  close(): Promise<void>;
}

/** A resty-style server in three lines: handshake per connection, then your handler. */
export async function createServer(opts: CreateServerOptions): Promise<RunningServer> {
  // An option the profile cannot carry is refused before listening, not at every handshake.
  const deflate = resolveDeflateOption(opts.permessageDeflate, resolveProfile(opts.strict), serverMaxRecvLen(opts));
  if (deflate.err !== null) throw new Error(deflate.err);
  const host = opts.host ?? '127.0.0.1';
  const sockets = new Set<Stream>();
  let handlerErrors = 0;
  const log = opts.log === false ? null : (opts.log ?? ((line: string): void => void process.stderr.write(line + '\n')));
  const fail = (err: unknown, stream: Stream): void => {
    log?.(handlerErrorLine(err));
    stream.destroy();
  };
  // One listener function for every connection (`this` is the stream), not a closure per connection.
  function forget(this: Stream): void {
    sockets.delete(this);
  }
  const handlerFailed = (err: unknown, ws: WebSocketServer, request: HandshakeRequest | string | null): void => {
    handlerErrors++;
    log?.(handlerErrorLine(err));
    if (opts.onError === undefined || request === null) return;
    try {
      opts.onError(err, ws, typeof request === 'string' ? requestFromKept(request) : request);
    } catch (hookErr) {
      log?.(handlerErrorLine(hookErr));
    }
  };
  // While its handler waits, a connection keeps one promise reaction and two closures here (no
  // async function: its suspended generator and promises were kept per idle connection).
  const serve = (r: Awaited<ReturnType<typeof acceptWebSocket>>, stream: Stream): void => {
    if (r.server === null) {
      opts.onHandshakeError?.(r.err, r.request);
      // A request the HTTP edge refused is answered and closed there (nginx's lingering close).
      if (!isLingering(stream)) stream.destroySoon?.();
      return;
    }
    const ws = r.server;
    // the cosocket listens for errors now (and after it closes): a second listener would cost
    // an array on every idle connection's stream
    stream.off('error', ignore);
    const close = (): void => {
      ws.releaseDeflate();
      void ws.socket?.close().catch((err: unknown) => fail(err, stream));
    };
    let ran: unknown;
    try {
      ran = opts.handler(ws, r.request!);
    } catch (err) {
      handlerFailed(err, ws, r.request!);
      close();
      return;
    }
    // The request is kept while the handler runs only for onError, and compactly: the closures keep
    // only what they use (a connection keeps no request of its own, ws keeps none either).
    const kept = opts.onError === undefined ? null : keptRequest(r.request!);
    void Promise.resolve(ran).then(close, (err: unknown) => {
      handlerFailed(err, ws, kept);
      close();
    });
  };
  const onConnection = (stream: Stream): void => {
    sockets.add(stream);
    stream.on('close', forget);
    stream.on('error', ignore);
    acceptWebSocket(stream, opts)
      .then((r) => serve(r, stream))
      .catch((err: unknown) => fail(err, stream));
  };
  const server = opts.tls
    ? tls.createServer({ cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, requestCert: !!opts.tls.requestCert, rejectUnauthorized: !!opts.tls.requestCert }, onConnection)
    : net.createServer(onConnection);
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `${opts.tls ? 'wss' : 'ws'}://${host}:${port}`,
    port,
    get handlerErrors() {
      return handlerErrors;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
