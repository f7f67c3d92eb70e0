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
import { closeCodeFor, closePayload, failWithClose, FrameSenders, isSendableCloseCode, isSendableOpcode, luaOr, recvFail } from './endpoint.js';
import { checkHandshake, parseRequestHead, type HandshakeRequest } from './handshake-server.js';
import { MessageValidator } from './message-validator.js';
import { resolveProfile, type StrictChecks, type StrictOption } from './profile.js';
import { READ_FAILURE_PREFIX, readFrame, writeFrame } from './protocol.js';
import { ReadRecorder } from './read-recorder.js';
import { NodeCosocket, type Stream } from './socket.js';
import type { Cosocket, RecvResult, SendResult } from './types.js';

export const _VERSION = '0.12';

export const SERVER_ERRORS = {
  fatal: 'fatal error already happened',
  notInitialized: 'not initialized yet',
  badStatusCode: 'bad status code',
  /** strict serverClosedState. */
  closed: 'already closed',
  /** strict validateSendOpcode. */
  badOpcode: 'bad opcode',
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
}

export class WebSocketServer extends FrameSenders {
  protected sock: Cosocket | null;
  protected readonly maxRecvLen: number;
  protected readonly maxSendLen: number;
  protected readonly sendMasked: boolean;
  readonly checks: StrictChecks;
  /** Set by any recv error but a timeout, and by any send error (docs/behaviour.md §5 "Which errors poison an object"). */
  fatal = false;
  /** Only with strict serverClosedState: set once a close frame was sent. */
  closed = false;
  /** The handshake request (headers as received). */
  readonly request: HandshakeRequest | null;
  /** The subprotocol the 101 response carried, if any. */
  readonly protocol: string | null;
  private readonly validator: MessageValidator | null;

  constructor(sock: Cosocket | null, opts: ServerOptions = {}, request: HandshakeRequest | null = null, protocol: string | null = null) {
    super();
    const maxPayloadLen = luaOr(opts.max_payload_len, 65535);
    this.maxRecvLen = luaOr(opts.max_recv_len, maxPayloadLen);
    this.maxSendLen = luaOr(opts.max_send_len, maxPayloadLen);
    this.sendMasked = !!opts.send_masked;
    this.checks = resolveProfile(opts.strict);
    this.sock = sock;
    this.request = request;
    this.protocol = protocol;
    const c = this.checks;
    this.validator = c.checkFragmentation || c.validateUtf8 || c.validateCloseCodes ? new MessageValidator(c) : null;
    if (sock && opts.timeout) sock.setTimeout(opts.timeout);
  }

  /** The underlying cosocket. */
  get socket(): Cosocket | null {
    return this.sock;
  }

  /**
   * recv_frame(): force_masking is always on for a server. A frame already buffered is read and
   * checked synchronously (readFrame); the promise is then an already-settled one.
   */
  recvFrame(): Promise<RecvResult> {
    if (this.fatal) return Promise.resolve(recvFail(SERVER_ERRORS.fatal));
    const sock = this.sock;
    if (!sock) return Promise.resolve(recvFail(SERVER_ERRORS.notInitialized));
    const recorder = this.checks.fatalOnPartialTimeout ? new ReadRecorder(sock) : null;
    const r = readFrame(recorder ?? sock, this.maxRecvLen, true);
    return r instanceof Promise ? r.then((x) => this.afterRecv(x, recorder)) : Promise.resolve(this.afterRecv(r, recorder));
  }

  /** The state rules around recv_frame's result, and the strict checks on it. */
  private afterRecv(r: RecvResult, recorder: ReadRecorder | null): RecvResult | Promise<RecvResult> {
    if (r.data === null) {
      if (!r.err.includes(': timeout')) {
        this.fatal = true;
        const code = closeCodeFor(r.err);
        if (code !== null) return this.failConnection(code).then(() => r);
      } else if (recorder && (!r.err.startsWith(READ_FAILURE_PREFIX.head) || recorder.lastPartial > 0)) {
        // §7.9: bytes of the frame were consumed, so the stream can no longer be trusted.
        this.fatal = true;
      }
      return r;
    }
    if (this.validator) {
      const v = this.validator.check(r);
      if (!v.ok) {
        this.fatal = true;
        return this.failConnection(v.closeCode).then(() => recvFail(v.err));
      }
    }
    return r;
  }

  /** strict failWithCloseCode: RFC 6455 §7.1.7 "fail the WebSocket connection". */
  private async failConnection(code: 1002 | 1007 | 1009): Promise<void> {
    if (!this.checks.failWithCloseCode || !this.sock) return;
    const alreadyClosed = this.closed;
    this.closed = true;
    await failWithClose(this.sock, code, alreadyClosed, this.sendMasked);
  }

  /** send_frame(fin, opcode, payload): any failure, argument errors included, sets fatal. */
  sendFrame(fin: boolean, opcode: number, payload?: unknown): Promise<SendResult> {
    if (this.fatal) return Promise.resolve({ bytes: null, err: SERVER_ERRORS.fatal });
    const sock = this.sock;
    if (!sock) return Promise.resolve({ bytes: null, err: SERVER_ERRORS.notInitialized });
    if (this.checks.serverClosedState && this.closed && opcode !== 0x8) return Promise.resolve({ bytes: null, err: SERVER_ERRORS.closed });
    if (this.checks.validateSendOpcode && !isSendableOpcode(opcode)) {
      this.fatal = true;
      return Promise.resolve({ bytes: null, err: SERVER_ERRORS.badOpcode });
    }
    const r = writeFrame(sock, !!fin, opcode, payload, this.maxSendLen, this.sendMasked);
    return r instanceof Promise ? r.then(this.afterSend) : Promise.resolve(this.afterSend(r));
  }

  private readonly afterSend = (r: SendResult): SendResult => {
    if (r.err !== null) this.fatal = true;
    return r;
  };

  /** send_continue(data): a FINAL continuation frame only (v0.12, 9641665). */
  sendContinue(data?: unknown): Promise<SendResult> {
    return this.sendFrame(true, 0x0, data);
  }

  /**
   * send_close(code?, msg?): a code that is not a number or is above 0x7fff is "bad status code"
   * (fatal stays unset); otherwise the code goes through LuaJIT bit ops (1000.7 -> 1001, -1 -> 0xffff).
   * msg is only sent with a code.
   */
  async sendClose(code?: unknown, msg?: unknown): Promise<SendResult> {
    if (this.checks.validateCloseCodes && code !== undefined && code !== null && code !== false && !isSendableCloseCode(code)) {
      return { bytes: null, err: SERVER_ERRORS.badStatusCode };
    }
    const built = closePayload(code, msg);
    if (built.err !== null) return { bytes: null, err: SERVER_ERRORS.badStatusCode };
    const r = await this.sendFrame(true, 0x8, built.payload);
    if (this.checks.serverClosedState && r.err === null) this.closed = true;
    return r;
  }

  /** set_timeout(ms): returns nothing, or `{ err: "not initialized yet" }` without a socket. */
  setTimeout(ms: number): { err: string } | undefined {
    if (!this.sock) return { err: SERVER_ERRORS.notInitialized };
    this.sock.setTimeout(ms);
    return undefined;
  }
}

export type NewServerResult = { server: WebSocketServer; err: null } | { server: null; err: string };

/** nginx's client_header_buffer_size + large_client_header_buffers (1k + 4 × 8k). */
const MAX_REQUEST_HEAD = 33 * 1024;

/**
 * Reads the request head from a raw connection as nginx does: up to the first empty line, which
 * may end in CRLF or a bare LF. Byte by byte: heads are small, and the bytes after the head must
 * stay unread for the WebSocket frames.
 */
async function readRequestHead(sock: NodeCosocket): Promise<{ head: Buffer; err: null } | { head: null; err: string }> {
  const bytes: number[] = [];
  let lineStart = 0;
  while (bytes.length < MAX_REQUEST_HEAD) {
    const r = await sock.receive(1);
    if (r.data === null) return { head: null, err: `failed to read the request header: ${r.err}` };
    const b = r.data[0]!;
    bytes.push(b);
    if (b !== 0x0a) continue;
    const line = bytes.length - 1 - lineStart; // length without the LF
    const empty = line === 0 || (line === 1 && bytes[lineStart] === 0x0d);
    if (empty && lineStart > 0) return { head: Buffer.from(bytes.slice(0, lineStart)), err: null };
    lineStart = bytes.length;
  }
  return { head: null, err: 'request header too large' };
}

/** Drops a request body announced by Content-Length (the original's ngx.req.read_body()). */
async function discardBody(sock: NodeCosocket, req: HandshakeRequest): Promise<string | null> {
  const cl = req.rawHeaders.find(([n]) => n.toLowerCase() === 'content-length')?.[1];
  const len = cl === undefined ? 0 : Number(cl);
  if (!Number.isFinite(len) || len <= 0) return null;
  const r = await sock.receive(len);
  return r.data === null ? `failed to read the request body: ${r.err}` : null;
}

async function upgrade(sock: NodeCosocket, req: HandshakeRequest, opts: ServerOptions): Promise<NewServerResult> {
  const checks = resolveProfile(opts.strict);
  const outcome = checkHandshake(req, { checks, protocols: opts.protocols });
  if (!outcome.ok) {
    // compat sends nothing (the application decides; the README exits with 444); strict answers.
    if (outcome.response) await sock.send(outcome.response);
    return { server: null, err: outcome.err };
  }
  const sent = await sock.send(outcome.response);
  if (sent.err !== null) return { server: null, err: `failed to send response header: ${sent.err}` };
  return { server: new WebSocketServer(sock, opts, req, outcome.protocol), err: null };
}

/**
 * new(opts) on a raw connection: reads and parses the request head itself (what nginx accepts,
 * Node's HTTP parser sometimes refuses), runs the original's checks and sends the 101 response.
 * A request nginx itself would refuse gets nginx's error status.
 */
export async function acceptWebSocket(stream: Stream, opts: ServerOptions = {}): Promise<NewServerResult & { request: HandshakeRequest | null }> {
  const sock = new NodeCosocket(stream, { timeout: 60_000 });
  const head = await readRequestHead(sock);
  if (head.head === null) return { server: null, err: head.err, request: null };
  const parsed = parseRequestHead(head.head);
  if (parsed.req === null) {
    const reason = parsed.status === 414 ? 'Request-URI Too Large' : parsed.status === 505 ? 'HTTP Version Not Supported' : 'Bad Request';
    await sock.send(`HTTP/1.1 ${parsed.status} ${reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`);
    return { server: null, err: parsed.err, request: null };
  }
  const bodyErr = await discardBody(sock, parsed.req);
  if (bodyErr) return { server: null, err: bodyErr, request: parsed.req };
  return { ...(await upgrade(sock, parsed.req, opts)), request: parsed.req };
}

/** new(opts) on a Node http server's 'upgrade' event (req, socket, head). */
export async function newServer(req: IncomingMessage, socket: Stream, head: Buffer, opts: ServerOptions = {}): Promise<NewServerResult> {
  const rawHeaders: Array<[string, string]> = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) rawHeaders.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!.trim()]);
  const request: HandshakeRequest = { method: req.method ?? 'GET', target: req.url ?? '/', httpVersion: req.httpVersion, rawHeaders };
  return upgrade(new NodeCosocket(socket, { head }), request, opts);
}

export interface CreateServerOptions extends ServerOptions {
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
}

export interface RunningServer {
  /** ws://host:port or wss://host:port */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A resty-style server in three lines: handshake per connection, then your handler. */
export async function createServer(opts: CreateServerOptions): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const sockets = new Set<Stream>();
  const onConnection = (stream: Stream): void => {
    sockets.add(stream);
    stream.on('close', () => sockets.delete(stream));
    stream.on('error', () => {});
    void (async () => {
      const r = await acceptWebSocket(stream, opts);
      if (r.server === null) {
        opts.onHandshakeError?.(r.err, r.request);
        stream.destroySoon?.();
        return;
      }
      try {
        await opts.handler(r.server, r.request!);
      } finally {
        await r.server.socket?.close();
      }
    })().catch(() => stream.destroy());
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
