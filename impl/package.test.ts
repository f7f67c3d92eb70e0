// The package as users import it (built dist/ through package.json "exports"): the README's
// server-and-client example, run for real.
import { describe, expect, it } from 'vitest';

describe('the published entry point', () => {
  it('runs the README example: a resty-style echo server and a client', async () => {
    const { createServer, newClient } = await import('resty-websocket-lab');
    const server = await createServer({
      handler: async (ws) => {
        for (;;) {
          const { data, type, err } = await ws.recvFrame();
          if (!data) return; // err says why
          if (type === 'close') return void (await ws.sendClose(err ?? undefined, data));
          if (type === 'text') await ws.sendText(data);
        }
      },
    });
    const client = newClient({ timeout: 5000 });
    const { err } = await client.connect(`${server.url}/echo`);
    expect(err).toBeNull();
    await client.sendText('hello');
    const frame = await client.recvFrame();
    expect({ data: frame.data?.toString(), type: frame.type, err: frame.err }).toEqual({ data: 'hello', type: 'text', err: null });
    await client.close();
    await server.close();
  });

  it('exports the protocol, server and client subpaths', async () => {
    const protocol = await import('resty-websocket-lab/protocol');
    const server = await import('resty-websocket-lab/server');
    const client = await import('resty-websocket-lab/client');
    expect([protocol._VERSION, server._VERSION, client._VERSION]).toEqual(['0.12', '0.12', '0.12']);
    expect(typeof protocol.FrameDecoder).toBe('function');
  });
});
