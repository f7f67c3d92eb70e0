// Fuzz throughput: jsfuzz execs/s per target and differential cases/s against the Lua code.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackTempDir } from '../lab/children.js';
import { runCampaign } from '../fuzz/campaign.js';
import { runDiff } from '../fuzz/diff/runner.js';

export interface FuzzBenchOptions {
  timeMs: number;
  /** Targets (default "all"). */
  target?: string;
  jobs?: number;
}

export interface FuzzBenchReport {
  targets: Array<{ target: string; ok: boolean; execs: number; execsPerSec: number; error?: string }>;
  totalExecsPerSec: number;
  /**
   * Differential cases/s, and the CPU time per case of each side: this process (generating cases
   * on its worker thread, our answers, comparing) and luajit (the original's answers), so a run on
   * a loaded machine still says what each case costs. All three work in parallel.
   */
  diff: { ok: boolean; cases: number; casesPerSec: number; nodeCpuUsPerCase?: number; luaCpuUsPerCase?: number; error?: string };
}

/** CPU time (µs) of this process's waited-for children (Linux /proc/self/stat cutime + cstime). */
function childrenCpuUs(): number {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[13]) + Number(f[14])) * 1e6) / 100;
}

export async function runFuzzBench(o: FuzzBenchOptions): Promise<FuzzBenchReport> {
  // A fresh corpus keeps the numbers comparable between runs; findings go to a throwaway folder so
  // a benchmark never adds files to fuzz/findings (run `wslab fuzz` to hunt for real).
  const findingsDir = mkdtempSync(join(tmpdir(), 'wslab-bench-findings-'));
  const untrackFindings = trackTempDir(findingsDir); // Ctrl-C: the interrupt handler removes it
  try {
    return await measure(o, findingsDir);
  } finally {
    rmSync(findingsDir, { recursive: true, force: true });
    untrackFindings();
  }
}

async function measure(o: FuzzBenchOptions, findingsDir: string): Promise<FuzzBenchReport> {
  const fuzz = await runCampaign({ target: o.target ?? 'all', timeMs: o.timeMs, jobs: o.jobs ?? 2, freshCorpus: true, maxFindings: 1, findingsDir });
  const targets = fuzz.targets.map((t) => ({ target: t.target, ok: t.ok, execs: t.execs, execsPerSec: t.execsPerSec, ...(t.error ? { error: t.error.slice(0, 300) } : {}) }));
  let diff: FuzzBenchReport['diff'];
  try {
    const own0 = process.cpuUsage();
    const children0 = childrenCpuUs();
    const d = await runDiff({ timeMs: o.timeMs, maxDivergences: 1, useCorpus: false, findingsDir });
    const own = process.cpuUsage(own0);
    // luajit has exited and been waited for once runDiff returns: its time is in the children's total
    const lua = childrenCpuUs() - children0;
    diff = { ok: true, cases: d.cases, casesPerSec: d.casesPerSec, ...(d.cases > 0 ? { nodeCpuUsPerCase: (own.user + own.system) / d.cases, luaCpuUsPerCase: lua / d.cases } : {}) };
  } catch (e) {
    diff = { ok: false, cases: 0, casesPerSec: 0, error: (e as Error).message.slice(0, 300) };
  }
  return { targets, totalExecsPerSec: fuzz.totals.execsPerSec, diff };
}
