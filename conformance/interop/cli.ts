// `wslab interop`: the interop scenarios in four directions against the peer.
import { join } from 'node:path';
import { parseCommandLine, renderOptions, shownPath, UsageError, type OptionsSpec } from '../../lab/args.js';
import { writeJsonReport } from '../../lab/reports.js';
import { chooseLuaLib, chosenLibraryLoadError } from '../../lab/lua-lib.js';
import { printJson } from '../../lab/output.js';
import { REPORT_DIR } from '../../lab/paths.js';
import { BACKEND_CHOICES } from '../../lab/peers/index.js';
import { attachedLine, attachRecordedPeer } from '../../lab/peers/recorded.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { browserSummaryLine } from './browser/index.js';
import { runInterop, unstableRuns, type InteropRunReport } from './index.js';
import { SCENARIOS } from './scenarios/index.js';
import { DIRECTIONS, type Direction } from './types.js';
import { loadScenarioFile, replaySession, type ScenarioFile } from './scenario-file.js';
import { startPeer, type BackendChoice } from '../../lab/peers/index.js';
import type { Session } from '../../lab/session/types.js';

async function replaySessionFile(s: Session, attached: RunningPeer | undefined, luaLib: string | undefined, backend: string | undefined, json: boolean): Promise<number> {
  const peer = attached ?? (await startPeer({ luaLib, backend: backend as BackendChoice | undefined }));
  try {
    const r = await replaySession(peer, s);
    if (json) printJson({ verdict: r.verdict, directions: r.directions, line: r.line });
    else console.log(`interop: ${s.role} session, library ${peer.lib.clientVersion}: ${r.verdict} — ${r.line}`);
    return r.verdict === 'fail' ? 1 : 0;
  } catch (e) {
    console.error(`wslab interop: ${(e as Error).message}`);
    return 1;
  } finally {
    if (!attached) await peer.stop();
  }
}

/** `wslab interop`'s options: the parser's spec and the Options block of its help. */
export const options = {
  scenarios: { type: 'string', value: 'GLOBS', help: `comma-separated scenario id globs (default: all ${SCENARIOS.length})` },
  exclude: { type: 'string', value: 'GLOBS', help: 'scenario id globs to leave out' },
  directions: { type: 'list', choices: DIRECTIONS, help: `comma-separated subset of ${DIRECTIONS.join(',')}` },
  backend: { type: 'string', choices: BACKEND_CHOICES, value: 'B', help: 'native | container | auto (default auto)' },
  'lua-lib': { type: 'string', value: 'DIR', help: 'another lua-resty-websocket (or RESTY_WEBSOCKET_LIB): DIR/resty/websocket/*.lua\n(upstream, OpenResty) or DIR/nginx/websocket/*.lua (Debian)' },
  out: { type: 'string', value: 'DIR', help: 'report folder (default report/)' },
  retries: {
    type: 'number', integer: true, min: 0,
    help: 'run a failed or errored run again up to N times (default 1; 0 = never); a\nrepeat that passes is reported as "pass (flaky)" with the first reason',
  },
  repeat: {
    type: 'number', integer: true, min: 1, default: 1,
    help: 'run everything N times; reports every scenario direction whose verdict differed\nbetween runs (exit 1 if any did, or if any run failed); <out>/interop-repeat.json',
  },
  'scenario-file': {
    type: 'string', value: 'F',
    help: 'run the scenario in file F instead of the catalogue: an interop scenario as\nJSON (four directions), or a session from fuzz/findings/session/ (the raw\npeer against the Lua library and against ours; exit 1 on a divergence)',
  },
  list: { type: 'flag', help: 'list the scenarios and exit (with --json: { scenarios: [{ id, title }] })' },
  json: { type: 'flag', help: 'print the summary as JSON' },
} as const satisfies OptionsSpec;

export const help = `Usage: wslab interop [options]

Runs every interop scenario (the upstream tests sanity.t, cs.t, limits.t and the documented
behaviour) with the real lua-resty-websocket and with our implementation, in four directions:
lua-lua (the reference), ts-lua, lua-ts and ts-ts (client-server). Each of our runs is compared
call by call with the reference; writes report/interop.json and report/interop.html as results arrive.
Then the browser direction (unless --directions is given): a page in Debian's chromium talks to the
Lua server in nginx and to ours (compat and strict) — text, binary up to 1 MiB, pings, close codes
and reasons both ways, subprotocol lists, server-initiated close, a message over max_payload_len —
and what it observes is compared with the Lua server's run (browser-* ids; skipped with the reason
when chromium is not installed: sudo bash scripts/setup-browser.sh).

${renderOptions(options)}

A direction whose lua-lua reference errored has nothing to compare against: it is an error ("no
reference"), not a pass. The peer is health-checked before every Lua run; when it died it is
restarted once (when this command started it), the run it took along is run again, and both are
named in the summary and interop.json (restarts, affected). Runs that needed their retry are listed
as flaky in the summary and interop.json (flakyRuns).

Exit code: 0 when nothing failed or errored (skips are fine), something was compared and the peer
never died; 1 otherwise; 2 for bad options.

Examples:
  wslab interop
  wslab interop --scenarios 'cs-*' --directions ts-lua,lua-ts
  wslab interop --repeat 10 --retries 0        # a stability check
  RESTY_WEBSOCKET_LIB=/usr/local/openresty/lualib wslab interop
  wslab interop --scenario-file fuzz/findings/session/client-0123456789ab.json`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('interop', argv, options);
  const libErr = chooseLuaLib(values['lua-lib']);
  if (libErr) throw new UsageError('interop', `--lua-lib: ${libErr}`);
  const repeat = values.repeat;
  let file: ScenarioFile | null = null;
  try {
    if (values['scenario-file'] !== undefined) file = loadScenarioFile(values['scenario-file']);
  } catch (e) {
    console.error(`wslab interop: ${(e as Error).message}`);
    return 2;
  }
  if (values.list) {
    if (values.json) printJson({ scenarios: SCENARIOS.map((s) => ({ id: s.id, title: s.title, ...(s.upstream ? { upstream: s.upstream } : {}), ...(s.needs ? { needs: s.needs.version } : {}) })) });
    else for (const s of SCENARIOS) console.log(`${s.id.padEnd(34)} ${s.title}${s.upstream ? ` [${s.upstream}]` : ''}${s.needs ? ` (needs ${s.needs.version})` : ''}`);
    return 0;
  }
  const notLoading = chosenLibraryLoadError();
  if (notLoading !== null) {
    console.error(`wslab interop: ${notLoading}`);
    return 1;
  }
  const directions = values.directions as Direction[] | undefined;
  const retries = values.retries;
  const outDir = values.out ?? REPORT_DIR;
  // The peer `wslab peer start` left running, when it matches --backend and the library asked for.
  let peer: RunningPeer | undefined;
  const recorded = await attachRecordedPeer({ backend: values.backend, luaLib: values['lua-lib'] ?? process.env.RESTY_WEBSOCKET_LIB });
  if (recorded.peer) {
    peer = recorded.peer;
    console.error(attachedLine('interop', peer));
  } else if (recorded.why) console.error(`wslab interop: starting a peer of its own: ${recorded.why}`);
  if (file?.kind === 'session') return replaySessionFile(file.session, peer, values['lua-lib'], values.backend, values.json);
  const tty = process.stderr.isTTY;
  const reports: InteropRunReport[] = [];
  try {
    for (let i = 1; i <= repeat; i++) {
      const tag = repeat > 1 ? `run ${i}/${repeat} ` : '';
      const report = await runInterop({
        ...(file?.kind === 'scenario' ? { scenarioList: [file.scenario] } : {}),
        scenarios: values.scenarios, exclude: values.exclude, directions, retries,
        backend: values.backend, luaLib: values['lua-lib'], outDir: repeat > 1 ? join(outDir, `interop-run-${i}`) : outDir, peer,
        onResult: (r, done, total) => {
          const line = `${tag}[${done}/${total}] ${r.scenario} ${r.direction}: ${r.verdict}${r.reason && r.verdict !== 'pass' ? ` — ${r.reason.split('\n')[0]}` : ''}${r.flaky !== undefined ? ` (flaky; first run: ${r.flaky.split('\n')[0]})` : ''}${r.affectedByPeerDeath ? ' (run again: the peer died during it)' : ''}`;
          const plainPass = r.verdict === 'pass' && r.flaky === undefined && !r.affectedByPeerDeath;
          if (tty && plainPass) process.stderr.write(`\r\x1b[K${line}`);
          else process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
        },
      });
      if (tty) process.stderr.write('\r\x1b[K');
      reports.push(report);
      const s = report.summary;
      if (values.json && repeat === 1) printJson({ ...s, ok: report.ok, flakyRuns: report.flakyRuns, restarts: report.restarts, affected: report.affected, luaLib: report.luaLib, ...(report.browser ? { browser: report.browser.skipped ? { skipped: report.browser.skipped } : report.browser.summary } : {}) });
      else if (!values.json) {
        console.log(`${tag}interop: ${s.pass} pass${s.flaky ? ` (${s.flaky} flaky: passed when run again)` : ''}, ${s.fail} fail, ${s.skip} skip, ${s.error} error; ${s.unexplainedDifferences} unexplained differences (library ${report.luaLib.version} from ${report.luaLib.path}); ${shownPath(join(repeat > 1 ? join(outDir, `interop-run-${i}`) : outDir, 'interop.html'))}`);
        for (const f of report.flakyRuns) console.log(`  flaky: ${f.scenario} ${f.direction} (first run: ${f.firstRun})`);
        for (const r of report.restarts) console.log(`  peer died (noticed ${r.noticedBy}), ${r.restarted ? 'restarted' : `not restarted: ${r.error}`}`);
        if (report.affected.length) console.log(`  run again after the peer's restart: ${report.affected.map((a) => `${a.scenario} ${a.direction}`).join(', ')}`);
        if (s.pass + s.fail === 0) console.log('  nothing was compared: error');
        if (report.browser) console.log(`${tag}interop: ${browserSummaryLine(report.browser)}`);
      }
    }
  } catch (e) {
    console.error(`wslab interop: ${(e as Error).message}`);
    return 1;
  }
  const failedRuns = reports.filter((r) => !r.ok).length;
  if (repeat === 1) return failedRuns > 0 ? 1 : 0;
  const unstable = unstableRuns(reports);
  const flaky = reports.flatMap((r, i) => r.flakyRuns.map((f) => ({ run: i + 1, ...f })));
  const summary = { runs: repeat, failedRuns, unstable, flaky };
  writeJsonReport(join(outDir, 'interop-repeat.json'), summary, 1);
  if (values.json) printJson(summary);
  else {
    console.log(`repeat: ${repeat} runs, ${failedRuns} failed, ${flaky.length} flaky run(s), ${unstable.length} scenario direction(s) whose verdict differed between runs${unstable.length ? ':' : ''}`);
    for (const u of unstable) console.log(`  ${u.scenario} ${u.direction}: ${u.verdicts.join(' | ')}`);
    for (const f of flaky) console.log(`  run ${f.run}: flaky ${f.scenario} ${f.direction} (first run: ${f.firstRun})`);
  }
  return failedRuns > 0 || unstable.length > 0 ? 1 : 0;
}
