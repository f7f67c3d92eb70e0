import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { peerEndKind } from './tcp-state.js';

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A client whose server sends 256 KiB and then ends as `end` says; resolves with what the client saw at its 'end'. */
async function endSeen(end: 'fin' | 'reset'): Promise<{ kind: ReturnType<typeof peerEndKind>; bytes: number; error: string | null }> {
  let serverClosed!: () => void;
  const closed = new Promise<void>((r) => (serverClosed = r));
  const server = net.createServer((s) => {
    s.on('error', () => {});
    // the server is done: reset (its socket gone), or ended (its bytes and FIN handed to the kernel)
    s.on(end === 'reset' ? 'close' : 'finish', () => serverClosed());
    s.write(Buffer.alloc(256 * 1024, 0x61));
    // Bytes unread on the server's side make close(2) answer with an RST; a FIN otherwise.
    if (end === 'reset') s.once('data', () => s.resetAndDestroy());
    else s.end();
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const c = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  const ports = [c.localPort, c.remotePort] as const;
  c.pause(); // the server's bytes queue up unread on our side before its end arrives
  c.write('x');
  await closed; // an RST is on our side at once (loopback); a FIN follows the bytes as we read them
  let bytes = 0;
  let error: string | null = null;
  c.on('data', (d: Buffer) => (bytes += d.length));
  c.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const kind = await new Promise<ReturnType<typeof peerEndKind>>((resolve) => {
    c.once('end', () => resolve(peerEndKind(...ports)));
    c.once('close', () => resolve(null));
    c.resume();
  });
  c.destroy();
  return { kind, bytes, error };
}

describe('peerEndKind: a FIN and a reset that Node reports alike', () => {
  it('tells a reset behind queued bytes (Node: a plain end) from a FIN', async () => {
    const reset = await endSeen('reset');
    // What makes the kernel's view needed: Node read the queued bytes and reported an end, no error.
    expect(reset.error).toBeNull();
    expect(reset.bytes).toBeGreaterThan(0);
    expect(reset.kind).toBe('reset');
    const fin = await endSeen('fin');
    expect(fin).toEqual({ kind: 'fin', bytes: 256 * 1024, error: null });
  });

  it('says nothing for ports it cannot look up', () => {
    expect(peerEndKind(undefined, 80)).toBeNull();
  });
});
