// `wslab diff`: differential fuzzing of our frame codec against the original protocol.lua.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseCommandLine, shownPath, UsageError } from '../../cli/args.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { chooseLuaLib } from '../../lab/lua-lib.js';
import { handshakeDiffUnavailable, runHandshakeDiff, type HandshakeDiffReport } from './handshake-diff.js';
import { runDiff, type DiffReport } from './runner.js';

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

Options:
  --time D       wall time: 90, 90s, 10m (default: 60s)
  --cases N      stop after N cases
  --seed N       fast-check seed (default: random; printed, to repeat a run)
  --no-corpus    skip the jsfuzz corpus replay
  --handshake D  then also diff the server handshake for D (needs the native nginx peer: the
                 original server:new() at /diff-handshake vs our HTTP edge, impl/request-head.ts, + checkHandshake)
  --handshake-mutate  with --handshake: also edit bytes in the header lines (how closely our
                 request parser follows nginx's own refusals)
  --findings DIR where to save divergences (default: fuzz/findings)
  --report FILE  summary JSON (default: report/diff.json)
  --quiet        no progress lines
  --lua-lib DIR  the lua-resty-websocket copy to compare with (or RESTY_WEBSOCKET_LIB)

Examples:
  wslab diff --time 60s
  wslab diff --time 10m --seed 42
  wslab diff --time 30s --handshake 30s
  RESTY_WEBSOCKET_LIB=/src/lua-resty-websocket/lib wslab diff --cases 100000`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('diff', argv, {
    time: { type: 'duration' },
    cases: { type: 'number', integer: true, min: 1 },
    seed: { type: 'number', integer: true },
    'no-corpus': { type: 'flag' },
    handshake: { type: 'duration' },
    'handshake-mutate': { type: 'flag' },
    findings: { type: 'string' },
    report: { type: 'string', default: join(ROOT_DIR, 'report', 'diff.json') },
    quiet: { type: 'flag' },
    'lua-lib': { type: 'string' },
  });
  const libErr = chooseLuaLib(values['lua-lib']);
  if (libErr) throw new UsageError('diff', `--lua-lib: ${libErr}`);
  let report: DiffReport;
  let handshake: HandshakeDiffReport | null = null;
  try {
    const tty = process.stderr.isTTY === true;
    let last = 0;
    report = await runDiff({
      // --cases alone runs until that many cases; otherwise --time (default 60 s) bounds the run
      timeMs: values.time ?? (values.cases ? 24 * 3_600_000 : 60_000),
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
    if (tty && !values.quiet) process.stderr.write('\n');
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
  } catch (e) {
    console.error(`wslab diff: ${(e as Error).message}`);
    return 2;
  }
  console.log(formatDiffReport(report));
  if (handshake) console.log(formatHandshakeReport(handshake));
  console.log(`\nreport: ${shownPath(values.report)}`);
  return report.ok && (handshake?.ok ?? true) ? 0 : 1;
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
