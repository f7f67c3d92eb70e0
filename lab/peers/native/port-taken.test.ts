import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { ephemeralPortRange, freePort } from '../../ports.js';

// The first port the lab chooses is one a listener of this test already holds: the race in which
// another process binds a port between its choice and nginx's bind, made certain.
const portChoice = vi.hoisted(() => ({ forced: [] as number[] }));
vi.mock('../../ports.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../ports.js')>();
  return { ...real, freePort: async () => portChoice.forced.shift() ?? real.freePort() };
});

const { nativeUnavailable, startNativePeer } = await import('./index.js');
const why = nativeUnavailable();

describe('freePort', () => {
  it('chooses below the ephemeral range, where no outgoing connection takes a port', async () => {
    const [low] = ephemeralPortRange();
    for (let i = 0; i < 20; i++) expect(await freePort()).toBeLessThan(low);
  });
});

describe.skipIf(why !== null)('native peer on a port taken after it was chosen', () => {
  let holder: net.Server;
  let held: number;
  const stderr: string[] = [];
  beforeAll(async () => {
    holder = net.createServer().listen(0, '127.0.0.1');
    await once(holder, 'listening');
    held = (holder.address() as net.AddressInfo).port;
  });
  afterAll(() => holder.close());
  afterEach(() => vi.restoreAllMocks());

  it('starts again on new ports, and says so', async () => {
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (stderr.push(String(s)), true));
    portChoice.forced.push(held);
    const peer = await startNativePeer();
    try {
      expect(peer.httpUrl).not.toContain(`:${held}`);
      expect((await fetch(`${peer.httpUrl}/health`)).status).toBe(200);
    } finally {
      await peer.stop();
    }
    expect(stderr.join('')).toContain(`port ${held}, free when the lab chose it, was taken before nginx bound it; starting nginx again on new ports (restart 1 of 3)`);
  });

  it('does not move a port the caller gave: the error is theirs', async () => {
    await expect(startNativePeer({ port: held })).rejects.toThrow(`bind() to 127.0.0.1:${held} failed (98: Address already in use)`);
  });
});
