// `wslab diff --session D`: generated whole sessions, both roles, run against the real library in
// nginx and against ours with the same raw peer, compared step by step. A divergence is run again
// once (a repeat that agrees is counted as a retry, never hidden), then shrunk by fast-check and
// saved under fuzz/findings/session/ as a scenario file that `wslab interop --scenario-file F`
// and the tests replay. Declared known differences (lab/session/known.ts) are counted, not saved.
import { createHash } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { writeAtomic } from '../../lab/fs.js';
import { passedOnEvidence, Run } from '../../lab/run.js';
import { showRecord } from '../../lab/compare.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { KNOWN_DIFFERENCES } from '../../lab/session/known.js';
import { describeDivergence, type SessionComparison } from '../../lab/session/compare.js';
import type { SessionTargets } from '../../lab/session/observe.js';
import { diffSession, type SessionDiff } from '../../lab/session/run.js';
import { MAX_TIME_SCALE, timeScaleFor } from '../../lab/session/time-scale.js';
import { runTiming } from '../../lab/timing.js';
import type { Session, SessionObservation } from '../../lab/session/types.js';
import { FINDINGS_DIR } from '../findings.js';
import { sessionArb } from './model.js';

/**
 * Sessions run side by side by default. A session mostly waits (pauses, timeouts, the settle), so
 * more jobs give more sessions per second: 12 give 51/s on 0.08 and 53/s on v0.12 on the idle 2-core
 * machine (`wslab bench --only session`), with no retry; the lag-derived time scale keeps a loaded
 * machine's verdicts.
 */
export const DEFAULT_SESSION_JOBS = 12;

export type Role = 'server' | 'client';

/** Sessions per fast-check round (each round has its own seed: seed + round number). */
export const ROUND_RUNS = 40;
/** The longest one divergence is shrunk. */
export const SHRINK_BUDGET_MS = 60_000;

export interface SessionDiffOptions {
  peer: RunningPeer;
  /** Wall-time bound; with maxSessions it is only a safety net (pass Infinity for none). */
  timeMs: number;
  /**
   * Run exactly this many sessions (fewer only when the run is stopped or a finding ends it): each
   * job runs its fixed share from its own seeds, so the same seed runs the same sessions however
   * fast the machine is.
   */
  maxSessions?: number;
  seed?: number;
  roles?: readonly Role[];
  /** Default fuzz/findings/session. */
  findingsDir?: string;
  /** Summary JSON (default: none). */
  reportFile?: string;
  /** How long one divergence is shrunk (default SHRINK_BUDGET_MS; 0: not at all, the first failure is saved). */
  shrinkBudgetMs?: number;
  /** Sessions run side by side (default DEFAULT_SESSION_JOBS). */
  jobs?: number;
  /** Stop after this many distinct divergences (default 5). */
  maxFindings?: number;
  /** Our side's objects, wrapped (tests plant divergences with it). */
  targets?: SessionTargets;
  onProgress?: (p: { elapsedMs: number; sessions: number; sessionsPerSec: number; divergences: number; explained: number }) => void;
  /** Stops the run early (Ctrl-C): the report says it was interrupted. */
  signal?: AbortSignal;
}

export interface SessionDivergence {
  role: Role;
  file: string;
  summary: string;
  channel: string;
  shrinks: number;
  /** The fast-check seed of the round that found it. */
  seed: number;
}

export interface SessionReport {
  finished: boolean;
  ok: boolean;
  interrupted: boolean;
  seed: number;
  durationMs: number;
  lib: { version: string; source: string };
  sessions: { server: number; client: number };
  sessionsPerSec: number;
  divergences: SessionDivergence[];
  explained: Array<{ id: string; specItem: string; count: number }>;
  /** Record-level explained differences (connect's third value on v0.08 ...), by reason. */
  recordExplained: Record<string, number>;
  /**
   * Sessions whose first run diverged with no stall past its margin and whose repeat agreed (a race
   * in the harness, not behaviour): reported, not hidden, with the session (replayable: wslab interop
   * --scenario-file) and the longest stall of the first run.
   */
  retries: Array<{ role: Role; summary: string; session?: Session; peakLagMs?: number; settleMs?: number }>;
  /**
   * Sessions whose first run diverged while the process stalled past half the session's settle
   * (lab/session/run.ts `stalled`): that run's margins did not hold, so it was run again; the repeat's
   * verdict counts. Each with the stall and the settle.
   */
  stallReruns: Array<{ role: Role; summary: string; peakLagMs: number; settleMs: number; session: Session }>;
  /**
   * Sessions stretched for the machine's lag (lab/session/time-scale.ts), the largest stretch, and how often a job waited before
   * a session because the lag was past what the largest stretch covers (the run slows down instead).
   */
  timeScale: { stretched: number; max: number; waits: number };
  /** Sessions the harness could not run (a peer that stopped answering ...). */
  errors: string[];
}

export function sessionFileName(s: Session, summary: string): string {
  return `${s.role}-${createHash('sha256').update(JSON.stringify(s)).update(summary).digest('hex').slice(0, 12)}.json`;
}

function observationJson(o: SessionObservation): unknown {
  return { ...o, records: o.records.map((r) => ({ op: r.op, ...(showRecord(r) as object) })) };
}

/** Saves a shrunk divergence as a replayable scenario file. */
export function saveSessionFinding(dir: string, s: Session, cmp: SessionComparison, lua: SessionObservation, ours: SessionObservation, meta: { seed: number; lib: string }): string {
  const summary = describeDivergence(cmp.first!);
  const file = join(dir, sessionFileName(s, cmp.first!.channel));
  mkdirSync(dirname(file), { recursive: true });
  writeAtomic(file, JSON.stringify({
    kind: 'wslab-session-finding',
    foundAt: new Date().toISOString(),
    seed: meta.seed,
    lib: meta.lib,
    divergence: { channel: cmp.first!.channel, summary },
    replay: `wslab interop --scenario-file ${file}`,
    session: s,
    lua: observationJson(lua),
    ours: observationJson(ours),
  }, null, 2) + '\n');
  return file;
}

/** What the jobs of one session diff share: the run, its bounds, and what was seen so far. */
interface SessionRun {
  run: Run<SessionReport>;
  opts: SessionDiffOptions;
  seed: number;
  roles: readonly Role[];
  findingsDir: string;
  jobs: number;
  maxFindings: number;
  deadline: number;
  /** Sessions each job has started (its share of maxSessions). */
  ran: number[];
  explainedCounts: Map<string, number>;
  /** channel + summary of every divergence saved. */
  seen: Set<string>;
  peerDead: string | null;
  lastProgress: number;
}

/** A job's state inside one fast-check round: whether it is shrinking a divergence, and until when. */
interface RoundState {
  shrinking: boolean;
  shrinkUntil: number;
}

function sessionsPerSec(sessions: number, elapsedMs: number): number {
  return Math.round((sessions / Math.max(1, elapsedMs / 1000)) * 10) / 10;
}

function newSessionReport(seed: number, peer: RunningPeer): SessionReport {
  return {
    finished: false, ok: false, interrupted: false, seed, durationMs: 0,
    lib: { version: peer.lib.clientVersion, source: peer.lib.source },
    sessions: { server: 0, client: 0 }, sessionsPerSec: 0, divergences: [], explained: [], recordExplained: {}, retries: [], stallReruns: [], timeScale: { stretched: 0, max: 1, waits: 0 }, errors: [],
  };
}

function startSessionRun(opts: SessionDiffOptions): SessionRun {
  const started = Date.now();
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const jobs = Math.max(1, opts.jobs ?? DEFAULT_SESSION_JOBS);
  const explainedCounts = new Map<string, number>();
  // The file is claimed here: a second run on the same report stops before its first session.
  const run = new Run(newSessionReport(seed, opts.peer), {
    file: opts.reportFile,
    moveWith: '--report',
    signal: opts.signal,
    refresh: (report, elapsedMs) => {
      report.durationMs = elapsedMs;
      report.sessionsPerSec = sessionsPerSec(report.sessions.server + report.sessions.client, elapsedMs);
      report.explained = KNOWN_DIFFERENCES.filter((k) => explainedCounts.has(k.id)).map((k) => ({ id: k.id, specItem: k.specItem, count: explainedCounts.get(k.id)! }));
    },
  });
  return {
    run, opts, seed, jobs, explainedCounts,
    roles: opts.roles ?? ['server', 'client'],
    findingsDir: opts.findingsDir ?? join(FINDINGS_DIR, 'session'),
    maxFindings: opts.maxFindings ?? 5,
    deadline: started + opts.timeMs,
    ran: new Array<number>(jobs).fill(0),
    seen: new Set(),
    peerDead: null,
    lastProgress: 0,
  };
}

/** With maxSessions, job j runs its own share: which sessions run never depends on which job is faster. */
function quota(s: SessionRun, job: number): number {
  const max = s.opts.maxSessions;
  return max === undefined ? Infinity : Math.floor(max / s.jobs) + (job < max % s.jobs ? 1 : 0);
}

/** Enough findings end every job at its next session, not at the end of its round. */
function jobStopped(s: SessionRun, job: number): boolean {
  return Date.now() >= s.deadline || s.run.stopping() || s.ran[job]! >= quota(s, job) || s.run.report.divergences.length >= s.maxFindings;
}

function reportProgress(s: SessionRun): void {
  if (!s.opts.onProgress || Date.now() - s.lastProgress < 500) return;
  s.lastProgress = Date.now();
  const { report } = s.run;
  const total = report.sessions.server + report.sessions.client;
  const elapsedMs = s.run.elapsedMs();
  s.opts.onProgress({ elapsedMs, sessions: total, sessionsPerSec: sessionsPerSec(total, elapsedMs), divergences: report.divergences.length, explained: [...s.explainedCounts.values()].reduce((a, b) => a + b, 0) });
}

/** Counts a first run of a session (not a shrinking step) in the report. */
function countSession(s: SessionRun, session: Session, r: SessionDiff): void {
  const { report } = s.run;
  report.sessions[session.role]++;
  if (r.timeScale > 1) report.timeScale.stretched++;
  report.timeScale.max = Math.max(report.timeScale.max, r.timeScale);
  for (const why of r.cmp.recordExplained) report.recordExplained[why] = (report.recordExplained[why] ?? 0) + 1;
}

/** How long a job waits at most for the lag to come back within the largest stretch, in steps of LAG_WAIT_STEP_MS. */
const LAG_WAIT_MAX_MS = 5000;
const LAG_WAIT_STEP_MS = 50;

/**
 * Past the lag the largest time stretch covers (MAX_TIME_SCALE), a session's settle and deadlines
 * would race the scheduling: the job waits for the lag to come down before it starts one (jobs and
 * other processes then compete less), bounded, and the report counts the waits.
 */
async function waitForLagInScale(s: SessionRun): Promise<void> {
  let waited = 0;
  while (timeScaleFor(runTiming.lagMs()) >= MAX_TIME_SCALE && waited < LAG_WAIT_MAX_MS && !s.run.stopping()) {
    if (waited === 0) s.run.report.timeScale.waits++;
    await new Promise((r) => setTimeout(r, LAG_WAIT_STEP_MS));
    waited += LAG_WAIT_STEP_MS;
  }
}

/**
 * fast-check's property: true when the session agrees (or is explained, or could not run), false
 * for a divergence that showed twice and is new, which fast-check then shrinks.
 */
async function sessionAgrees(s: SessionRun, job: number, round: RoundState, session: Session): Promise<boolean> {
  const { peer, targets } = s.opts;
  if (!round.shrinking && (jobStopped(s, job) || s.peerDead)) return true;
  // Shrinking has a budget of its own: past it, fast-check keeps the smallest failure so far.
  if (round.shrinking && Date.now() > round.shrinkUntil) return true;
  reportProgress(s);
  // Counted when it starts, so a session the harness could not run still uses its place.
  if (!round.shrinking) s.ran[job]!++;
  await waitForLagInScale(s);
  let r: SessionDiff;
  try {
    r = await diffSession(peer, session, targets);
  } catch (e) {
    if (!(await peer.alive())) s.peerDead = `the peer stopped answering: ${(e as Error).message}`;
    else s.run.report.errors.push(`${session.role}: ${(e as Error).message}`.slice(0, 300));
    return true;
  }
  if (!round.shrinking) countSession(s, session, r);
  if (!r.cmp.first) return true;
  if (r.cmp.explained) {
    if (!round.shrinking) s.explainedCounts.set(r.cmp.explained.id, (s.explainedCounts.get(r.cmp.explained.id) ?? 0) + 1);
    return true;
  }
  // A divergence: run it once more; a repeat that agrees was timing: a stall the first run measured
  // past its margin, or else a race in the harness (a retry). Both are reported.
  const again = await diffSession(peer, session, targets);
  if (!again.cmp.first || again.cmp.explained) {
    if (!round.shrinking) {
      const rerun = { role: session.role, summary: describeDivergence(r.cmp.first), session, peakLagMs: r.peakLagMs, settleMs: r.settleMs };
      if (r.stalled) s.run.report.stallReruns.push(rerun);
      else s.run.report.retries.push(rerun);
    }
    return true;
  }
  if (!round.shrinking && s.seen.has(again.cmp.first.channel + describeDivergence(again.cmp.first))) return true;
  if (!round.shrinking) round.shrinkUntil = Date.now() + (s.opts.shrinkBudgetMs ?? SHRINK_BUDGET_MS);
  round.shrinking = true;
  return false;
}

/** A round's shrunk counterexample: run once more, and saved as a finding when it still diverges and is new. */
async function keepCounterexample(s: SessionRun, session: Session, numShrinks: number, roundSeed: number): Promise<void> {
  const { report } = s.run;
  const final = await diffSession(s.opts.peer, session, s.opts.targets);
  if (!final.cmp.first || final.cmp.explained) {
    report.retries.push({ role: session.role, summary: `shrunk counterexample agreed when run again (seed ${roundSeed})` });
    return;
  }
  const summary = describeDivergence(final.cmp.first);
  if (s.seen.has(final.cmp.first.channel + summary)) return;
  s.seen.add(final.cmp.first.channel + summary);
  const file = saveSessionFinding(s.findingsDir, session, final.cmp, final.lua, final.ours, { seed: roundSeed, lib: s.opts.peer.lib.clientVersion });
  report.divergences.push({ role: session.role, file, summary, channel: final.cmp.first.channel, shrinks: numShrinks, seed: roundSeed });
  s.run.save();
}

/** One job: fast-check rounds with seeds seed + job*100000 + round, until its bounds stop it. */
async function sessionJob(s: SessionRun, job: number): Promise<void> {
  const round: RoundState = { shrinking: false, shrinkUntil: 0 };
  for (let n = 0; !jobStopped(s, job) && !s.peerDead && s.run.report.divergences.length < s.maxFindings; n++) {
    const roundSeed = (s.seed + job * 100_000 + n) >>> 0;
    const property = fc.asyncProperty(sessionArb(s.roles, s.opts.peer.lib.clientVersion), (session) => sessionAgrees(s, job, round, session));
    // Rounds of ROUND_RUNS sessions: the deadline is checked between sessions, and a divergence
    // is shrunk to the end whatever the time.
    const out = await fc.check(property, { seed: roundSeed, numRuns: ROUND_RUNS, endOnFailure: false });
    round.shrinking = false;
    reportProgress(s);
    s.run.save();
    if (s.peerDead || !out.failed || !out.counterexample) continue;
    await keepCounterexample(s, out.counterexample[0] as Session, out.numShrinks, roundSeed);
  }
}

export async function runSessionDiff(opts: SessionDiffOptions): Promise<SessionReport> {
  const s = startSessionRun(opts);
  s.run.save();
  // `jobs` independent fast-check loops side by side (most of a session is waiting on timeouts and
  // the network). The lag is sampled all run long: every session's time scale follows it.
  const releaseTiming = runTiming.acquire();
  try {
    await Promise.all(Array.from({ length: s.jobs }, (_, j) => sessionJob(s, j)));
  } catch (e) {
    s.run.release();
    throw e;
  } finally {
    releaseTiming();
  }
  return s.run.finish((report, stopped) => {
    if (s.peerDead) report.errors.push(s.peerDead);
    report.interrupted = stopped;
    report.finished = true;
    // No verdict without evidence: a run that compared no session is not a pass.
    report.ok = passedOnEvidence(report.sessions.server + report.sessions.client, report.divergences.length + report.errors.length);
  });
}

export function formatSessionReport(r: SessionReport): string {
  const lines = [
    `session diff against lua-resty-websocket ${r.lib.version} (${r.lib.source}), seed ${r.seed}${r.interrupted ? ' (interrupted)' : ''}`,
    `${r.sessions.server} server + ${r.sessions.client} client sessions in ${(r.durationMs / 1000).toFixed(1)}s (${r.sessionsPerSec} sessions/s)`,
    `unexplained divergences: ${r.divergences.length}`,
    ...r.divergences.map((d) => `  ${d.role} ${d.summary}\n    ${d.file}`),
    `explained (declared once, lab/session/known.ts): ${r.explained.length ? r.explained.map((e) => `${e.id} x${e.count} [${e.specItem}]`).join('; ') : 'none'}`,
    ...Object.entries(r.recordExplained).map(([why, n]) => `  record-level: ${why} x${n}`),
    `time scale: ${r.timeScale.stretched ? `${r.timeScale.stretched} sessions stretched for the machine's lag (up to x${r.timeScale.max})` : 'x1 (no session stretched)'}${r.timeScale.waits ? `; ${r.timeScale.waits} sessions waited for the lag to come within x${MAX_TIME_SCALE}` : ''}`,
    `retries (diverged once, agreed when run again; each session is in the report's retries[].session): ${r.retries.length}${r.retries.length ? `\n${r.retries.slice(0, 5).map((x) => `  ${x.role} ${x.summary}${x.peakLagMs !== undefined ? ` (longest stall ${x.peakLagMs} ms, settle ${x.settleMs} ms)` : ''}`).join('\n')}` : ''}`,
    `re-run after a stall (diverged while the process stalled past half the settle, agreed when run again; stallReruns[]): ${r.stallReruns.length}${r.stallReruns.length ? `\n${r.stallReruns.slice(0, 5).map((x) => `  ${x.role} ${x.summary} (stall ${x.peakLagMs} ms, settle ${x.settleMs} ms)`).join('\n')}` : ''}`,
    ...(r.errors.length ? [`errors: ${r.errors.length}`, ...r.errors.slice(0, 5).map((e) => `  ${e}`)] : []),
  ];
  return lines.join('\n');
}
