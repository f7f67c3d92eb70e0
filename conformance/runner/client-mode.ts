// Client mode (Autobahn's fuzzingserver): a server on 127.0.0.1 speaking the testee protocol —
// GET /getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A — so existing Autobahn client
// testees run unchanged. Each /runCase connection plays the server side of case N.
import net from 'node:net';
import { acceptFor, parseRequestHead, firstHeader, type RequestHead } from 'resty-websocket';
import { encodeFrame } from '../../lab/wire.js';
import { failedToStart, runCaseOnStream } from './run-case.js';
import { caseTimeoutFor } from './server-mode.js';
import type { CaseResult, ConformanceCase } from './types.js';
import { acceptString, paramsFromAccept, parseOffers, type DeflateParams } from './deflate.js';

export interface FuzzingServerOptions {
  cases: readonly ConformanceCase[];
  port?: number;
  host?: string;
  onResult?: (r: CaseResult) => void;
  onUpdateReports?: (agent: string) => void;
  timeScale?: number;
}

export interface FuzzingServer {
  url: string;
  port: number;
  /** Resolves once every case that has started has finished (a testee may move on before its last case ended). */
  drain(): Promise<void>;
  /** Resolves when `agent` asked for /updateReports (or when stop() is called). */
  reportsRequested(agent: string): Promise<void>;
  close(): Promise<void>;
}

function textFrame(s: string): Buffer {
  return encodeFrame({ fin: true, rsv: 0, opcode: 1, maskKey: null, payload: Buffer.from(s, 'utf8') });
}
const CLOSE_1000 = Buffer.from([0x88, 0x02, 0x03, 0xe8]);

/** What the server's connections share: who asked for /updateReports and the cases still running. */
interface FuzzingServerState {
  readonly opts: FuzzingServerOptions;
  /** Callers of reportsRequested(agent) still waiting, by agent. */
  readonly waiters: Map<string, Array<() => void>>;
  readonly inFlight: Set<Promise<unknown>>;
  readonly requested: Set<string>;
}

/** Calls `onHead` once the request head is in (the socket paused), with the bytes that came after it. */
function onRequestHead(sock: net.Socket, onHead: (head: string, rest: Buffer) => void): void {
  let buf = Buffer.alloc(0);
  const onData = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    const at = buf.indexOf('\r\n\r\n');
    if (at < 0) return;
    sock.off('data', onData);
    sock.pause();
    onHead(buf.subarray(0, at).toString('latin1'), buf.subarray(at + 4));
  };
  sock.on('data', onData);
}

/**
 * permessage-deflate: the case's accept picks among the testee's offers (12.x, 13.x); other cases,
 * like Autobahn's, accept no extension. An offer that does not parse is not accepted.
 */
function negotiateDeflate(kase: ConformanceCase, req: RequestHead, response: string): { deflate: DeflateParams | null; caseResponse: string } {
  const offered = req.rawHeaders.filter(([n]) => n.toLowerCase() === 'sec-websocket-extensions').map(([, v]) => v).join(', ');
  if (!kase.deflate || offered === '') return { deflate: null, caseResponse: response };
  let accept = null;
  try {
    accept = kase.deflate.accept(parseOffers(offered));
  } catch {
    accept = null;
  }
  if (!accept) return { deflate: null, caseResponse: response };
  return { deflate: paramsFromAccept(accept), caseResponse: response.replace(/\r\n\r\n$/, `\r\nSec-WebSocket-Extensions: ${acceptString(accept)}\r\n\r\n`) };
}

/** Plays the server side of case N (`?case=N`, from 1) on an upgraded /runCase connection. */
async function runCaseRequest(state: FuzzingServerState, sock: net.Socket, req: RequestHead, url: URL, head: string, rest: Buffer, response: string): Promise<void> {
  const { opts } = state;
  const agent = url.searchParams.get('agent') ?? 'unknown';
  const kase = opts.cases[Number(url.searchParams.get('case')) - 1];
  if (!kase) {
    sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const { deflate, caseResponse } = negotiateDeflate(kase, req, response);
  sock.write(caseResponse);
  const running = runCaseOnStream(sock, kase, {
    agent, isServer: true, httpRequest: head, httpResponse: caseResponse, initial: rest, caseTimeoutMs: caseTimeoutFor(kase) * (opts.timeScale ?? 1), timeScale: opts.timeScale,
    deflate,
  });
  sock.resume();
  state.inFlight.add(running);
  const result = await running.catch((e: Error) => failedToStart(kase, agent, e.message, head, caseResponse));
  state.inFlight.delete(running);
  opts.onResult?.(result);
}

/** Answers one testee-protocol request: /getCaseCount, /updateReports or /runCase. */
async function handleRequest(state: FuzzingServerState, sock: net.Socket, head: string, rest: Buffer): Promise<void> {
  const { opts } = state;
  const parsed = parseRequestHead(head);
  const key = parsed.req ? firstHeader(parsed.req, 'sec-websocket-key') : null;
  if (!parsed.req || key === null) {
    sock.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
    return;
  }
  const url = new URL(parsed.req.target, 'http://fuzzingserver');
  const response = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nServer: resty-websocket-lab fuzzingserver\r\n\r\n`;
  const agent = url.searchParams.get('agent') ?? 'unknown';
  if (url.pathname === '/getCaseCount') {
    sock.write(response);
    sock.write(textFrame(String(opts.cases.length)));
    sock.write(CLOSE_1000);
    setTimeout(() => sock.destroy(), 500);
    return;
  }
  if (url.pathname === '/updateReports') {
    sock.write(response);
    opts.onUpdateReports?.(agent);
    state.requested.add(agent);
    for (const w of state.waiters.get(agent) ?? []) w();
    state.waiters.delete(agent);
    sock.write(CLOSE_1000);
    setTimeout(() => sock.destroy(), 500);
    return;
  }
  if (url.pathname === '/runCase') return runCaseRequest(state, sock, parsed.req, url, head, rest, response);
  sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
}

export async function startFuzzingServer(opts: FuzzingServerOptions): Promise<FuzzingServer> {
  const state: FuzzingServerState = { opts, waiters: new Map(), inFlight: new Set(), requested: new Set() };
  const { waiters, inFlight, requested } = state;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    onRequestHead(sock, (head, rest) => void handleRequest(state, sock, head, rest));
  });

  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `ws://${host}:${port}`,
    port,
    drain: async () => {
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    },
    reportsRequested: (agent) =>
      requested.has(agent) ? Promise.resolve() : new Promise((r) => waiters.set(agent, [...(waiters.get(agent) ?? []), r])),
    close: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        for (const ws of waiters.values()) for (const w of ws) w();
        server.close(() => resolve());
      }),
  };
}
