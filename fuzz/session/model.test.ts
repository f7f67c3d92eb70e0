import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RST_SETTLE_MS } from '../../lab/session/raw-peers.js';
import type { Session } from '../../lab/session/types.js';
import { clientSessionArb, serverSessionArb } from './model.js';

const timeoutOf = (s: Session): number => Number(s.role === 'server' ? s.opts.timeout : s.newOpts.timeout);

/**
 * The deadlines a read can have in a session's traffic: T after the program's first read (at the
 * start) and T after each arrival that brings bytes (ngx_lua re-arms on progress), and their repeats.
 */
function deadlines(s: Session, until: number): number[] {
  const t = timeoutOf(s);
  const starts = [0];
  let at = 0;
  for (const g of s.traffic.slice(1)) {
    at += g.pauseMs;
    starts.push(at);
  }
  return starts.flatMap((from) => Array.from({ length: Math.ceil((until - from) / t) + 1 }, (_, k) => from + (k + 1) * t));
}

describe('the session model keeps the peer\'s end away from read deadlines', () => {
  for (const [role, arb] of [['server', serverSessionArb()], ['client', clientSessionArb()]] as const) {
    it(`${role}: the FIN, close or RST comes at least a quarter timeout from every deadline the traffic can set`, () => {
      fc.assert(
        fc.property(arb as fc.Arbitrary<Session>, (s) => {
          if (s.end === 'hold') return;
          const end = s.traffic.reduce((n, g) => n + g.pauseMs, 0) + (s.endDelayMs ?? RST_SETTLE_MS);
          const t = timeoutOf(s);
          const near = deadlines(s, end + t).filter((d) => Math.abs(d - end) < t / 4);
          expect(near, `end at ${end} ms, timeout ${t}, pauses ${s.traffic.map((g) => g.pauseMs).join(',')}`).toEqual([]);
        }),
        { numRuns: 2000, seed: 20261207 },
      );
    });
  }
});
