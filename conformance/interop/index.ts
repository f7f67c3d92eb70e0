// runInterop: the programmatic entry point (wslab interop, wslab lab).
import { join } from 'node:path';
import { onInterrupt } from '../../lab/children.js';
import { startPeer, type StartPeerOptions } from '../../lab/peers/index.js';
import { PeerSupervisor, type PeerRestart } from '../../lab/peers/supervisor.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { REPORT_DIR } from '../../lab/paths.js';
import { runScenarios } from './runner.js';
import { selectScenarios } from './scenarios/index.js';
import { claimReport } from '../../lab/reports.js';
import { buildReport, writeReport, type InteropReport } from './report.js';
import type { Direction, DirectionResult, Scenario } from './types.js';
import { globSelector } from '../../lab/glob.js';
import { differingAcrossRuns } from '../../lab/runs.js';
import { runBrowserInterop, type BrowserInteropReport } from './browser/index.js';

export interface RunInteropOptions extends StartPeerOptions {
  /** A running peer to use; otherwise one is started (and stopped) here. */
  peer?: RunningPeer;
  /** The caller's supervisor of `peer` (wslab lab), so a death is restarted and recorded there. */
  supervisor?: PeerSupervisor;
  /** Comma-separated id globs. */
  scenarios?: string;
  /** These scenarios instead of the catalogue's (`--scenario-file`). */
  scenarioList?: readonly Scenario[];
  exclude?: string;
  directions?: Direction[];
  /** Where report files go; default report/. */
  outDir?: string;
  onResult?: (r: DirectionResult, done: number, total: number) => void;
  /** A failed or errored run is run again up to this many times (default 1); see DirectionResult.flaky. */
  retries?: number;
  /** Run the browser direction (Chromium as the client; skipped with a reason without chromium). Default: when no directions are given. */
  browser?: boolean;
}

/** interop.json: the report, plus what the run went through. */
export interface InteropRunReport extends InteropReport {
  /** Runs that needed their retry to pass ("scenario direction: first reason"). */
  flakyRuns: Array<{ scenario: string; direction: string; firstRun: string }>;
  /** Every death of the peer during the run, restarted or not. */
  restarts: PeerRestart[];
  /** Runs made again because the peer died during them. */
  affected: Array<{ scenario: string; direction: string }>;
  /** The lua-resty-websocket the peer loaded: _VERSION and the folder of its modules. */
  luaLib: { version: string; path: string; source: string };
  /** No failure, no error, at least one comparison, the peer never died, not interrupted. */
  ok: boolean;
  interrupted: boolean;
}

export async function runInterop(opts: RunInteropOptions = {}): Promise<InteropRunReport> {
  const scenarios = opts.scenarioList ? [...opts.scenarioList] : selectScenarios(opts.scenarios, opts.exclude);
  const outDir = opts.outDir ?? REPORT_DIR;
  const jsonPath = join(outDir, 'interop.json');
  const htmlPath = join(outDir, 'interop.html');
  // Before the peer starts: a second run writing the same report stops here.
  claimReport(jsonPath);
  const ownPeer = !opts.peer && !opts.supervisor;
  const supervisor = opts.supervisor ?? (opts.peer ? new PeerSupervisor(opts.peer, null) : PeerSupervisor.forOwnPeer(await startPeer(opts), opts));
  const restartsBefore = supervisor.restarts.length;
  const results: DirectionResult[] = [];
  const dirsPerScenario = (opts.directions ?? ['lua-lua', 'ts-lua', 'lua-ts', 'ts-ts']).length;
  const total = scenarios.length * dirsPerScenario;
  const lib = supervisor.current.lib;
  const meta = { backend: supervisor.current.backend, lib };
  let interrupted = false;
  let browser: BrowserInteropReport | undefined;
  const full = (finished: boolean): InteropRunReport => {
    const report = { ...buildReport(scenarios, results, meta, finished), browser };
    const browserFailed = browser ? browser.summary.fail + browser.summary.error : 0;
    const restarts = supervisor.restarts.slice(restartsBefore);
    const s = report.summary;
    const affected = results.filter((r) => r.affectedByPeerDeath).map((r) => ({ scenario: r.scenario, direction: r.direction }));
    return {
      ...report,
      notes: [
        ...(interrupted ? ['interrupted: not every scenario ran'] : []),
        ...restarts.map((r) => `the peer died (noticed ${r.noticedBy}): ${r.restarted ? 'restarted' : `not restarted: ${r.error}`}`),
        ...(affected.length ? [`run again after the peer's restart: ${affected.map((a) => `${a.scenario} ${a.direction}`).join(', ')}`] : []),
        `library: lua-resty-websocket ${lib.clientVersion} from ${lib.path}`,
      ],
      flakyRuns: results.filter((r) => r.flaky !== undefined).map((r) => ({ scenario: r.scenario, direction: r.direction, firstRun: r.flaky!.split('\n')[0]! })),
      restarts,
      affected,
      luaLib: { version: lib.clientVersion, path: lib.path, source: lib.source },
      ok: finished && !interrupted && s.fail + s.error + browserFailed === 0 && s.pass > 0 && restarts.length === 0,
      interrupted,
    };
  };
  const stopWriting = onInterrupt(() => {
    interrupted = true;
    writeReport(full(false), jsonPath, htmlPath);
  });
  try {
    await runScenarios({
      peer: supervisor.current,
      supervisor,
      scenarios,
      directions: opts.directions,
      retries: opts.retries,
      onResult: (r) => {
        results.push(r);
        writeReport(full(false), jsonPath, htmlPath);
        opts.onResult?.(r, results.length, total);
      },
    });
    if (!interrupted && (opts.browser ?? !opts.directions)) {
      browser = await runBrowserInterop({ peer: supervisor.current, select: globSelector(opts.scenarios, opts.exclude) });
    }
  } finally {
    stopWriting();
    if (ownPeer) await supervisor.current.stop();
  }
  const report = full(true);
  writeReport(report, jsonPath, htmlPath);
  return report;
}

/** A (scenario, direction) whose verdict differed between runs of `--repeat`, with each run's verdict. */
export interface UnstableRun {
  scenario: string;
  direction: string;
  verdicts: string[];
}

/** Every scenario direction whose verdict (a flaky pass counts as "pass (flaky)") was not the same in all runs. */
export function unstableRuns(runs: readonly InteropRunReport[]): UnstableRun[] {
  const keyed = runs.map((r) => new Map(r.results.map((x) => [`${x.scenario} ${x.direction}`, x.flaky !== undefined ? `${x.verdict} (flaky)` : x.verdict])));
  return differingAcrossRuns(keyed).map(({ key, values }) => {
    const [scenario, direction] = key.split(' ') as [string, string];
    return { scenario, direction, verdicts: values };
  });
}
