// The deviations part's verdict, from evidence: a probe that could not run is not "does not
// deviate". Zero comparisons, an oracle that could not run, handshake probes that could not reach
// the peer: error. Our compat profile answering differently from the original: fail.
import type { FrameProbeResult } from './frame-probes.js';
import type { HandshakeProbeResult } from './handshake-probes.js';

export interface DeviationsVerdict {
  status: 'pass' | 'fail' | 'error';
  summary: string;
  /** How many probes compared something, per kind, and how many could not run. */
  compared: { frame: number; handshake: number };
  errors: string[];
}

export function judgeDeviations(frame: readonly FrameProbeResult[], handshake: readonly HandshakeProbeResult[] | null): DeviationsVerdict {
  const errors: string[] = [];
  const frameCompared = frame.filter((f) => f.lua !== null).length;
  const skipped = frame.find((f) => f.skipped !== undefined)?.skipped;
  if (frame.length > 0 && frameCompared < frame.length) errors.push(`${frame.length - frameCompared} of ${frame.length} frame probes could not run on protocol.lua${skipped ? `: ${skipped}` : ''}`);
  if (handshake === null) errors.push('the handshake probes did not run: no peer');
  const hsErrors = (handshake ?? []).filter((h) => h.error !== undefined);
  const hsCompared = (handshake ?? []).length - hsErrors.length;
  if (hsErrors.length) errors.push(`${hsErrors.length} of ${handshake!.length} handshake probes could not run on the peer (${hsErrors[0]!.probe.id}: ${hsErrors[0]!.error})`);
  if (frameCompared + hsCompared === 0) errors.push('no probe compared anything');
  const mismatched = frame.filter((f) => f.compatMatches === false);
  const deviating = frame.filter((f) => f.lua !== null).length + (handshake ?? []).filter((h) => h.deviates).length;
  const counts = `${frameCompared} frame-level via protocol.lua under luajit, ${hsCompared} handshake-level via nginx compared; ${(handshake ?? []).filter((h) => h.deviates).length} handshake deviations reproduced`;
  if (errors.length) return { status: 'error', summary: `${errors.join('; ')} (${counts})`, compared: { frame: frameCompared, handshake: hsCompared }, errors };
  return {
    status: mismatched.length ? 'fail' : 'pass',
    summary: `${deviating} deviations reproduced on the real library (${counts})${mismatched.length ? `; compat differs on ${mismatched.map((m) => m.probe.id).join(', ')}` : '; our compat profile reproduces each, strict fixes each'}`,
    compared: { frame: frameCompared, handshake: hsCompared },
    errors,
  };
}
