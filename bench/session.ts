// Session-diff throughput against nginx: whole generated sessions per second (both sides run:
// the real library in nginx and ours), per role, in repeated rounds with their range. Findings go
// to a throwaway folder: a benchmark never adds files to fuzz/findings.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackTempDir } from '../lab/children.js';
import type { RunningPeer } from '../lab/peers/types.js';
import { DEFAULT_SESSION_JOBS, runSessionDiff, type Role } from '../fuzz/session/runner.js';

export interface SessionBenchOptions {
  peer: RunningPeer;
  /** Per role and round. */
  roundMs: number;
  rounds: number;
  jobs?: number;
}

export interface SessionBenchReport {
  lib: string;
  jobs: number;
  roles: Array<{ role: Role; perRound: number[]; median: number; min: number; max: number; divergences: number; explained: number; retries: number; stallReruns: number }>;
  /** Median over both roles' rounds. */
  sessionsPerSec: number;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function runSessionBench(o: SessionBenchOptions): Promise<SessionBenchReport> {
  const dir = mkdtempSync(join(tmpdir(), 'wslab-bench-session-'));
  const untrackDir = trackTempDir(dir); // Ctrl-C: the interrupt handler removes it
  const jobs = o.jobs ?? DEFAULT_SESSION_JOBS;
  try {
    const roles: SessionBenchReport['roles'] = [];
    for (const role of ['server', 'client'] as const) {
      const perRound: number[] = [];
      let divergences = 0;
      let explained = 0;
      let retries = 0;
      let stallReruns = 0;
      for (let i = 0; i < o.rounds; i++) {
        const r = await runSessionDiff({ peer: o.peer, timeMs: o.roundMs, roles: [role], seed: 1000 + i, jobs, findingsDir: dir, maxFindings: 1, shrinkBudgetMs: 0 });
        const n = r.sessions.server + r.sessions.client;
        perRound.push(Math.round((n / (r.durationMs / 1000)) * 10) / 10);
        divergences += r.divergences.length;
        explained += r.explained.reduce((a, e) => a + e.count, 0);
        retries += r.retries.length;
        stallReruns += r.stallReruns.length;
      }
      roles.push({ role, perRound, median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound), divergences, explained, retries, stallReruns });
    }
    return { lib: o.peer.lib.clientVersion, jobs, roles, sessionsPerSec: median(roles.flatMap((r) => r.perRound)) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    untrackDir();
  }
}
