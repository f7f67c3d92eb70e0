// runInterop: the programmatic entry point (wslab interop, wslab lab).
import { join } from 'node:path';
import { startPeer, type StartPeerOptions } from '../../lab/peers/index.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { runScenarios } from './runner.js';
import { selectScenarios } from './scenarios/index.js';
import { buildReport, writeReport, type InteropReport } from './report.js';
import type { Direction, DirectionResult, Scenario } from './types.js';

export interface RunInteropOptions extends StartPeerOptions {
  /** A running peer to use; otherwise one is started (and stopped) here. */
  peer?: RunningPeer;
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
}

export async function runInterop(opts: RunInteropOptions = {}): Promise<InteropReport> {
  const scenarios = opts.scenarioList ? [...opts.scenarioList] : selectScenarios(opts.scenarios, opts.exclude);
  const outDir = opts.outDir ?? join(ROOT_DIR, 'report');
  const jsonPath = join(outDir, 'interop.json');
  const htmlPath = join(outDir, 'interop.html');
  const ownPeer = !opts.peer;
  let peer = opts.peer ?? (await startPeer(opts));
  const restart = async (): Promise<RunningPeer> => {
    await peer.stop().catch(() => {});
    peer = await startPeer(opts);
    return peer;
  };
  const results: DirectionResult[] = [];
  const dirsPerScenario = (opts.directions ?? ['lua-lua', 'ts-lua', 'lua-ts', 'ts-ts']).length;
  const total = scenarios.length * dirsPerScenario;
  const meta = { backend: peer.backend, lib: peer.lib };
  try {
    await runScenarios({
      peer,
      scenarios,
      directions: opts.directions,
      retries: opts.retries,
      restartPeer: ownPeer ? restart : undefined,
      onResult: (r) => {
        results.push(r);
        writeReport(buildReport(scenarios, results, meta, false), jsonPath, htmlPath);
        opts.onResult?.(r, results.length, total);
      },
    });
  } finally {
    if (ownPeer) await peer.stop();
  }
  const report = buildReport(scenarios, results, meta, true);
  writeReport(report, jsonPath, htmlPath);
  return report;
}
