// `wslab`: one subcommand per capability. Each subcommand lives with the code it drives and
// exports `run(argv) => Promise<exitCode>` and a `help` text; this file only dispatches, and
// imports lazily so `wslab peer` does not load the fuzzers. A bad command line anywhere below is a
// UsageError (cli/args.ts): one line on stderr and exit code 2.
import { installInterruptHandler } from '../lab/children.js';
import { UsageError } from './args.js';

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
  diff: { summary: 'differential fuzzing: our decoder vs the original Lua code', load: () => import('../fuzz/diff/cli.js') },
  bench: { summary: 'benchmarks as ratios against ws and nginx + Lua', load: () => import('../bench/cli.js') },
};

export function usage(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((k) => k.length));
  const lines = Object.entries(SUBCOMMANDS).map(([name, s]) => `  ${name.padEnd(width)}  ${s.summary}`);
  return [
    'Usage: wslab <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Run `wslab <command> --help` for the options and examples of one command.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return name === undefined ? 2 : 0;
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
  try {
    return await sub.run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(e.line);
      return 2;
    }
    throw e;
  }
}
