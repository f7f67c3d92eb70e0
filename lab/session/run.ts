// One session, both sides: observed side by side at the time scale the machine's lag asks for, then
// compared. The session diff's runner, the scenario-file replay and the tests all go through here.
import type { RunningPeer } from '../peers/types.js';
import { runTiming } from '../timing.js';
import { compareObservations, type SessionComparison } from './compare.js';
import { observeSession, type SessionTargets } from './observe.js';
import { scaleSession, timeScaleFor } from './time-scale.js';
import type { Session, SessionObservation } from './types.js';

export interface SessionDiff {
  cmp: SessionComparison;
  lua: SessionObservation;
  ours: SessionObservation;
  /** The factor the session's times were stretched by for this run (lab/session/time-scale.ts). */
  timeScale: number;
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
    const [lua, ours] = await Promise.all([observeSession('lua', run, peer), observeSession('ours', run, peer, targets)]);
    return { cmp: compareObservations(run, lua, ours, peer.lib.clientVersion), lua, ours, timeScale };
  } finally {
    release();
  }
}
