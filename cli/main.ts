// `wslab`: one subcommand per capability. Each subcommand lives with the code it drives and
// exports `run(argv) => Promise<exitCode>` and a `help` text; this file only dispatches, and
// imports lazily so `wslab peer` does not load the fuzzers. A bad command line anywhere below is a
// UsageError (lab/args.ts): one line on stderr and exit code 2. The exit codes are the same for
// every subcommand (EXIT_CODES, shown by --help). With --json, any subcommand prints one JSON document
// on stdout and its human lines on stderr (lab/output.ts).
import { installInterruptHandler, interruptExitCode } from '../lab/children.js';
import { UsageError } from '../lab/args.js';
import { beginJsonMode, finishJsonMode, wantsJson } from '../lab/output.js';
import { libraryVersion, ReportInUseError, WSLAB_VERSION } from '../lab/reports.js';

export interface Subcommand {
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

const SUBCOMMANDS: Record<string, { summary: string; load: () => Promise<Subcommand> }> = {
  lab: { summary: 'run interop + conformance + fuzz against the default peer, write report/', load: () => import('./lab.js') },
  peer: { summary: 'install, start, stop or inspect the nginx + Lua peer', load: () => import('../lab/peers/cli.js') },
  interop: { summary: 'run the interop scenarios in both directions against the peer', load: () => import('../conformance/interop/cli.js') },
  conformance: { summary: 'run the Autobahn-style conformance cases (server or client mode)', load: () => import('../conformance/cli.js') },
  fuzz: { summary: 'run a jsfuzz campaign on one parser target', load: () => import('../fuzz/cli.js') },
  diff: { summary: 'differential fuzzing: our decoder vs the original Lua code (--session: whole sessions)', load: () => import('../fuzz/diff/cli.js') },
  mutate: { summary: 'mutation testing of the Lua library: would the lab notice a change?', load: () => import('../fuzz/mutate/cli.js') },
  bench: { summary: 'benchmarks as ratios against ws and nginx + Lua', load: () => import('../bench/cli.js') },
};

/** Every subcommand's exit codes. */
export const EXIT_CODES: ReadonlyArray<readonly [number, string]> = [
  [0, 'pass: the run finished and found nothing'],
  [1, 'failure: a check failed, a finding, a run that gathered no evidence, or its report in use by another run'],
  [2, 'usage error: a bad command line (one line on stderr)'],
  [130, 'interrupted (Ctrl-C; 143 for SIGTERM): children stopped, report marked interrupted'],
];

/** `wslab --version`: the lab's version and the resty-websocket it runs, one line. */
export function versionLine(): string {
  return `wslab ${WSLAB_VERSION} (resty-websocket ${libraryVersion()})`;
}

export function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((k) => k.length));
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`);
  return [
    'Usage: wslab <command> [options]',
    '       wslab --version',
    '',
    'Commands:',
    ...lines,
    '',
    'Exit codes (every command):',
    ...EXIT_CODES.map(([code, text]) => `  ${String(code).padStart(3)}  ${text}`),
    '',
    'Run `wslab <command> --help` for the options and examples of one command.',
  ].join('\n');
}

/**
 * A reader that stops early (`wslab interop --list | head`) closes stdout: what is left to print has
 * nowhere to go, but the run goes on, writes its report and exits with its own code.
 */
function outliveClosedStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
  });
}

export async function main(argv: string[]): Promise<number> {
  outliveClosedStdout();
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version' || name === '-V') {
    if (rest.length) {
      console.error(`wslab: ${name} takes no arguments (see wslab --help)`);
      return 2;
    }
    console.log(versionLine());
    return 0;
  }
  const entry = SUBCOMMANDS[name];
  if (!entry) {
    console.error(`wslab: unknown command "${name}" (one of ${Object.keys(SUBCOMMANDS).join(', ')}; see wslab --help)`);
    return 2;
  }
  const sub = await entry.load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(sub.help);
    return 0;
  }
  // Ctrl-C / SIGTERM stops every child of the run and leaves its report marked interrupted.
  installInterruptHandler(name);
  // --json: one document on stdout, every human line on stderr, for the whole run (lab/output.ts).
  if (wantsJson(rest)) beginJsonMode(name);
  let code: number | null = null;
  try {
    code = await sub.run(rest);
    // A run that returns while the handler is still stopping its children was interrupted all the
    // same: its own verdict (often 1, for the cases that did not run) must not replace 130.
    code = interruptExitCode() ?? code;
    return code;
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.line);
      return 2;
    }
    if (e instanceof ReportInUseError) {
      console.error(`wslab ${name}: ${e.message}`);
      return (code = 1);
    }
    if (interruptExitCode() !== null) return (code = interruptExitCode()!);
    throw e;
  } finally {
    finishJsonMode(code);
  }
}
