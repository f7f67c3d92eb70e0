// Runs one case over an open connection (after the opening handshake) and collects its result.
import type { Stream } from 'resty-websocket';
import { Endpoint } from './endpoint.js';
import { judge } from './judge.js';
import type { CaseResult, CaseRun, ConformanceCase } from './types.js';
import type { DeflateParams } from './deflate.js';
import { runTiming } from '../../lab/timing.js';

export interface RunCaseOptions {
  agent: string;
  isServer: boolean;
  httpRequest: string;
  httpResponse: string;
  /** Bytes that arrived after the handshake. */
  initial?: Buffer;
  /** A hard limit for the whole case (ms); the connection is dropped then. */
  caseTimeoutMs: number;
  /** See Endpoint: scales the verdict-deciding waits (default 1, Autobahn's). */
  timeScale?: number;
  /** What the opening handshake negotiated for permessage-deflate (null or absent: nothing). */
  deflate?: DeflateParams | null;
}

function eventsForReport(events: readonly unknown[]): unknown[] {
  return events.map((e) => (e as unknown[]).map((v) => (Buffer.isBuffer(v) ? (v.length > 256 ? `${v.subarray(0, 256).toString('latin1')} ...(${v.length} bytes)` : v.toString('latin1')) : v)));
}

export async function runCaseOnStream(stream: Stream, kase: ConformanceCase, opts: RunCaseOptions): Promise<CaseResult> {
  const run: Omit<CaseRun, 'p'> = {
    received: [],
    expected: {},
    expectedClose: { closedByMe: true, closeCode: [1000], requireClean: true },
    behavior: 'FAILED',
    behaviorClose: 'FAILED',
    result: 'Actual events differ from any expected.',
    resultClose: 'TCP connection was dropped without close handshake',
    suppressClose: false,
    reportTime: false,
    state: {},
  };
  const started = Date.now();
  const ep = new Endpoint(stream, opts.isServer, kase, run, opts.initial, opts.timeScale ?? 1, runTiming, opts.deflate ?? null);
  const timer = setTimeout(() => ep.abort(), opts.caseTimeoutMs);
  try {
    kase.onOpen(ep.case);
  } catch (e) {
    ep.case.result = `case raised: ${(e as Error).message}`;
    ep.abort();
  }
  await ep.closed;
  clearTimeout(timer);
  const c = ep.case;
  const o = ep.outcome;
  // The verdict, from the record, now that nothing can change it; then the case's own adjustments.
  Object.assign(c, judge(c, o, opts.isServer));
  kase.onConnectionLost?.(c);
  return {
    id: kase.id,
    description: kase.description,
    expectation: kase.expectation,
    rfc: kase.rfc,
    agent: opts.agent,
    behavior: c.behavior,
    behaviorClose: c.behaviorClose,
    result: c.result,
    resultClose: c.resultClose,
    duration: Date.now() - started,
    reportTime: c.reportTime,
    remoteCloseCode: o.remoteCloseCode,
    remoteCloseReason: o.remoteCloseReason,
    localCloseCode: o.localCloseCode,
    localCloseReason: o.localCloseReason,
    closedByMe: o.closedByMe,
    failedByMe: o.failedByMe,
    droppedByMe: o.droppedByMe,
    wasClean: o.wasClean,
    wasNotCleanReason: o.wasNotCleanReason,
    expected: Object.fromEntries(Object.entries(c.expected).map(([k, v]) => [k, eventsForReport(v!)])),
    expectedClose: c.expectedClose,
    received: eventsForReport(c.received),
    httpRequest: opts.httpRequest,
    httpResponse: opts.httpResponse,
    wirelog: ep.wirelog,
    ...ep.stats,
    timeout: o.timeout,
  };
}

/** A result for a case that could not even start (connection or handshake failure). */
export function failedToStart(kase: ConformanceCase, agent: string, why: string, httpRequest = '', httpResponse = '', startTimedOut = false): CaseResult {
  return {
    id: kase.id, description: kase.description, expectation: kase.expectation, rfc: kase.rfc, agent,
    behavior: 'FAILED', behaviorClose: 'FAILED', result: why, resultClose: why, duration: 0, reportTime: false,
    remoteCloseCode: null, remoteCloseReason: null, localCloseCode: null, localCloseReason: null,
    closedByMe: false, failedByMe: false, droppedByMe: false, wasClean: false, wasNotCleanReason: why,
    expected: {}, expectedClose: { closedByMe: true, closeCode: [1000], requireClean: true }, received: [],
    httpRequest, httpResponse, wirelog: [], txFrameStats: {}, rxFrameStats: {}, txOctetStats: {}, rxOctetStats: {},
    error: why,
    ...(startTimedOut ? { startTimedOut: true as const } : {}),
  };
}
