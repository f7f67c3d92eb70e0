// The Autobahn|Testsuite model, ported: a case sends frames to the testee and records what comes
// back (`received`), then is judged against its `expected` outcomes and `expectedClose` rules
// (autobahntestsuite/case/case.py), producing `behavior` and `behaviorClose`.
import type { DeflateNegotiation, DeflateParams } from './deflate.js';

export type Behavior = 'OK' | 'NON-STRICT' | 'INFORMATIONAL' | 'UNIMPLEMENTED' | 'FAILED';
export type CloseBehavior = 'OK' | 'WRONG CODE' | 'UNCLEAN' | 'FAILED BY CLIENT' | 'FAILED' | 'INFORMATIONAL';

/** What a case records: messages (payload as bytes, binary flag), pings, pongs and its own timeout markers. */
export type ReceivedEvent =
  | ['message', Buffer, boolean]
  | ['ping', Buffer]
  | ['pong', Buffer]
  | ['timeout', string];

export interface ExpectedClose {
  /** Whether we (the fuzzer) are expected to start the closing handshake. */
  closedByMe: boolean;
  /** Acceptable close codes from the testee (the first is the one we send when we close). */
  closeCode: number[];
  requireClean: boolean;
  /** UTF-8 cases: closing from the wrong endpoint fails the whole case. */
  closedByWrongEndpointIsFatal?: boolean;
}

/** A wire-log entry, as in Autobahn's per-case report. */
export type WireLogEntry =
  | ['RO', string] // raw octets in (hex, truncated)
  | ['TO', string, boolean] // raw octets out, sync
  | ['RF', string, number, boolean, number, boolean, string | null] // frame in: payload, opcode, fin, rsv, masked, mask
  | ['TF', string, number, boolean, number, string | null, number | null, number | null, boolean] // frame out: payload, opcode, fin, rsv, mask, repeat length, chop size, sync
  | ['CT', number, string | null] // continue later (s, tag)
  | ['CTE', string | null]
  | ['KL', number] // kill after (s)
  | ['KLE']
  | ['TI', number] // close after (s)
  | ['TIE']
  | ['WLM', boolean];

export interface FrameSpec {
  opcode: number;
  payload?: Buffer | string;
  fin?: boolean;
  rsv?: number;
  /** A 4-byte masking key; default: random when we are the client, none when we are the server. */
  mask?: Buffer | null;
  /** Repeat `payload` to fill this many bytes (Autobahn's payload_len). */
  payloadLen?: number;
  /** Send the frame's octets in pieces of this size. */
  chopsize?: number;
  /** Push the octets to the wire before anything that follows. */
  sync?: boolean;
}

/** What a case sees of the fuzzing endpoint (Autobahn's `self.p`). */
export interface FuzzingEndpoint {
  readonly isServer: boolean;
  readonly state: 'OPEN' | 'CLOSING' | 'CLOSED';
  createWirelog: boolean;
  sendFrame(f: FrameSpec): void;
  /** The octets of a frame as sendFrame would send them (masked when we are the client). */
  encodeFrame(f: FrameSpec): Buffer;
  /** Raw octets (a frame sent in hand-made pieces, with waits in between). */
  sendRaw(data: Buffer, sync?: boolean): void;
  /**
   * A message, fragmented at `fragmentSize` when given (Autobahn's sendMessage). On a connection
   * that negotiated permessage-deflate it is compressed first and the compressed octets are
   * fragmented, RSV1 on the first frame (Autobahn's sendMessage with _perMessageCompress).
   */
  sendMessage(payload: Buffer | string, binary: boolean, fragmentSize?: number): void;
  /** What the opening handshake negotiated for permessage-deflate (null: not negotiated). */
  readonly deflate: DeflateParams | null;
  /** A close frame (closing handshake, with the close-handshake timeout). */
  sendClose(code?: number, reason?: Buffer | string): void;
  /** A raw close frame with any code/payload (the cases that send bad close frames). */
  sendCloseFrame(code?: number | null, reason?: Buffer | string | null): void;
  continueLater(seconds: number, fn: () => void, tag?: string): void;
  killAfter(seconds: number): void;
  closeAfter(seconds: number): void;
}

/** One running case (Autobahn's Case instance). */
export interface CaseRun {
  readonly p: FuzzingEndpoint;
  received: ReceivedEvent[];
  expected: Partial<Record<Behavior, ReceivedEvent[]>>;
  expectedClose: ExpectedClose;
  behavior: Behavior;
  behaviorClose: CloseBehavior;
  result: string;
  resultClose: string;
  suppressClose: boolean;
  reportTime: boolean;
  /** Free per-case state. */
  state: Record<string, unknown>;
}

export interface ConformanceCase {
  /** "1.1.1" */
  id: string;
  description: string;
  expectation: string;
  /** The RFC 6455 section(s) the case checks, e.g. "RFC 6455 §5.2". */
  rfc: string;
  onOpen(c: CaseRun): void;
  /** Overrides how messages are recorded (9.x checks lengths instead of recording payloads). */
  onMessage?(c: CaseRun, payload: Buffer, binary: boolean): void;
  /** Adjusts the verdict after the standard judgement (7.1.6, 7.x WRONG CODE rules). */
  onConnectionLost?(c: CaseRun): void;
  /** The permessage-deflate offers (server mode) and accept (client mode) of the case (sections 12, 13). */
  deflate?: DeflateNegotiation;
  /**
   * The hard limit for the whole case, seconds (times --time-scale): beyond the case's own
   * closeAfter, so that one decides the verdict. Default: 120 for 9.x, 15 otherwise.
   */
  hardLimitSecs?: number;
}

export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  NULL: 1005,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  MANDATORY_EXTENSION: 1010,
  INTERNAL_ERROR: 1011,
} as const;

/** The waits whose firing decides a verdict (Autobahn's killAfter/closeAfter and its two close timeouts). */
export type VerdictTimer = 'killAfter' | 'closeAfter' | 'closeHandshake' | 'serverDrop';

/** Which timeout decided a case, and how close a call it was. */
export interface TimeoutRecord {
  timer: VerdictTimer;
  /** Autobahn's wait (times --time-scale), ms. */
  autobahnMs: number;
  /** The wait used: Autobahn's plus the padding from measured lag and RTT, ms. */
  waitedMs: number;
  /** How late the timer fired past its deadline, ms. */
  lateMs: number;
  /** How long the testee had been silent when it fired, ms (null: it never sent anything). */
  quietMs: number | null;
  marginMs: number;
  /** Fired late by more than the margin, or the testee was sending within the margin: run once more. */
  closeCall: boolean;
}

/** What the endpoint records about the closing of the connection; the judge reads it. */
export interface EndpointOutcome {
  closedByMe: boolean;
  failedByMe: boolean;
  droppedByMe: boolean;
  wasClean: boolean;
  wasNotCleanReason: string | null;
  localCloseCode: number | null;
  localCloseReason: string | null;
  remoteCloseCode: number | null;
  remoteCloseReason: string | null;
  /** The verdict-deciding timeout that fired first, if any. */
  timeout: TimeoutRecord | null;
}

export interface CaseResult {
  id: string;
  description: string;
  expectation: string;
  rfc: string;
  agent: string;
  behavior: Behavior;
  behaviorClose: CloseBehavior;
  result: string;
  resultClose: string;
  duration: number;
  reportTime: boolean;
  remoteCloseCode: number | null;
  remoteCloseReason: string | null;
  localCloseCode: number | null;
  localCloseReason: string | null;
  closedByMe: boolean;
  failedByMe: boolean;
  droppedByMe: boolean;
  wasClean: boolean;
  wasNotCleanReason: string | null;
  expected: Record<string, unknown[]>;
  expectedClose: ExpectedClose;
  received: unknown[];
  httpRequest: string;
  httpResponse: string;
  wirelog: WireLogEntry[];
  txFrameStats: Record<number, number>;
  rxFrameStats: Record<number, number>;
  txOctetStats: Record<number, number>;
  rxOctetStats: Record<number, number>;
  /** The verdict-deciding timeout that fired, if any (see TimeoutRecord). */
  timeout?: TimeoutRecord | null;
  /** Set when this is the second run of the case; says why it was run again and what the first gave. */
  rerun?: { reason: string; first: string };
  /** The case could not run at all (no connection, refused handshake, dead peer): an error, not a verdict. */
  error?: string;
  /**
   * The error is a wait that ran out before the case began (connect or opening handshake, on a
   * machine whose load can stall the in-process testee): the case is run once more before the
   * error counts, like a close-call verdict.
   */
  startTimedOut?: true;
}
