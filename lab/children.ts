// Everything a wslab command starts that must not outlive it: child processes (nginx, jsfuzz,
// luajit, bench children), temporary prefixes, containers. Each is registered here when it starts
// and unregistered when it ends, so one SIGINT/SIGTERM handler (installed by cli/main.ts for every
// subcommand) can stop all of them, remove the temp folders and let each report writer leave a valid
// report that says it was interrupted — whether the signal went to the node process alone (Ctrl-C
// forwarded by a supervisor, `kill PID`) or to its whole process group (Ctrl-C in a terminal).
import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { claimReport, writeJsonReport } from './reports.js';

interface TrackedProcess {
  pid: number;
  name: string;
  /** The child leads its own process group (spawned detached): signal the group, so its own children go too. */
  group: boolean;
}

const processes = new Map<number, TrackedProcess>();
const tempDirs = new Set<string>();
const cleanups = new Set<() => Promise<void> | void>();
const interruptWriters = new Set<(signal: NodeJS.Signals) => void>();
let interruptedBy: NodeJS.Signals | null = null;

function signalProcess(p: TrackedProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(p.group ? -p.pid : p.pid, sig);
  } catch {
    try {
      process.kill(p.pid, sig);
    } catch {
      /* already gone */
    }
  }
}

function isAlive(p: TrackedProcess): boolean {
  try {
    process.kill(p.group ? -p.pid : p.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Registers a child process until it exits; `group` when it was spawned with detached: true. */
export function trackChild(child: ChildProcess, name: string, group = false): () => void {
  const pid = child.pid;
  if (pid === undefined) return () => {};
  processes.set(pid, { pid, name, group });
  const forget = (): void => {
    // A group leader's children may outlive it: keep the entry until the group is empty.
    const p = processes.get(pid);
    if (p && (!p.group || !isAlive(p))) processes.delete(pid);
  };
  child.once('exit', forget);
  return () => processes.delete(pid);
}

function removeTempDirs(): void {
  for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
  tempDirs.clear();
}

let tempExitHook = false;

/**
 * Registers a temporary folder to remove when the command is interrupted, and in any case when
 * the process exits: a folder its owner did not remove (an error on the way, a caller that never
 * closes, a cache such as the PKI's that lives as long as the process) still goes.
 */
export function trackTempDir(dir: string): () => void {
  tempDirs.add(dir);
  if (!tempExitHook) {
    tempExitHook = true;
    process.on('exit', removeTempDirs);
  }
  return () => tempDirs.delete(dir);
}

/** Registers an async cleanup (stop a container, close a server); given at most 2 s on interrupt. */
export function onCleanup(fn: () => Promise<void> | void): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/**
 * Registers a synchronous report writer run first on interrupt, so the report on disk says
 * `finished: false, ok: false, interrupted: true` even if a child refuses to die.
 */
export function onInterrupt(fn: (signal: NodeJS.Signals) => void): () => void {
  interruptWriters.add(fn);
  return () => interruptWriters.delete(fn);
}

/** The signal that interrupted this command, or null. */
export function interrupted(): NodeJS.Signals | null {
  return interruptedBy;
}

/** The exit code of an interrupted command (128 + the signal's number), or null when it was not interrupted. */
export function interruptExitCode(): number | null {
  return interruptedBy === null ? null : interruptedBy === 'SIGINT' ? 130 : 143;
}

/** The temporary folders registered now (tests see that an owner's own removal unregisters). */
export function trackedTempDirs(): string[] {
  return [...tempDirs];
}

/** Stops every registered process (TERM, then KILL after `graceMs`), runs the cleanups, removes the temp folders. */
export async function stopEverything(graceMs = 1500): Promise<void> {
  const procs = [...processes.values()];
  for (const p of procs) signalProcess(p, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (procs.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
  for (const p of procs) if (isAlive(p)) signalProcess(p, 'SIGKILL');
  for (const p of procs) processes.delete(p.pid);
  const fns = [...cleanups];
  cleanups.clear();
  await Promise.race([
    Promise.allSettled(fns.map(async (fn) => fn())),
    new Promise((r) => setTimeout(r, 2000).unref()),
  ]);
  removeTempDirs();
}

let installed = false;

/**
 * Installs the SIGINT/SIGTERM handler for a command: report writers first, then every child and
 * temp folder goes, then the process exits with 128 + the signal number. A second signal kills
 * what is left at once.
 */
export function installInterruptHandler(command: string): void {
  if (installed) return;
  installed = true;
  const handle = (signal: NodeJS.Signals): void => {
    if (interruptedBy !== null) {
      for (const p of processes.values()) signalProcess(p, 'SIGKILL');
      process.exit(interruptExitCode()!); // the 'exit' hook removes the temp folders
    }
    interruptedBy = signal;
    process.stderr.write(`\nwslab ${command}: ${signal}: stopping ${processes.size} child process(es), writing the report (interrupted)\n`);
    for (const w of interruptWriters) {
      try {
        w(signal);
      } catch (e) {
        process.stderr.write(`wslab ${command}: could not write the interrupted report: ${(e as Error).message}\n`);
      }
    }
    void stopEverything().finally(() => process.exit(interruptExitCode()!));
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
  // A plain exit (an uncaught error) must not leave children either; trackTempDir's hook removes the folders.
  process.once('exit', () => {
    for (const p of processes.values()) signalProcess(p, 'SIGKILL');
  });
}

/**
 * While a report file is being produced, an interrupt writes `partial()` into it marked
 * `finished: false, ok: false, interrupted: true`, so what is on disk never looks like a finished
 * (or an older) run. Returns the function that stops that once the real report is written.
 */
export function interruptedReportFile(file: string, partial: () => object): () => void {
  // Called as the run starts: a report another run is writing stops this one before it begins.
  claimReport(file);
  return onInterrupt(() => writeJsonReport(file, { ...partial(), finished: false, ok: false, interrupted: true }));
}
