// The one way a wslab command writes its JSON report: every report says which lab wrote it
// (`wslabVersion`), and a report file belongs to one run at a time. Two runs in one checkout
// writing report/interop.json would otherwise interleave their writes, and the last one would
// silently win; instead the first run holds a lock file next to the report (report/.interop.lock,
// holding its pid) and a second run stops at once with one line saying who has it. A lock whose
// pid is gone (a run killed with SIGKILL) is stale and taken over.
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { writeAtomic } from './fs.js';
import { shownPath } from './args.js';
import { ROOT_DIR } from './paths.js';

function packageVersion(file: string): string {
  try {
    return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The lab's version (the root package.json). */
export const WSLAB_VERSION = packageVersion(join(ROOT_DIR, 'package.json'));

/**
 * The resty-websocket the lab runs: resolved like an import, so an installed lab reports the
 * copy in its node_modules and a checkout its workspace (impl/).
 */
export function libraryVersion(): string {
  try {
    return packageVersion(createRequire(import.meta.url).resolve('resty-websocket/package.json'));
  } catch {
    return 'unknown';
  }
}

/** Another live run holds the report. cli/main.ts prints `line` and exits 1. */
export class ReportInUseError extends Error {
  override readonly name = 'ReportInUseError';
  constructor(
    readonly report: string,
    readonly pid: number,
    /** The command's option that puts its report elsewhere (--out, or --report for diff and mutate). */
    moveWith = '--out',
  ) {
    super(`${shownPath(report)} is in use by another wslab run (pid ${pid}); wait for it, stop it, or pass ${moveWith} to write elsewhere`);
  }
}

/** report/interop.json -> report/.interop.lock */
export function lockFileOf(report: string): string {
  return join(dirname(report), `.${basename(report).replace(/\.json$/, '')}.lock`);
}

/** Report path -> its lock file, for the reports this process holds. */
const held = new Map<string, string>();
let exitHook = false;

function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists but belongs to someone else (another user's run in a shared checkout).
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function releaseAll(): void {
  for (const lock of held.values()) {
    try {
      if (Number(readFileSync(lock, 'utf8').trim()) === process.pid) rmSync(lock, { force: true });
    } catch {
      /* already gone */
    }
  }
  held.clear();
}

/**
 * Makes `report` this run's until the process exits, or throws ReportInUseError. Commands call it
 * before they start anything, so a second run stops before it starts a peer; writeJsonReport calls
 * it too, so no report is written without it.
 */
export function claimReport(report: string, moveWith = '--out'): void {
  const path = resolve(report);
  if (held.has(path)) return;
  const lock = lockFileOf(path);
  mkdirSync(dirname(lock), { recursive: true });
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      held.set(path, lock);
      if (!exitHook) {
        exitHook = true;
        // 'exit' runs on a normal end, process.exit() (the interrupt handler's) and an uncaught error.
        process.on('exit', releaseAll);
      }
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let pid: number;
    try {
      pid = Number(readFileSync(lock, 'utf8').trim());
    } catch {
      continue; // released between our attempt and the read: try again
    }
    if (pid === process.pid) {
      held.set(path, lock);
      return;
    }
    if (pidAlive(pid)) throw new ReportInUseError(path, pid, moveWith);
    // Stale: moved aside by rename, which only one of two runs taking it over at once can do.
    const aside = `${lock}.stale.${process.pid}`;
    try {
      renameSync(lock, aside);
      rmSync(aside, { force: true });
    } catch {
      /* the other run took it over first: the next attempt sees its pid */
    }
  }
  throw new Error(`could not take the lock ${shownPath(lock)} of ${shownPath(path)}`);
}

/** Releases `report` before the process ends (tests; a run that hands its output over). */
export function releaseReport(report: string): void {
  const path = resolve(report);
  const lock = held.get(path);
  if (!lock) return;
  held.delete(path);
  rmSync(lock, { force: true });
}

/**
 * Writes a command's JSON report atomically, with `wslabVersion` first, after making sure this
 * run holds it (claimReport).
 */
export function writeJsonReport(path: string, report: object, indent = 2): void {
  claimReport(path);
  writeAtomic(path, `${JSON.stringify({ wslabVersion: WSLAB_VERSION, ...report }, null, indent)}\n`);
}
