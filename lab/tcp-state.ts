// The kernel's view of one of our TCP connections (Linux /proc/net/tcp), for what Node does not say:
// when the peer resets a connection while bytes are still queued for reading, Node reads them and
// then reports a plain end of stream (the reset's error is not seen), exactly as it reports a FIN.
// The two differ in the kernel: after a FIN the connection waits in CLOSE_WAIT for our close; a
// reset takes it out of the table at once.
import { readFileSync } from 'node:fs';

/** TCP states of /proc/net/tcp's `st` column (include/net/tcp_states.h). */
const CLOSE_WAIT = 0x08;

/**
 * How the peer ended the connection between 127.0.0.1:`localPort` and 127.0.0.1:`remotePort`, read
 * right after Node reported its end: 'fin' (still listed, in CLOSE_WAIT), 'reset' (no longer
 * listed), or null when it cannot be told (no /proc/net/tcp, or another state).
 */
export function peerEndKind(localPort: number | undefined, remotePort: number | undefined): 'fin' | 'reset' | null {
  if (!localPort || !remotePort) return null;
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'latin1');
  } catch {
    return null;
  }
  const loopback = (port: number): string => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const local = loopback(localPort);
  const remote = loopback(remotePort);
  for (const line of table.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local && cols[2] === remote) return parseInt(cols[3] ?? '', 16) === CLOSE_WAIT ? 'fin' : null;
  }
  return 'reset';
}
