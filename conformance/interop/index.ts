// runInterop: the programmatic entry point (wslab interop, wslab lab).
import { join } from 'node:path';
import { writeAtomic } from '../../lab/fs.js';
import { passedOnEvidence, Run } from '../../lab/run.js';
import { startPeer, type StartPeerOptions } from '../../lab/peers/index.js';
import { PeerSupervisor, type PeerRestart } from '../../lab/peers/supervisor.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { REPORT_DIR } from '../../lab/paths.js';
import { runScenarios } from './runner.js';
import { selectScenarios } from './scenarios/index.js';
import { claimReport } from '../../lab/reports.js';
import { buildReport, renderHtml, type InteropReport } from './report.js';
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

/** What an interop run gathers; interop.json is built from it at every save. */
interface InteropRunState {
  finished: boolean;
  interrupted: boolean;
  results: DirectionResult[];
  browser?: BrowserInteropReport;
}

/** What the report of one run is built with besides its results. */
interface InteropContext {
  scenarios: Scenario[];
  supervisor: PeerSupervisor;
  /** The peer's deaths before this run (a caller's supervisor may have seen some). */
  restartsBefore: number;
}

/** interop.json: the report of the results so far, with what the run went through and its verdict. */
function interopDocument(c: InteropContext, state: InteropRunState): InteropRunReport {
  const { results, browser, finished, interrupted } = state;
  const lib = c.supervisor.current.lib;
  const report = { ...buildReport(c.scenarios, results, { backend: c.supervisor.current.backend, lib }, finished), browser };
  const browserFailed = browser ? browser.summary.fail + browser.summary.error : 0;
  const restarts = c.supervisor.restarts.slice(c.restartsBefore);
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
    // No verdict without evidence: a run in which no scenario passed compared nothing.
    ok: finished && !interrupted && restarts.length === 0 && passedOnEvidence(s.pass, s.fail + s.error + browserFailed),
    interrupted,
  };
}

/** The scenarios in every direction asked for, then the browser direction; interop.json after each result. */
async function runDirections(run: Run<InteropRunState, InteropRunReport>, c: InteropContext, opts: RunInteropOptions): Promise<void> {
  const total = c.scenarios.length * (opts.directions ?? ['lua-lua', 'ts-lua', 'lua-ts', 'ts-ts']).length;
  const state = run.report;
  await runScenarios({
    peer: c.supervisor.current,
    supervisor: c.supervisor,
    scenarios: c.scenarios,
    directions: opts.directions,
    retries: opts.retries,
    onResult: (r) => {
      state.results.push(r);
      run.save();
      opts.onResult?.(r, state.results.length, total);
    },
  });
  if (!state.interrupted && (opts.browser ?? !opts.directions)) {
    state.browser = await runBrowserInterop({ peer: c.supervisor.current, select: globSelector(opts.scenarios, opts.exclude) });
  }
}

export async function runInterop(opts: RunInteropOptions = {}): Promise<InteropRunReport> {
  const scenarios = opts.scenarioList ? [...opts.scenarioList] : selectScenarios(opts.scenarios, opts.exclude);
  const outDir = opts.outDir ?? REPORT_DIR;
  const htmlPath = join(outDir, 'interop.html');
  // Before the peer starts: a second run writing the same report stops here.
  claimReport(join(outDir, 'interop.json'));
  const ownPeer = !opts.peer && !opts.supervisor;
  const supervisor = opts.supervisor ?? (opts.peer ? new PeerSupervisor(opts.peer, null) : PeerSupervisor.forOwnPeer(await startPeer(opts), opts));
  const c: InteropContext = { scenarios, supervisor, restartsBefore: supervisor.restarts.length };
  const run = new Run<InteropRunState, InteropRunReport>({ finished: false, interrupted: false, results: [] }, {
    file: join(outDir, 'interop.json'),
    document: (state) => interopDocument(c, state),
    alsoWrite: (doc) => writeAtomic(htmlPath, renderHtml(doc)),
  });
  try {
    await runDirections(run, c, opts);
  } catch (e) {
    run.release();
    throw e;
  } finally {
    if (ownPeer) await supervisor.current.stop();
  }
  run.finish((state) => (state.finished = true));
  return run.document();
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
