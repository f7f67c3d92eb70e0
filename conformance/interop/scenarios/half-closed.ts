// Calls on a connection the peer has closed. The kernel decides the answers: after the peer's FIN
// a read says "closed" and the first send is taken (the peer's kernel answers it with an RST), so
// the next send fails with EPIPE ("broken pipe"); after an RST instead of a FIN, the next read or
// send reports the reset once. The websocket object then says "fatal error already happened".
// Each scenario makes three calls, 300 ms apart (longer than any loopback round trip, so the RST
// is back) or back to back after one pause: on loopback the peer's kernel answers inside the
// first send's syscall, so the RST is back before the second send either way. Four directions;
// the expectations are what the Lua library does (0.08 and v0.12 alike).
import assert from 'node:assert/strict';
import type { LuaRet, Step, StepRecord } from '../../../lab/peers/lua-api.js';
import type { Scenario } from '../types.js';
import { closeSock, recv, show, sleep, text } from './steps.js';

/** Longer than a loopback round trip: the peer's close (and the RST a send provokes) is there. */
const PAUSE_MS = 300;
const SEND = text('abcde');

type Call = 'send' | 'recv';
/** A call's expected return list: bytes sent, or the error text in its place. */
type Expect = { bytes: number } | { err: string } | { frame: [string, string, unknown] };

const FATAL = 'fatal error already happened';
const sent = (bytes: number): Expect => ({ bytes });
const err = (e: string): Expect => ({ err: e });

function calls(ops: Call[], paused: boolean): Step[] {
  const steps: Step[] = [sleep(PAUSE_MS)];
  ops.forEach((op, i) => {
    if (i > 0 && paused) steps.push(sleep(PAUSE_MS));
    steps.push(op === 'send' ? SEND : recv);
  });
  return steps;
}

function asText(v: LuaRet | undefined): unknown {
  return Buffer.isBuffer(v) ? v.toString('latin1') : v;
}

/** The calls (send_text / recv_frame records, in order, after the first `skip`) returned what `want` says. */
function expectCalls(records: StepRecord[], want: Expect[], skip = 0): void {
  const got = records.filter((r) => r.op === 'send_text' || r.op === 'recv_frame').slice(skip);
  assert.equal(got.length, want.length, `calls: ${got.map((r) => r.op).join(',')}`);
  got.forEach((r, i) => {
    const w = want[i]!;
    const where = `call ${i + 1} (${r.op}) returned ${JSON.stringify(show(r.ret))}`;
    if ('bytes' in w) assert.deepEqual([r.ret[0], r.ret[1] ?? null], [w.bytes, null], where);
    else if ('frame' in w) assert.deepEqual(r.ret.slice(0, 3).map(asText), w.frame, where);
    else assert.equal(asText(r.ret[r.op === 'recv_frame' ? 2 : 1]), w.err, where);
  });
}

interface Case {
  /**
   * Who closes: the server's handler returns (nginx closes: a FIN), the client calls close() (a
   * close frame, then a FIN), or the server's handler returns with a frame unread (an RST).
   */
  closer: 'server-returns' | 'client-closes' | 'server-resets';
  ops: Call[];
  paused: boolean;
  /** Over wss:// (the lab CA's certificate). */
  tls?: boolean;
  want: Expect[];
}

const SEND_FAILED = (e: string): Expect => err(`failed to send frame: ${e}`);
const RECV_FAILED = (e: string): Expect => err(`failed to receive the first 2 bytes: ${e}`);
const CLOSE_FRAME: Expect = { frame: ['', 'close', null] };

// A 5-byte text frame is 11 bytes from a client (masked), 7 from a server.
const BASE_CASES: Array<Omit<Case, 'paused'>> = [
  { closer: 'server-returns', ops: ['send', 'send', 'send'], want: [sent(11), SEND_FAILED('broken pipe'), err(FATAL)] },
  { closer: 'server-returns', ops: ['recv', 'recv', 'recv'], want: [RECV_FAILED('closed'), err(FATAL), err(FATAL)] },
  // the send provoked an RST, but after a FIN a read still says "closed"
  { closer: 'server-returns', ops: ['send', 'recv', 'send'], want: [sent(11), RECV_FAILED('closed'), err(FATAL)] },
  { closer: 'server-returns', ops: ['send', 'send', 'recv'], want: [sent(11), SEND_FAILED('broken pipe'), err(FATAL)] },
  // the client's close() sent a close frame before its FIN: the server reads it first
  { closer: 'client-closes', ops: ['send', 'send', 'send'], want: [sent(7), SEND_FAILED('broken pipe'), err(FATAL)] },
  { closer: 'client-closes', ops: ['recv', 'recv', 'recv'], want: [CLOSE_FRAME, RECV_FAILED('closed'), err(FATAL)] },
  { closer: 'client-closes', ops: ['send', 'recv', 'send'], want: [sent(7), CLOSE_FRAME, SEND_FAILED('broken pipe')] },
  { closer: 'client-closes', ops: ['send', 'send', 'recv'], want: [sent(7), SEND_FAILED('broken pipe'), err(FATAL)] },
  // nginx closes with the client's frame unread: an RST, no FIN; the next call reports it
  { closer: 'server-resets', ops: ['send', 'send', 'send'], want: [SEND_FAILED('connection reset by peer'), err(FATAL), err(FATAL)] },
  { closer: 'server-resets', ops: ['recv', 'recv', 'recv'], want: [RECV_FAILED('connection reset by peer'), err(FATAL), err(FATAL)] },
  { closer: 'server-resets', ops: ['send', 'recv', 'send'], want: [SEND_FAILED('connection reset by peer'), err(FATAL), err(FATAL)] },
];
const CASES: Case[] = BASE_CASES.flatMap((c) => [{ ...c, paused: true }, { ...c, paused: false }]);
// Over TLS the same: the TLS layer passes the kernel's answers on.
CASES.push(
  { closer: 'server-returns', ops: ['send', 'send', 'send'], paused: true, tls: true, want: [sent(11), SEND_FAILED('broken pipe'), err(FATAL)] },
  { closer: 'server-returns', ops: ['send', 'recv', 'send'], paused: true, tls: true, want: [sent(11), RECV_FAILED('closed'), err(FATAL)] },
  { closer: 'client-closes', ops: ['send', 'send', 'send'], paused: true, tls: true, want: [sent(7), SEND_FAILED('broken pipe'), err(FATAL)] },
  { closer: 'client-closes', ops: ['recv', 'recv', 'send'], paused: true, tls: true, want: [CLOSE_FRAME, RECV_FAILED('closed'), err(FATAL)] },
);

function scenario(c: Case): Scenario {
  if (c.tls) return { ...scenario({ ...c, tls: false }), id: `half-closed-tls-${c.closer}-${c.ops.map((o) => o[0]).join('')}`, tls: true };
  const name = `half-closed-${c.closer}-${c.ops.map((o) => o[0]).join('')}-${c.paused ? 'paused' : 'back-to-back'}`;
  const what = c.ops.join(', ');
  if (c.closer === 'server-resets') {
    return {
      id: name,
      title: `the server's handler returns with the client's frame unread (an RST); the client then calls ${what}${c.paused ? `, ${PAUSE_MS} ms apart` : ' back to back'}`,
      server: { steps: [sleep(100)] },
      client: { steps: [SEND, ...calls(c.ops, c.paused)] },
      check: (r) => expectCalls(r.client, c.want, 1),
    };
  }
  if (c.closer === 'server-returns') {
    return {
      id: name,
      title: `the server's handler returns; the client then calls ${what}${c.paused ? `, ${PAUSE_MS} ms apart` : ' back to back'}`,
      server: { steps: [] },
      client: { steps: calls(c.ops, c.paused) },
      check: (r) => expectCalls(r.client, c.want),
    };
  }
  return {
    id: name,
    title: `the client closes; the server then calls ${what}${c.paused ? `, ${PAUSE_MS} ms apart` : ' back to back'}`,
    server: { steps: calls(c.ops, c.paused) },
    client: { steps: [closeSock] },
    check: (r) => expectCalls(r.server, c.want),
  };
}

export const halfClosedScenarios: Scenario[] = CASES.map(scenario);
