import { readFile } from 'node:fs/promises';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { luajitPath } from './lua-oracle.js';
import { endKindInProcTable, endKindOfState, peerEndKind, tcpStateAnswers, type PeerEndKind } from './tcp-state.js';

const servers: net.Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

type Lookup = (localPort: number, remotePort: number) => Promise<PeerEndKind>;

/** A client whose server sends 256 KiB and then ends as `end` says; resolves with what `lookup` said at the client's 'end'. */
async function endSeen(end: 'fin' | 'reset', lookup: Lookup): Promise<{ kind: PeerEndKind; bytes: number; error: string | null }> {
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
  // allowHalfOpen: our side stays open after the peer's end until the answer is in
  const c = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  await new Promise((r) => c.once('connect', r));
  const ports = [c.localPort!, c.remotePort!] as const;
  c.pause(); // the server's bytes queue up unread on our side before its end arrives
  c.write('x');
  await closed; // an RST is on our side at once (loopback); a FIN follows the bytes as we read them
  let bytes = 0;
  let error: string | null = null;
  c.on('data', (d: Buffer) => (bytes += d.length));
  c.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
  const kind = await new Promise<PeerEndKind>((resolve) => {
    c.once('end', () => void lookup(...ports).then(resolve));
    c.once('close', () => resolve(null));
    c.resume();
  });
  c.destroy();
  return { kind, bytes, error };
}

async function expectFinAndResetTold(lookup: Lookup): Promise<void> {
  const reset = await endSeen('reset', lookup);
  // What makes the kernel's view needed: Node read the queued bytes and reported an end, no error.
  expect(reset.error).toBeNull();
  expect(reset.bytes).toBeGreaterThan(0);
  expect(reset.kind).toBe('reset');
  const fin = await endSeen('fin', lookup);
  expect(fin).toEqual({ kind: 'fin', bytes: 256 * 1024, error: null });
}

describe('peerEndKind: a FIN and a reset that Node reports alike', () => {
  it.skipIf(luajitPath() === null)('tells a reset behind queued bytes (Node: a plain end) from a FIN, by a sock_diag lookup', async () => {
    const before = tcpStateAnswers();
    await expectFinAndResetTold(peerEndKind);
    // both answers came from the helper, none from the /proc fallback
    expect(tcpStateAnswers()).toEqual({ sockDiag: before.sockDiag + 2, proc: before.proc });
  });

  it('tells them apart from /proc/net/tcp too (the fallback without luajit)', async () => {
    await expectFinAndResetTold(async (l, r) => endKindInProcTable(await readFile('/proc/net/tcp', 'latin1'), l, r));
  });

  it('reads a listener on the port, or no connection, as gone, and other states as unknown', () => {
    expect([0, 0x0a, 0x08, 0x01, 0x09].map(endKindOfState)).toEqual(['reset', 'reset', 'fin', null, null]);
  });

  it('says nothing for ports it cannot look up', async () => {
    expect(await peerEndKind(undefined, 80)).toBeNull();
  });
});
