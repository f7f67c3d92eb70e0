// What an agent (a testee of the conformance suite) is: a server we connect to, or a client that
// connects to our fuzzingserver. Its own module so agents defined in other files (chromium.ts) and
// the catalogue in index.ts both import it, without importing each other.
import type { RunningPeer } from '../../lab/peers/types.js';

export interface ServerAgent {
  kind: 'server';
  name: string;
  summary: string;
  /**
   * Negotiates permessage-deflate (sections 12, 13). An agent that does not must give UNIMPLEMENTED
   * with a clean close on every 12.x/13.x case; one that does must pass them like any other case.
   */
  permessageDeflate?: boolean;
  needsPeer?: boolean;
  /** Why the agent cannot run on this machine (it is then skipped, with this reason), or null. */
  unavailable?: () => string | null;
  start(peer?: RunningPeer): Promise<{ url: string; stop(): Promise<void> }>;
}

export interface ClientAgent {
  kind: 'client';
  name: string;
  summary: string;
  /**
   * Negotiates permessage-deflate (sections 12, 13). An agent that does not must give UNIMPLEMENTED
   * with a clean close on every 12.x/13.x case; one that does must pass them like any other case.
   */
  permessageDeflate?: boolean;
  needsPeer?: boolean;
  /** Why the agent cannot run on this machine (it is then skipped, with this reason), or null. */
  unavailable?: () => string | null;
  /**
   * Runs getCaseCount, every runCase (or only the case numbers in `only`: a re-run), updateReports
   * against `base` (ws://host:port).
   */
  run(base: string, agent: string, peer?: RunningPeer, only?: readonly number[]): Promise<void>;
}

export type Agent = ServerAgent | ClientAgent;
