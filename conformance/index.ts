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
import { claimReport, writeJsonReport } from '../lab/reports.js';
import { onInterrupt } from '../lab/children.js';
import { REPORT_DIR } from '../lab/paths.js';
import { startPeer, type BackendChoice } from '../lab/peers/index.js';
import { PeerSupervisor, type PeerRestart } from '../lab/peers/supervisor.js';
import type { RunningPeer } from '../lab/peers/types.js';
import type { LoadedLibrary } from '../lab/lua-lib.js';
import { AGENTS, findAgent, type Agent } from './agents/index.js';
import { selectCases } from './cases/index.js';
import { startFuzzingServer } from './runner/client-mode.js';
import { probeServer, runCaseAgainstServer } from './runner/server-mode.js';
import { runTiming } from '../lab/timing.js';
import { ConformanceReport, type ConformanceIndex } from './report/index.js';
import type { CaseResult } from './runner/types.js';
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

export async function runConformance(opts: RunConformanceOptions = {}): Promise<ConformanceRun> {
  const started = Date.now();
  const timeScale = opts.timeScale ?? (Number(process.env.WSLAB_CONFORMANCE_TIME_SCALE) || 1);
  const rerunCloseCalls = opts.rerunCloseCalls ?? true;
  const cases = selectCases(opts.cases ?? '*', opts.exclude ?? '');
  const outDir = opts.outDir ?? join(REPORT_DIR, 'conformance');
  // run.json's lock stands for the whole folder: a second run on it stops before its first case.
  claimReport(join(outDir, 'run.json'));
  const names = opts.agents ?? AGENTS.map((a) => a.name);
  const skipped: Record<string, string> = {};
  const agents: Agent[] = names.map((n) => {
    const a = findAgent(n);
    if (!a) throw new Error(`unknown agent "${n}" (known: ${AGENTS.map((x) => x.name).join(', ')})`);
    return a;
  }).filter((a) => {
    const why = a.unavailable?.() ?? null;
    if (why) skipped[a.name] = why;
    return !why;
  });
  const serversReport = new ConformanceReport(join(outDir, 'servers'), 'Conformance: servers (we are the client)');
  const clientsReport = new ConformanceReport(join(outDir, 'clients'), 'Conformance: clients (we are the server)');
  const run: ConformanceRun = {
    servers: serversReport.index, clients: clientsReport.index, results: [], errors: {}, caseErrors: [], reruns: [], flaky: [],
    restarts: [], affected: [], lib: null, timing: runTiming.snapshot(), selected: cases.map((c) => c.id), finished: false, interrupted: false, skipped, durationMs: 0,
  };
  const errors = run.errors;
  const writeRunJson = (): void => {
    run.durationMs = Date.now() - started;
    run.timing = runTiming.snapshot();
    run.caseErrors = run.results.filter((r) => r.error !== undefined).map((r) => ({ agent: r.agent, id: r.id, error: r.error! }));
    const { results: _omit, servers: _s, clients: _c, ...rest } = run;
    writeJsonReport(join(outDir, 'run.json'), { generatedAt: new Date().toISOString(), ok: run.finished && !run.interrupted && Object.keys(errors).length === 0 && run.caseErrors.length === 0 && run.restarts.length === 0, ...rest }, 1);
  };
  const stopWriting = onInterrupt(() => {
    run.interrupted = true;
    serversReport.notes = clientsReport.notes = ['interrupted: not every case ran', ...runNotes(run)];
    serversReport.flush(false);
    clientsReport.flush(false);
    writeRunJson();
  });

  // Re-runs that are pending for client agents (the testee drives, so the result arrives later).
  const pendingRerun = new Map<string, { reason: string; first: CaseResult }>();
  const key = (agent: string, id: string): string => `${agent}\u0000${id}`;
  const latest = new Map<string, CaseResult>();
  const record = (report: ConformanceReport) => (r: CaseResult): void => {
    const k = key(r.agent, r.id);
    const pending = pendingRerun.get(k);
    if (pending) {
      pendingRerun.delete(k);
      r.rerun = { reason: pending.reason, first: verdictText(pending.first) };
      const rr: Rerun = { agent: r.agent, id: r.id, reason: pending.reason, first: verdictText(pending.first), final: verdictText(r) };
      run.reruns.push(rr);
      if (rr.first !== rr.final) run.flaky.push(rr);
    }
    const prev = latest.get(k);
    if (prev) run.results.splice(run.results.indexOf(prev), 1);
    latest.set(k, r);
    run.results.push(r);
    report.add(r);
    opts.onResult?.(r);
  };
  /** Why a result is run once more before it counts: a close-call timeout, or a wait that ran out before the case began. */
  const rerunReason = (r: CaseResult): string | null => {
    if (!rerunCloseCalls) return null;
    if (r.startTimedOut) return `could not start: ${r.error} (a wait before the case began)`;
    const t = r.timeout;
    if (r.error !== undefined || !t?.closeCall) return null;
    return `decided by the ${t.timer} timeout (${t.waitedMs} ms) that fired ${t.lateMs} ms late with the testee quiet for ${t.quietMs ?? '-'} ms (margin ${t.marginMs} ms)`;
  };

  let supervisor = opts.supervisor ?? null;
  let ownPeer: RunningPeer | null = null;
  if (!supervisor && agents.some((a) => a.needsPeer)) {
    if (opts.peer) supervisor = new PeerSupervisor(opts.peer, null);
    else {
      try {
        ownPeer = await startPeer({ backend: opts.backend, luaLib: opts.luaLib });
        supervisor = PeerSupervisor.forOwnPeer(ownPeer, { backend: opts.backend, luaLib: opts.luaLib });
      } catch (e) {
        for (const a of agents.filter((x) => x.needsPeer)) errors[a.name] = `peer unavailable: ${(e as Error).message}`;
      }
    }
  }
  const restartsBefore = supervisor?.restarts.length ?? 0;
  if (supervisor) {
    const lib = supervisor.current.lib;
    run.lib = { part: 'conformance peer', version: lib.clientVersion, path: lib.path };
  }

  /** After a case of an agent that uses the peer: was the peer there all along? */
  const peerAfter = async (agent: string, id: string): Promise<'alive' | 'restarted' | 'dead'> => {
    if (!supervisor) return 'dead';
    const h = await supervisor.check(`after ${agent} ${id}`);
    if (h !== 'alive') run.affected.push({ agent, id });
    return h;
  };

  // Lag is sampled from here on: the peer's start-up (spawnSync of openssl, nginx) is not the run's lag.
  const releaseTiming = runTiming.acquire();
  const fuzzingServer = agents.some((a) => a.kind === 'client')
    ? await startFuzzingServer({ cases, onResult: record(clientsReport), timeScale })
    : null;

  const serverCases = async (agent: string, url: () => string, needsPeer: boolean): Promise<void> => {
    const rec = record(serversReport);
    for (const k of cases) {
      if (opts.signal?.aborted) break;
      let r = await runCaseAgainstServer({ agent, url: url(), timeScale }, k);
      if (needsPeer) {
        const h = await peerAfter(agent, k.id);
        if (h === 'restarted') {
          const first = r;
          r = await runCaseAgainstServer({ agent, url: url(), timeScale }, k);
          pendingRerun.set(key(agent, k.id), { reason: 'the peer died during the case; run again after its restart', first });
        } else if (h === 'dead') {
          r = { ...r, error: r.error ?? `the peer died: ${supervisor?.dead ?? 'no peer'}` };
        }
      }
      const why = rerunReason(r);
      if (why) {
        const first = r;
        r = await runCaseAgainstServer({ agent, url: url(), timeScale }, k);
        pendingRerun.set(key(agent, k.id), { reason: why, first });
      }
      rec(r);
      if (needsPeer && supervisor?.dead) {
        errors[agent] = supervisor.dead;
        break;
      }
    }
  };

  /** Runs a client agent, then once more for its close calls; restarts the peer for a Lua client that died with it. */
  const clientAgent = async (a: Extract<Agent, { kind: 'client' }>): Promise<void> => {
    const fs = fuzzingServer!;
    const numberOf = new Map(cases.map((c, i) => [c.id, i + 1]));
    const got = (): CaseResult[] => run.results.filter((r) => r.agent === a.name);
    const runOnce = async (only?: number[]): Promise<void> => {
      try {
        await a.run(fs.url, a.name, supervisor?.current, only);
        await fs.drain();
      } catch (e) {
        await fs.drain();
        if (!a.needsPeer || !supervisor) throw e;
        const h = await supervisor.check(`during ${a.name}`);
        if (h !== 'restarted') throw new Error(`${(e as Error).message}${supervisor.dead ? ` (${supervisor.dead})` : ''}`);
        // The case in flight when the peer died, and every case it had not reached: run again.
        const done = got();
        const last = done[done.length - 1];
        const missing = cases.filter((c) => !done.some((r) => r.id === c.id) && (!only || only.includes(numberOf.get(c.id)!)));
        const again = [...(last ? [last.id] : []), ...missing.map((c) => c.id)];
        for (const id of again) run.affected.push({ agent: a.name, id });
        if (last) pendingRerun.set(key(a.name, last.id), { reason: 'the peer died during the case; run again after its restart', first: last });
        await a.run(fs.url, a.name, supervisor.current, again.map((id) => numberOf.get(id)!));
        await fs.drain();
      }
    };
    await runOnce();
    if (opts.signal?.aborted) return;
    const closeCalls = got().map((r) => [r, rerunReason(r)] as const).filter(([, why]) => why !== null);
    if (closeCalls.length === 0) return;
    for (const [r, why] of closeCalls) pendingRerun.set(key(a.name, r.id), { reason: why!, first: r });
    await runOnce(closeCalls.map(([r]) => numberOf.get(r.id)!));
  };

  const tasks: Array<() => Promise<void>> = [];
  for (const a of agents) {
    if (errors[a.name]) continue;
    if (a.kind === 'server') {
      tasks.push(async () => {
        let handle: { url: string; stop(): Promise<void> } | null = null;
        try {
          handle = await a.start(supervisor?.current);
          const h = handle;
          // A restarted peer keeps its ports, so the URL stays valid.
          await serverCases(a.name, () => h.url, !!a.needsPeer);
        } catch (e) {
          errors[a.name] = (e as Error).message;
        } finally {
          await handle?.stop();
        }
      });
    } else {
      tasks.push(async () => {
        try {
          await clientAgent(a);
        } catch (e) {
          errors[a.name] = (e as Error).message;
        }
      });
    }
  }
  for (const [name, url] of Object.entries(opts.servers ?? {})) {
    tasks.push(async () => {
      const why = await probeServer({ url });
      if (why) {
        errors[name] = why;
        return;
      }
      await serverCases(name, () => url, false);
    });
  }
  try {
    await limit(tasks, opts.concurrency ?? 4);
    await fuzzingServer?.drain();
  } finally {
    await fuzzingServer?.close();
    releaseTiming();
    if (ownPeer) await supervisor?.current.stop();
    run.interrupted = !!opts.signal?.aborted;
    run.restarts = supervisor?.restarts.slice(restartsBefore) ?? [];
    // Evidence: every agent that ran gave a verdict on every case it was given, or says why not.
    for (const name of [...names, ...Object.keys(opts.servers ?? {})]) {
      if (errors[name] || skipped[name] !== undefined || run.interrupted) continue;
      const mine = run.results.filter((r) => r.agent === name);
      const verdicts = mine.filter((r) => r.error === undefined).length;
      if (cases.length === 0) errors[name] = 'no cases selected: nothing was compared';
      else if (verdicts < cases.length) {
        const firstError = mine.find((r) => r.error !== undefined)?.error;
        errors[name] = `${verdicts} of ${cases.length} cases gave a verdict${firstError ? ` (first error: ${firstError})` : ''}`;
      }
    }
    run.finished = !run.interrupted;
    const notes = runNotes(run);
    serversReport.notes = notes;
    clientsReport.notes = notes;
    serversReport.flush(run.finished);
    clientsReport.flush(run.finished);
    writeRunJson();
    stopWriting();
  }
  return run;
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
