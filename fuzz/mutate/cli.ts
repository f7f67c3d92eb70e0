// `wslab mutate`: mutation testing of the original library, built in.
import { join } from 'node:path';
import { parseCommandLine, renderOptions, shownPath, type OptionsSpec } from '../../lab/args.js';
import { printJson } from '../../lab/output.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { CHECKS, DEFAULT_DIFF_CASES, DEFAULT_SESSIONS, FILES, runMutate, type Check, type LibFile, type MutateReport } from './runner.js';

/** `wslab mutate`'s options: the parser's spec and the Options block of its help. */
export const options = {
  budget: { type: 'duration', default: '30m', help: 'total wall time (default 30m); mutants are spread over files and operators to fit' },
  files: { type: 'list', choices: FILES, help: `some of ${FILES.join(',')} (default all three)` },
  checks: { type: 'list', choices: CHECKS, help: `some of ${CHECKS.join(',')} (default diff,focused,session)` },
  'diff-cases': { type: 'number', integer: true, min: 1, help: `frame-diff cases per protocol.lua mutant (default ${DEFAULT_DIFF_CASES})` },
  sessions: {
    type: 'number', integer: true, min: 1,
    help: `sessions of session diff per mutant (default ${DEFAULT_SESSIONS}): a count, not a time\nslice, so a kill does not depend on how loaded the machine is`,
  },
  'max-mutants': { type: 'number', integer: true, min: 1, help: 'run at most N mutants (default: as many as the budget allows)' },
  only: { type: 'list', value: 'IDS', help: 'only these mutant ids (file:line:operator:n, comma-separated; see --list)' },
  list: { type: 'flag', help: 'print the mutants (id, operator, before => after) and exit; with --json,\n{ mutants: [{ id, before, after, equivalent? }] }' },
  'lua-lib': { type: 'string', value: 'DIR', help: "the library to mutate (or RESTY_WEBSOCKET_LIB; default Debian's 0.08)" },
  report: { type: 'string', value: 'FILE', default: join(ROOT_DIR, 'report', 'mutate.json'), help: 'default report/mutate.json' },
  json: { type: 'flag', help: 'print the per-file summary as JSON' },
} as const satisfies OptionsSpec;

export const help = `Usage: wslab mutate [--budget 30m] [options]

Would the lab notice if the library changed? First every chosen check runs on an unmodified copy
of the library (the baseline, in the report); when one fails there, the run stops before any mutant
(exit 1, one line naming the check and its failure), since its kills would not be evidence. Then, on a temporary copy of the chosen lua-resty-websocket
lib/ (never the original, never committed), applies one single-point mutation at a time to
protocol.lua, server.lua and client.lua — flip or off-by-one a comparison, change a numeric constant
or a default, drop a check, swap two adjacent checks, change an error string, drop an assignment to
a state flag, drop a header — and runs the chosen checks against each mutant as child wslab
processes with RESTY_WEBSOCKET_LIB pointing at the copy. Each mutant is killed (a check failed: which
one, and the evidence: the divergence, or the unmodified library's answer next to the mutant's),
survived, did-not-load (luajit cannot compile it) or equivalent (it changes nothing a peer can see:
table pre-sizing, log lines; with the reason). Writes
report/mutate.json with kill rates per file (killed / (killed + survived)).

Checks (run in this order, a mutant stops at the first that kills it):
  diff      the frame diff against protocol.lua under luajit (--diff-cases, seed 1; protocol.lua mutants only)
  focused   calls the sessions reach only by chance, compared with the unmodified library's answers:
            connects after math.randomseed seeds that draw 0xff at each Sec-WebSocket-Key byte, a wss
            connect, and each method called on the module table (client.lua and server.lua mutants)
  session   the session diff against the mutant in nginx (--sessions per mutant, seed 1, 12 jobs, the
            file's roles); a divergence kills when it showed 3 times on the mutant and its session,
            replayed twice on the unmodified library, agrees there
  interop   the interop catalogue, directions lua-lua,ts-lua,lua-ts (~75 s per mutant)

${renderOptions(options)}

Exit code: 0 when the baseline is clean, every file's kill rate is at least 90% and some mutant
was killed or survived; 1 otherwise (a check that fails on the unmodified library, an interrupted
run, or one that compared nothing, is 1); 2 on a bad command line.

Examples:
  nice wslab mutate --budget 30m
  wslab mutate --files protocol.lua --checks diff --budget 5m
  wslab mutate --list --files server.lua
  RESTY_WEBSOCKET_LIB=/src/lua-resty-websocket/lib wslab mutate --budget 1h --checks diff,session,interop`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('mutate', argv, options);
  const files = values.files as LibFile[] | undefined;
  if (values.list) {
    const { locateLibrary } = await import('./runner.js');
    const { mutantsOf } = await import('./operators.js');
    const { readFileSync } = await import('node:fs');
    try {
      const lib = locateLibrary(values['lua-lib'] ?? process.env.RESTY_WEBSOCKET_LIB);
      const mutants = (files ?? FILES).flatMap((f) => mutantsOf(f, readFileSync(join(lib.dir, f), 'utf8')));
      if (values.json) printJson({ lib: lib.dir, mutants: mutants.map((m) => ({ id: m.id, before: m.before, after: m.after, ...(m.equivalent ? { equivalent: m.equivalent } : {}) })) });
      else for (const m of mutants) console.log(`${m.id.padEnd(34)} ${m.before}  =>  ${m.after}${m.equivalent ? `  [equivalent: ${m.equivalent}]` : ''}`);
      return 0;
    } catch (e) {
      console.error(`wslab mutate: ${(e as Error).message}`);
      return 2;
    }
  }
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  let report: MutateReport;
  try {
    report = await runMutate({
      luaLib: values['lua-lib'] ?? process.env.RESTY_WEBSOCKET_LIB, budgetMs: values.budget, files, checks: values.checks as Check[] | undefined,
      maxMutants: values['max-mutants'], only: values.only, reportFile: values.report, signal: abort.signal,
      sessions: values.sessions, diffCases: values['diff-cases'],
      onBaseline: (b) => { for (const c of b.checks) process.stderr.write(`[baseline] ${c.check}${c.roles ? ` (${c.roles})` : ''} ${c.status}: ${c.line}\n`); },
      onResult: (r, done, total) => process.stderr.write(`[${done}/${total}] ${r.id} ${r.status}${r.killedBy ? ` by ${r.killedBy}` : ''}: ${r.before} => ${r.after}${r.status !== 'killed' && r.reason ? ` (${r.reason})` : ''}\n`),
    });
  } catch (e) {
    console.error(`wslab mutate: ${(e as Error).message}`);
    return 2;
  } finally {
    process.off('SIGINT', onSigint);
  }
  if (report.refused) {
    console.error(`wslab mutate: ${report.refused}`);
    return 1;
  }
  if (values.json) printJson(report.files);
  else {
    console.log(`mutate: ${report.lib.path} (_VERSION ${report.lib.version}), checks ${report.checks.join(',')}, ${(report.durationMs / 1000).toFixed(0)}s${report.interrupted ? ' (interrupted)' : ''}`);
    for (const [f, s] of Object.entries(report.files)) {
      console.log(`  ${f}: ${s.total} run of ${report.generated[f]} generated; killed ${s.killed}, survived ${s.survived}, equivalent ${s.equivalent}, did-not-load ${s.didNotLoad}; kill rate ${s.killRate === null ? 'n/a' : `${(s.killRate * 100).toFixed(1)}%`}`);
    }
    for (const m of report.mutants.filter((x) => x.status === 'survived')) console.log(`  survived ${m.id}: ${m.before}  =>  ${m.after}${m.reason?.includes('check errors') ? ` (${m.reason})` : ''}`);
    console.log(`report: ${shownPath(values.report)}`);
  }
  return report.ok ? 0 : 1;
}
