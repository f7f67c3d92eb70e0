// `wslab fuzz`: jsfuzz campaigns on the parser targets, with findings saved and a summary written.
import { join } from 'node:path';
import { parseCommandLine, renderOptions, shownPath, type OptionsSpec } from '../lab/args.js';
import { printJson } from '../lab/output.js';
import { ROOT_DIR } from '../lab/paths.js';
import { claimReport } from '../lab/reports.js';
import { runCampaign, type CampaignProgress, type FuzzReport } from './campaign.js';
import { TARGETS, TEST_TARGETS } from './registry.js';
import { isServiceMode, runService, serviceHelp } from './service/cli.js';

/** `wslab fuzz`'s options: the parser's spec and the Options block of its help. */
export const options = {
  target: { type: 'list', choices: ['all', ...TARGETS.map((t) => t.name), ...TEST_TARGETS.map((t) => t.name)], default: ['all'], value: 'T', help: 'target name, comma list, or "all" (default: all)' },
  time: { type: 'duration', default: '60s', help: 'wall time per target: 90, 90s, 1500ms, 10m (default: 60s)' },
  execs: { type: 'number', integer: true, min: 1, help: 'stop a target after about N executions' },
  jobs: { type: 'number', integer: true, min: 1, default: 1, help: 'jsfuzz processes at a time: N instances of one target, or N targets at a time (default: 1)' },
  findings: { type: 'string', value: 'DIR', help: 'where to save findings (default: fuzz/findings)' },
  report: { type: 'string', default: join(ROOT_DIR, 'report', 'fuzz.json'), value: 'FILE', help: 'summary JSON (default: report/fuzz.json)' },
  fresh: { type: 'flag', help: 'start from the seed corpus only (default: also the corpus kept in .cache/fuzz/corpus)' },
  quiet: { type: 'flag', help: 'no progress lines' },
  'minimise-corpus': { type: 'flag', help: 'run no campaign: merge the kept corpus (.cache/fuzz/corpus/<target>) with\nthe seeds and every --merge folder, keep the smallest inputs that together\nexecute every code block any of them executes, and write it back' },
  merge: { type: 'repeat', value: 'DIR', help: 'with --minimise-corpus: another corpus root (DIR/<target>/), repeatable' },
  json: { type: 'flag', help: 'print the summary (report/fuzz.json\'s object) as one JSON document on stdout;\nthe table goes to stderr' },
} as const satisfies OptionsSpec;

export const help = `Usage: wslab fuzz [--target T] [--time 60s] [--execs N] [--jobs N] [options]
       wslab fuzz --url ws://HOST:PORT/PATH [options]     (service mode, below)

Runs coverage-guided jsfuzz campaigns on the parser targets (compiled to CommonJS in fuzz/build/).
Crashes are minimised and saved to fuzz/findings/<target>/, where fuzz/findings.test.ts replays
them as regression tests. A summary (execs, execs/s, corpus, coverage growth, findings) is printed
and written to report/fuzz.json. Exit code 1 when anything was found or a target failed to run.

${renderOptions(options)}

Targets:
${[...TARGETS, ...TEST_TARGETS].map((t) => `  ${t.name.padEnd(18)} ${t.summary}`).join('\n')}

Examples:
  wslab fuzz --target frame-compat --time 60s
  wslab fuzz --target all --time 30s --jobs 2
  wslab fuzz --target uri,handshake-client --execs 200000
  wslab fuzz --target uri --minimise-corpus --merge other-runner/corpus

${serviceHelp}`;

/** "90", "90s", "1500ms", "10m", "1h" -> milliseconds (one definition, in the argument layer). */
export { parseDuration } from '../lab/args.js';

export async function run(argv: string[]): Promise<number> {
  if (isServiceMode(argv)) return runService(argv);
  const { values } = parseCommandLine('fuzz', argv, options);
  if (values['minimise-corpus']) return minimiseCorpora(values.target, values.merge, values.json);
  claimReport(values.report, '--report'); // a second campaign on the same report stops before it starts
  let report: FuzzReport;
  try {
    const lastLine = new Map<string, number>();
    const tty = process.stderr.isTTY === true;
    const progress = (p: CampaignProgress): void => {
      const line = `[${p.target}] ${(p.elapsedMs / 1000).toFixed(0)}s execs ${p.execs} (${p.execsPerSec}/s) cov ${p.coverage} corpus ${p.corpus} findings ${p.findings}`;
      if (tty) process.stderr.write(`\r${line.padEnd(100)}`);
      else if (Date.now() - (lastLine.get(p.target) ?? 0) >= 5000) {
        lastLine.set(p.target, Date.now());
        console.error(line);
      }
    };
    report = await runCampaign({
      target: values.target.length === 1 && values.target[0] === 'all' ? 'all' : values.target.filter((t) => t !== 'all'),
      timeMs: values.time,
      ...(values.execs ? { maxExecs: values.execs } : {}),
      jobs: values.jobs,
      ...(values.findings ? { findingsDir: values.findings } : {}),
      freshCorpus: values.fresh,
      reportFile: values.report,
      ...(values.quiet ? {} : { onProgress: progress }),
    });
    if (tty && !values.quiet) process.stderr.write('\n');
  } catch (e) {
    console.error(`wslab fuzz: ${(e as Error).message}`);
    return 2;
  }
  // With --json, console.log goes to stderr (lab/output.ts): the table stays readable there.
  console.log(formatReport(report));
  console.log(`\nreport: ${shownPath(values.report)}`);
  if (values.json) printJson(report);
  return report.ok ? 0 : 1;
}

async function minimiseCorpora(targets: string[], merge: string[], json: boolean): Promise<number> {
  const { minimiseCorpus } = await import('./corpus.js');
  const { DEFAULT_WORK_ROOT, SEEDS_DIR } = await import('./campaign.js');
  const names = targets.includes('all') ? TARGETS.map((t) => t.name) : targets;
  const results: Array<ReturnType<typeof minimiseCorpus>> = [];
  try {
    for (const name of names) {
      const own = join(DEFAULT_WORK_ROOT, 'corpus', name);
      const r = minimiseCorpus(name, [own, join(SEEDS_DIR, name), ...merge.map((m) => join(m, name))], own);
      results.push(r);
      console.log(`${name}: ${r.inputs} distinct inputs -> ${r.kept} kept (${r.blocks} blocks${r.crashed ? `, ${r.crashed} crashing left out` : ''}) in ${(r.durationMs / 1000).toFixed(1)}s: ${shownPath(r.outDir)}`);
    }
  } catch (e) {
    console.error(`wslab fuzz: ${(e as Error).message}`);
    return 1;
  }
  if (json) printJson({ ok: true, corpora: results });
  return 0;
}

export function formatReport(r: FuzzReport): string {
  const rows = r.targets.map((t) =>
    [
      t.target.padEnd(18),
      String(t.execs).padStart(9),
      String(t.execsPerSec).padStart(7),
      `${t.corpusStart}->${t.corpusEnd}`.padStart(11),
      `${t.coverageAfterSeeds}->${t.coverageEnd} (+${t.coverageGrowth})`.padStart(20),
      String(t.findings.length).padStart(8),
      t.ok ? '' : `  ERROR: ${t.error?.split('\n')[0]}`,
    ].join(' '),
  );
  const findings = r.targets.flatMap((t) =>
    t.findings.map((f) => `  ${t.target}: [${f.kind}] ${f.signature} -> ${f.file}${f.duplicate ? ' (already saved)' : ''} (${f.minimisedFrom} -> ${f.inputHex.length / 2} bytes)`),
  );
  return [
    `${'target'.padEnd(18)} ${'execs'.padStart(9)} ${'exec/s'.padStart(7)} ${'corpus'.padStart(11)} ${'coverage'.padStart(20)} ${'findings'.padStart(8)}`,
    ...rows,
    `total: ${r.totals.execs} execs, ${r.totals.execsPerSec} exec/s, ${r.totals.findings} findings (${r.totals.newFindings} new) in ${(r.durationMs / 1000).toFixed(1)}s`,
    ...(findings.length ? ['findings:', ...findings] : []),
  ].join('\n');
}
