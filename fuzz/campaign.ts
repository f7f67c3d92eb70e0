// jsfuzz campaigns with the guards jsfuzz 1.0.15 lacks: a time and exec limit (it runs forever), a
// load check (a target that fails to load makes it exit 0 having run nothing), a private work dir
// per run (it writes crash-<sha256> into its cwd), restarts after a crash (it stops at the first),
// minimisation, and saved findings that fuzz/findings.test.ts replays.
import { spawn } from 'node:child_process';
import { writeJsonReport } from '../lab/reports.js';
import { interruptedReportFile, trackChild, trackTempDir } from '../lab/children.js';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { CACHE_DIR, ROOT_DIR } from '../lab/paths.js';
import { buildTargets, compiledTargetPath, loadCheck } from './build-targets.js';
import { errorSignature, FINDINGS_DIR, saveFinding, type SavedFinding } from './findings.js';
import { parseCrashes, parseStatsLine, type JsfuzzCrash, type JsfuzzStats } from './jsfuzz-output.js';
import { minimiseAsync } from './minimise.js';
import { resolveTargets, type TargetInfo } from './registry.js';

const require = createRequire(import.meta.url);
export const SEEDS_DIR = join(ROOT_DIR, 'fixtures', 'fuzz', 'seeds');
export const DEFAULT_WORK_ROOT = join(CACHE_DIR, 'fuzz');

export interface CampaignOptions {
  /** A target name, a comma list, an array, or "all". */
  target: string | readonly string[];
  /** Wall time per target. */
  timeMs: number;
  /** Stop a target once this many executions are reported (checked at each jsfuzz stats line). */
  maxExecs?: number;
  /** jsfuzz processes at a time: instances of the one target, or targets at a time when several. */
  jobs?: number;
  findingsDir?: string;
  /** Work dirs and the persistent corpus live here (default .cache/fuzz). */
  workRoot?: string;
  /** Start from the seeds only, in a throwaway corpus (tests), instead of the persistent corpus. */
  freshCorpus?: boolean;
  /** Stop a target after this many crashes (default 3); a repeated signature is not saved twice. */
  maxFindings?: number;
  /** jsfuzz --timeout: an input running longer (seconds) is a hang finding (default 10). */
  hangTimeoutSec?: number;
  rssLimitMb?: number;
  onProgress?: (p: CampaignProgress) => void;
  /** Also write the report here as JSON. */
  reportFile?: string;
}

export interface CampaignProgress {
  target: string;
  elapsedMs: number;
  execs: number;
  execsPerSec: number;
  coverage: number;
  corpus: number;
  findings: number;
}

export interface FindingRef {
  id: string;
  kind: string;
  signature: string;
  file: string;
  inputHex: string;
  duplicate: boolean;
  minimisedFrom: number;
}

export interface TargetSummary {
  target: string;
  ok: boolean;
  error?: string;
  durationMs: number;
  execs: number;
  execsPerSec: number;
  corpusStart: number;
  corpusEnd: number;
  /** Coverage (jsfuzz's count of covered statements, functions and branches) once the corpus was replayed. */
  coverageAfterSeeds: number;
  coverageEnd: number;
  coverageGrowth: number;
  /** [elapsed ms, coverage] at every coverage gain. */
  coverageTimeline: Array<[number, number]>;
  jsfuzzRuns: number;
  findings: FindingRef[];
}

export interface FuzzReport {
  startedAt: string;
  durationMs: number;
  timePerTargetMs: number;
  jobs: number;
  targets: TargetSummary[];
  totals: { execs: number; execsPerSec: number; findings: number; newFindings: number };
  ok: boolean;
}

export async function runCampaign(opts: CampaignOptions): Promise<FuzzReport> {
  const started = Date.now();
  const targets = resolveTargets(opts.target);
  const jobs = Math.max(1, opts.jobs ?? 1);
  const summaries: TargetSummary[] = [];
  const stopInterruptReport = opts.reportFile
    ? interruptedReportFile(opts.reportFile, () => ({ startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, timePerTargetMs: opts.timeMs, jobs, targets: summaries }))
    : () => {};
  const build = buildTargets();
  if (!build.ok) {
    for (const t of targets) summaries.push(failedSummary(t.name, `building the targets failed:\n${build.output}`));
  } else {
    const instancesEach = targets.length === 1 ? jobs : 1;
    const queue = [...targets];
    const workers = Array.from({ length: Math.min(jobs, targets.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) summaries.push(await runTarget(t, instancesEach, opts));
    });
    await Promise.all(workers);
    summaries.sort((a, b) => targets.findIndex((t) => t.name === a.target) - targets.findIndex((t) => t.name === b.target));
  }
  const durationMs = Date.now() - started;
  const execs = summaries.reduce((s, t) => s + t.execs, 0);
  const report: FuzzReport = {
    startedAt: new Date(started).toISOString(),
    durationMs,
    timePerTargetMs: opts.timeMs,
    jobs,
    targets: summaries,
    totals: {
      execs,
      execsPerSec: Math.round(execs / Math.max(0.001, summaries.reduce((s, t) => s + t.durationMs, 0) / 1000)),
      findings: summaries.reduce((s, t) => s + t.findings.length, 0),
      newFindings: summaries.reduce((s, t) => s + t.findings.filter((f) => !f.duplicate).length, 0),
    },
    ok: summaries.every((t) => t.ok && t.findings.length === 0),
  };
  stopInterruptReport();
  if (opts.reportFile) writeJsonReport(opts.reportFile, report);
  return report;
}

function failedSummary(target: string, error: string): TargetSummary {
  return {
    target, ok: false, error, durationMs: 0, execs: 0, execsPerSec: 0, corpusStart: 0, corpusEnd: 0,
    coverageAfterSeeds: 0, coverageEnd: 0, coverageGrowth: 0, coverageTimeline: [], jsfuzzRuns: 0, findings: [],
  };
}

interface TargetState {
  info: TargetInfo;
  opts: CampaignOptions;
  started: number;
  deadline: number;
  corpusDir: string;
  workRoot: string;
  findingsDir: string;
  /** Executions of finished jsfuzz runs plus the latest count of each running one. */
  execsDone: number;
  running: Map<number, number>;
  coverageAfterSeeds: number;
  coverage: number;
  corpus: number;
  timeline: Array<[number, number]>;
  findings: FindingRef[];
  runs: number;
  /** Crashes whose signature was already found in this campaign (not saved again). */
  repeats: number;
  errors: string[];
  stopAll: boolean;
}

async function runTarget(info: TargetInfo, instances: number, opts: CampaignOptions): Promise<TargetSummary> {
  const started = Date.now();
  const workRoot = opts.workRoot ?? DEFAULT_WORK_ROOT;
  mkdirSync(workRoot, { recursive: true });
  const corpusDir = opts.freshCorpus
    ? mkdtempSync(join(tmpdir(), `wslab-corpus-${info.name}-`))
    : join(workRoot, 'corpus', info.name);
  // A fresh corpus is this run's alone: gone on Ctrl-C or an error too, not only at the end.
  const untrackCorpus = opts.freshCorpus ? trackTempDir(corpusDir) : () => {};
  mkdirSync(corpusDir, { recursive: true });
  const seedDir = join(SEEDS_DIR, info.name);
  if (existsSync(seedDir)) {
    for (const f of readdirSync(seedDir)) if (!existsSync(join(corpusDir, f))) copyFileSync(join(seedDir, f), join(corpusDir, f));
  }
  const st: TargetState = {
    info, opts, started, deadline: started + opts.timeMs, corpusDir, workRoot,
    findingsDir: opts.findingsDir ?? FINDINGS_DIR, execsDone: 0, running: new Map(), coverageAfterSeeds: 0,
    coverage: 0, corpus: 0, timeline: [], findings: [], runs: 0, repeats: 0, errors: [], stopAll: false,
  };
  const corpusStart = readdirSync(corpusDir).length;

  // Guard 1: the target must load and survive its own corpus, or jsfuzz would "pass" having run nothing.
  const pre = loadCheck(info.name, [corpusDir]);
  if (!pre.ok) return { ...failedSummary(info.name, pre.err ?? 'load check failed'), durationMs: Date.now() - started, corpusStart };
  st.execsDone += pre.execs;
  if (pre.crash) {
    await recordCrash(st, Buffer.from(pre.crash.inputHex, 'hex'), { file: pre.crash.file, kind: 'exception', message: pre.crash.message }, 'preflight');
  }

  const maxFindings = opts.maxFindings ?? 3;
  await Promise.all(
    Array.from({ length: instances }, async (_, instance) => {
      while (!st.stopAll && Date.now() < st.deadline - 500 && st.findings.length + st.repeats < maxFindings) {
        const outcome = await runJsfuzzOnce(st, instance);
        if (outcome === 'stopped' || outcome === 'failed') break;
      }
    }),
  );

  const execs = st.execsDone;
  const durationMs = Date.now() - started;
  const corpusEnd = readdirSync(corpusDir).length;
  if (opts.freshCorpus) rmSync(corpusDir, { recursive: true, force: true });
  untrackCorpus();
  if (execs === 0) st.errors.push('jsfuzz made no executions');
  return {
    target: info.name,
    ok: st.errors.length === 0,
    ...(st.errors.length ? { error: st.errors.join('\n') } : {}),
    durationMs,
    execs,
    execsPerSec: Math.round(execs / Math.max(0.001, durationMs / 1000)),
    corpusStart,
    corpusEnd,
    coverageAfterSeeds: st.coverageAfterSeeds,
    coverageEnd: st.coverage,
    coverageGrowth: Math.max(0, st.coverage - st.coverageAfterSeeds),
    coverageTimeline: st.timeline,
    jsfuzzRuns: st.runs,
    findings: st.findings,
  };
}

type RunOutcome = 'crashed' | 'stopped' | 'failed';

/** The jsfuzz command line for one process in `workDir`. */
function jsfuzzArgs(st: TargetState, workDir: string): string[] {
  // jsfuzz's worker does require(path.join(cwd, target)): the target path must be relative.
  const targetRel = relative(workDir, compiledTargetPath(st.info.name));
  return [
    require.resolve('jsfuzz/build/src/index.js'),
    targetRel,
    st.corpusDir,
    '--timeout', String(st.opts.hangTimeoutSec ?? 10),
    '--rss-limit-mb', String(st.opts.rssLimitMb ?? 1024),
    `--versifier=${st.info.text}`,
  ];
}

/**
 * Takes in one stats line of jsfuzz run `runId`: coverage, corpus, progress; returns true when the
 * campaign's exec limit is reached (every run is to stop).
 */
function takeStats(st: TargetState, runId: number, corpusAtStart: number, s: JsfuzzStats): boolean {
  st.running.set(runId, s.execs);
  st.corpus = Math.max(st.corpus, s.corpus);
  if (s.execs <= corpusAtStart) st.coverageAfterSeeds = Math.max(st.coverageAfterSeeds, s.coverage);
  if (s.coverage > st.coverage) {
    st.coverage = s.coverage;
    addTimelinePoint(st.timeline, [Date.now() - st.started, s.coverage]);
  }
  const execs = st.execsDone + [...st.running.values()].reduce((a, b) => a + b, 0);
  st.opts.onProgress?.({
    target: st.info.name,
    elapsedMs: Date.now() - st.started,
    execs,
    execsPerSec: s.execsPerSec,
    coverage: st.coverage,
    corpus: s.corpus,
    findings: st.findings.length,
  });
  return st.opts.maxExecs !== undefined && execs >= st.opts.maxExecs;
}

/** How a finished jsfuzz process went, from what it printed and the crash files in its work dir. */
interface FinishedJsfuzz {
  workDir: string;
  stdout: string;
  stderr: string;
  stoppedByUs: boolean;
  lastExecs: number;
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Records a finished process's crashes (a crash file only from our SIGKILL is not one), or its failure. */
async function jsfuzzOutcome(st: TargetState, run: FinishedJsfuzz): Promise<RunOutcome> {
  const { workDir, stdout, stderr, stoppedByUs, lastExecs } = run;
  const crashes = parseCrashes(stdout).filter((c) => existsSync(join(workDir, c.file)));
  // Files jsfuzz wrote without telling (say, it died mid-report).
  for (const f of readdirSync(workDir)) {
    if (f.startsWith('crash-') && !crashes.some((c) => c.file === f)) crashes.push({ file: f, kind: 'killed', message: 'crash file without a report' });
  }
  if (crashes.length > 0 && !(stoppedByUs && crashes.every((c) => c.kind === 'killed'))) {
    for (const c of crashes) await recordCrash(st, readFileSync(join(workDir, c.file)), c, 'jsfuzz');
    return 'crashed';
  }
  if (stoppedByUs) return 'stopped';
  st.errors.push(`jsfuzz exited on its own (code ${run.code}, signal ${run.signal}) after ${lastExecs} execs: ${(stdout.slice(-1500) + stderr.slice(-1500)).trim()}`);
  return 'failed';
}

/** One jsfuzz process, in its own work dir, until the deadline, the exec limit or its first crash. */
function runJsfuzzOnce(st: TargetState, instance: number): Promise<RunOutcome> {
  const workDir = mkdtempSync(join(st.workRoot, `work-${st.info.name}-${instance}-`));
  const runId = ++st.runs;
  const corpusAtStart = readdirSync(st.corpusDir).length;
  const child = spawn(process.execPath, jsfuzzArgs(st, workDir), { cwd: workDir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  trackChild(child, 'jsfuzz', true);
  const untrackWorkDir = trackTempDir(workDir);
  let stdout = '';
  let stderr = '';
  let partial = '';
  let stoppedByUs = false;
  let lastExecs = 0;
  const stop = (): void => {
    if (stoppedByUs) return;
    stoppedByUs = true;
    // SIGINT lets the worker finish its input and exit 0 (a SIGKILLed worker counts as a crash).
    signalGroup(child.pid, 'SIGINT');
    setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 3000).unref();
  };
  const timer = setTimeout(stop, Math.max(0, st.deadline - Date.now()));
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (d: string) => {
    stderr = (stderr + d).slice(-20_000);
  });
  child.stdout.on('data', (d: string) => {
    stdout = (stdout + d).length > 2_000_000 ? (stdout + d).slice(-1_000_000) : stdout + d;
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const s = parseStatsLine(line);
      if (!s) continue;
      lastExecs = s.execs;
      if (takeStats(st, runId, corpusAtStart, s)) {
        st.stopAll = true;
        stop();
      }
    }
  });
  return new Promise<RunOutcome>((resolve) => {
    child.on('close', async (code, signal) => {
      clearTimeout(timer);
      st.running.delete(runId);
      st.execsDone += lastExecs;
      const outcome = await jsfuzzOutcome(st, { workDir, stdout, stderr, stoppedByUs, lastExecs, code, signal });
      rmSync(workDir, { recursive: true, force: true });
      untrackWorkDir();
      resolve(outcome);
    });
  });
}

/** Keeps the timeline readable: at most 60 points, thinning the older half when full. */
function addTimelinePoint(timeline: Array<[number, number]>, point: [number, number]): void {
  timeline.push(point);
  if (timeline.length > 60) {
    const keep = timeline.filter((_, i) => i % 2 === 0 || i >= 30);
    timeline.splice(0, timeline.length, ...keep);
  }
}

function signalGroup(pid: number | undefined, sig: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

/** Replays an exception in-process, minimises it keeping the same failure, and saves it. */
async function recordCrash(st: TargetState, input: Buffer, crash: JsfuzzCrash, source: 'jsfuzz' | 'preflight'): Promise<void> {
  let signature = crash.kind === 'exception' ? firstLine(crash.message) : crash.kind;
  let minimised = input;
  let message = crash.message;
  if (crash.kind === 'exception') {
    const fuzz = await loadTargetFunction(st.info.name);
    // An async target (inflate: zlib works on the thread pool) fails by rejecting, as jsfuzz awaits it.
    const failing = async (b: Buffer): Promise<string | null> => {
      try {
        await fuzz(b);
        return null;
      } catch (e) {
        return errorSignature(e);
      }
    };
    const sig = await failing(input);
    if (sig !== null) {
      signature = sig;
      if (st.findings.some((f) => f.signature === sig)) {
        st.repeats++;
        return;
      }
      minimised = await minimiseAsync(input, async (c) => (await failing(c)) === sig, 4000);
      try {
        await fuzz(minimised);
      } catch (e) {
        message = e instanceof Error ? (e.stack ?? e.message) : String(e);
      }
    } else {
      signature = `not reproducible in-process: ${signature}`;
    }
  }
  const saved: SavedFinding = saveFinding(
    st.findingsDir,
    {
      target: st.info.name,
      kind: crash.kind,
      signature,
      message: message.slice(0, 4000),
      inputHex: minimised.toString('hex'),
      originalHex: input.toString('hex'),
      foundAt: new Date().toISOString(),
      source,
    },
    minimised,
  );
  if (st.findings.some((f) => f.id === saved.id)) return;
  st.findings.push({
    id: saved.id,
    kind: crash.kind,
    signature,
    file: relative(ROOT_DIR, saved.binPath),
    inputHex: minimised.toString('hex'),
    duplicate: saved.duplicate,
    minimisedFrom: input.length,
  });
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim().length > 0) ?? s).trim().slice(0, 200);
}

/** A target's entry point; jsfuzz awaits one that returns a promise. */
export type FuzzFunction = (buf: Buffer) => void | Promise<void>;

type TargetModule = { fuzz?: FuzzFunction };

// Literal specifiers (bundlers such as vitest's cannot follow a computed import path).
const TARGET_LOADERS: Record<string, () => Promise<TargetModule>> = {
  'frame-compat': () => import('./targets/frame-compat.js'),
  'frame-strict': () => import('./targets/frame-strict.js'),
  'frame-planted': () => import('./targets/frame-planted.js'),
  inflate: () => import('./targets/inflate.js'),
  'handshake-server': () => import('./targets/handshake-server.js'),
  'handshake-client': () => import('./targets/handshake-client.js'),
  uri: () => import('./targets/uri.js'),
  utf8: () => import('./targets/utf8.js'),
};

/** The target's fuzz function, from the TypeScript source (the runner runs under tsx or vitest). */
export async function loadTargetFunction(name: string): Promise<FuzzFunction> {
  const load = TARGET_LOADERS[name];
  if (!load) throw new Error(`no in-process loader for fuzz target ${name}`);
  const mod = await load();
  if (typeof mod.fuzz !== 'function') throw new Error(`fuzz target ${name} exports no fuzz function`);
  return mod.fuzz;
}
