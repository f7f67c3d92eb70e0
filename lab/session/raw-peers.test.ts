// The raw server's end against a program that connects again after the first connection's traffic:
// the FIN or RST waits a settle after that later accept, not only after the traffic (a lag spike
// between the two had let an RST overtake a program that was about to end and close the first).
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startRawServer, type RawServer } from './raw-peers.js';
import type { ClientSession } from './types.js';

const SETTLE_MS = 200;
const REQUEST = 'GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n';

function connectTo(port: number): Promise<{ sock: net.Socket; received: () => Buffer; closedAt: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const closedAt = new Promise<number>((r) => sock.once('close', () => r(Date.now())));
    sock.on('data', (d) => chunks.push(d));
    sock.on('error', () => {});
    sock.once('connect', () => resolve({ sock, received: () => Buffer.concat(chunks), closedAt }));
    sock.once('error', reject);
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('the raw server of a client session', () => {
  let server: RawServer | null = null;
  afterEach(() => server?.close());

  it('ends the first connection a settle after a later connection arrives, not a settle after the traffic', async () => {
    const session: ClientSession = {
      kind: 'wslab-session', role: 'client', newOpts: { timeout: 1000 }, path: '/chat',
      steps: [{ op: 'connect', uri: '' }, { op: 'new' }, { op: 'connect', uri: '' }],
      response: { status: 'HTTP/1.1 101 Switching Protocols', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', '{accept}']] },
      traffic: [{ pauseMs: 0, frames: [{ fin: true, rsv: 0, opcode: 1, mask: false, payload: 'hi' }] }],
      end: 'rst', settleMs: SETTLE_MS,
    };
    server = await startRawServer(session);
    const first = await connectTo(server.port);
    first.sock.write(REQUEST);
    while (!first.received().includes('hi')) await sleep(2);
    await sleep(SETTLE_MS / 2);
    const secondAt = Date.now();
    const second = await connectTo(server.port);
    second.sock.write(REQUEST);
    const firstEndedAt = await first.closedAt;
    expect(firstEndedAt - secondAt).toBeGreaterThanOrEqual(SETTLE_MS - 2);
    second.sock.destroy();
  });
});
