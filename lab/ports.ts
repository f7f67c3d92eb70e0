// Ports on 127.0.0.1 the lab can take.
import { readFileSync } from 'node:fs';
import net from 'node:net';

/** The kernel's range for the local ports of outgoing connections (Linux's default when unreadable). */
export function ephemeralPortRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high) && low <= high) return [low, high];
  } catch {
    // not Linux, or no /proc: the default range
  }
  return [32768, 60999];
}

function listenOnce(port: number): Promise<number | null> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(null));
    srv.listen(port, '127.0.0.1', () => {
      const { port: bound } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(bound));
    });
  });
}

/** The lowest port the lab chooses: unprivileged, and above the well-known services' usual ports. */
const FIRST_CHOSEN_PORT = 10_000;

/** The ports below the ephemeral range a listener may take: unprivileged, and no outgoing connection's. */
function portsBelowEphemeral(): [number, number] | null {
  const [low] = ephemeralPortRange();
  return low - FIRST_CHOSEN_PORT >= 1000 ? [FIRST_CHOSEN_PORT, low - 1] : null;
}

/**
 * A port on 127.0.0.1 that was free a moment ago (nothing listens on it now), for a listener that
 * another process (nginx) binds later. It comes from below the kernel's ephemeral range: a port the
 * kernel hands out with `listen(0)` is also one it gives to outgoing connections, and on a busy
 * machine one of the lab's own connections took such a port between this check and nginx's bind.
 * Other processes choosing at random can still collide; the native peer starts again on new ports
 * when nginx reports the port taken.
 */
export async function freePort(): Promise<number> {
  const below = portsBelowEphemeral();
  for (let attempt = 0; below && attempt < 50; attempt++) {
    const port = below[0] + Math.floor(Math.random() * (below[1] - below[0] + 1));
    const bound = await listenOnce(port);
    if (bound !== null) return bound;
  }
  const any = await listenOnce(0);
  if (any === null) throw new Error('no free port on 127.0.0.1');
  return any;
}
