// Echo services on 127.0.0.1 for the service fuzzer's tests and by-hand runs: the ws package (the
// lab's ws echo, permessage-deflate off) and our server (compat or strict) with the README's echo
// app, which answers pings, echoes data frame by frame (fragments as fragments, like the Lua /echo)
// and echoes a close.
import { startWsEcho as startWsEchoServer, type EchoService } from '../../lab/ws-echo.js';
import { createServer } from 'resty-websocket/server';

export type { EchoService } from '../../lab/ws-echo.js';

export function startWsEcho(): Promise<EchoService> {
  return startWsEchoServer({ perMessageDeflate: false });
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
