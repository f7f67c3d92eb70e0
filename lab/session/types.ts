// A whole session, as data: what the raw peer sends and when, and the library program (a list of
// API calls) that runs against it. The session diff (fuzz/session) generates these; a divergence
// is saved as one of them (fuzz/findings/session/*.json) and replayed by `wslab interop
// --scenario-file F` and by the tests. JSON-safe throughout.
import type { PayloadSpec, Step, StepRecord } from '../peers/lua-api.js';
import type { WireFrame } from '../wire.js';

/** One frame the raw peer sends, exactly as given (any bits, reserved opcodes, non-minimal lengths). */
export interface FrameSpec {
  fin: boolean;
  rsv: number;
  opcode: number;
  /** Masked with a fixed key (a1b2c3d4): the library's answer must not depend on it. */
  mask: boolean;
  lenForm?: 'min' | '16' | '64';
  payload: PayloadSpec;
}

/** Bytes sent together after a pause: group 0 goes out with the request (or response) head. */
export interface TrafficGroup {
  pauseMs: number;
  frames: FrameSpec[];
  /** Send only the first `cut` bytes of this group (a frame cut short). */
  cut?: number;
  /** Byte offsets where the group is split into separate writes (1 ms apart). */
  chops?: number[];
}

/**
 * How the raw peer ends: shut its side (FIN, and it still reads), close its socket (FIN, and its
 * kernel answers any later bytes with an RST), reset (RST), or wait for the library to close.
 */
export type PeerEnd = 'fin' | 'close' | 'rst' | 'hold';

export interface ServerSession {
  kind: 'wslab-session';
  role: 'server';
  /** The upgrade request: the runner fills in the path (the library's scripted location). */
  request: { method: string; version: string; headers: Array<[string, string]> };
  /** server:new() options. */
  opts: Record<string, unknown>;
  /** The program sends a response head (ngx.send_headers) before new(): the original refuses then. Ours has no response of its own before new(). */
  prelude?: 'send_headers';
  /** The program: API calls on the server object, after new(). */
  steps: Step[];
  traffic: TrafficGroup[];
  end: PeerEnd;
  /**
   * The harness's settle time (ms): how long the raw peer waits before its FIN or RST, and before a
   * later connection's 101 or TLS handshake, so what the library does without waiting for input is
   * not raced. Set by the run's time scale (lab/session/time-scale.ts); absent: RST_SETTLE_MS.
   */
  settleMs?: number;
  /**
   * How long after its last group the raw peer ends (FIN, full close, RST); absent: the settle. The
   * model sets it where the settle would put the end just before a read deadline (fuzz/session/model.ts).
   */
  endDelayMs?: number;
}

export interface ClientSession {
  kind: 'wslab-session';
  role: 'client';
  /** Where connect goes: the raw server over ws:// (default), over wss:// (TLS, a certificate of the peer's CA), a port nothing listens on, or an http:// URI (no WebSocket scheme). */
  target?: 'ws' | 'wss' | 'refused' | 'bad-uri';
  /** client:new() options. */
  newOpts: Record<string, unknown>;
  /** The path of the ws:// URI (the runner adds 127.0.0.1 and the raw server's port). */
  path: string;
  /** The program, connect steps included (their uri is filled in; their pool made run-private). */
  steps: Step[];
  /** The first connection's response: a status line and headers; `{accept}` is the right Accept for the key received. Or raw text. */
  response: { status: string; headers: Array<[string, string]> } | { raw: string };
  traffic: TrafficGroup[];
  end: PeerEnd;
  /**
   * The harness's settle time (ms): how long the raw peer waits before its FIN or RST, and before a
   * later connection's 101 or TLS handshake, so what the library does without waiting for input is
   * not raced. Set by the run's time scale (lab/session/time-scale.ts); absent: RST_SETTLE_MS.
   */
  settleMs?: number;
  /**
   * How long after its last group the raw peer ends (FIN, full close, RST); absent: the settle. The
   * model sets it where the settle would put the end just before a read deadline (fuzz/session/model.ts).
   */
  endDelayMs?: number;
}

export type Session = ServerSession | ClientSession;

/** What one side (the Lua library or ours) did in a session, as the raw peer saw it. */
export interface SessionObservation {
  records: StepRecord[];
  /** Server role: the response head the raw client got; client role: the request head the raw server got (first connection). */
  head: string | null;
  /** The frames the library put on the wire after the head, and any bytes left over. */
  wire: { frames: WireFrame[]; rest: string; stray?: string };
  /** Whether the library closed the TCP connection (within the wait after the peer's end). */
  libraryClosed: boolean;
  /**
   * The library reset the connection (closed it with bytes unread): the peer's kernel may then drop
   * bytes the library had sent, so the head and frames are compared as a prefix of the other side's.
   */
  reset?: boolean;
  /** Client role: TCP connections the raw server accepted (a reused pooled connection adds none). */
  connections?: number;
  /** Client role: request heads of the later connections. */
  laterHeads?: string[];
}

export const FIXED_MASK_KEY = Buffer.from('a1b2c3d4', 'hex');
