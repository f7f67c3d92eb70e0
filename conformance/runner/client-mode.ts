// Client mode (Autobahn's fuzzingserver): a server on 127.0.0.1 speaking the testee protocol —
// GET /getCaseCount, /runCase?case=N&agent=A, /updateReports?agent=A — so existing Autobahn client
// testees run unchanged. Each /runCase connection plays the server side of case N.
import net from 'node:net';
import { acceptFor, parseRequestHead, firstHeader } from 'resty-websocket';
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

export async function startFuzzingServer(opts: FuzzingServerOptions): Promise<FuzzingServer> {
  const waiters = new Map<string, Array<() => void>>();
  const inFlight = new Set<Promise<unknown>>();
  const requested = new Set<string>();
  const sockets = new Set<net.Socket>();
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const at = buf.indexOf('\r\n\r\n');
      if (at < 0) return;
      sock.off('data', onData);
      sock.pause();
      void handle(sock, buf.subarray(0, at).toString('latin1'), buf.subarray(at + 4));
    };
    sock.on('data', onData);
  });

  async function handle(sock: net.Socket, head: string, rest: Buffer): Promise<void> {
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
      requested.add(agent);
      for (const w of waiters.get(agent) ?? []) w();
      waiters.delete(agent);
      sock.write(CLOSE_1000);
      setTimeout(() => sock.destroy(), 500);
      return;
    }
    if (url.pathname === '/runCase') {
      const n = Number(url.searchParams.get('case'));
      const kase = opts.cases[n - 1];
      if (!kase) {
        sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      // permessage-deflate: the case's accept picks among the testee's offers (12.x, 13.x); other
      // cases, like Autobahn's, accept no extension. An offer that does not parse is not accepted.
      let deflate: DeflateParams | null = null;
      let caseResponse = response;
      const offered = parsed.req.rawHeaders.filter(([n]) => n.toLowerCase() === 'sec-websocket-extensions').map(([, v]) => v).join(', ');
      if (kase.deflate && offered !== '') {
        let accept = null;
        try {
          accept = kase.deflate.accept(parseOffers(offered));
        } catch {
          accept = null;
        }
        if (accept) {
          deflate = paramsFromAccept(accept);
          caseResponse = response.replace(/\r\n\r\n$/, `\r\nSec-WebSocket-Extensions: ${acceptString(accept)}\r\n\r\n`);
        }
      }
      sock.write(caseResponse);
      const running = runCaseOnStream(sock, kase, {
        agent, isServer: true, httpRequest: head, httpResponse: caseResponse, initial: rest, caseTimeoutMs: caseTimeoutFor(kase) * (opts.timeScale ?? 1), timeScale: opts.timeScale,
        deflate,
      });
      sock.resume();
      inFlight.add(running);
      const result = await running.catch((e: Error) => failedToStart(kase, agent, e.message, head, caseResponse));
      inFlight.delete(running);
      opts.onResult?.(result);
      return;
    }
    sock.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  }

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
