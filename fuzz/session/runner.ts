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
import { claimReport, writeJsonReport } from '../../lab/reports.js';
import { showRecord } from '../../lab/compare.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { KNOWN_DIFFERENCES } from '../../lab/session/known.js';
import { describeDivergence, type SessionComparison } from '../../lab/session/compare.js';
import type { SessionTargets } from '../../lab/session/observe.js';
import { diffSession, type SessionDiff } from '../../lab/session/run.js';
import { runTiming } from '../../lab/timing.js';
import type { Session, SessionObservation } from '../../lab/session/types.js';
import { FINDINGS_DIR } from '../findings.js';
import { sessionArb } from './model.js';

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
  /** Sessions run side by side (default 4). */
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
  /** Sessions whose first run diverged and whose repeat agreed (timing, not behaviour): reported, not hidden. */
  retries: Array<{ role: Role; summary: string }>;
  /** Sessions run with their times stretched for the machine's lag (lab/session/time-scale.ts), and the largest stretch. */
  timeScale: { stretched: number; max: number };
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

export async function runSessionDiff(opts: SessionDiffOptions): Promise<SessionReport> {
  const started = Date.now();
  const seed = opts.seed ?? (Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0;
  const roles = opts.roles ?? ['server', 'client'];
  const findingsDir = opts.findingsDir ?? join(FINDINGS_DIR, 'session');
  const { peer } = opts;
  if (opts.reportFile) claimReport(opts.reportFile); // a second run on the same report stops before its first session
  const report: SessionReport = {
    finished: false, ok: false, interrupted: false, seed, durationMs: 0,
    lib: { version: peer.lib.clientVersion, source: peer.lib.source },
    sessions: { server: 0, client: 0 }, sessionsPerSec: 0, divergences: [], explained: [], recordExplained: {}, retries: [], timeScale: { stretched: 0, max: 1 }, errors: [],
  };
  const explainedCounts = new Map<string, number>();
  const save = (): void => {
    report.durationMs = Date.now() - started;
    const total = report.sessions.server + report.sessions.client;
    report.sessionsPerSec = Math.round((total / Math.max(1, report.durationMs / 1000)) * 10) / 10;
    report.explained = KNOWN_DIFFERENCES.filter((k) => explainedCounts.has(k.id)).map((k) => ({ id: k.id, specItem: k.specItem, count: explainedCounts.get(k.id)! }));
    if (opts.reportFile) writeJsonReport(opts.reportFile, report);
  };
  const deadline = started + opts.timeMs;
  const jobs = Math.max(1, opts.jobs ?? 4);
  const maxFindings = opts.maxFindings ?? 5;
  // With maxSessions, job j runs its own share: which sessions run never depends on which job is faster.
  const quota = (job: number): number => opts.maxSessions === undefined ? Infinity : Math.floor(opts.maxSessions / jobs) + (job < opts.maxSessions % jobs ? 1 : 0);
  const ran = new Array<number>(jobs).fill(0);
  // Enough findings end every job at its next session, not at the end of its round.
  const stopped = (job: number): boolean => Date.now() >= deadline || !!opts.signal?.aborted || ran[job]! >= quota(job) || report.divergences.length >= maxFindings;
  let lastProgress = 0;
  const progress = (): void => {
    if (!opts.onProgress || Date.now() - lastProgress < 500) return;
    lastProgress = Date.now();
    const total = report.sessions.server + report.sessions.client;
    const elapsedMs = Date.now() - started;
    opts.onProgress({ elapsedMs, sessions: total, sessionsPerSec: Math.round((total / Math.max(1, elapsedMs / 1000)) * 10) / 10, divergences: report.divergences.length, explained: [...explainedCounts.values()].reduce((a, b) => a + b, 0) });
  };
  const seen = new Set<string>();
  let peerDead: string | null = null;
  save();
  // `jobs` independent fast-check loops side by side (most of a session is waiting on timeouts and
  // the network); job j runs rounds with seeds seed + j*100000 + round.
  const worker = async (job: number): Promise<void> => {
    let shrinking = false;
    let shrinkUntil = 0;
    for (let round = 0; !stopped(job) && !peerDead && report.divergences.length < maxFindings; round++) {
      const roundSeed = (seed + job * 100_000 + round) >>> 0;
      const property = fc.asyncProperty(sessionArb(roles, peer.lib.clientVersion), async (s) => {
        if (!shrinking && (stopped(job) || peerDead)) return true;
        // Shrinking has a budget of its own: past it, fast-check keeps the smallest failure so far.
        if (shrinking && Date.now() > shrinkUntil) return true;
        progress();
        // Counted when it starts, so a session the harness could not run still uses its place.
        if (!shrinking) ran[job]!++;
        let r: SessionDiff;
        try {
          r = await diffSession(peer, s, opts.targets);
        } catch (e) {
          if (!(await peer.alive())) {
            peerDead = `the peer stopped answering: ${(e as Error).message}`;
            return true;
          }
          report.errors.push(`${s.role}: ${(e as Error).message}`.slice(0, 300));
          return true;
        }
        if (!shrinking) {
          report.sessions[s.role]++;
          if (r.timeScale > 1) report.timeScale.stretched++;
          report.timeScale.max = Math.max(report.timeScale.max, r.timeScale);
          for (const why of r.cmp.recordExplained) report.recordExplained[why] = (report.recordExplained[why] ?? 0) + 1;
        }
        if (!r.cmp.first) return true;
        if (r.cmp.explained) {
          if (!shrinking) explainedCounts.set(r.cmp.explained.id, (explainedCounts.get(r.cmp.explained.id) ?? 0) + 1);
          return true;
        }
        // A divergence: run it once more; a repeat that agrees was timing (reported as a retry).
        const again = await diffSession(peer, s, opts.targets);
        if (!again.cmp.first || again.cmp.explained) {
          if (!shrinking) report.retries.push({ role: s.role, summary: describeDivergence(r.cmp.first) });
          return true;
        }
        if (!shrinking && seen.has(again.cmp.first.channel + describeDivergence(again.cmp.first))) return true;
        if (!shrinking) shrinkUntil = Date.now() + (opts.shrinkBudgetMs ?? SHRINK_BUDGET_MS);
        shrinking = true;
        return false;
      });
      // Rounds of ROUND_RUNS sessions: the deadline is checked between sessions, and a divergence
      // is shrunk to the end whatever the time.
      const out = await fc.check(property, { seed: roundSeed, numRuns: ROUND_RUNS, endOnFailure: false });
      shrinking = false;
      progress();
      save();
      if (peerDead || !out.failed || !out.counterexample) continue;
      const s = out.counterexample[0] as Session;
      const final = await diffSession(peer, s, opts.targets);
      if (!final.cmp.first || final.cmp.explained) {
        report.retries.push({ role: s.role, summary: `shrunk counterexample agreed when run again (seed ${roundSeed})` });
        continue;
      }
      const summary = describeDivergence(final.cmp.first);
      if (seen.has(final.cmp.first.channel + summary)) continue;
      seen.add(final.cmp.first.channel + summary);
      const file = saveSessionFinding(findingsDir, s, final.cmp, final.lua, final.ours, { seed: roundSeed, lib: peer.lib.clientVersion });
      report.divergences.push({ role: s.role, file, summary, channel: final.cmp.first.channel, shrinks: out.numShrinks, seed: roundSeed });
      save();
    }
  };
  // The lag is sampled all run long: every session's time scale follows it.
  const releaseTiming = runTiming.acquire();
  try {
    await Promise.all(Array.from({ length: jobs }, (_, j) => worker(j)));
  } finally {
    releaseTiming();
  }
  if (peerDead) report.errors.push(peerDead);
  report.interrupted = !!opts.signal?.aborted;
  report.finished = true;
  report.ok = report.divergences.length === 0 && report.errors.length === 0 && report.sessions.server + report.sessions.client > 0;
  save();
  return report;
}

export function formatSessionReport(r: SessionReport): string {
  const lines = [
    `session diff against lua-resty-websocket ${r.lib.version} (${r.lib.source}), seed ${r.seed}${r.interrupted ? ' (interrupted)' : ''}`,
    `${r.sessions.server} server + ${r.sessions.client} client sessions in ${(r.durationMs / 1000).toFixed(1)}s (${r.sessionsPerSec} sessions/s)`,
    `unexplained divergences: ${r.divergences.length}`,
    ...r.divergences.map((d) => `  ${d.role} ${d.summary}\n    ${d.file}`),
    `explained (declared once, lab/session/known.ts): ${r.explained.length ? r.explained.map((e) => `${e.id} x${e.count} [${e.specItem}]`).join('; ') : 'none'}`,
    ...Object.entries(r.recordExplained).map(([why, n]) => `  record-level: ${why} x${n}`),
    `time scale: ${r.timeScale.stretched ? `${r.timeScale.stretched} sessions stretched for the machine's lag (up to x${r.timeScale.max})` : 'x1 (no session stretched)'}`,
    `retries (diverged once, agreed when run again): ${r.retries.length}${r.retries.length ? `\n${r.retries.slice(0, 5).map((x) => `  ${x.role} ${x.summary}`).join('\n')}` : ''}`,
    ...(r.errors.length ? [`errors: ${r.errors.length}`, ...r.errors.slice(0, 5).map((e) => `  ${e}`)] : []),
  ];
  return lines.join('\n');
}
