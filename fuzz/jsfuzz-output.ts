// Parses jsfuzz 1.0.15's stdout. It prints a stats line on every coverage gain ("NEW") and every
// 3 s ("PULSE"):  #1234 NEW     cov: 321 corp: 17 exec/s: 2100 rss: 80.5 MB
// and on a crash: a "=====" rule, the error, then "crash was written to crash-<sha256>".
export interface JsfuzzStats {
  execs: number;
  kind: 'NEW' | 'PULSE';
  coverage: number;
  corpus: number;
  execsPerSec: number;
  rssMb: number;
}

const STATS = /^#(\d+) (NEW|PULSE)\s+cov: (\d+) corp: (\d+) exec\/s: (\d+) rss: ([\d.]+) MB/;

export function parseStatsLine(line: string): JsfuzzStats | null {
  const m = STATS.exec(line.trim());
  if (!m) return null;
  return {
    execs: Number(m[1]),
    kind: m[2] as 'NEW' | 'PULSE',
    coverage: Number(m[3]),
    corpus: Number(m[4]),
    execsPerSec: Number(m[5]),
    rssMb: Number(m[6]),
  };
}

export type CrashKind = 'exception' | 'timeout' | 'oom' | 'killed';

export interface JsfuzzCrash {
  file: string;
  kind: CrashKind;
  /** What the worker printed about it (the error and stack, or the timeout/OOM line). */
  message: string;
}

/** Folds jsfuzz's whole stdout into the crashes it reported, in order. */
export function parseCrashes(stdout: string): JsfuzzCrash[] {
  const crashes: JsfuzzCrash[] = [];
  let pending: string[] = [];
  let kind: CrashKind = 'exception';
  let inReport = false;
  for (const line of stdout.split('\n')) {
    if (line.startsWith('=====')) {
      inReport = true;
      pending = [];
      kind = 'exception';
      continue;
    }
    if (line.startsWith('timeout reached')) kind = 'timeout';
    else if (line.startsWith('MEMORY OOM')) kind = 'oom';
    else if (line.startsWith('Worker killed') && kind === 'exception' && !inReport) kind = 'killed';
    const written = /^crash was written to (\S+)/.exec(line);
    if (written) {
      crashes.push({ file: written[1]!, kind, message: (inReport ? pending : [line]).join('\n').trim() });
      inReport = false;
      pending = [];
      kind = 'exception';
      continue;
    }
    if (line.startsWith('MEMORY OOM')) pending.push(line);
    else if (inReport && !parseStatsLine(line)) pending.push(line);
  }
  return crashes;
}
