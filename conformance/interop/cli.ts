// `wslab interop`: the interop scenarios in four directions against the peer.
import { join } from 'node:path';
import { parseCommandLine, shownPath } from '../../cli/args.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { BACKEND_CHOICES } from '../../lab/peers/index.js';
import { attachedLine, attachRecordedPeer } from '../../lab/peers/recorded.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { runInterop } from './index.js';
import { SCENARIOS } from './scenarios/index.js';
import { DIRECTIONS, type Direction } from './types.js';
import { loadScenarioFile, replaySession, type ScenarioFile } from './scenario-file.js';
import { startPeer, type BackendChoice } from '../../lab/peers/index.js';
import type { Session } from '../../lab/session/types.js';

async function replaySessionFile(s: Session, attached: RunningPeer | undefined, luaLib: string | undefined, backend: string | undefined, json: boolean): Promise<number> {
  const peer = attached ?? (await startPeer({ luaLib, backend: backend as BackendChoice | undefined }));
  try {
    const r = await replaySession(peer, s);
    if (json) console.log(JSON.stringify({ verdict: r.verdict, directions: r.directions, line: r.line }));
    else console.log(`interop: ${s.role} session, library ${peer.lib.clientVersion}: ${r.verdict} — ${r.line}`);
    return r.verdict === 'fail' ? 1 : 0;
  } catch (e) {
    console.error(`wslab interop: ${(e as Error).message}`);
    return 1;
  } finally {
    if (!attached) await peer.stop();
  }
}

export const help = `Usage: wslab interop [options]

Runs every interop scenario (the upstream tests sanity.t, cs.t, limits.t and the documented
behaviour) with the real lua-resty-websocket and with our implementation, in four directions:
lua-lua (the reference), ts-lua, lua-ts and ts-ts (client-server). Each of our runs is compared
call by call with the reference; writes report/interop.json and report/interop.html as results arrive.

Options:
  --scenarios GLOBS   comma-separated scenario id globs (default: all ${SCENARIOS.length})
  --exclude GLOBS     scenario id globs to leave out
  --directions LIST   comma-separated subset of ${DIRECTIONS.join(',')}
  --backend B         native | container | auto (default auto)
  --lua-lib DIR       another lua-resty-websocket lib/ folder (or RESTY_WEBSOCKET_LIB)
  --out DIR           report folder (default report/)
  --retries N         run a failed or errored run again up to N times (default 1; 0 = never); a
                      repeat that passes is reported as "pass (flaky)" with the first reason
  --scenario-file F   run the scenario in file F instead of the catalogue: an interop scenario as
                      JSON (four directions), or a session from fuzz/findings/session/ (the raw
                      peer against the Lua library and against ours; exit 1 on a divergence)
  --list              list the scenarios and exit
  --json              print the summary as JSON

Exit code: 0 when nothing failed or errored (skips are fine), 1 otherwise.

Examples:
  wslab interop
  wslab interop --scenarios 'cs-*' --directions ts-lua,lua-ts
  RESTY_WEBSOCKET_LIB=/usr/local/openresty/lualib wslab interop
  wslab interop --scenario-file fuzz/findings/session/client-0123456789ab.json`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('interop', argv, {
    scenarios: { type: 'string' }, exclude: { type: 'string' }, directions: { type: 'list', choices: DIRECTIONS },
    backend: { type: 'string', choices: BACKEND_CHOICES }, 'lua-lib': { type: 'string' }, out: { type: 'string' }, retries: { type: 'number', integer: true, min: 0 },
    list: { type: 'flag' }, json: { type: 'flag' }, 'scenario-file': { type: 'string' },
  });
  let file: ScenarioFile | null = null;
  try {
    if (values['scenario-file'] !== undefined) file = loadScenarioFile(values['scenario-file']);
  } catch (e) {
    console.error(`wslab interop: ${(e as Error).message}`);
    return 2;
  }
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.id.padEnd(34)} ${s.title}${s.upstream ? ` [${s.upstream}]` : ''}${s.needs ? ` (needs ${s.needs.version})` : ''}`);
    return 0;
  }
  const directions = values.directions as Direction[] | undefined;
  const retries = values.retries;
  const outDir = values.out ?? join(ROOT_DIR, 'report');
  // The peer `wslab peer start` left running, when it matches --backend and the library asked for.
  let peer: RunningPeer | undefined;
  const recorded = await attachRecordedPeer({ backend: values.backend, luaLib: values['lua-lib'] ?? process.env.RESTY_WEBSOCKET_LIB });
  if (recorded.peer) {
    peer = recorded.peer;
    console.error(attachedLine('interop', peer));
  } else if (recorded.why) console.error(`wslab interop: starting a peer of its own: ${recorded.why}`);
  if (file?.kind === 'session') return replaySessionFile(file.session, peer, values['lua-lib'], values.backend, values.json);
  const tty = process.stderr.isTTY;
  try {
    const report = await runInterop({
      ...(file ? { scenarioList: [file.scenario] } : {}),
      scenarios: values.scenarios, exclude: values.exclude, directions, retries,
      backend: values.backend, luaLib: values['lua-lib'], outDir, peer,
      onResult: (r, done, total) => {
        const line = `[${done}/${total}] ${r.scenario} ${r.direction}: ${r.verdict}${r.reason && r.verdict !== 'pass' ? ` — ${r.reason.split('\n')[0]}` : ''}${r.flaky !== undefined ? ` (flaky; first run: ${r.flaky.split('\n')[0]})` : ''}`;
        const plainPass = r.verdict === 'pass' && r.flaky === undefined;
        if (tty && plainPass) process.stderr.write(`\r\x1b[K${line}`);
        else process.stderr.write(`${tty ? '\r\x1b[K' : ''}${line}\n`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    const s = report.summary;
    if (values.json) console.log(JSON.stringify(s));
    else console.log(`interop: ${s.pass} pass${s.flaky ? ` (${s.flaky} flaky: passed when run again)` : ''}, ${s.fail} fail, ${s.skip} skip, ${s.error} error; ${s.unexplainedDifferences} unexplained differences (library ${report.peer.lib.clientVersion}); ${shownPath(join(outDir, 'interop.html'))}`);
    return s.fail + s.error > 0 ? 1 : 0;
  } catch (e) {
    console.error(`wslab interop: ${(e as Error).message}`);
    return 1;
  }
}
