// One session, both sides: observed side by side at the time scale the machine's lag asks for, then
// compared. The session diff's runner, the scenario-file replay and the tests all go through here.
import type { RunningPeer } from '../peers/types.js';
import { runTiming } from '../timing.js';
import { compareObservations, type SessionComparison } from './compare.js';
import { observeSession, type SessionTargets } from './observe.js';
import { RST_SETTLE_MS } from './raw-peers.js';
import { scaleSession, timeScaleFor } from './time-scale.js';
import type { Session, SessionObservation } from './types.js';

export interface SessionDiff {
  cmp: SessionComparison;
  lua: SessionObservation;
  ours: SessionObservation;
  /** The factor the session's times were stretched by for this run (lab/session/time-scale.ts). */
  timeScale: number;
  /** The longest scheduling stall while the session ran (ms, lab/timing.ts peakLagSince). */
  peakLagMs: number;
  /** The settle the session ran with (ms): what its raw peers' FIN, RST and later 101s wait. */
  settleMs: number;
  /**
   * A stall past half the settle while it ran: the margins the session's times keep (a settle
   * before the raw peer's end, a quarter timeout around deadlines) may not have held, so a
   * divergence of this run is no evidence (the runner runs it again and counts it apart).
   */
  stalled: boolean;
}

/** Lag samples a verdict waits for when sampling has just started (20 ms apart: 200 ms). */
const MIN_LAG_SAMPLES = 10;

/**
 * Runs one session on both sides, side by side (each has its own raw peer and listener), at the time
 * scale the machine's measured lag asks for, and compares the two observations.
 */
export async function diffSession(peer: RunningPeer, s: Session, targets?: SessionTargets): Promise<SessionDiff> {
  const release = runTiming.acquire();
  try {
    while (runTiming.lagSamples < MIN_LAG_SAMPLES) await new Promise((r) => setTimeout(r, 20));
    const timeScale = timeScaleFor(runTiming.lagMs());
    const run = scaleSession(s, timeScale);
    const started = performance.now();
    const [lua, ours] = await Promise.all([observeSession('lua', run, peer), observeSession('ours', run, peer, targets)]);
    const peakLagMs = Math.round(runTiming.peakLagSince(started));
    const settleMs = run.settleMs ?? RST_SETTLE_MS;
    return { cmp: compareObservations(run, lua, ours, peer.lib.clientVersion), lua, ours, timeScale, peakLagMs, settleMs, stalled: peakLagMs > settleMs / 2 };
  } finally {
    release();
  }
}
