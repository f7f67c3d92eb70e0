// `wslab lab`: the main job. Sets up the native peer if it is missing, then runs a short pass of
// everything against it — interop, conformance (our agents and the Lua library), the RFC deviations
// of the original, a fuzz and a differential campaign — and writes report/index.html with a JSON
// twin as results arrive. Each part that cannot run says why; the others still run.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { writeAtomic } from '../lab/fs.js';
import { join } from 'node:path';
import { parseCommandLine, shownPath } from './args.js';
import { ROOT_DIR } from '../lab/paths.js';
import { BACKEND_CHOICES } from '../lab/peers/index.js';
import type { RunningPeer } from '../lab/peers/types.js';
import { renderLabHtml, type LabReport, type SectionStatus } from './lab-report.js';

export const help = `Usage: wslab lab [options]

The main job: on the embedded default peer (Debian's nginx + libnginx-mod-http-lua + the real
lua-resty-websocket), run
  1. the interop scenarios in four directions (report/interop.html),
  2. the conformance run for ws, our server/client (compat and strict) and the Lua library
     (report/conformance/), checked against the stored Lua table,
  3. the RFC 6455 deviations of the original, each with a minimal reproducer,
  4. a short jsfuzz campaign on every parser and a differential run against protocol.lua,
  5. a short session diff: generated whole sessions, both roles, against the library in nginx
     (report/session.json), and with --mutate, mutation testing of the library (report/mutate.json),
and write report/index.html and report/index.json (plus the latest report/bench.json ratios, if any).
Installs the peer first when it is missing (scripts/setup-peers.sh, needs root for apt-get).

Options:
  --skip LIST        parts to leave out: interop,conformance,deviations,fuzz,diff,session
  --full             the whole conformance catalogue (default leaves out the 9.* performance cases)
  --fuzz-time T      per fuzz target (default 10s)
  --diff-time T      differential run (default 20s)
  --session-time T   session diff (default 20s)
  --mutate           also run \`wslab mutate\` (kill rates per file, survivors)
  --mutate-budget T  its budget (default 10m)
  --backend B        native | container | auto (default auto)
  --lua-lib DIR      another lua-resty-websocket lib/ folder (or RESTY_WEBSOCKET_LIB)
  --out DIR          report folder (default report/)
  --json             print the summary as JSON at the end

Exit code: 0 when every part passed (the Lua library's own deviations are findings, not failures), 1 otherwise.

Examples:
  npm start                       # = wslab lab, after installing what is missing
  wslab lab --skip fuzz,diff      # interop + conformance only
  wslab lab --full --fuzz-time 60s
  wslab lab --mutate --mutate-budget 30m`;

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Installs the native peer when it is missing and we can (root, apt). */
async function ensurePeer(): Promise<string | null> {
  const { nativeUnavailable } = await import('../lab/peers/native/index.js');
  let why = nativeUnavailable();
  if (!why) return null;
  if (process.getuid?.() !== 0) return `${why} (run as root to install it)`;
  log('lab: installing the native peer (scripts/setup-peers.sh) ...');
  const r = spawnSync('bash', [join(ROOT_DIR, 'scripts', 'setup-peers.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) return `scripts/setup-peers.sh failed (exit ${r.status}); ${why}`;
  why = nativeUnavailable();
  return why;
}

/** The parts `--skip` can name, in the order they run. */
export const LAB_PARTS = ['interop', 'conformance', 'deviations', 'fuzz', 'diff', 'session'] as const;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('lab', argv, {
    skip: { type: 'list', choices: LAB_PARTS, default: [] }, full: { type: 'flag' },
    'fuzz-time': { type: 'duration', default: '10s' }, 'diff-time': { type: 'duration', default: '20s' },
    'session-time': { type: 'duration', default: '20s' }, mutate: { type: 'flag' }, 'mutate-budget': { type: 'duration', default: '10m' },
    backend: { type: 'string', choices: BACKEND_CHOICES }, 'lua-lib': { type: 'string' }, out: { type: 'string' }, json: { type: 'flag' },
  });
  const skip = new Set<string>(values.skip);
  const outDir = values.out ?? join(ROOT_DIR, 'report');
  mkdirSync(outDir, { recursive: true });
  const started = Date.now();
  const report: LabReport = { generatedAt: new Date().toISOString(), durationMs: 0, peer: null, sections: {}, ok: true, finished: false };
  const save = (): void => {
    report.durationMs = Date.now() - started;
    writeAtomic(join(outDir, 'index.json'), JSON.stringify(report, null, 2));
    writeAtomic(join(outDir, 'index.html'), renderLabHtml(report));
  };
  const section = async (name: string, title: string, body: () => Promise<Omit<SectionStatus, 'title' | 'durationMs'>>): Promise<void> => {
    if (skip.has(name)) {
      report.sections[name] = { title, status: 'skipped', summary: 'skipped (--skip)', durationMs: 0 };
      save();
      return;
    }
    log(`lab: ${title} ...`);
    const t = Date.now();
    report.sections[name] = { title, status: 'running', summary: 'running', durationMs: 0 };
    save();
    try {
      report.sections[name] = { title, ...(await body()), durationMs: Date.now() - t };
    } catch (e) {
      report.sections[name] = { title, status: 'error', summary: (e as Error).message, durationMs: Date.now() - t };
    }
    const s = report.sections[name]!;
    log(`lab: ${title}: ${s.status} — ${s.summary} (${(s.durationMs / 1000).toFixed(1)} s)`);
    save();
  };

  // The peer, once, for every part that needs it.
  let peer: RunningPeer | null = null;
  let peerWhy: string | null = null;
  if (values.backend !== 'container') peerWhy = await ensurePeer();
  if (!peerWhy || values.backend === 'container' || values.backend === 'auto') {
    try {
      const { startPeer } = await import('../lab/peers/index.js');
      peer = await startPeer({ backend: values.backend ?? 'auto', luaLib: values['lua-lib'] });
      report.peer = { backend: peer.backend, lib: peer.lib };
      log(`lab: peer ${peer.backend}, lua-resty-websocket ${peer.lib.clientVersion} (${peer.lib.source}), ngx_lua ${peer.lib.ngxLuaVersion}`);
    } catch (e) {
      peerWhy = (e as Error).message;
    }
  }
  if (!peer) log(`lab: no peer: ${peerWhy}; the parts that need it are marked`);
  save();

  try {
    await section('interop', 'Interop: our implementation vs the Lua library, four directions', async () => {
      if (!peer) return { status: 'error', summary: `no peer: ${peerWhy}` };
      const { runInterop } = await import('../conformance/interop/index.js');
      const r = await runInterop({ peer, outDir });
      const s = r.summary;
      return {
        status: s.fail + s.error > 0 ? 'fail' : 'pass',
        summary: `${s.pass} pass${s.flaky ? ` (${s.flaky} flaky)` : ''}, ${s.fail} fail, ${s.skip} skip (library ${peer.lib.clientVersion}), ${s.error} error; ${s.unexplainedDifferences} unexplained and ${s.explainedDifferences} explained differences`,
        link: 'interop.html',
        data: s,
      };
    });

    await section('conformance', 'Conformance: Autobahn cases 1-7, 9, 10 (ported)', async () => {
      const { runConformance, passes } = await import('../conformance/index.js');
      const { diffAgainst, readExpected } = await import('../conformance/expected.js');
      const agents = ['ws-server', 'ws-client', 'ours-server-strict', 'ours-client-strict', 'ours-server-compat', 'ours-client-compat', ...(peer ? ['lua-server', 'lua-client'] : [])];
      const r = await runConformance({ agents, peer: peer ?? undefined, exclude: values.full ? '' : '9.*', outDir: join(outDir, 'conformance'), timeScale: 2, concurrency: agents.length });
      const merged = { ...r.servers, ...r.clients };
      const table = readExpected();
      const perAgent: Record<string, { cases: number; pass: number }> = {};
      for (const [a, cases] of Object.entries(merged)) perAgent[a] = { cases: Object.keys(cases).length, pass: Object.values(cases).filter(passes).length };
      const problems: string[] = [];
      for (const a of ['ws-server', 'ws-client', 'ours-server-strict', 'ours-client-strict']) {
        if (perAgent[a] && perAgent[a]!.pass !== perAgent[a]!.cases) problems.push(`${a} ${perAgent[a]!.pass}/${perAgent[a]!.cases}`);
      }
      const pick = (t: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(t).filter(([id]) => values.full || !id.startsWith('9.')));
      for (const [ours, lua] of [['ours-server-compat', 'lua-server'], ['ours-client-compat', 'lua-client'], ['lua-server', 'lua-server'], ['lua-client', 'lua-client']] as const) {
        if (!merged[ours]) continue;
        const d = diffAgainst(pick(table.agents[lua] ?? {}), merged[ours]!);
        if (d.length) problems.push(`${ours} differs from the stored Lua table in ${d.length} case(s): ${d.slice(0, 5).map(([id, w, h]) => `${id} ${w} -> ${h}`).join('; ')}`);
      }
      for (const [a, e] of Object.entries(r.errors)) problems.push(`${a}: ${e}`);
      return {
        status: problems.length ? 'fail' : 'pass',
        summary: `${Object.entries(perAgent).map(([a, s]) => `${a} ${s.pass}/${s.cases}`).join(', ')}${problems.length ? `. Problems: ${problems.join('; ')}` : '. Lua agents match the stored table; compat == Lua on every case.'}`,
        link: 'conformance/servers/index.html',
        extraLinks: { 'client matrix': 'conformance/clients/index.html' },
        data: { perAgent, errors: r.errors, durationMs: r.durationMs },
      };
    });

    await section('deviations', 'RFC 6455 deviations of the original, with minimal reproducers', async () => {
      const { runFrameProbes } = await import('../conformance/deviations/frame-probes.js');
      const frame = await runFrameProbes();
      let handshake: Awaited<ReturnType<typeof import('../conformance/deviations/handshake-probes.js')['runHandshakeProbes']>> = [];
      if (peer) handshake = await (await import('../conformance/deviations/handshake-probes.js')).runHandshakeProbes(peer);
      const mismatched = frame.filter((f) => f.compatMatches === false);
      const shown = frame.filter((f) => f.lua !== null).length + handshake.filter((h) => h.deviates).length;
      return {
        status: mismatched.length ? 'fail' : 'pass',
        summary: `${shown} deviations reproduced on the real library (${frame.filter((f) => f.lua !== null).length} frame-level via protocol.lua under luajit, ${handshake.filter((h) => h.deviates).length} handshake-level via nginx)${mismatched.length ? `; compat differs on ${mismatched.map((m) => m.probe.id).join(', ')}` : '; our compat profile reproduces each, strict fixes each'}`,
        data: { frame, handshake },
      };
    });

    await section('fuzz', 'Fuzzing: jsfuzz campaigns on every parser', async () => {
      const { runCampaign } = await import('../fuzz/campaign.js');
      const r = await runCampaign({ target: 'all', timeMs: values['fuzz-time'], jobs: 2, reportFile: join(outDir, 'fuzz.json') });
      return {
        status: r.ok && r.totals.findings === 0 ? 'pass' : 'fail',
        summary: `${r.totals.execs.toLocaleString('en')} execs (${Math.round(r.totals.execsPerSec).toLocaleString('en')}/s) on ${r.targets.length} targets; ${r.totals.findings} findings; ${r.targets.map((t) => `${t.target} ${Math.round(t.execsPerSec)}/s`).join(', ')}`,
        link: 'fuzz.json',
        data: r.totals,
      };
    });

    await section('diff', 'Differential fuzzing: our decoder vs the original protocol.lua', async () => {
      const { runDiff } = await import('../fuzz/diff/runner.js');
      const { oracleUnavailable } = await import('../lab/lua-oracle.js');
      const why = oracleUnavailable();
      if (why) return { status: 'error', summary: why };
      const r = await runDiff({ timeMs: values['diff-time'], reportFile: join(outDir, 'diff.json') });
      return {
        status: r.ok && r.divergenceCount === 0 ? 'pass' : 'fail',
        summary: `${r.cases.toLocaleString('en')} cases (${Math.round(r.casesPerSec).toLocaleString('en')}/s, seed ${r.seed}) against protocol.lua ${r.luaVersion}; ${r.divergenceCount} divergences`,
        link: 'diff.json',
        data: { cases: r.cases, casesPerSec: r.casesPerSec, divergences: r.divergenceCount, seed: r.seed },
      };
    });

    await section('session', 'Session diff: generated whole sessions, both roles, against the library in nginx', async () => {
      if (!peer) return { status: 'error', summary: `no peer: ${peerWhy}` };
      const { runSessionDiff } = await import('../fuzz/session/runner.js');
      const r = await runSessionDiff({ peer, timeMs: values['session-time'], reportFile: join(outDir, 'session.json') });
      return {
        status: r.ok ? 'pass' : r.sessions.server + r.sessions.client === 0 ? 'error' : 'fail',
        summary: `${r.sessions.server} server + ${r.sessions.client} client sessions (${r.sessionsPerSec}/s, seed ${r.seed}) against ${peer.lib.clientVersion}; ${r.divergences.length} unexplained divergences${r.divergences.length ? ` (${r.divergences.map((d) => shownPath(d.file)).join(', ')})` : ''}; explained: ${r.explained.map((e) => `${e.id} x${e.count}`).join(', ') || 'none'}; ${r.retries.length} retries${r.errors.length ? `; errors: ${r.errors.slice(0, 2).join('; ')}` : ''}`,
        link: 'session.json',
        data: { sessions: r.sessions, sessionsPerSec: r.sessionsPerSec, seed: r.seed, divergences: r.divergences, explained: r.explained, retries: r.retries.length },
      };
    });

    if (values.mutate) {
      await section('mutate', 'Mutation testing of the library: would the lab notice a change?', async () => {
        const { runMutate } = await import('../fuzz/mutate/runner.js');
        const r = await runMutate({ luaLib: values['lua-lib'] ?? process.env.RESTY_WEBSOCKET_LIB, budgetMs: values['mutate-budget'], reportFile: join(outDir, 'mutate.json') });
        const files = Object.entries(r.files).map(([f, x]) => `${f} ${x.killRate === null ? 'n/a' : `${Math.round(x.killRate * 100)}%`} (${x.killed}/${x.killed + x.survived}; ${x.equivalent} equivalent, ${x.didNotLoad} did not load)`);
        const survivors = r.mutants.filter((m) => m.status === 'survived');
        return {
          status: r.ok ? 'pass' : 'fail',
          summary: `kill rates: ${files.join(', ')}; ${survivors.length} survivors${survivors.length ? `: ${survivors.slice(0, 3).map((m) => `${m.id} ${m.before} => ${m.after}`).join('; ')}` : ''}`,
          link: 'mutate.json',
          data: { files: r.files, survivors },
        };
      });
    }

    const benchPath = join(outDir, 'bench.json');
    report.sections.bench = existsSync(benchPath)
      ? { title: 'Benchmarks (latest `wslab bench`)', status: 'info', summary: `ratios from ${shownPath(benchPath)}`, link: 'bench.json', data: JSON.parse(readFileSync(benchPath, 'utf8')), durationMs: 0 }
      : { title: 'Benchmarks', status: 'info', summary: `no ${shownPath(benchPath)} yet: run \`npx wslab bench --out ${shownPath(benchPath)}\``, durationMs: 0 };
  } finally {
    await peer?.stop();
  }
  report.finished = true;
  report.ok = Object.values(report.sections).every((s) => s.status === 'pass' || s.status === 'skipped' || s.status === 'info');
  save();
  log(`lab: ${report.ok ? 'all parts passed' : 'some parts failed'} in ${((Date.now() - started) / 1000).toFixed(0)} s; ${shownPath(join(outDir, 'index.html'))}`);
  if (values.json) console.log(JSON.stringify({ ok: report.ok, sections: Object.fromEntries(Object.entries(report.sections).map(([k, s]) => [k, { status: s.status, summary: s.summary }])) }));
  return report.ok ? 0 : 1;
}
