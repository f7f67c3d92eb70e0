// Child process: an echo server, ours (createServer + recvFrame/sendFrame, like the Lua /echo
// location) or ws's, on 127.0.0.1. Prints {"port":N} and runs until stdin closes or a bound passes.
import { WebSocketServer } from 'ws';
import { createServer } from 'resty-websocket/server';

const OPCODES: Record<string, number> = { text: 0x1, binary: 0x2, continuation: 0x0 };

async function startOurs(maxPayloadLen: number): Promise<{ port: number; close(): Promise<void> }> {
  return createServer({
    max_payload_len: maxPayloadLen,
    timeout: 60_000,
    handler: async (wb) => {
      for (;;) {
        const { data, type, err } = await wb.recvFrame();
        if (data === null) return;
        if (type === 'close') {
          await wb.sendClose();
          return;
        }
        if (type === 'ping') {
          await wb.sendPong(data);
          continue;
        }
        if (type === 'pong') continue;
        const sent = await wb.sendFrame(err !== 'again', OPCODES[type!]!, data);
        if (sent.bytes === null) return;
      }
    },
  });
}

async function startWs(maxPayloadLen: number): Promise<{ port: number; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: maxPayloadLen, perMessageDeflate: false, clientTracking: true });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    ws.on('error', () => {});
  });
  return {
    port: (wss.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

const kind = process.argv[2];
const lifetimeMs = Number(process.argv[3] ?? 600_000);
const server = kind === 'ws' ? await startWs(65535) : await startOurs(65535);
process.stdout.write(JSON.stringify({ port: server.port, pid: process.pid }) + '\n');
const stop = (): void => {
  void server.close().finally(() => process.exit(0));
};
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
setTimeout(stop, lifetimeMs).unref();
// keep the process alive while stdin is open
setInterval(() => {}, 1 << 30);
