// A session's times follow the machine's measured lag. A session's verdict rests on its arrivals
// keeping away from the library's read deadlines and on the raw peer's settle before its FIN, RST
// or a later 101; on a loaded machine a process can be scheduled tens of milliseconds late, so a
// fixed 40 ms settle and 200 ms timeouts would race. The run measures its own scheduling lag
// (lab/timing.ts) and, when it is high, stretches every time of the session by the same whole
// factor: timeouts, pauses, sleeps and the settle. Relations between them (a quarter timeout from
// every deadline, the settle after the last group) are kept; a 1 ms timeout stays 1 ms (it means
// "already over": what it races is scaled away from it). Both sides run the same scaled session.
import type { Step } from '../peers/lua-api.js';
import { RST_SETTLE_MS } from './raw-peers.js';
import type { Session } from './types.js';

/** The largest stretch: past it the machine is too busy for any timing verdict, and sessions would take seconds. */
export const MAX_TIME_SCALE = 10;

/** The factor for a measured lag (p95, ms): the settle keeps at least four lags of margin. */
export function timeScaleFor(lagMs: number): number {
  return Math.min(MAX_TIME_SCALE, Math.max(1, Math.ceil((4 * lagMs) / RST_SETTLE_MS)));
}

const stretch = (ms: unknown, k: number): unknown => (typeof ms === 'number' && ms > 1 ? ms * k : ms);

function withTimeout(o: Record<string, unknown> | undefined, k: number): Record<string, unknown> | undefined {
  return o && 'timeout' in o ? { ...o, timeout: stretch(o.timeout, k) } : o;
}

function scaleStep(step: Step, k: number): Step {
  switch (step.op) {
    case 'set_timeout':
    case 'sleep':
      return { ...step, ms: stretch(step.ms, k) as number };
    case 'new':
      return { ...step, opts: withTimeout(step.opts, k) };
    default:
      return step;
  }
}

/** The session with every time stretched by `k` (k = 1: the session itself). */
export function scaleSession<S extends Session>(s: S, k: number): S {
  if (k === 1) return s;
  const common = {
    steps: s.steps.map((x) => scaleStep(x, k)),
    traffic: s.traffic.map((g) => ({ ...g, pauseMs: g.pauseMs * k })),
    settleMs: (s.settleMs ?? RST_SETTLE_MS) * k,
    ...(s.endDelayMs !== undefined ? { endDelayMs: s.endDelayMs * k } : {}),
  };
  return s.role === 'server'
    ? { ...s, ...common, opts: withTimeout(s.opts, k)! }
    : { ...s, ...common, newOpts: withTimeout(s.newOpts, k)! };
}
