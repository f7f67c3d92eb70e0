// runConformance: the programmatic entry point (wslab conformance, wslab lab). Server agents are
// driven in server mode (we connect to them), client agents in client mode (they connect to our
// fuzzingserver); agents run concurrently, each through its cases in order.
//
// No verdict without evidence: a case that could not run is an error, not a verdict; an agent that
// gave fewer verdicts than it had cases, a --url that cannot be reached, a peer that died are
// errors of the run. The peer is health-checked after every case of an agent that uses it and
// restarted once when it died; the cases it took with it are run again and named. A case whose
// verdict was decided by a timeout that fired within the margin (timing.ts) is run once more.
import { join } from 'node:path';
import { Run } from '../lab/run.js';
import { REPORT_DIR } from '../lab/paths.js';
import { startPeer, type BackendChoice } from '../lab/peers/index.js';
import { PeerSupervisor, type PeerRestart } from '../lab/peers/supervisor.js';
import type { RunningPeer } from '../lab/peers/types.js';
import type { LoadedLibrary } from '../lab/lua-lib.js';
import { AGENTS, findAgent, type Agent } from './agents/index.js';
import type { ClientAgent } from './agents/types.js';
import { selectCases } from './cases/index.js';
import { startFuzzingServer, type FuzzingServer } from './runner/client-mode.js';
import { probeServer, runCaseAgainstServer } from './runner/server-mode.js';
import { runTiming } from '../lab/timing.js';
import { ConformanceReport, type ConformanceIndex } from './report/index.js';
import type { CaseResult, ConformanceCase } from './runner/types.js';
import { differingAcrossRuns } from '../lab/runs.js';

export interface RunConformanceOptions {
  /** Agent names (default: all built-in agents). */
  agents?: string[];
  /** Extra server testees by URL (agent name -> ws:// or wss:// URL). */
  servers?: Record<string, string>;
  cases?: string;
  exclude?: string;
  outDir?: string;
  /** A running peer to use (not restarted when it dies, unless `supervisor` is given). */
  peer?: RunningPeer;
  /** The caller's supervisor of `peer` (wslab lab): deaths are restarted and recorded there. */
  supervisor?: PeerSupervisor;
  /** For a peer started here. */
  backend?: BackendChoice;
  luaLib?: string;
  /** How many agents run at once. */
  concurrency?: number;
  onResult?: (r: CaseResult) => void;
  /** Stops starting new cases (Ctrl-C); what finished is written. */
  signal?: AbortSignal;
  /** Scales the verdict-deciding waits (1 = Autobahn's; more on a loaded machine). Default WSLAB_CONFORMANCE_TIME_SCALE or 1. */
  timeScale?: number;
  /** Run a case decided by a close-call timeout once more (default true). */
  rerunCloseCalls?: boolean;
}

/** A case run twice, and why. */
export interface Rerun {
  agent: string;
  id: string;
  reason: string;
  first: string;
  final: string;
}

export interface ConformanceRun {
  servers: ConformanceIndex;
  clients: ConformanceIndex;
  /** Every final result (a re-run replaces the first). */
  results: CaseResult[];
  /** agent -> why it gave no (or not every) verdict. */
  errors: Record<string, string>;
  /** Cases that could not run (no connection, refused handshake, dead peer): agent, case, why. */
  caseErrors: Array<{ agent: string; id: string; error: string }>;
  /** Cases run a second time: after a close-call timeout, or because the peer died during them. */
  reruns: Rerun[];
  /** Re-runs whose verdict differed from the first run's. */
  flaky: Rerun[];
  /** Every death of the peer seen during the run, restarted or not. */
  restarts: PeerRestart[];
  /** Cases that ran while the peer was dying (each was run again after a restart, or is an error). */
  affected: Array<{ agent: string; id: string }>;
  /** The lua-resty-websocket the peer loaded, when a Lua agent ran. */
  lib: LoadedLibrary | null;
  /** The measured lag and RTT the verdict waits were padded with (at the end of the run). */
  timing: ReturnType<typeof runTiming.snapshot>;
  /** The case ids the run was asked for. */
  selected: string[];
  finished: boolean;
  interrupted: boolean;
  /** Agents that cannot run on this machine (e.g. no chromium), with why. */
  skipped: Record<string, string>;
  durationMs: number;
}

/** Pass rule used by uWebSockets and others: both verdicts in the accepted sets. */
export function passes(e: { behavior: string; behaviorClose: string }): boolean {
  return ['OK', 'NON-STRICT', 'INFORMATIONAL'].includes(e.behavior) && ['OK', 'INFORMATIONAL'].includes(e.behaviorClose);
}

const verdictText = (r: CaseResult): string => (r.error !== undefined ? `error: ${r.error}` : `${r.behavior} / ${r.behaviorClose}`);

async function limit<T>(tasks: Array<() => Promise<T>>, n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  }));
}

const RERUN_AFTER_PEER_DEATH = 'the peer died during the case; run again after its restart';

/** What the steps of one conformance run share. */
interface ConformanceContext {
  opts: RunConformanceOptions;
  run: Run<ConformanceRun, object>;
  cases: ConformanceCase[];
  timeScale: number;
  serversReport: ConformanceReport;
  clientsReport: ConformanceReport;
  /** Re-runs that are pending (for client agents the testee drives, so the result arrives later). */
  pendingRerun: Map<string, { reason: string; first: CaseResult }>;
  /** The result that counts for each (agent, case). */
  latest: Map<string, CaseResult>;
  supervisor: PeerSupervisor | null;
  /** The peer this run started (stopped at its end), if any. */
  ownPeer: RunningPeer | null;
  fuzzingServer: FuzzingServer | null;
}

const resultKey = (agent: string, id: string): string => `${agent}\u0000${id}`;

/** The named agents, less those that cannot run on this machine (each with why, in `skipped`). */
function chooseAgents(names: readonly string[], skipped: Record<string, string>): Agent[] {
  return names.map((n) => {
    const a = findAgent(n);
    if (!a) throw new Error(`unknown agent "${n}" (known: ${AGENTS.map((x) => x.name).join(', ')})`);
    return a;
  }).filter((a) => {
    const why = a.unavailable?.() ?? null;
    if (why) skipped[a.name] = why;
    return !why;
  });
}

/** run.json: the run without its results (they are in the two matrices), with its verdict. */
function runJson(run: ConformanceRun): object {
  const { results: _omit, servers: _s, clients: _c, ...rest } = run;
  return { generatedAt: new Date().toISOString(), ok: run.finished && !run.interrupted && Object.keys(run.errors).length === 0 && run.caseErrors.length === 0 && run.restarts.length === 0, ...rest };
}

/** The run and its report files; run.json's lock stands for the whole folder, so a second run on it stops here. */
function startConformanceRun(opts: RunConformanceOptions, cases: ConformanceCase[], skipped: Record<string, string>): ConformanceContext {
  const outDir = opts.outDir ?? join(REPORT_DIR, 'conformance');
  const serversReport = new ConformanceReport(join(outDir, 'servers'), 'Conformance: servers (we are the client)');
  const clientsReport = new ConformanceReport(join(outDir, 'clients'), 'Conformance: clients (we are the server)');
  const report: ConformanceRun = {
    servers: serversReport.index, clients: clientsReport.index, results: [], errors: {}, caseErrors: [], reruns: [], flaky: [],
    restarts: [], affected: [], lib: null, timing: runTiming.snapshot(), selected: cases.map((c) => c.id), finished: false, interrupted: false, skipped, durationMs: 0,
  };
  const run = new Run<ConformanceRun, object>(report, {
    file: join(outDir, 'run.json'),
    indent: 1,
    signal: opts.signal,
    document: runJson,
    refresh: (r, elapsedMs) => {
      r.durationMs = elapsedMs;
      r.timing = runTiming.snapshot();
      r.caseErrors = r.results.filter((x) => x.error !== undefined).map((x) => ({ agent: x.agent, id: x.id, error: x.error! }));
    },
    onInterrupt: (r) => {
      serversReport.notes = clientsReport.notes = ['interrupted: not every case ran', ...runNotes(r)];
      serversReport.flush(false);
      clientsReport.flush(false);
    },
  });
  const timeScale = opts.timeScale ?? (Number(process.env.WSLAB_CONFORMANCE_TIME_SCALE) || 1);
  return { opts, run, cases, timeScale, serversReport, clientsReport, pendingRerun: new Map(), latest: new Map(), supervisor: null, ownPeer: null, fuzzingServer: null };
}

/** Records a final result: a re-run replaces the first run's result and is listed (flaky when its verdict moved). */
function recordResult(c: ConformanceContext, report: ConformanceReport, r: CaseResult): void {
  const { run } = c;
  const k = resultKey(r.agent, r.id);
  const pending = c.pendingRerun.get(k);
  if (pending) {
    c.pendingRerun.delete(k);
    r.rerun = { reason: pending.reason, first: verdictText(pending.first) };
    const rr: Rerun = { agent: r.agent, id: r.id, reason: pending.reason, first: verdictText(pending.first), final: verdictText(r) };
    run.report.reruns.push(rr);
    if (rr.first !== rr.final) run.report.flaky.push(rr);
  }
  const prev = c.latest.get(k);
  if (prev) run.report.results.splice(run.report.results.indexOf(prev), 1);
  c.latest.set(k, r);
  run.report.results.push(r);
  report.add(r);
  c.opts.onResult?.(r);
}

/** Why a result is run once more before it counts: a close-call timeout, or a wait that ran out before the case began. */
function rerunReason(c: ConformanceContext, r: CaseResult): string | null {
  if (!(c.opts.rerunCloseCalls ?? true)) return null;
  if (r.startTimedOut) return `could not start: ${r.error} (a wait before the case began)`;
  const t = r.timeout;
  if (r.error !== undefined || !t?.closeCall) return null;
  return `decided by the ${t.timer} timeout (${t.waitedMs} ms) that fired ${t.lateMs} ms late with the testee quiet for ${t.quietMs ?? '-'} ms (margin ${t.marginMs} ms)`;
}

/** The peer the Lua agents use: the caller's (supervised), or one started here; an agent without it gets an error. */
async function attachPeer(c: ConformanceContext, agents: readonly Agent[]): Promise<void> {
  const { opts } = c;
  c.supervisor = opts.supervisor ?? null;
  if (!c.supervisor && agents.some((a) => a.needsPeer)) {
    if (opts.peer) c.supervisor = new PeerSupervisor(opts.peer, null);
    else {
      try {
        c.ownPeer = await startPeer({ backend: opts.backend, luaLib: opts.luaLib });
        c.supervisor = PeerSupervisor.forOwnPeer(c.ownPeer, { backend: opts.backend, luaLib: opts.luaLib });
      } catch (e) {
        for (const a of agents.filter((x) => x.needsPeer)) c.run.report.errors[a.name] = `peer unavailable: ${(e as Error).message}`;
      }
    }
  }
  if (c.supervisor) {
    const lib = c.supervisor.current.lib;
    c.run.report.lib = { part: 'conformance peer', version: lib.clientVersion, path: lib.path };
  }
}

/** After a case of an agent that uses the peer: was the peer there all along? */
async function peerAfter(c: ConformanceContext, agent: string, id: string): Promise<'alive' | 'restarted' | 'dead'> {
  if (!c.supervisor) return 'dead';
  const h = await c.supervisor.check(`after ${agent} ${id}`);
  if (h !== 'alive') c.run.report.affected.push({ agent, id });
  return h;
}

/** One case against a server agent: run again after a restart of the peer or a close call. */
async function serverCase(c: ConformanceContext, agent: string, url: () => string, needsPeer: boolean, k: ConformanceCase): Promise<CaseResult> {
  const runCase = (): Promise<CaseResult> => runCaseAgainstServer({ agent, url: url(), timeScale: c.timeScale }, k);
  let r = await runCase();
  if (needsPeer) {
    const h = await peerAfter(c, agent, k.id);
    if (h === 'restarted') {
      const first = r;
      r = await runCase();
      c.pendingRerun.set(resultKey(agent, k.id), { reason: RERUN_AFTER_PEER_DEATH, first });
    } else if (h === 'dead') {
      r = { ...r, error: r.error ?? `the peer died: ${c.supervisor?.dead ?? 'no peer'}` };
    }
  }
  const why = rerunReason(c, r);
  if (why) {
    const first = r;
    r = await runCase();
    c.pendingRerun.set(resultKey(agent, k.id), { reason: why, first });
  }
  return r;
}

/** Every case against a server agent, in order, until the run stops or the peer it needs is gone. */
async function serverCases(c: ConformanceContext, agent: string, url: () => string, needsPeer: boolean): Promise<void> {
  for (const k of c.cases) {
    if (c.run.stopping()) break;
    recordResult(c, c.serversReport, await serverCase(c, agent, url, needsPeer, k));
    if (needsPeer && c.supervisor?.dead) {
      c.run.report.errors[agent] = c.supervisor.dead;
      break;
    }
  }
}

/** One pass of a client agent (`only`: these case numbers); a Lua client that died with the peer is run again on what it missed. */
async function clientAgentPass(c: ConformanceContext, a: ClientAgent, only?: number[]): Promise<void> {
  const fs = c.fuzzingServer!;
  const { supervisor } = c;
  try {
    await a.run(fs.url, a.name, supervisor?.current, only);
    await fs.drain();
  } catch (e) {
    await fs.drain();
    if (!a.needsPeer || !supervisor) throw e;
    const h = await supervisor.check(`during ${a.name}`);
    if (h !== 'restarted') throw new Error(`${(e as Error).message}${supervisor.dead ? ` (${supervisor.dead})` : ''}`);
    // The case in flight when the peer died, and every case it had not reached: run again.
    const numberOf = new Map(c.cases.map((x, i) => [x.id, i + 1]));
    const done = c.run.report.results.filter((r) => r.agent === a.name);
    const last = done[done.length - 1];
    const missing = c.cases.filter((x) => !done.some((r) => r.id === x.id) && (!only || only.includes(numberOf.get(x.id)!)));
    const again = [...(last ? [last.id] : []), ...missing.map((x) => x.id)];
    for (const id of again) c.run.report.affected.push({ agent: a.name, id });
    if (last) c.pendingRerun.set(resultKey(a.name, last.id), { reason: RERUN_AFTER_PEER_DEATH, first: last });
    await a.run(fs.url, a.name, supervisor.current, again.map((id) => numberOf.get(id)!));
    await fs.drain();
  }
}

/** Runs a client agent, then once more for its close calls. */
async function clientAgent(c: ConformanceContext, a: ClientAgent): Promise<void> {
  await clientAgentPass(c, a);
  if (c.run.stopping()) return;
  const numberOf = new Map(c.cases.map((x, i) => [x.id, i + 1]));
  const closeCalls = c.run.report.results.filter((r) => r.agent === a.name).map((r) => [r, rerunReason(c, r)] as const).filter(([, why]) => why !== null);
  if (closeCalls.length === 0) return;
  for (const [r, why] of closeCalls) c.pendingRerun.set(resultKey(a.name, r.id), { reason: why!, first: r });
  await clientAgentPass(c, a, closeCalls.map(([r]) => numberOf.get(r.id)!));
}

/** One task per agent and --url server; an agent that fails says why in the run's errors. */
function agentTasks(c: ConformanceContext, agents: readonly Agent[]): Array<() => Promise<void>> {
  const { errors } = c.run.report;
  const tasks: Array<() => Promise<void>> = agents.filter((a) => !errors[a.name]).map((a) => async () => {
    let handle: { url: string; stop(): Promise<void> } | null = null;
    try {
      if (a.kind === 'client') return await clientAgent(c, a);
      handle = await a.start(c.supervisor?.current);
      const h = handle;
      // A restarted peer keeps its ports, so the URL stays valid.
      await serverCases(c, a.name, () => h.url, !!a.needsPeer);
    } catch (e) {
      errors[a.name] = (e as Error).message;
    } finally {
      await handle?.stop();
    }
  });
  for (const [name, url] of Object.entries(c.opts.servers ?? {})) {
    tasks.push(async () => {
      const why = await probeServer({ url });
      if (why) errors[name] = why;
      else await serverCases(c, name, () => url, false);
    });
  }
  return tasks;
}

/** No verdict without evidence: every agent that ran gave a verdict on every case it was given, or says why not. */
function requireEvidence(c: ConformanceContext, names: readonly string[]): void {
  const run = c.run.report;
  for (const name of names) {
    if (run.errors[name] || run.skipped[name] !== undefined || run.interrupted) continue;
    const mine = run.results.filter((r) => r.agent === name);
    const verdicts = mine.filter((r) => r.error === undefined).length;
    if (c.cases.length === 0) run.errors[name] = 'no cases selected: nothing was compared';
    else if (verdicts < c.cases.length) {
      const firstError = mine.find((r) => r.error !== undefined)?.error;
      run.errors[name] = `${verdicts} of ${c.cases.length} cases gave a verdict${firstError ? ` (first error: ${firstError})` : ''}`;
    }
  }
}

export async function runConformance(opts: RunConformanceOptions = {}): Promise<ConformanceRun> {
  const cases = selectCases(opts.cases ?? '*', opts.exclude ?? '');
  const names = opts.agents ?? AGENTS.map((a) => a.name);
  const skipped: Record<string, string> = {};
  const agents = chooseAgents(names, skipped);
  const c = startConformanceRun(opts, cases, skipped);
  await attachPeer(c, agents);
  const restartsBefore = c.supervisor?.restarts.length ?? 0;
  // Lag is sampled from here on: the peer's start-up (spawnSync of openssl, nginx) is not the run's lag.
  const releaseTiming = runTiming.acquire();
  try {
    if (agents.some((a) => a.kind === 'client')) c.fuzzingServer = await startFuzzingServer({ cases, onResult: (r) => recordResult(c, c.clientsReport, r), timeScale: c.timeScale });
    await limit(agentTasks(c, agents), opts.concurrency ?? 4);
    await c.fuzzingServer?.drain();
  } finally {
    await c.fuzzingServer?.close();
    releaseTiming();
    if (c.ownPeer) await c.supervisor?.current.stop();
    c.run.finish((run, stopped) => {
      run.interrupted = stopped;
      run.restarts = c.supervisor?.restarts.slice(restartsBefore) ?? [];
      requireEvidence(c, [...names, ...Object.keys(opts.servers ?? {})]);
      run.finished = !run.interrupted;
      c.serversReport.notes = c.clientsReport.notes = runNotes(run);
      c.serversReport.flush(run.finished);
      c.clientsReport.flush(run.finished);
    });
  }
  return c.run.report;
}

/** The run-level lines the HTML matrices show: errors, peer deaths, affected and re-run cases. */
function runNotes(run: ConformanceRun): string[] {
  return [
    ...Object.entries(run.errors).map(([a, e]) => `${a}: error: ${e}`),
    ...run.restarts.map((r) => `the peer died (noticed ${r.noticedBy}): ${r.restarted ? 'restarted' : `not restarted: ${r.error}`}`),
    ...(run.affected.length ? [`cases affected by the peer's death: ${run.affected.map((x) => `${x.agent} ${x.id}`).join(', ')}`] : []),
    ...run.reruns.map((r) => `run again: ${r.agent} ${r.id} (${r.reason}): first ${r.first}, then ${r.final}${r.first !== r.final ? ' (flaky)' : ''}`),
    ...(run.lib ? [`library: lua-resty-websocket ${run.lib.version} from ${run.lib.path}`] : []),
  ];
}

export interface AgentSummary {
  cases: number;
  pass: number;
  /** UNIMPLEMENTED verdicts (12.x/13.x without permessage-deflate): not a pass, not a failure of a testee without it. */
  unimplemented: number;
  /** Cases that could not run (no verdict). */
  errors: number;
}

/** Sections 12 and 13: permessage-deflate, which a testee may leave out (RFC 7692 is an extension). */
export const isDeflateCase = (id: string): boolean => id.startsWith('12.') || id.startsWith('13.');

/**
 * Whether a must-pass testee's verdict is what it must be: a pass, or, on a 12.x/13.x case, for a
 * built-in agent that does not negotiate permessage-deflate (or a --url server, whose extensions we
 * cannot know), UNIMPLEMENTED with a clean close, as Autobahn judges a testee without it. A built-in
 * agent that negotiates it must pass these cases too.
 */
export function meetsMustPass(r: { agent: string; id: string; behavior: string; behaviorClose: string; error?: string }): boolean {
  if (r.error !== undefined) return false;
  if (passes(r)) return true;
  const agent = findAgent(r.agent);
  const deflates = agent ? !!agent.permessageDeflate : false;
  return isDeflateCase(r.id) && !deflates && r.behavior === 'UNIMPLEMENTED' && r.behaviorClose === 'OK';
}

export function summarizeRun(run: ConformanceRun): Record<string, AgentSummary> {
  const out: Record<string, AgentSummary> = {};
  for (const r of run.results) {
    const s = (out[r.agent] ??= { cases: 0, pass: 0, unimplemented: 0, errors: 0 });
    s.cases++;
    if (r.error !== undefined) s.errors++;
    else if (passes(r)) s.pass++;
    else if (r.behavior === 'UNIMPLEMENTED') s.unimplemented++;
  }
  return out;
}

/** The agents that must pass every case (12.x/13.x: see meetsMustPass): ws (calibration), our strict profiles. */
export const MUST_PASS = ['ws-server', 'ws-client', 'ours-server-strict', 'ours-client-strict'];

/**
 * Why this run is not a pass, one line each: agents that gave no or not every verdict, cases that
 * could not run, a peer that died (even when restarted: its cases were re-run, but a dying peer is
 * a finding), must-pass agents (and --url servers) with a failing case, an interrupted run.
 */
export function runProblems(run: ConformanceRun, mustPass: readonly string[]): string[] {
  const problems: string[] = [];
  const summary = summarizeRun(run);
  if (run.interrupted) problems.push('interrupted: not every case ran');
  for (const [a, e] of Object.entries(run.errors)) problems.push(`${a}: error: ${e}`);
  for (const r of run.restarts) problems.push(`peer died (noticed ${r.noticedBy}), ${r.restarted ? 'restarted; its cases were run again' : r.error ?? 'not restarted'}`);
  if (run.affected.length) problems.push(`cases affected by the peer's death: ${run.affected.map((x) => `${x.agent} ${x.id}`).join(', ')}`);
  for (const a of mustPass) {
    const s = summary[a];
    if (!s || run.errors[a]) continue;
    const failing = run.results.filter((r) => r.agent === a && !meetsMustPass(r)).map((r) => `${r.id} ${verdictText(r)}`);
    if (failing.length) problems.push(`${a} ${s.pass}/${s.cases} pass: ${failing.slice(0, 8).join('; ')}${failing.length > 8 ? ` and ${failing.length - 8} more` : ''}`);
  }
  return problems;
}

/** A case whose verdict differed between runs of `--repeat`: agent, case, the verdict of each run. */
export interface UnstableCase {
  agent: string;
  id: string;
  verdicts: string[];
}

/** Every (agent, case) whose verdict was not the same in all runs (a missing verdict counts as "(absent)"). */
export function unstableCases(runs: readonly ConformanceRun[]): UnstableCase[] {
  const byRun = runs.map((r) => new Map(r.results.map((x) => [`${x.agent}\u0000${x.id}`, verdictText(x)])));
  return differingAcrossRuns(byRun).map(({ key, values }) => {
    const [agent, id] = key.split('\u0000') as [string, string];
    return { agent, id, verdicts: values };
  });
}
