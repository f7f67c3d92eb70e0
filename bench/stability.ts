// The stability check (a bench-style script, not a timed test): `wslab conformance` (all agents,
// the 301 cases of sections 1-10 (the permessage-deflate sections 12/13, 1000 round trips per case,
// are left out: they would make one run take hours on a shared machine), default settings, plus
// --check-expected) N times in a row, then `wslab
// interop --retries 0` M times, each a fresh `wslab` process, with B CPU-burning processes beside
// them. Reports every case whose verdict differed between runs, each run's exit code, pass counts
// and whether our compat profiles gave the Lua agents' verdict on every case.
//
//   npx tsx bench/stability.ts                       # 5 conformance runs, 10 interop runs, 2 busy loops
//   npx tsx bench/stability.ts --runs 2 --interop-runs 3 --busy 0
//
// Writes report/stability.json (or --out FILE). Exit code 1 when any run failed or any verdict moved.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../lab/args.js';
import { installInterruptHandler, trackChild, trackTempDir } from '../lab/children.js';
import { claimReport, writeJsonReport } from '../lab/reports.js';
import { REPORT_DIR, ROOT_DIR } from '../lab/paths.js';
import { ABSENT, differingAcrossRuns } from '../lab/runs.js';

type Index = Record<string, Record<string, { behavior: string; behaviorClose: string }>>;

interface ConformanceRunResult {
  run: number;
  exitCode: number | null;
  durationS: number;
  loadAvg1: number;
  passes: Record<string, string>;
  /** compat agent -> cases where it differs from the Lua agent of the same run. */
  compatVsLua: Record<string, string[]>;
  reruns: number;
  problems: string[];
}

const WSLAB = join(ROOT_DIR, 'bin', 'wslab.mjs');

function runWslab(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string; durationS: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WSLAB, ...args], { cwd: ROOT_DIR, stdio: ['ignore', 'pipe', 'pipe'] });
    trackChild(child, `wslab ${args[0]}`);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-20_000)));
    child.on('close', (code) => resolve({ code, stdout, stderr, durationS: (Date.now() - started) / 1000 }));
  });
}

/** A CPU-burning child that stops by itself after `ms` (or when we end). */
function busyLoop(ms: number): void {
  const child = spawn(process.execPath, ['-e', `const end = Date.now() + ${ms}; let x = 0; while (Date.now() < end) x++;`], { stdio: 'ignore' });
  trackChild(child, 'busy loop');
}

const verdict = (e: { behavior: string; behaviorClose: string } | undefined): string => (e ? `${e.behavior} / ${e.behaviorClose}` : ABSENT);

function readIndex(dir: string): Index {
  const read = (f: string): Index => {
    try {
      return JSON.parse(readFileSync(f, 'utf8')) as Index;
    } catch {
      return {};
    }
  };
  return { ...read(join(dir, 'servers', 'index.json')), ...read(join(dir, 'clients', 'index.json')) };
}

async function main(): Promise<number> {
  const { values } = parseCommandLine('stability', process.argv.slice(2), {
    runs: { type: 'number', integer: true, min: 0, default: 5 },
    'interop-runs': { type: 'number', integer: true, min: 0, default: 10 },
    busy: { type: 'number', integer: true, min: 0, max: 8, default: 2 },
    out: { type: 'string', default: join(REPORT_DIR, 'stability.json') },
  });
  installInterruptHandler('stability');
  const started = Date.now();
  // Bounded: each busy loop stops by itself after 3 h, and with us.
  for (let i = 0; i < values.busy; i++) busyLoop(3 * 3_600_000);
  claimReport(values.out);
  // The runs' own report folders: what matters of them goes into values.out; removed on exit.
  const base = mkdtempSync(join(tmpdir(), 'wslab-stability-'));
  trackTempDir(base);
  const conformance: ConformanceRunResult[] = [];
  const indexes: Index[] = [];
  const report = (): Record<string, unknown> => ({
    generatedAt: new Date().toISOString(),
    command: ['tsx bench/stability.ts', ...process.argv.slice(2)].join(' '),
    busyLoops: values.busy,
    machine: { cpus: cpus().length, loadAvgAtEnd: loadavg() },
    conformance,
    unstableCases: unstable(indexes),
    interop,
    durationS: (Date.now() - started) / 1000,
  });
  let interop: { runs: number; exitCode: number | null; summary: unknown; durationS: number } | null = null;
  for (let i = 1; i <= values.runs; i++) {
    const out = join(base, `conformance-${i}`);
    const r = await runWslab(['conformance', '--exclude', '12.*,13.*', '--check-expected', '--json', '--out', out]);
    const json = JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? '{}') as { summary?: Record<string, { pass: number; cases: number }>; problems?: string[]; expectedDiffs?: string[]; reruns?: unknown[] };
    const index = readIndex(out);
    indexes.push(index);
    const compatVsLua: Record<string, string[]> = {};
    for (const [ours, lua] of [['ours-server-compat', 'lua-server'], ['ours-client-compat', 'lua-client']] as const) {
      const ids = [...new Set([...Object.keys(index[ours] ?? {}), ...Object.keys(index[lua] ?? {})])];
      compatVsLua[ours] = ids.filter((id) => verdict(index[ours]?.[id]) !== verdict(index[lua]?.[id])).map((id) => `${id}: ${verdict(index[ours]?.[id])} vs Lua ${verdict(index[lua]?.[id])}`);
    }
    conformance.push({
      run: i, exitCode: r.code, durationS: r.durationS, loadAvg1: loadavg()[0]!,
      passes: Object.fromEntries(Object.entries(json.summary ?? {}).map(([a, s]) => [a, `${s.pass}/${s.cases}`])),
      compatVsLua, reruns: json.reruns?.length ?? 0, problems: [...(json.problems ?? []), ...(json.expectedDiffs ?? [])],
    });
    const c = conformance[conformance.length - 1]!;
    console.log(`conformance run ${i}/${values.runs}: exit ${c.exitCode}, ${c.durationS.toFixed(0)} s, load ${c.loadAvg1.toFixed(1)}; ${Object.entries(c.passes).map(([a, p]) => `${a} ${p}`).join(', ')}; compat != Lua on ${Object.values(compatVsLua).flat().length} case(s); ${c.reruns} re-run(s)${c.problems.length ? `; problems: ${c.problems.slice(0, 5).join('; ')}` : ''}`);
    writeJsonReport(values.out, report(), 1);
  }
  if (values['interop-runs'] > 0) {
    const r = await runWslab(['interop', '--retries', '0', '--repeat', String(values['interop-runs']), '--json', '--out', join(base, 'interop')]);
    const summary = JSON.parse(r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop() ?? 'null') as unknown;
    interop = { runs: values['interop-runs'], exitCode: r.code, summary, durationS: r.durationS };
    console.log(`interop: ${values['interop-runs']} runs with --retries 0: exit ${r.code}, ${r.durationS.toFixed(0)} s; ${JSON.stringify(summary)}`);
  }
  const final = report();
  writeJsonReport(values.out, final, 1);
  const moved = final.unstableCases as unknown[];
  console.log(`${moved.length} case(s) whose verdict differed between the ${values.runs} conformance runs${moved.length ? `: ${JSON.stringify(moved)}` : ''}; ${values.out}`);
  const failed = conformance.some((c) => c.exitCode !== 0 || Object.values(c.compatVsLua).flat().length > 0) || moved.length > 0 || (interop !== null && interop.exitCode !== 0);
  return failed ? 1 : 0;
}

/** agent, case and the verdict of every run, for every (agent, case) whose verdict was not the same in all runs. */
function unstable(indexes: readonly Index[]): Array<{ agent: string; id: string; verdicts: string[] }> {
  const byRun = indexes.map((x) => new Map(Object.entries(x).flatMap(([agent, cases]) => Object.entries(cases).map(([id, c]) => [`${agent}\u0000${id}`, verdict(c)] as const))));
  return differingAcrossRuns(byRun).map(({ key, values }) => {
    const [agent, id] = key.split('\u0000') as [string, string];
    return { agent, id, verdicts: values };
  });
}

// Exit explicitly: the exit hook (lab/children.ts) ends the busy loops.
process.exit(await main());
