// `wslab lab`: the main job. Sets up the native peer if it is missing, then runs a short pass of
// everything against it — interop, conformance (our agents and the Lua library), the RFC deviations
// of the original, a fuzz and a differential campaign — and writes report/index.html with a JSON
// twin as results arrive. Each part that cannot run says why; the others still run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeAtomic } from '../lab/fs.js';
import { Run } from '../lab/run.js';
import { dirname, join } from 'node:path';
import { parseCommandLine, renderOptions, shownPath, UsageError, type OptionsSpec } from '../lab/args.js';
import { humanStdio, printJson } from '../lab/output.js';
import { REPORT_DIR, ROOT_DIR } from '../lab/paths.js';
import { BACKEND_CHOICES } from '../lab/peers/index.js';
import type { RunningPeer } from '../lab/peers/types.js';
import { chooseLuaLib, chosenLibraryLoadError, differentCopies, type LoadedLibrary } from '../lab/lua-lib.js';
import { PeerSupervisor } from '../lab/peers/supervisor.js';
import { createProgress, fraction, rate } from '../lab/progress.js';
import { selectCases } from '../conformance/cases/index.js';
import { loadLabFiles, renderLabHtml, type LabReport, type SectionStatus } from './lab-report.js';

/** What `wslab lab` leaves out of the conformance run unless --full: performance (9) and permessage-deflate (12, 13). */
export const LAB_DEFAULT_EXCLUDE = '9.*,12.*,13.*';

/** The parts `--skip` can name, in the order they run. */
export const LAB_PARTS = ['interop', 'conformance', 'deviations', 'fuzz', 'diff', 'session'] as const;

/** `wslab lab`'s options: the parser's spec and the Options block of its help. */
export const options = {
  skip: { type: 'list', choices: LAB_PARTS, default: [], help: `parts to leave out: ${LAB_PARTS.join(',')}` },
  full: {
    type: 'flag',
    help: 'the whole conformance catalogue, 517 cases (default: sections 1-7 and 10, 247 cases;\nit leaves out the 9.* performance cases and the 12.*/13.* permessage-deflate\ncases, 1000 compressed round trips each)',
  },
  'fuzz-time': { type: 'duration', default: '10s', value: 'T', help: 'per fuzz target (default 10s)' },
  'diff-time': { type: 'duration', default: '20s', value: 'T', help: 'differential run (default 20s)' },
  'session-time': { type: 'duration', default: '20s', value: 'T', help: 'session diff (default 20s)' },
  mutate: { type: 'flag', help: 'also run `wslab mutate` (kill rates per file, survivors)' },
  'mutate-budget': { type: 'duration', default: '10m', value: 'T', help: 'its budget (default 10m)' },
  backend: { type: 'string', choices: BACKEND_CHOICES, value: 'B', help: 'native | container | auto (default auto)' },
  'lua-lib': {
    type: 'string', value: 'DIR',
    help: 'another lua-resty-websocket (or RESTY_WEBSOCKET_LIB), for every part: the peer,\nthe Lua agents, diff and the frame deviations; DIR/resty/websocket/*.lua\n(upstream, OpenResty) or DIR/nginx/websocket/*.lua (Debian)',
  },
  out: { type: 'string', value: 'DIR', help: 'report folder (default report/)' },
  json: { type: 'flag', help: 'print the summary as JSON at the end' },
} as const satisfies OptionsSpec;

export const help = `Usage: wslab lab [options]

The main job: on the embedded default peer (Debian's nginx + libnginx-mod-http-lua + the real
lua-resty-websocket), run
  1. the interop scenarios in four directions, then the browser direction (Chromium against the
     Lua server and ours) (report/interop.html),
  2. the conformance run for ws, our server/client (compat and strict), the Lua library and chromium
     (report/conformance/), checked against the stored Lua table,
  3. the RFC 6455 deviations of the original, each with a minimal reproducer,
  4. a short jsfuzz campaign on every parser and a differential run against protocol.lua,
  5. a short session diff: generated whole sessions, both roles, against the library in nginx
     (report/session.json), and with --mutate, mutation testing of the library (report/mutate.json),
and write report/index.html and report/index.json (plus the latest report/bench.json ratios, if any).
Installs the peer first when it is missing (scripts/setup-peers.sh, needs root for apt-get).

${renderOptions(options)}

A part that compared nothing (no peer, no luajit, probes that could not reach the peer) is an error,
not a pass. The peer is health-checked; when it dies it is restarted once, and the restart and the
cases it affected are named in the part's summary and report/index.json. Each part names the
_VERSION and folder of the library it loaded (index.json "libraries"); two parts that loaded
different copies is an error. Ctrl-C / SIGTERM stops every child (nginx, jsfuzz, luajit), removes the
temp prefixes and leaves report/index.json with finished: false, ok: false, interrupted: true.

Exit code: 0 when every part passed (the Lua library's own deviations are findings, not failures),
1 otherwise (130/143 when interrupted), 2 for bad options.

Examples:
  npm start                       # = wslab lab, after installing what is missing
  wslab lab --skip fuzz,diff      # interop + conformance only
  wslab lab --full --fuzz-time 60s
  wslab lab --mutate --mutate-budget 30m`;

const progress = createProgress(process.stderr);
function log(line: string): void {
  progress.line(line);
}

/** Installs the native peer when it is missing and we can (root, apt). */
async function ensurePeer(): Promise<string | null> {
  const { nativeUnavailable } = await import('../lab/peers/native/index.js');
  let why = nativeUnavailable();
  if (!why) return null;
  if (process.getuid?.() !== 0) return `${why} (run as root to install it)`;
  log('lab: installing the native peer (scripts/setup-peers.sh) ...');
  const r = spawnSync('bash', [join(ROOT_DIR, 'scripts', 'setup-peers.sh')], { stdio: ['ignore', humanStdio(), 'inherit'] });
  if (r.status !== 0) return `scripts/setup-peers.sh failed (exit ${r.status}); ${why}`;
  why = nativeUnavailable();
  return why;
}

type LabOptions = ReturnType<typeof parseCommandLine<typeof options>>['values'];

/** What a part's step returns: its verdict, summary and data (the title and duration are the section's). */
type PartOutcome = Omit<SectionStatus, 'title' | 'durationMs'>;

/** What the parts of one `wslab lab` share. */
interface LabContext {
  run: Run<LabReport>;
  values: LabOptions;
  outDir: string;
  skip: ReadonlySet<string>;
  /** The peer, once, for every part that needs it; peerWhy says why there is none. */
  peer: RunningPeer | null;
  supervisor: PeerSupervisor | null;
  peerWhy: string | null;
}

/** index.json (and index.html beside it), claimed before any part starts: a second lab run on the folder stops here. */
function startLabRun(values: LabOptions, outDir: string): LabContext {
  const report: LabReport = { generatedAt: new Date().toISOString(), durationMs: 0, peer: null, sections: {}, ok: false, finished: false, interrupted: false, libraries: [], peerRestarts: [] };
  const shared: Omit<LabContext, 'run'> = { values, outDir, skip: new Set<string>(values.skip), peer: null, supervisor: null, peerWhy: null };
  const run = new Run(report, {
    file: join(outDir, 'index.json'),
    alsoWrite: (r) => writeAtomic(join(outDir, 'index.html'), renderLabHtml(r, loadLabFiles(outDir))),
    refresh: (r, elapsedMs) => {
      r.durationMs = elapsedMs;
      if (shared.supervisor) r.peerRestarts = shared.supervisor.restarts;
    },
    // Ctrl-C: the report on disk says so (the handler in lab/children.ts then stops every child).
    onInterrupt: (r) => {
      for (const x of Object.values(r.sections)) if (x.status === 'running') Object.assign(x, { status: 'error', summary: 'interrupted' });
    },
  });
  return Object.assign(shared, { run });
}

/** A part's loaded library: recorded, and an error when it is not the copy the other parts loaded. */
function loaded(c: LabContext, lib: LoadedLibrary): string | null {
  const libraries = c.run.report.libraries!;
  libraries.push(lib);
  return differentCopies(libraries);
}

/** Runs one part as a section of the report (or records it skipped), saving before and after. */
async function section(c: LabContext, name: string, title: string, body: () => Promise<PartOutcome>): Promise<void> {
  const { report } = c.run;
  if (c.skip.has(name)) {
    report.sections[name] = { title, status: 'skipped', summary: 'skipped (--skip)', durationMs: 0 };
    c.run.save();
    return;
  }
  log(`lab: ${title} ...`);
  const t = Date.now();
  report.sections[name] = { title, status: 'running', summary: 'running', durationMs: 0 };
  c.run.save();
  try {
    report.sections[name] = { title, ...(await body()), durationMs: Date.now() - t };
  } catch (e) {
    report.sections[name] = { title, status: 'error', summary: (e as Error).message, durationMs: Date.now() - t };
  }
  const s = report.sections[name]!;
  log(`lab: ${title}: ${s.status} — ${s.summary} (${(s.durationMs / 1000).toFixed(1)} s)`);
  c.run.save();
}

/** The peer, once, for every part that needs it (installed first when missing and we can). */
async function startLabPeer(c: LabContext): Promise<void> {
  const backend = c.values.backend;
  if (backend !== 'container') c.peerWhy = await ensurePeer();
  if (!c.peerWhy || backend === 'container' || backend === 'auto') {
    try {
      const { startPeer } = await import('../lab/peers/index.js');
      const peerOpts = { backend: backend ?? 'auto' };
      const peer = await startPeer(peerOpts);
      c.peer = peer;
      c.supervisor = PeerSupervisor.forOwnPeer(peer, peerOpts);
      c.run.report.peer = { backend: peer.backend, lib: peer.lib };
      c.run.report.libraries!.push({ part: 'peer', version: peer.lib.clientVersion, path: peer.lib.path });
      log(`lab: peer ${peer.backend}, lua-resty-websocket ${peer.lib.clientVersion} (${peer.lib.source}), ngx_lua ${peer.lib.ngxLuaVersion}`);
    } catch (e) {
      c.peerWhy = (e as Error).message;
    }
  }
  if (!c.peer) log(`lab: no peer: ${c.peerWhy}; the parts that need it are marked`);
  c.run.save();
}

/** Interop in four directions, then the browser direction. */
async function interopPart(c: LabContext): Promise<PartOutcome> {
  if (!c.supervisor) return { status: 'error', summary: `no peer: ${c.peerWhy}` };
  const { runInterop } = await import('../conformance/interop/index.js');
  const { browserSummaryLine } = await import('../conformance/interop/browser/index.js');
  const r = await runInterop({ supervisor: c.supervisor, outDir: c.outDir, onResult: (x, done, total) => progress.update(`  interop ${fraction(done, total)} · ${x.scenario} ${x.direction}: ${x.verdict}`) });
  const b = r.browser?.summary;
  const s = r.summary;
  const notes = [
    ...r.flakyRuns.map((f) => `flaky: ${f.scenario} ${f.direction}`),
    ...r.restarts.map((x) => `peer died (noticed ${x.noticedBy}), ${x.restarted ? 'restarted' : `not restarted: ${x.error}`}`),
    ...(r.affected.length ? [`run again after the restart: ${r.affected.map((a) => `${a.scenario} ${a.direction}`).join(', ')}`] : []),
    ...(s.pass + s.fail === 0 ? ['nothing was compared'] : []),
  ];
  return {
    status: s.pass + s.fail === 0 || r.restarts.length ? 'error' : s.fail + s.error + (b ? b.fail + b.error : 0) > 0 ? 'fail' : 'pass',
    summary: `${s.pass} pass${s.flaky ? ` (${s.flaky} flaky)` : ''}, ${s.fail} fail, ${s.skip} skip (library ${r.luaLib.version}), ${s.error} error; ${s.unexplainedDifferences} unexplained and ${s.explainedDifferences} explained differences${r.browser ? `; ${browserSummaryLine(r.browser)}` : ''}${notes.length ? `. ${notes.join('; ')}` : ''}`,
    link: 'interop.html',
    data: { ...s, flakyRuns: r.flakyRuns, restarts: r.restarts, affected: r.affected, luaLib: r.luaLib },
  };
}

/** The conformance run, checked against the must-pass agents and the stored Lua table. */
async function conformancePart(c: LabContext, exclude: string): Promise<PartOutcome> {
  const { runConformance, runProblems, summarizeRun, MUST_PASS } = await import('../conformance/index.js');
  const { diffAgainst, readExpected } = await import('../conformance/expected.js');
  const agents = ['ws-server', 'ws-client', 'ours-server-strict', 'ours-client-strict', 'ours-server-compat', 'ours-client-compat', ...(c.supervisor ? ['lua-server', 'lua-client'] : []), 'chromium-client'];
  const total = selectCases('*', exclude).length * agents.length;
  let done = 0;
  const onResult = (x: { agent: string; id: string }): void => progress.update(`  conformance ${fraction(++done, total)} · ${x.agent} ${x.id}`);
  const r = await runConformance({ agents, supervisor: c.supervisor ?? undefined, exclude, outDir: join(c.outDir, 'conformance'), concurrency: agents.length, onResult });
  const merged = { ...r.servers, ...r.clients };
  const table = readExpected();
  const perAgent = summarizeRun(r);
  const problems = runProblems(r, MUST_PASS);
  for (const [ours, lua] of [['ours-server-compat', 'lua-server'], ['ours-client-compat', 'lua-client'], ['lua-server', 'lua-server'], ['lua-client', 'lua-client']] as const) {
    if (!merged[ours]) continue;
    const d = diffAgainst(table.agents[lua] ?? {}, merged[ours]!, r.selected);
    if (d.length) problems.push(`${ours} differs from the stored Lua table in ${d.length} case(s): ${d.slice(0, 5).map(([id, w, h]) => `${id} ${w} -> ${h}`).join('; ')}`);
  }
  if (r.lib) {
    const mixed = loaded(c, { ...r.lib, part: 'conformance (Lua agents)' });
    if (mixed) problems.push(mixed);
  }
  const reruns = r.reruns.length ? ` Re-run: ${r.reruns.map((x) => `${x.agent} ${x.id}${x.first !== x.final ? ' (flaky)' : ''}`).join(', ')}.` : '';
  return {
    status: problems.length ? (Object.keys(r.errors).length || r.restarts.length ? 'error' : 'fail') : 'pass',
    summary: `${Object.entries(perAgent).map(([a, s]) => `${a} ${s.pass}/${s.cases}`).join(', ')}${Object.entries(r.skipped).map(([a, why]) => `; ${a} skipped: ${why}`).join('')}${problems.length ? `. Problems: ${problems.join('; ')}` : '. Lua agents match the stored table; compat == Lua on every case.'}${reruns}`,
    link: 'conformance/servers/index.html',
    extraLinks: { 'client matrix': 'conformance/clients/index.html', 'run data': 'conformance/run.json' },
    data: { perAgent, errors: r.errors, durationMs: r.durationMs, reruns: r.reruns, flaky: r.flaky, restarts: r.restarts, affected: r.affected, lib: r.lib, timing: r.timing },
  };
}

/** The RFC 6455 deviations of the original: frame probes under luajit, handshake probes on the peer. */
async function deviationsPart(c: LabContext): Promise<PartOutcome> {
  const { runFrameProbes } = await import('../conformance/deviations/frame-probes.js');
  const { judgeDeviations } = await import('../conformance/deviations/judge.js');
  const oracle: { lib: { version: string; path: string } | null } = { lib: null };
  const frame = await runFrameProbes(undefined, (l) => (oracle.lib = l));
  let handshake: Awaited<ReturnType<typeof import('../conformance/deviations/handshake-probes.js')['runHandshakeProbes']>> | null = null;
  if (c.supervisor && (await c.supervisor.check('before the deviations')) !== 'dead') handshake = await (await import('../conformance/deviations/handshake-probes.js')).runHandshakeProbes(c.supervisor.current);
  const v = judgeDeviations(frame, handshake);
  const mixed = oracle.lib ? loaded(c, { part: 'deviations (protocol.lua under luajit)', version: oracle.lib.version, path: dirname(oracle.lib.path) }) : null;
  return {
    status: mixed ? 'error' : v.status,
    summary: mixed ? `${mixed}; ${v.summary}` : v.summary,
    data: { frame, handshake, compared: v.compared, errors: v.errors, oracle: oracle.lib },
  };
}

/** A short jsfuzz campaign on every parser. */
async function fuzzPart(c: LabContext): Promise<PartOutcome> {
  const { runCampaign } = await import('../fuzz/campaign.js');
  const onProgress = (p: { target: string; elapsedMs: number; execs: number; execsPerSec: number; coverage: number }): void => progress.update(`  fuzz ${p.target} ${(p.elapsedMs / 1000).toFixed(0)} s · ${p.execs.toLocaleString('en')} execs (${rate(p.execsPerSec)}) · coverage ${p.coverage}`);
  const r = await runCampaign({ target: 'all', timeMs: c.values['fuzz-time'], jobs: 2, reportFile: join(c.outDir, 'fuzz.json'), onProgress });
  return {
    status: r.totals.execs === 0 ? 'error' : r.ok && r.totals.findings === 0 ? 'pass' : 'fail',
    summary: `${r.totals.execs === 0 ? 'no input was run: ' : ''}${r.totals.execs.toLocaleString('en')} execs (${Math.round(r.totals.execsPerSec).toLocaleString('en')}/s) on ${r.targets.length} targets; ${r.totals.findings} findings; ${r.targets.map((t) => `${t.target} ${Math.round(t.execsPerSec)}/s`).join(', ')}`,
    link: 'fuzz.json',
    data: r.totals,
  };
}

/** The differential run against protocol.lua. */
async function diffPart(c: LabContext): Promise<PartOutcome> {
  const { runDiff } = await import('../fuzz/diff/runner.js');
  const { oracleUnavailable } = await import('../lab/lua-oracle.js');
  const why = oracleUnavailable();
  if (why) return { status: 'error', summary: why };
  const r = await runDiff({ timeMs: c.values['diff-time'], reportFile: join(c.outDir, 'diff.json'), onProgress: (p) => progress.update(`  diff ${(p.elapsedMs / 1000).toFixed(0)} s · ${p.cases.toLocaleString('en')} cases (${rate(p.casesPerSec)}) · ${p.divergences} divergences`) });
  const mixed = loaded(c, { part: 'diff (protocol.lua under luajit)', version: r.luaVersion, path: dirname(r.luaProtocol) });
  return {
    status: mixed || r.cases === 0 ? 'error' : r.ok && r.divergenceCount === 0 ? 'pass' : 'fail',
    summary: `${mixed ? `${mixed}; ` : ''}${r.cases === 0 ? 'no case was compared; ' : ''}${r.cases.toLocaleString('en')} cases (${Math.round(r.casesPerSec).toLocaleString('en')}/s, seed ${r.seed}) against protocol.lua ${r.luaVersion} (${r.luaProtocol}); ${r.divergenceCount} divergences`,
    link: 'diff.json',
    data: { cases: r.cases, casesPerSec: r.casesPerSec, divergences: r.divergenceCount, seed: r.seed, luaVersion: r.luaVersion, luaProtocol: r.luaProtocol },
  };
}

/** A short session diff against the library in nginx. */
async function sessionPart(c: LabContext): Promise<PartOutcome> {
  if (!c.peer) return { status: 'error', summary: `no peer: ${c.peerWhy}` };
  const { runSessionDiff } = await import('../fuzz/session/runner.js');
  const r = await runSessionDiff({ peer: c.peer, timeMs: c.values['session-time'], reportFile: join(c.outDir, 'session.json') });
  return {
    status: r.ok ? 'pass' : r.sessions.server + r.sessions.client === 0 ? 'error' : 'fail',
    summary: `${r.sessions.server} server + ${r.sessions.client} client sessions (${r.sessionsPerSec}/s, seed ${r.seed}) against ${c.peer.lib.clientVersion}; ${r.divergences.length} unexplained divergences${r.divergences.length ? ` (${r.divergences.map((d) => shownPath(d.file)).join(', ')})` : ''}; explained: ${r.explained.map((e) => `${e.id} x${e.count}`).join(', ') || 'none'}; ${r.retries.length} retries${r.stallReruns.length ? `, ${r.stallReruns.length} re-run after a stall` : ''}${r.errors.length ? `; errors: ${r.errors.slice(0, 2).join('; ')}` : ''}`,
    link: 'session.json',
    data: { sessions: r.sessions, sessionsPerSec: r.sessionsPerSec, seed: r.seed, divergences: r.divergences, explained: r.explained, retries: r.retries.length, stallReruns: r.stallReruns.length },
  };
}

/** Mutation testing of the library (--mutate). */
async function mutatePart(c: LabContext): Promise<PartOutcome> {
    const { runMutate } = await import('../fuzz/mutate/runner.js');
    const r = await runMutate({ luaLib: c.values['lua-lib'] ?? process.env.RESTY_WEBSOCKET_LIB, budgetMs: c.values['mutate-budget'], reportFile: join(c.outDir, 'mutate.json') });
    const files = Object.entries(r.files).map(([f, x]) => `${f} ${x.killRate === null ? 'n/a' : `${Math.round(x.killRate * 100)}%`} (${x.killed}/${x.killed + x.survived}; ${x.equivalent} equivalent, ${x.didNotLoad} did not load)`);
    const survivors = r.mutants.filter((m) => m.status === 'survived');
    return {
      status: r.ok ? 'pass' : 'fail',
      summary: r.refused ? `refused: ${r.refused}` : `kill rates: ${files.join(', ')}; ${survivors.length} survivors${survivors.length ? `: ${survivors.slice(0, 3).map((m) => `${m.id} ${m.before} => ${m.after}`).join('; ')}` : ''}`,
      link: 'mutate.json',
      data: { baseline: r.baseline, files: r.files, survivors },
    };
}

/** The latest `wslab bench` ratios, when there are any. */
function benchSection(outDir: string): SectionStatus {
  const benchPath = join(outDir, 'bench.json');
  return existsSync(benchPath)
    ? { title: 'Benchmarks (latest `wslab bench`)', status: 'info', summary: `ratios from ${shownPath(benchPath)}`, link: 'bench.json', data: JSON.parse(readFileSync(benchPath, 'utf8')), durationMs: 0 }
    : { title: 'Benchmarks', status: 'info', summary: `no ${shownPath(benchPath)} yet: run \`npx wslab bench --out ${shownPath(benchPath)}\``, durationMs: 0 };
}

/** Every part in turn; a part that cannot run says why and the others still run. */
async function runParts(c: LabContext): Promise<void> {
  const full = !!c.values.full;
  await section(c, 'interop', 'Interop: our implementation vs the Lua library, four directions', () => interopPart(c));
  // The default is the fast part of the catalogue; --full adds the long-running sections.
  await section(c, 'conformance', `Conformance: Autobahn cases ${full ? '1-7, 9, 10, 12, 13' : '1-7, 10'} (ported)`, () => conformancePart(c, full ? '' : LAB_DEFAULT_EXCLUDE));
  await section(c, 'deviations', 'RFC 6455 deviations of the original, with minimal reproducers', () => deviationsPart(c));
  await section(c, 'fuzz', 'Fuzzing: jsfuzz campaigns on every parser', () => fuzzPart(c));
  await section(c, 'diff', 'Differential fuzzing: our decoder vs the original protocol.lua', () => diffPart(c));
  await section(c, 'session', 'Session diff: generated whole sessions, both roles, against the library in nginx', () => sessionPart(c));
  if (c.values.mutate) await section(c, 'mutate', 'Mutation testing of the library: would the lab notice a change?', () => mutatePart(c));
  c.run.report.sections.bench = benchSection(c.outDir);
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('lab', argv, options);
  // One library for every part (peer, Lua agents, diff, frame deviations): RESTY_WEBSOCKET_LIB.
  const libErr = chooseLuaLib(values['lua-lib']);
  if (libErr) throw new UsageError('lab', `--lua-lib: ${libErr}`);
  const notLoading = chosenLibraryLoadError();
  if (notLoading !== null) {
    console.error(`wslab lab: ${notLoading}`);
    return 1;
  }
  const outDir = values.out ?? REPORT_DIR;
  mkdirSync(outDir, { recursive: true });
  const c = startLabRun(values, outDir);
  await startLabPeer(c);
  try {
    await runParts(c);
  } catch (e) {
    c.run.release();
    throw e;
  } finally {
    await (c.supervisor?.current ?? c.peer)?.stop();
  }
  const mixed = differentCopies(c.run.report.libraries!);
  const report = c.run.finish((r, stopped) => {
    r.finished = true;
    r.ok = !stopped && !mixed && (c.supervisor?.restarts.length ?? 0) === 0 && Object.values(r.sections).every((s) => s.status === 'pass' || s.status === 'skipped' || s.status === 'info');
    if (mixed) log(`lab: ${mixed}`);
  });
  log(`lab: ${report.ok ? 'all parts passed' : 'some parts failed'} in ${(c.run.elapsedMs() / 1000).toFixed(0)} s; ${shownPath(join(outDir, 'index.html'))}`);
  if (values.json) printJson({ ok: report.ok, sections: Object.fromEntries(Object.entries(report.sections).map(([k, s]) => [k, { status: s.status, summary: s.summary }])) });
  return report.ok ? 0 : 1;
}
