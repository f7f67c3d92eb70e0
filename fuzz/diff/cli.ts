// `wslab diff`: differential fuzzing of our frame codec against the original protocol.lua.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseCommandLine, renderOptions, shownPath, UsageError, type OptionsSpec } from '../../lab/args.js';
import { printJson } from '../../lab/output.js';
import { createProgress } from '../../lab/progress.js';
import { REPORT_DIR } from '../../lab/paths.js';
import { claimReport } from '../../lab/reports.js';
import { chooseLuaLib, chosenLibraryLoadError } from '../../lab/lua-lib.js';
import { handshakeDiffUnavailable, runHandshakeDiff, type HandshakeDiffReport } from './handshake-diff.js';
import { runDiff, type DiffReport } from './runner.js';
import { startPeer } from '../../lab/peers/index.js';
import { DEFAULT_SESSION_JOBS, formatSessionReport, runSessionDiff, type Role, type SessionReport } from '../session/runner.js';

/** `wslab diff`'s options: the parser's spec and the Options block of its help. */
export const options = {
  time: { type: 'duration', help: 'wall time: 90, 90s, 10m (default: 60s)' },
  cases: { type: 'number', integer: true, min: 1, help: 'stop after N cases' },
  seed: { type: 'number', integer: true, help: 'fast-check seed (default: random; printed, to repeat a run)' },
  'no-corpus': { type: 'flag', help: 'skip the jsfuzz corpus replay' },
  handshake: {
    type: 'duration',
    help: 'then also diff the server handshake for D (needs the native nginx peer: the\noriginal server:new() at /diff-handshake vs our HTTP edge, impl/request-head.ts, + checkHandshake)',
  },
  'handshake-mutate': { type: 'flag', help: "with --handshake: also edit bytes in the header lines (how closely our\nrequest parser follows nginx's own refusals)" },
  session: {
    type: 'duration',
    help: [
      'then also diff whole sessions for D (needs the nginx peer): generated upgrade',
      'requests, server:new()/client:new()/connect() options, API-call programs and',
      'byte-level peer traffic (every opcode, fragments, close bodies, boundary lengths,',
      'cuts, pauses around the timeouts, FIN/close/RST and calls after them), run on',
      'the real library in nginx and on ours, compared call by call, on the wire and',
      'at TCP close. Divergences are',
      'shrunk and saved to fuzz/findings/session/ (replay: wslab interop --scenario-file F);',
      'known version differences are counted under their declared spec item.',
      'Writes report/session.json. With --session and no --time, only sessions run.',
    ].join('\n'),
  },
  sessions: {
    type: 'number', integer: true, min: 1,
    help: 'with --session: run exactly N sessions (split evenly over the jobs, each from\nits own seed), so the same --seed runs the same sessions however loaded the\nmachine is; the --session duration is then only a safety limit',
  },
  roles: { type: 'list', choices: ['server', 'client'], help: 'with --session: server,client (default both)' },
  jobs: { type: 'number', integer: true, min: 1, max: 16, help: `with --session: sessions run side by side (default ${DEFAULT_SESSION_JOBS})` },
  'shrink-budget': { type: 'duration', help: 'with --session: how long one divergence is shrunk (default 60s; 0 = not)' },
  'max-findings': { type: 'number', integer: true, min: 1, help: 'with --session: stop after N distinct divergences (default 5)' },
  findings: { type: 'string', value: 'DIR', help: 'where to save divergences (default: fuzz/findings)' },
  report: { type: 'string', value: 'FILE', default: join(REPORT_DIR, 'diff.json'), help: 'summary JSON (default: report/diff.json)' },
  quiet: { type: 'flag', help: 'no progress lines' },
  json: { type: 'flag', help: 'print { ok, frame, handshake, session } (each part\'s report, null when it did not\nrun) as one JSON document on stdout; human lines go to stderr' },
  'lua-lib': { type: 'string', value: 'DIR', help: 'the lua-resty-websocket copy to compare with (or RESTY_WEBSOCKET_LIB)' },
} as const satisfies OptionsSpec;

export const help = `Usage: wslab diff [--time 60s] [--cases N] [--seed N] [options]

Feeds the same byte streams, in the same chunking, to our FrameDecoder and to the ORIGINAL
protocol.lua (run by luajit through fixtures/lua/diff/driver.lua with a stub ngx and a fake socket)
and compares recv_frame's data/typ/err exactly, including the error after a stream ends mid-frame;
also build_frame and send_frame outputs with a fixed masking key. Cases come from fast-check
generators (valid and near-valid frames, boundary lengths up to 2^64-1, non-minimal lengths, bit
flips, random chunkings) and from the jsfuzz corpus of the frame-compat target. A divergence is
minimised and saved with both answers to fuzz/findings/diff/. Exit code 1 on any divergence.

The original is Debian's lua-nginx-websocket 0.08 (protocol.lua is the same in v0.08..v0.13 but
for _VERSION), extracted by scripts/setup.sh; --lua-lib DIR (or RESTY_WEBSOCKET_LIB=DIR) selects another
copy, in either layout (DIR/resty/websocket/*.lua or Debian's DIR/nginx/websocket/*.lua), for the
frame diff and the handshake diff alike.

${renderOptions(options)}

Examples:
  wslab diff --time 60s
  wslab diff --time 10m --seed 42
  wslab diff --time 30s --handshake 30s
  nice wslab diff --time 0 --session 10m --seed 7
  wslab diff --time 0 --session 60s --roles client
  RESTY_WEBSOCKET_LIB=/src/lua-resty-websocket/lib wslab diff --cases 100000`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('diff', argv, options);
  const libErr = chooseLuaLib(values['lua-lib']);
  if (libErr) throw new UsageError('diff', `--lua-lib: ${libErr}`);
  // Every part of diff loads the library: the frame diff's luajit oracle, the handshake and session diffs' peer.
  const notLoading = chosenLibraryLoadError();
  if (notLoading !== null) {
    console.error(`wslab diff: ${notLoading}`);
    return 1;
  }
  let report: DiffReport | null = null;
  let handshake: HandshakeDiffReport | null = null;
  let session: SessionReport | null = null;
  const sessionFile = join(dirname(values.report), 'session.json');
  // Both reports are this run's before anything starts: a second run stops here, pointed at --report.
  claimReport(values.report, '--report');
  if (values.session !== undefined) claimReport(sessionFile, '--report');
  try {
    const tty = process.stderr.isTTY === true;
    let last = 0;
    // With --session, --time 0 (or no --time) leaves the frame diff out.
    const frameMs = values.time ?? (values.session !== undefined ? 0 : values.cases ? 24 * 3_600_000 : 60_000);
    if (frameMs > 0 || values.session === undefined) report = await runDiff({
      // --cases alone runs until that many cases; otherwise --time (default 60 s) bounds the run
      timeMs: frameMs,
      ...(values.cases ? { maxCases: values.cases } : {}),
      ...(values.seed !== undefined ? { seed: values.seed } : {}),
      useCorpus: !values['no-corpus'],
      ...(values.findings ? { findingsDir: values.findings } : {}),
      reportFile: values.report,
      ...(values.quiet
        ? {}
        : {
            onProgress: (p) => {
              const line = `[diff] ${(p.elapsedMs / 1000).toFixed(0)}s cases ${p.cases} (${p.casesPerSec}/s) divergences ${p.divergences}`;
              if (tty) process.stderr.write(`\r${line.padEnd(80)}`);
              else if (Date.now() - last >= 5000) {
                last = Date.now();
                console.error(line);
              }
            },
          }),
    });
    if (tty && !values.quiet && report) process.stderr.write('\n');
    if (values.handshake !== undefined) {
      const why = handshakeDiffUnavailable();
      if (why) throw new Error(`--handshake: ${why}`);
      handshake = await runHandshakeDiff({
        timeMs: values.handshake,
        mutate: values['handshake-mutate'],
        ...(values.seed !== undefined ? { seed: values.seed } : {}),
        ...(values.findings ? { findingsDir: values.findings } : {}),
      });
      const file = values.report.replace(/\.json$/, '') + '-handshake.json';
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, JSON.stringify(handshake, null, 2) + '\n');
    }
    if (values.session !== undefined) {
      session = await runSessionPart(values.session, {
        seed: values.seed, maxSessions: values.sessions, roles: values.roles as Role[] | undefined, jobs: values.jobs, luaLib: values['lua-lib'], shrinkBudgetMs: values['shrink-budget'], maxFindings: values['max-findings'],
        findings: values.findings, quiet: values.quiet, reportFile: sessionFile,
      });
    }
  } catch (e) {
    console.error(`wslab diff: ${(e as Error).message}`);
    return 2;
  }
  if (report) console.log(formatDiffReport(report));
  if (handshake) console.log(formatHandshakeReport(handshake));
  if (session) console.log(formatSessionReport(session));
  console.log(`\nreport: ${[report ? shownPath(values.report) : null, session ? shownPath(sessionFile) : null].filter(Boolean).join(' ')}`);
  const ok = (report?.ok ?? true) && (handshake?.ok ?? true) && (session?.ok ?? true);
  if (values.json) printJson({ ok, frame: report, handshake, session });
  return ok ? 0 : 1;
}

/** The --session part: starts the peer, runs the session diff, stops the peer (Ctrl-C leaves an interrupted report). */
async function runSessionPart(
  timeMs: number,
  o: { seed?: number; maxSessions?: number; roles?: Role[]; jobs?: number; luaLib?: string; shrinkBudgetMs?: number; maxFindings?: number; findings?: string; quiet: boolean; reportFile: string },
): Promise<SessionReport> {
  const peer = await startPeer({ luaLib: o.luaLib });
  const abort = new AbortController();
  const onSigint = (): void => abort.abort();
  process.once('SIGINT', onSigint);
  // A status line rewritten in place on a terminal; in a log, a plain line every 5 s.
  const progress = createProgress(process.stderr, process.stderr.isTTY ? {} : { intervalMs: 5000 });
  try {
    const seed = o.seed;
    const r = await runSessionDiff({
      peer, timeMs, seed, maxSessions: o.maxSessions, roles: o.roles, jobs: o.jobs, reportFile: o.reportFile, signal: abort.signal, shrinkBudgetMs: o.shrinkBudgetMs, maxFindings: o.maxFindings,
      ...(o.findings ? { findingsDir: join(o.findings, 'session') } : {}),
      ...(o.quiet ? {} : {
        onProgress: (p) => progress.update(`[session] ${(p.elapsedMs / 1000).toFixed(0)}s sessions ${p.sessions} (${p.sessionsPerSec}/s) divergences ${p.divergences} explained ${p.explained}`),
      }),
    });
    progress.clear();
    return r;
  } finally {
    process.off('SIGINT', onSigint);
    await peer.stop();
  }
}

export function formatDiffReport(r: DiffReport): string {
  const lines = [
    `original: ${r.luaProtocol} (_VERSION ${r.luaVersion}), seed ${r.seed}`,
    `${r.cases} cases in ${(r.durationMs / 1000).toFixed(1)}s (${r.casesPerSec} cases/s): recv ${r.byKind.recv}, build ${r.byKind.build}, send ${r.byKind.send}, corpus ${r.byKind.corpus}`,
    `divergences: ${r.divergenceCount}${r.divergences.length ? ` (${r.divergences.length} distinct saved)` : ''}`,
  ];
  for (const d of r.divergences) {
    lines.push(`  ${d.signature}${d.duplicate ? ' (already saved)' : ''}`, `    ${d.file}`, `    lua:  ${JSON.stringify(d.lua)}`, `    ours: ${JSON.stringify(d.ours)}`);
  }
  return lines.join('\n');
}

export function formatHandshakeReport(r: HandshakeDiffReport): string {
  const lines = [
    `handshake: ${r.cases} requests in ${(r.durationMs / 1000).toFixed(1)}s (${r.casesPerSec}/s), seed ${r.seed}, divergences: ${r.divergenceCount}${r.luaLib ? `; server.lua ${r.luaLib.version} from ${r.luaLib.path}` : ''}`,
  ];
  for (const d of r.divergences) {
    lines.push(`  ${d.signature}`, `    ${d.file}`, `    request: ${JSON.stringify(d.request)}`, `    lua:  ${JSON.stringify(d.lua)}`, `    ours: ${JSON.stringify(d.ours)}`);
  }
  return lines.join('\n');
}
