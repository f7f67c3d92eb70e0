// `wslab interop`: the interop scenarios in four directions against the peer.
import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { runInterop, unstableRuns, type InteropRunReport } from './index.js';
import { chooseLuaLib } from '../../lab/lua-lib.js';
import { writeAtomic } from '../../lab/fs.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { SCENARIOS } from './scenarios/index.js';
import { DIRECTIONS, type Direction } from './types.js';

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
  --repeat N          run everything N times; reports every scenario direction whose verdict differed
                      between runs (exit 1 if any did, or if any run failed); report/interop-repeat.json
  --list              list the scenarios and exit
  --json              print the summary as JSON

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
  RESTY_WEBSOCKET_LIB=/usr/local/openresty/lualib wslab interop`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenarios: { type: 'string' }, exclude: { type: 'string' }, directions: { type: 'string' },
      backend: { type: 'string' }, 'lua-lib': { type: 'string' }, out: { type: 'string' }, retries: { type: 'string' },
      list: { type: 'boolean', default: false }, json: { type: 'boolean', default: false }, repeat: { type: 'string' },
    },
    strict: true,
  });
  const libErr = chooseLuaLib(values['lua-lib']);
  if (libErr) {
    console.error(`wslab interop: --lua-lib: ${libErr}`);
    return 2;
  }
  const repeat = values.repeat === undefined ? 1 : Number(values.repeat);
  if (!(Number.isInteger(repeat) && repeat >= 1)) {
    console.error(`wslab interop: --repeat takes a whole number from 1, not "${values.repeat}"`);
    return 2;
  }
  if (values.list) {
    for (const s of SCENARIOS) console.log(`${s.id.padEnd(34)} ${s.title}${s.upstream ? ` [${s.upstream}]` : ''}${s.needs ? ` (needs ${s.needs.version})` : ''}`);
    return 0;
  }
  const directions = values.directions?.split(',').map((d) => d.trim()) as Direction[] | undefined;
  const bad = directions?.find((d) => !DIRECTIONS.includes(d));
  if (bad) {
    console.error(`wslab interop: unknown direction "${bad}" (one of ${DIRECTIONS.join(', ')})`);
    return 2;
  }
  const retries = values.retries === undefined ? undefined : Number(values.retries);
  if (retries !== undefined && !(Number.isInteger(retries) && retries >= 0)) {
    console.error(`wslab interop: --retries takes a whole number from 0, not "${values.retries}"`);
    return 2;
  }
  const tty = process.stderr.isTTY;
  const reports: InteropRunReport[] = [];
  try {
    for (let i = 1; i <= repeat; i++) {
      const tag = repeat > 1 ? `run ${i}/${repeat} ` : '';
      const report = await runInterop({
        scenarios: values.scenarios, exclude: values.exclude, directions, retries,
        backend: values.backend as 'native' | 'container' | 'auto' | undefined, outDir: repeat > 1 ? join(values.out ?? join(ROOT_DIR, 'report'), `interop-run-${i}`) : values.out,
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
      if (values.json && repeat === 1) console.log(JSON.stringify({ ...s, ok: report.ok, flakyRuns: report.flakyRuns, restarts: report.restarts, affected: report.affected, luaLib: report.luaLib }));
      else {
        console.log(`${tag}interop: ${s.pass} pass${s.flaky ? ` (${s.flaky} flaky: passed when run again)` : ''}, ${s.fail} fail, ${s.skip} skip, ${s.error} error; ${s.unexplainedDifferences} unexplained differences (library ${report.luaLib.version} from ${report.luaLib.path}); report/interop.html`);
        for (const f of report.flakyRuns) console.log(`  flaky: ${f.scenario} ${f.direction} (first run: ${f.firstRun})`);
        for (const r of report.restarts) console.log(`  peer died (noticed ${r.noticedBy}), ${r.restarted ? 'restarted' : `not restarted: ${r.error}`}`);
        if (report.affected.length) console.log(`  run again after the peer's restart: ${report.affected.map((a) => `${a.scenario} ${a.direction}`).join(', ')}`);
        if (s.pass + s.fail === 0) console.log('  nothing was compared: error');
      }
    }
  } catch (e) {
    console.error(`wslab interop: ${(e as Error).message}`);
    return 1;
  }
  const failedRuns = reports.filter((r) => !r.ok).length;
  if (repeat > 1) {
    const unstable = unstableRuns(reports);
    const flaky = reports.flatMap((r, i) => r.flakyRuns.map((f) => ({ run: i + 1, ...f })));
    writeAtomic(join(values.out ?? join(ROOT_DIR, 'report'), 'interop-repeat.json'), JSON.stringify({ runs: repeat, failedRuns, unstable, flaky }, null, 1));
    if (values.json) console.log(JSON.stringify({ runs: repeat, failedRuns, unstable, flaky }));
    else {
      console.log(`repeat: ${repeat} runs, ${failedRuns} failed, ${flaky.length} flaky run(s), ${unstable.length} scenario direction(s) whose verdict differed between runs${unstable.length ? ':' : ''}`);
      for (const u of unstable) console.log(`  ${u.scenario} ${u.direction}: ${u.verdicts.join(' | ')}`);
    }
    return failedRuns > 0 || unstable.length > 0 ? 1 : 0;
  }
  return failedRuns > 0 ? 1 : 0;
}
