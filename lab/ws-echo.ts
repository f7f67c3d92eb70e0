// The ws package as an echo server on 127.0.0.1: conformance's calibration testee (known to pass
// every case) and a known-good service for the service fuzzer. It echoes each message whole, as
// text or binary as it came, and answers pings and the close as ws does.
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type ServerOptions } from 'ws';

/** An echo service listening on 127.0.0.1. */
export interface EchoService {
  /** ws://127.0.0.1:<port>/ */
  url: string;
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

/** `options`: ws's server options other than where it listens (a free port on 127.0.0.1). */
export async function startWsEcho(options: Omit<ServerOptions, 'port' | 'host' | 'server' | 'noServer'>): Promise<EchoService> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', ...options });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
  });
  return {
    url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }),
  };
}
