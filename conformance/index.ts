// runConformance: the programmatic entry point (wslab conformance, wslab lab). Server agents are
// driven in server mode (we connect to them), client agents in client mode (they connect to our
// fuzzingserver); agents run concurrently, each through its cases in order.
import { join } from 'node:path';
import { ROOT_DIR } from '../lab/paths.js';
import { startPeer } from '../lab/peers/index.js';
import type { RunningPeer } from '../lab/peers/types.js';
import { AGENTS, findAgent, type Agent } from './agents/index.js';
import { selectCases } from './cases/index.js';
import { startFuzzingServer } from './runner/client-mode.js';
import { runCaseAgainstServer } from './runner/server-mode.js';
import { ConformanceReport, type ConformanceIndex } from './report/index.js';
import type { CaseResult } from './runner/types.js';

export interface RunConformanceOptions {
  /** Agent names (default: all built-in agents). */
  agents?: string[];
  /** Extra server testees by URL (agent name -> ws:// or wss:// URL). */
  servers?: Record<string, string>;
  cases?: string;
  exclude?: string;
  outDir?: string;
  peer?: RunningPeer;
  /** How many agents run at once. */
  concurrency?: number;
  onResult?: (r: CaseResult) => void;
  /** Stops starting new cases (Ctrl-C); what finished is written. */
  signal?: AbortSignal;
  /** Scales the verdict-deciding waits (1 = Autobahn's; more on a loaded machine). Default WSLAB_CONFORMANCE_TIME_SCALE or 1. */
  timeScale?: number;
}

export interface ConformanceRun {
  servers: ConformanceIndex;
  clients: ConformanceIndex;
  results: CaseResult[];
  errors: Record<string, string>;
  /** Agents that cannot run on this machine (e.g. no chromium), with why. */
  skipped: Record<string, string>;
  durationMs: number;
}

/** Pass rule used by uWebSockets and others: both verdicts in the accepted sets. */
export function passes(e: { behavior: string; behaviorClose: string }): boolean {
  return ['OK', 'NON-STRICT', 'INFORMATIONAL'].includes(e.behavior) && ['OK', 'INFORMATIONAL'].includes(e.behaviorClose);
}

async function limit<T>(tasks: Array<() => Promise<T>>, n: number): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, tasks.length) }, async () => {
    while (next < tasks.length) await tasks[next++]!();
  }));
}

export async function runConformance(opts: RunConformanceOptions = {}): Promise<ConformanceRun> {
  const started = Date.now();
  const timeScale = opts.timeScale ?? (Number(process.env.WSLAB_CONFORMANCE_TIME_SCALE) || 1);
  const cases = selectCases(opts.cases ?? '*', opts.exclude ?? '');
  const outDir = opts.outDir ?? join(ROOT_DIR, 'report', 'conformance');
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
  const results: CaseResult[] = [];
  const errors: Record<string, string> = {};
  const record = (report: ConformanceReport) => (r: CaseResult): void => {
    results.push(r);
    report.add(r);
    opts.onResult?.(r);
  };

  let peer = opts.peer;
  const ownPeer = !peer && agents.some((a) => a.needsPeer);
  if (ownPeer) {
    try {
      peer = await startPeer();
    } catch (e) {
      for (const a of agents.filter((x) => x.needsPeer)) errors[a.name] = `peer unavailable: ${(e as Error).message}`;
    }
  }

  const fuzzingServer = agents.some((a) => a.kind === 'client')
    ? await startFuzzingServer({ cases, onResult: record(clientsReport), timeScale })
    : null;

  const tasks: Array<() => Promise<void>> = [];
  for (const a of agents) {
    if (errors[a.name]) continue;
    if (a.kind === 'server') {
      tasks.push(async () => {
        let handle: { url: string; stop(): Promise<void> } | null = null;
        try {
          handle = await a.start(peer);
          for (const k of cases) {
            if (opts.signal?.aborted) break;
            record(serversReport)(await runCaseAgainstServer({ agent: a.name, url: handle.url, timeScale }, k));
          }
        } catch (e) {
          errors[a.name] = (e as Error).message;
        } finally {
          await handle?.stop();
        }
      });
    } else {
      tasks.push(async () => {
        try {
          await a.run(fuzzingServer!.url, a.name, peer);
        } catch (e) {
          errors[a.name] = (e as Error).message;
        }
      });
    }
  }
  for (const [name, url] of Object.entries(opts.servers ?? {})) {
    tasks.push(async () => {
      for (const k of cases) {
        if (opts.signal?.aborted) break;
        record(serversReport)(await runCaseAgainstServer({ agent: name, url, timeScale }, k));
      }
    });
  }
  try {
    await limit(tasks, opts.concurrency ?? 4);
    await fuzzingServer?.drain();
  } finally {
    await fuzzingServer?.close();
    if (ownPeer) await peer?.stop();
    serversReport.flush(true);
    clientsReport.flush(true);
  }
  return { servers: serversReport.index, clients: clientsReport.index, results, errors, skipped, durationMs: Date.now() - started };
}
