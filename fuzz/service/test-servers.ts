// Echo services on 127.0.0.1 for the service fuzzer's tests and by-hand runs: the ws package and
// our server (compat or strict) with the README's echo app. Each answers pings, echoes data frame by
// frame (fragments as fragments, like the Lua /echo) and echoes a close.
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { createServer } from 'resty-websocket/server';

export interface EchoService {
  url: string;
  close(): Promise<void>;
}

export async function startWsEcho(): Promise<EchoService> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false });
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

const OPCODES: Record<string, number> = { text: 0x1, binary: 0x2, continuation: 0x0 };

export async function startOurEcho(strict: boolean): Promise<EchoService> {
  const srv = await createServer({
    host: '127.0.0.1',
    port: 0,
    strict,
    timeout: 10_000,
    log: false,
    handler: async (ws) => {
      for (;;) {
        const { data, type, err } = await ws.recvFrame();
        if (data === null) {
          if (typeof err === 'string' && err.includes(': timeout')) continue;
          return;
        }
        if (type === 'close') return void (await ws.sendClose(typeof err === 'number' ? err : undefined, typeof err === 'number' ? data : undefined));
        if (type === 'ping') await ws.sendPong(data);
        else if (type !== 'pong') {
          const sent = await ws.sendFrame(err !== 'again', OPCODES[type!]!, data);
          if (sent.bytes === null) return;
        }
      }
    },
  });
  return { url: `${srv.url}/`, close: () => srv.close() };
}
