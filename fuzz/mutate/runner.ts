// `wslab mutate`: would the lab notice if the library changed? Copies the chosen lib/ to a
// temporary folder (never the original, never committed), applies one mutation at a time to
// protocol.lua, server.lua or client.lua, and runs the chosen checks as child `wslab` processes
// with RESTY_WEBSOCKET_LIB pointing at the mutant copy. A check that fails kills the mutant; a
// mutant that does not compile (luajit -bl) did not load; one that no check kills survived.
// Before any mutant, every chosen check runs on the unmodified copy (the baseline): a check that
// fails there would "kill" mutants with its own noise, so the run refuses to start; a kill is a
// failure the unmodified library does not show.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { trackTempDir } from '../../lab/children.js';
import { passedOnEvidence, Run } from '../../lab/run.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { resolveLuaLib } from '../../lab/lua-lib.js';
import { mutantsOf, type Mutant } from './operators.js';
import { firstDifference, focusedReach, keySeeds, runFocused, type FocusedRun } from './focused.js';
import { DEFAULT_SESSION_JOBS } from '../session/runner.js';

export const FILES = ['protocol.lua', 'server.lua', 'client.lua'] as const;
export type LibFile = (typeof FILES)[number];
export const CHECKS = ['diff', 'focused', 'session', 'interop'] as const;
export const DEFAULT_CHECKS: readonly Check[] = ['diff', 'focused', 'session'];
/** Sessions the session check runs per mutant (seed 1): a count, not a time slice, so kills do not move with load. */
export const DEFAULT_SESSIONS = 200;
/** Frame-diff cases per protocol.lua mutant (seed 1): the baseline runs the same cases. */
export const DEFAULT_DIFF_CASES = 20000;
export type Check = (typeof CHECKS)[number];

export interface MutantResult {
  id: string;
  file: string;
  line: number;
  operator: string;
  before: string;
  after: string;
  status: 'killed' | 'survived' | 'equivalent' | 'did-not-load';
  killedBy?: string;
  reason?: string;
  durationMs?: number;
}

/** One check on the unmodified library. */
export interface BaselineCheck {
  check: Check;
  /** The session check's roles (a file's mutants run with that file's roles). */
  roles?: string;
  status: 'clean' | 'failed';
  /** What it ran (cases, sessions, calls), or its first failure. */
  line: string;
}

export interface MutateReport {
  finished: boolean;
  ok: boolean;
  interrupted: boolean;
  /** Every chosen check on the unmodified library, before any mutant. */
  baseline: { clean: boolean; checks: BaselineCheck[] };
  /** Set when the baseline failed: the one line the run refused with (no mutant ran). */
  refused?: string;
  sessionsPerMutant: number;
  lib: { path: string; version: string };
  budgetMs: number;
  durationMs: number;
  checks: Check[];
  /** Mutants generated per file, and how many of them were run within the budget. */
  generated: Record<string, number>;
  files: Record<string, { total: number; killed: number; survived: number; equivalent: number; didNotLoad: number; killRate: number | null }>;
  mutants: MutantResult[];
}

export interface MutateOptions {
  /** A lib/ folder (resty/websocket/*.lua or Debian's nginx/websocket/*.lua); default as the peer resolves it. */
  luaLib?: string;
  budgetMs: number;
  files?: readonly LibFile[];
  checks?: readonly Check[];
  /** Run at most this many mutants (spread over files and operators); default: as many as the budget allows. */
  maxMutants?: number;
  /** Only these mutant ids (tests plant one). */
  only?: readonly string[];
  reportFile?: string;
  signal?: AbortSignal;
  onResult?: (r: MutantResult, done: number, total: number) => void;
  /** Frame-diff cases per protocol.lua mutant (default DEFAULT_DIFF_CASES), seed 1. */
  diffCases?: number;
  /** Sessions of session diff per mutant (default DEFAULT_SESSIONS), seed 1. */
  sessions?: number;
  /** Called when the baseline is done (clean or not). */
  onBaseline?: (b: MutateReport['baseline']) => void;
}

/** Where the library's three files are, and the namespace their requires use. */
export function locateLibrary(luaLib?: string): { dir: string; namespace: 'resty' | 'nginx'; version: string } {
  const candidates: Array<[string, 'resty' | 'nginx']> = [];
  if (luaLib) candidates.push([join(luaLib, 'resty', 'websocket'), 'resty'], [join(luaLib, 'nginx', 'websocket'), 'nginx'], [luaLib, 'resty']);
  else {
    const r = resolveLuaLib({});
    if (r.err !== null) throw new Error(r.err);
    candidates.push([r.lib.dir, r.lib.debian ? 'nginx' : 'resty']);
  }
  for (const [dir, ns] of candidates) {
    if (!existsSync(join(dir, 'protocol.lua'))) continue;
    const text = readFileSync(join(dir, 'protocol.lua'), 'utf8');
    const namespace = /require\s*\(?\s*["']nginx\.websocket\./.test(readFileSync(join(dir, 'client.lua'), 'utf8')) ? 'nginx' : ns;
    return { dir, namespace, version: /_VERSION\s*=\s*['"]([^'"]+)/.exec(text)?.[1] ?? 'unknown' };
  }
  throw new Error(`${luaLib}: no protocol.lua under resty/websocket/ or nginx/websocket/`);
}

function luajit(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v luajit'], { encoding: 'utf8' });
  return r.stdout.trim() || null;
}

/** Writes the three files (one of them mutated) as a resty/websocket/ lib the peer and the oracle load. */
function writeMutantLib(root: string, sources: Record<string, string>, namespace: 'resty' | 'nginx'): void {
  const dir = join(root, 'resty', 'websocket');
  mkdirSync(dir, { recursive: true });
  for (const [f, text] of Object.entries(sources)) {
    // Debian's copy says nginx.websocket.*: the same code under the resty.websocket name (docs/behaviour.md §9).
    writeFileSync(join(dir, f), namespace === 'nginx' ? text.replace(/(["'])nginx\.websocket\./g, '$1resty.websocket.') : text);
  }
}

interface CheckRun {
  killed: boolean;
  line: string;
}

function runWslab(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number, signal?: AbortSignal): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const kill = (): void => {
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 3000).unref();
    };
    const timer = setTimeout(kill, timeoutMs);
    signal?.addEventListener('abort', kill, { once: true });
    child.on('close', (code) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', kill);
      resolve({ code, out });
    });
  });
}

function firstLine(out: string, re: RegExp): string {
  return (out.split('\n').find((l) => re.test(l)) ?? out.trim().split('\n').slice(-1)[0] ?? '').trim().slice(0, 240);
}

function readJson(file: string): Record<string, unknown> | null {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
}

function rolesOf(file: string): string {
  return file === 'server.lua' ? 'server' : file === 'client.lua' ? 'client' : 'server,client';
}

/** What the checks compare a mutant with: the baseline's own observations where a check needs them. */
interface Reference {
  focused?: { run: FocusedRun; seeds: number[] };
  /** The unmodified copy (set once the baseline is clean): a session kill's session is replayed on it. */
  unmodifiedRoot?: string;
}

/** Replays of a killing session on the unmodified library that must agree there ... */
const CONFIRM_REPLAYS = 2;
/** ... within this many attempts (a replay that diverges otherwise is the harness's timing, run again). */
const CONFIRM_ATTEMPTS = 4;

/**
 * Whether a session that diverged on a mutant agrees when replayed on the unmodified library:
 * null when it does CONFIRM_REPLAYS times, else why the kill is not counted.
 */
async function confirmOnUnmodified(d: { summary: string; file: string }, unmodifiedRoot: string, env: NodeJS.ProcessEnv, o: MutateOptions): Promise<string | null> {
  let confirmedRuns = 0;
  const seen: string[] = [];
  for (let i = 0; i < CONFIRM_ATTEMPTS && confirmedRuns < CONFIRM_REPLAYS; i++) {
    const rep = await runWslab(['interop', '--scenario-file', d.file, '--lua-lib', unmodifiedRoot, '--json'], { ...env, RESTY_WEBSOCKET_LIB: unmodifiedRoot }, 120_000, o.signal);
    const answer = replayAnswer(rep.out);
    const verdict = answer?.verdict;
    const replayed = answer?.line ?? firstLine(rep.out, /error|Error/);
    if (verdict === 'pass' || verdict === 'explained') confirmedRuns++;
    else if (verdict === 'fail' && replayed.endsWith(d.summary)) {
      return `its divergence shows on the unmodified library too (${d.summary.slice(0, 160)}): not counted`;
    } else seen.push(replayed.slice(0, 160));
  }
  if (confirmedRuns < CONFIRM_REPLAYS) return `its session (${d.summary.slice(0, 120)}) did not replay cleanly on the unmodified library ${CONFIRM_REPLAYS} times in ${CONFIRM_ATTEMPTS}: ${seen[0] ?? ''}: not counted`;
  return null;
}

/** The session check: a session diff of the mutant's roles, seed 1, a fixed count of sessions. */
async function sessionCheck(file: string, env: NodeJS.ProcessEnv, work: string, o: MutateOptions, ref: Reference): Promise<CheckRun & { error?: string }> {
  const roles = rolesOf(file);
  const n = o.sessions ?? DEFAULT_SESSIONS;
  // --session is only a safety limit here: the run is --sessions N.
  // The session diff's own default jobs: its times follow the measured lag, so more sessions side
  // by side do not let timing decide one, and a mutant's 200 sessions take seconds, not tens.
  rmSync(join(work, 'findings'), { recursive: true, force: true });
  const r = await runWslab(['diff', '--session', '30m', '--sessions', String(n), '--jobs', String(DEFAULT_SESSION_JOBS), '--roles', roles, '--seed', '1', '--shrink-budget', '0', '--max-findings', '1', '--quiet', '--report', join(work, 'diff.json'), '--findings', join(work, 'findings')], env, 35 * 60_000, o.signal);
  const j = readJson(join(work, 'session.json')) as { divergences?: Array<{ summary: string; seed: number; file: string }>; errors?: string[]; sessions?: { server: number; client: number }; retries?: unknown[] } | null;
  rmSync(join(work, 'session.json'), { force: true });
  const d = j?.divergences?.[0];
  if (d) {
    // The divergence showed three times on the mutant (found, repeated, replayed); it counts when
    // the same session, replayed on the unmodified library, does not show it. A replay that
    // diverges otherwise (a timeout that fired on one side: the machine's load) neither confirms
    // nor refutes it and is run again, up to CONFIRM_ATTEMPTS times.
    const unconfirmed = ref.unmodifiedRoot ? await confirmOnUnmodified(d, ref.unmodifiedRoot, env, o) : null;
    if (unconfirmed) return { killed: false, line: '', error: unconfirmed };
    const confirmed = ref.unmodifiedRoot ? `, agreed ${CONFIRM_REPLAYS} times on the unmodified library` : '';
    return { killed: true, line: `session diff (${roles}, seed 1, round seed ${d.seed}), diverged 3 times${confirmed}: ${d.summary}`.slice(0, 400) };
  }
  // The library raising Lua errors at run time (the endpoint's records say so) is a change a peer sees.
  const luaErr = j?.errors?.find((e) => /Lua endpoint|lua_error|luaError/.test(e));
  if (luaErr) return { killed: true, line: `session diff (${roles}, seed 1): ${luaErr}`.slice(0, 400) };
  const ran = j?.sessions ? j.sessions.server + j.sessions.client : 0;
  if (!j || ran === 0 || (j.errors?.length ?? 0) > 0) return { killed: false, line: '', error: j?.errors?.[0]?.slice(0, 240) ?? (firstLine(r.out, /wslab diff:|Error|error/) || 'no sessions ran') };
  return { killed: false, line: `${ran} sessions (${roles}, seed 1, ${DEFAULT_SESSION_JOBS} jobs), 0 divergences, ${j.retries?.length ?? 0} retries` };
}

/**
 * One check against the library at libRoot (a mutant of `file`, or the unmodified copy for the
 * baseline). Killed only on evidence: a divergence in the check's own report, a failed interop
 * verdict, or (focused) an observation that differs from the unmodified library's. A check that
 * could not run says so (`error`) and kills nothing. Null: the check does not apply to the file.
 */
async function runCheck(check: Check, file: string, libRoot: string, work: string, o: MutateOptions, ref: Reference): Promise<CheckRun & { error?: string } | null> {
  const env = { ...process.env, RESTY_WEBSOCKET_LIB: libRoot, WSLAB_PEER: 'native' };
  const report = join(work, `${check}.json`);
  rmSync(report, { force: true });
  if (check === 'diff') {
    if (file !== 'protocol.lua') return null; // the frame diff runs protocol.lua alone
    const cases = o.diffCases ?? DEFAULT_DIFF_CASES;
    const r = await runWslab(['diff', '--cases', String(cases), '--no-corpus', '--quiet', '--seed', '1', '--report', report, '--findings', join(work, 'findings')], env, 300_000, o.signal);
    const j = readJson(report);
    if (j && Number(j.divergenceCount) > 0) return { killed: true, line: `frame diff, ${cases} cases, seed 1: ${firstLine(r.out, /^ {2}\S/)}` };
    // The luajit process running the mutant died mid-run (the unmutated copy never does: the
    // baseline runs the same cases): the mutant raises where the original answers.
    if (/EPIPE|oracle (exited|died)|luajit/i.test(r.out)) return { killed: true, line: `the protocol.lua crashed the luajit oracle: ${firstLine(r.out, /EPIPE|oracle|luajit/i)}` };
    if (r.code !== 0 || !j) return { killed: false, line: '', error: firstLine(r.out, /wslab diff:|Error/) || `exit ${r.code}` };
    return { killed: false, line: `${String(j.cases)} frame cases, seed 1, 0 divergences` };
  }
  if (check === 'focused') {
    if (file === 'protocol.lua' || !ref.focused) return null; // the client's and server's own branches
    const r = await runFocused(libRoot, ref.focused.seeds);
    if ('error' in r) return { killed: false, line: '', error: r.error };
    const d = firstDifference(ref.focused.run, r);
    return d ? { killed: true, line: `focused calls: ${d}`.slice(0, 400) } : { killed: false, line: `${r.lines.length} focused observations, as the unmodified library` };
  }
  if (check === 'session') return sessionCheck(file, env, work, o, ref);
  const r = await runWslab(['interop', '--directions', 'lua-lua,ts-lua,lua-ts', '--retries', '1', '--out', join(work, 'interop'), '--lua-lib', libRoot], env, 600_000, o.signal);
  const j = readJson(join(work, 'interop', 'interop.json')) as { summary?: { fail: number; error: number; pass?: number } } | null;
  if (j?.summary && j.summary.fail > 0) return { killed: true, line: `interop: ${firstLine(r.out, /: fail —/)}` };
  if (!j || (j.summary?.error ?? 0) > 0) return { killed: false, line: '', error: firstLine(r.out, /: error —|wslab interop:/) || `exit ${r.code}` };
  return { killed: false, line: `interop: ${j.summary?.pass ?? '?'} pass, 0 fail` };
}

/** The `wslab interop --scenario-file F --json` answer: its one JSON line. */
function replayAnswer(out: string): { verdict: string; line: string } | null {
  for (const l of out.split('\n')) {
    if (!l.startsWith('{"verdict"')) continue;
    try {
      return JSON.parse(l) as { verdict: string; line: string };
    } catch {
      return null;
    }
  }
  return null;
}

/** An even spread of `n` of the mutants: every file and operator gets its share. */
export function spread<T extends { file: string; operator: string }>(all: T[], n: number): T[] {
  if (n >= all.length) return all;
  const groups = new Map<string, T[]>();
  for (const m of all) {
    const k = `${m.file}/${m.operator}`;
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(m);
  }
  const out: T[] = [];
  const lists = [...groups.values()];
  for (let round = 0; out.length < n; round++) {
    let added = false;
    for (const l of lists) {
      // Take from each group at evenly spaced positions, round by round.
      const step = Math.max(1, Math.floor(l.length / Math.max(1, Math.ceil((n / lists.length)))));
      const idx = round * step;
      if (idx < l.length && out.length < n) {
        out.push(l[idx]!);
        added = true;
      }
    }
    if (!added) break;
  }
  return out;
}

/**
 * A pass needs evidence: a run that was not interrupted and in which some mutant was killed or
 * survived (mutants that were all equivalent or did not load compared nothing), every file with a
 * kill rate at 90% or more.
 */
export function mutateOk(r: Pick<MutateReport, 'interrupted' | 'files'>): boolean {
  const rates = Object.values(r.files).map((f) => f.killRate).filter((x): x is number => x !== null);
  return !r.interrupted && passedOnEvidence(rates.length, rates.filter((x) => x < 0.9).length);
}

export function summarise(results: MutantResult[], files: readonly string[]): MutateReport['files'] {
  const out: MutateReport['files'] = {};
  for (const f of files) {
    const rs = results.filter((r) => r.file === f);
    const killed = rs.filter((r) => r.status === 'killed').length;
    const survived = rs.filter((r) => r.status === 'survived').length;
    out[f] = {
      total: rs.length, killed, survived,
      equivalent: rs.filter((r) => r.status === 'equivalent').length,
      didNotLoad: rs.filter((r) => r.status === 'did-not-load').length,
      killRate: killed + survived > 0 ? Math.round((killed / (killed + survived)) * 1000) / 1000 : null,
    };
  }
  return out;
}

/** Rough seconds one mutant's checks take when they all run (a killed mutant stops at its first failing check). */
export function secondsPerMutant(checks: readonly Check[], sessions: number): number {
  return (checks.includes('diff') ? 3 : 0) + (checks.includes('focused') ? 3 : 0) + (checks.includes('session') ? Math.ceil(sessions / 15) + 4 : 0) + (checks.includes('interop') ? 75 : 0);
}

/**
 * Runs every chosen check on the unmodified library, the way the mutants will be checked (the
 * session check once per role set the chosen files use). The focused check runs twice and must
 * answer the same both times (its answers are what mutants are compared with) and reach what it is
 * for. Any failure or check error makes the baseline unclean.
 */
async function runBaseline(checks: readonly Check[], files: readonly LibFile[], libRoot: string, work: string, o: MutateOptions, ref: Reference): Promise<MutateReport['baseline']> {
  const out: BaselineCheck[] = [];
  for (const c of checks) {
    if (o.signal?.aborted) break;
    if (c === 'focused') {
      if (!files.some((f) => f !== 'protocol.lua')) continue;
      const seeds = keySeeds();
      if (typeof seeds === 'string') {
        out.push({ check: c, status: 'failed', line: seeds });
        break;
      }
      const a = await runFocused(libRoot, seeds);
      const b = 'error' in a ? a : await runFocused(libRoot, seeds);
      const why = 'error' in a ? a.error : 'error' in b ? b.error : firstDifference(a, b) ? `two runs on the unmodified library differ: ${firstDifference(a, b)}` : focusedReach(a, seeds);
      if (why || 'error' in a) {
        out.push({ check: c, status: 'failed', line: why ?? 'no observations' });
        break;
      }
      const ports = a.defaultPortsSkipped ?? ('error' in b ? undefined : b.defaultPortsSkipped);
      out.push({ check: c, status: 'clean', line: `${a.lines.length} observations, the same in two runs (key seeds ${seeds.join(',')})${ports ? `; the default-port connects did not run: ${ports}` : ''}` });
      ref.focused = { run: a, seeds };
      continue;
    }
    const targets = c === 'session' ? [...new Set(files.map(rolesOf))].map((roles) => FILES.find((f) => rolesOf(f) === roles)!) : [files.includes('protocol.lua') ? 'protocol.lua' : files[0]!];
    let failed = false;
    for (const f of targets) {
      const r = await runCheck(c, f, libRoot, work, o, ref);
      if (r === null) continue;
      const roles = c === 'session' ? { roles: rolesOf(f) } : {};
      if (r.killed || r.error) {
        out.push({ check: c, ...roles, status: 'failed', line: r.killed ? r.line : `could not run: ${r.error}` });
        failed = true;
        break;
      }
      out.push({ check: c, ...roles, status: 'clean', line: r.line });
    }
    if (failed) break;
  }
  return { clean: !o.signal?.aborted && out.every((x) => x.status === 'clean'), checks: out };
}

/** The mutants to run, files taking turns, and how many each file has. */
function planMutants(o: MutateOptions, files: readonly LibFile[], checks: readonly Check[], sources: Record<string, string>): { plan: Mutant[]; generated: Record<string, number> } {
  const generated: Record<string, number> = {};
  let all: Mutant[] = [];
  for (const f of files) {
    const ms = mutantsOf(f, sources[f]!);
    generated[f] = ms.length;
    all.push(...ms);
  }
  if (o.only) all = all.filter((m) => o.only!.includes(m.id));
  const runnable = all.filter((m) => !m.equivalent);
  const perMutant = secondsPerMutant(checks, o.sessions ?? DEFAULT_SESSIONS) * 1000;
  const cap = o.maxMutants ?? Math.max(1, Math.floor(o.budgetMs / perMutant));
  const chosen = new Set(spread(runnable, cap).map((m) => m.id));
  // Files take turns, so a budget that runs out leaves every file with its share.
  const byFile = files.map((f) => all.filter((m) => m.file === f && (m.equivalent || chosen.has(m.id))));
  const plan: Mutant[] = [];
  for (let i = 0; byFile.some((l) => i < l.length); i++) for (const l of byFile) if (i < l.length) plan.push(l[i]!);
  return { plan, generated };
}

/** What every mutant of one run is checked with. */
interface MutantContext {
  o: MutateOptions;
  checks: readonly Check[];
  sources: Record<string, string>;
  namespace: 'resty' | 'nginx';
  /** luajit, to see that a mutant compiles; null: every mutant is checked. */
  jit: string | null;
  work: string;
  ref: Reference;
}

/** One mutant: equivalent, did not load, killed by the first check that fails, or survived. */
async function runMutant(m: Mutant, c: MutantContext): Promise<MutantResult> {
  const base = { id: m.id, file: m.file, line: m.line, operator: m.operator, before: m.before, after: m.after };
  if (m.equivalent) return { ...base, status: 'equivalent', reason: m.equivalent };
  const libRoot = join(c.work, 'lib');
  rmSync(libRoot, { recursive: true, force: true });
  writeMutantLib(libRoot, { ...c.sources, [m.file]: m.source }, c.namespace);
  const compiled = c.jit ? spawnSync(c.jit, ['-bl', join(libRoot, 'resty', 'websocket', m.file)], { encoding: 'utf8' }) : null;
  if (compiled && compiled.status !== 0) return { ...base, status: 'did-not-load', reason: (compiled.stderr || compiled.stdout).trim().split('\n')[0]!.slice(0, 200) };
  const errors: string[] = [];
  for (const check of c.checks) {
    const r = await runCheck(check, m.file, libRoot, c.work, c.o, c.ref);
    if (r?.error) errors.push(`${check}: ${r.error}`);
    if (r?.killed) return { ...base, status: 'killed', killedBy: check, reason: r.line };
  }
  return { ...base, status: 'survived', reason: errors.length ? `no check failed; check errors: ${errors.join('; ')}`.slice(0, 300) : `no check failed: ${c.checks.join(', ')}` };
}

/** The baseline, then (when it is clean) every planned mutant within the budget, saving after each. */
async function runMutants(run: Run<MutateReport>, plan: readonly Mutant[], files: readonly LibFile[], c: MutantContext): Promise<void> {
  const { report } = run;
  const baseRoot = join(c.work, 'unmodified');
  writeMutantLib(baseRoot, c.sources, c.namespace);
  report.baseline = await runBaseline(c.checks, files, baseRoot, c.work, c.o, c.ref);
  c.ref.unmodifiedRoot = baseRoot;
  c.o.onBaseline?.(report.baseline);
  const failed = report.baseline.checks.find((x) => x.status === 'failed');
  if (failed) report.refused = `the ${failed.check} check${failed.roles ? ` (${failed.roles})` : ''} fails on the unmodified library, so its kills would not be evidence: ${failed.line}`;
  run.save();
  for (const m of report.baseline.clean ? plan : []) {
    if (run.stopping() || run.elapsedMs() > c.o.budgetMs) break;
    const t = Date.now();
    const result = await runMutant(m, c);
    result.durationMs = Date.now() - t;
    report.mutants.push(result);
    c.o.onResult?.(result, report.mutants.length, plan.length);
    run.save();
  }
}

export async function runMutate(o: MutateOptions): Promise<MutateReport> {
  const lib = locateLibrary(o.luaLib);
  const files = o.files ?? FILES;
  const checks = CHECKS.filter((c) => (o.checks ?? DEFAULT_CHECKS).includes(c));
  const sources: Record<string, string> = {};
  for (const f of FILES) sources[f] = readFileSync(join(lib.dir, f), 'utf8');
  const { plan, generated } = planMutants(o, files, checks, sources);
  const report: MutateReport = {
    finished: false, ok: false, interrupted: false, baseline: { clean: false, checks: [] }, sessionsPerMutant: o.sessions ?? DEFAULT_SESSIONS,
    lib: { path: lib.dir, version: lib.version }, budgetMs: o.budgetMs, durationMs: 0,
    checks, generated, files: {}, mutants: [],
  };
  // Claims the report (a second run on it stops here, before the baseline), and Ctrl-C writes what
  // is done so far into it, marked interrupted.
  const run = new Run(report, {
    file: o.reportFile,
    moveWith: '--report',
    signal: o.signal,
    refresh: (r, elapsedMs) => {
      r.durationMs = elapsedMs;
      r.files = summarise(r.mutants, files);
    },
  });
  const work = mkdtempSync(join(tmpdir(), 'wslab-mutate-'));
  const untrackWork = trackTempDir(work); // Ctrl-C mid-mutant: the interrupt handler removes it
  try {
    await runMutants(run, plan, files, { o, checks, sources, namespace: lib.namespace, jit: luajit(), work, ref: {} });
  } catch (e) {
    run.release();
    throw e;
  } finally {
    rmSync(work, { recursive: true, force: true });
    untrackWork();
  }
  return run.finish((r, stopped) => {
    r.interrupted = stopped;
    r.finished = true;
    r.ok = r.baseline.clean && mutateOk(r);
  });
}
