// The run layer every long wslab command is built on (wslab lab, conformance, interop, diff
// --session, mutate): one report that grows while the run goes, saved atomically at every step
// under the run's report lock (lab/reports.ts), and saved once more marked `interrupted: true` when
// SIGINT/SIGTERM stops the command (lab/children.ts then stops the children and exits 130/143).
// A command's own code is then a list of named steps that fill the report and call save(); how a
// report reaches the disk, and what an interrupt leaves there, is decided here once.
import { interrupted, onInterrupt } from './children.js';
import { claimReport, writeJsonReport } from './reports.js';

/** How a run ended, as every long command's report says it. */
export interface RunEnd {
  /** Every step ran to its end (an interrupted run is not finished when it is saved on the signal). */
  finished: boolean;
  interrupted?: boolean;
  /** Absent from reports whose verdict is worked out in their document (conformance's run.json). */
  ok?: boolean;
}

export interface RunOptions<R extends RunEnd, D extends object> {
  /** The JSON report file this run owns: claimed at once, so a second run on it stops before anything starts. */
  file?: string;
  /** The command's option that moves `file` (named when another run holds it; default --out). */
  moveWith?: string;
  /** What the file holds, built from the report at each save (default: the report itself). */
  document?: (report: R) => D;
  /** JSON indentation of the file (default 2). */
  indent?: number;
  /** Written after the JSON at every save, from the same document (an HTML page of the report). */
  alsoWrite?: (doc: D) => void;
  /** Fields derived from the others (duration, rates, tallies), brought up to date before every save. */
  refresh?: (report: R, elapsedMs: number) => void;
  /** What an interrupt changes in the report besides `interrupted`, `finished` and `ok` (a part that was running). */
  onInterrupt?: (report: R) => void;
  /** The caller's stop (Ctrl-C through an AbortController): steps stop early and the report says so. */
  signal?: AbortSignal;
}

/** A run of a long command: its report, its saves, its interrupt. */
export class Run<R extends RunEnd, D extends object = R> {
  readonly startedAt = Date.now();
  #stopWatching: () => void;

  constructor(
    readonly report: R,
    private readonly opts: RunOptions<R, D> = {},
  ) {
    if (opts.file) claimReport(opts.file, opts.moveWith);
    // Synchronous and first on the signal: the report on disk never looks finished (or older) when
    // a child refuses to die or the process exits before the steps notice.
    this.#stopWatching = onInterrupt(() => {
      report.interrupted = true;
      report.finished = false;
      if ('ok' in report) report.ok = false;
      opts.onInterrupt?.(report);
      this.save();
    });
  }

  elapsedMs(): number {
    return Date.now() - this.startedAt;
  }

  /** Whether the run was asked to stop (its signal, or SIGINT/SIGTERM): steps check it between units of work. */
  stopping(): boolean {
    return !!this.opts.signal?.aborted || interrupted() !== null;
  }

  /** The report's document as it would be saved now (derived fields refreshed). */
  document(): D {
    this.opts.refresh?.(this.report, this.elapsedMs());
    return this.opts.document ? this.opts.document(this.report) : (this.report as unknown as D);
  }

  /** Saves the report atomically (nothing is written for a run without a file). */
  save(): void {
    const doc = this.document();
    if (!this.opts.file) return;
    writeJsonReport(this.opts.file, doc, this.opts.indent);
    this.opts.alsoWrite?.(doc);
  }

  /**
   * Ends the run: an interrupt no longer writes the report, `end` sets how it ended (given whether
   * the run was stopped early), and the report is saved a last time.
   */
  finish(end: (report: R, stopped: boolean) => void): R {
    this.#stopWatching();
    const stopped = !!this.report.interrupted || this.stopping();
    end(this.report, stopped);
    this.save();
    return this.report;
  }

  /** Stops writing the report on an interrupt without a last save (a run that failed with an error). */
  release(): void {
    this.#stopWatching();
  }
}

/**
 * No verdict without evidence: a run passes when it judged something (`evidence` > 0: sessions
 * compared, verdicts given, mutants killed or survived) and found no problem. A run that judged
 * nothing is not a pass, whatever it did not find.
 */
export function passedOnEvidence(evidence: number, problems: number): boolean {
  return evidence > 0 && problems === 0;
}
