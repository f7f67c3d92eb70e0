// Interop scenarios: the same client steps and server steps run by the Lua library and by our
// implementation, in four directions, so results can be compared call by call.
import type { Step, StepRecord } from '../../lab/peers/lua-api.js';

/** client ↔ server: who plays each role. */
export type Direction = 'lua-lua' | 'ts-lua' | 'lua-ts' | 'ts-ts';
export const DIRECTIONS: readonly Direction[] = ['lua-lua', 'ts-lua', 'lua-ts', 'ts-ts'];

export interface ScenarioRecords {
  client: StepRecord[];
  server: StepRecord[];
  /** The records of Scenario.moreServers, in order (empty for a server no connect reached). */
  more?: StepRecord[][];
}

/** A direction that cannot run here (a port it needs cannot be bound): its verdict is skip, with this reason. */
export class CannotRunHere extends Error {}

export interface Scenario {
  id: string;
  title: string;
  /** The upstream test this scenario ports (docs/behaviour.md §8), e.g. "cs.t 9". */
  upstream?: string;
  /** A library version the scenario needs, with what for (skipped, not failed, on older ones). */
  needs?: { version: string; what: string };
  /**
   * Use wss://: true, the peer's TLS port (or a TLS server of ours) with a certificate from the lab
   * CA, which both clients trust; 'self-signed', the peer's self-signed listener (or ours with the
   * same kind of certificate), which neither client trusts (cs.t 25).
   */
  tls?: boolean | 'self-signed';
  /** Client certificate for mutual TLS (the server then requires one). */
  clientCert?: boolean;
  server: { opts?: Record<string, unknown>; steps: Step[] };
  /**
   * More servers of the same kind as `server` (a Lua one in nginx, or one of ours), each for one
   * connection: a connect step whose uri is "@1" goes to the first of them, "@2" to the second. A
   * connect that reuses a pooled connection reaches none of them, so their records tell a new
   * connection from a reused one on every library version.
   */
  moreServers?: Array<{ opts?: Record<string, unknown>; steps: Step[] }>;
  /**
   * The client's URIs name no port (ws://127.0.0.1/..., wss://127.0.0.1/...): the runner listens on
   * 127.0.0.1:80 (wss: 443) and forwards each connection to the scenario's server; a direction where
   * that port cannot be bound is skipped with the reason.
   */
  defaultPort?: boolean;
  client: {
    newOpts?: Record<string, unknown>;
    /**
     * Options for every connect step (the one the runner puts first and the scenario's own, whose
     * `opts` are laid over these; uri "" is the server, "@N" one of moreServers).
     */
    connectOpts?: Record<string, unknown>;
    steps: Step[];
  };
  /** The upstream test's assertions, on each direction's records: throw (node:assert) to fail. */
  check?: (r: ScenarioRecords, direction: Direction) => void;
  /** Directions to run; default all four. */
  directions?: readonly Direction[];
}

export type Verdict = 'pass' | 'fail' | 'skip' | 'error';

export interface Difference {
  side: 'client' | 'server';
  step: number;
  op: string;
  lua: unknown;
  ours: unknown;
  /** Set when the difference is a known, explained one (e.g. a v0.08 vs v0.12 change). */
  explained?: string;
}

export interface DirectionResult {
  scenario: string;
  direction: Direction;
  verdict: Verdict;
  /** Why it failed, was skipped or errored. */
  reason?: string;
  durationMs: number;
  records?: ScenarioRecords;
  /** Against lua-lua (the reference run), for the sides our implementation played. */
  differences: Difference[];
  /** Set when the first run failed or errored and the repeat passed: the first run's reason. */
  flaky?: string;
  /** The peer died during this run; it was restarted and this is the run made after the restart. */
  affectedByPeerDeath?: true;
}
