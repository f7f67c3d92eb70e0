// `wslab conformance`: Autobahn's 517 cases against servers and clients.
import { parseCommandLine, renderOptions, shownPath, UsageError, type OptionsSpec } from '../lab/args.js';
import { AGENTS } from './agents/index.js';
import { CASES } from './cases/index.js';
import { MUST_PASS, runConformance, runProblems, summarizeRun, unstableCases, type ConformanceRun } from './index.js';
import { diffAgainst, mergeTables, readExpected, tableFrom, writeExpected } from './expected.js';
import { startFuzzingServer } from './runner/client-mode.js';
import { selectCases } from './cases/index.js';
import { ConformanceReport } from './report/index.js';
import { join } from 'node:path';
import { printJson } from '../lab/output.js';
import { REPORT_DIR } from '../lab/paths.js';
import { writeJsonReport } from '../lab/reports.js';
import { onInterrupt } from '../lab/children.js';
import { chooseLuaLib, chosenLibraryLoadError } from '../lab/lua-lib.js';
import { attachedLine, attachRecordedPeer } from '../lab/peers/recorded.js';
import type { RunningPeer } from '../lab/peers/types.js';

/** `wslab conformance`'s options: the parser's spec and the Options block of its help. */
export const options = {
  agents: { type: 'list', choices: AGENTS.map((a) => a.name), help: `built-in agents (default: all): ${AGENTS.map((a) => a.name).join(', ')}` },
  url: { type: 'repeat', value: 'NAME=URL', help: 'also test a server of yours (repeatable), e.g. --url myapp=ws://127.0.0.1:8080/echo' },
  mode: { type: 'string', choices: ['server', 'client'], value: 'M', help: 'server (default) or client: only run a fuzzingserver for external client testees' },
  port: { type: 'number', integer: true, min: 0, max: 65535, help: 'with --mode client: the fuzzingserver port (default 9001)' },
  cases: { type: 'string', value: 'GLOBS', help: `case id globs, e.g. '1.*,5.*' (default: all ${CASES.length})` },
  exclude: { type: 'string', value: 'GLOBS', help: "case id globs to leave out, e.g. '9.*'" },
  'time-scale': {
    type: 'number', min: 0.1,
    help: "multiply Autobahn's verdict-deciding waits (killAfter, close timeouts); they are also\npadded by 4 x the measured scheduling lag + 4 x the handshake RTT, so 1 is fine when loaded",
  },
  out: { type: 'string', value: 'DIR', help: 'report folder (default report/conformance)' },
  concurrency: { type: 'number', integer: true, min: 1, help: 'agents run at once (default 4)' },
  'check-expected': {
    type: 'flag',
    help: 'compare the Lua agents with fixtures/conformance/lua-expected.json (exit 1 on a difference;\ncases left out with --cases/--exclude are not compared)',
  },
  'write-expected': {
    type: 'flag',
    help: "record the Lua agents' verdicts into fixtures/conformance/lua-expected.json (the\nselected cases; the table keeps the others)",
  },
  'lua-lib': {
    type: 'string', value: 'DIR',
    help: 'the lua-resty-websocket the Lua agents load (or RESTY_WEBSOCKET_LIB); either layout:\nDIR/resty/websocket/*.lua (upstream, OpenResty) or DIR/nginx/websocket/*.lua (Debian)',
  },
  repeat: { type: 'number', integer: true, min: 1, help: 'run N times; reports every case whose verdict differed between runs (exit 1 if any)' },
  json: { type: 'flag', help: 'print the summary as JSON' },
} as const satisfies OptionsSpec;

export const help = `Usage: wslab conformance [options]

Runs Autobahn|Testsuite's 517 cases (sections 1-7, 9, 10, and 12, 13: permessage-deflate), ported to
TypeScript. In 12.x/13.x our side offers (server mode) or accepts (client mode) permessage-deflate as
Autobahn does per case; a testee that does not negotiate it gets UNIMPLEMENTED there.
Server agents are tested in server mode (we connect as the client, like fuzzingclient); client
agents in client mode (they connect to our fuzzingserver). Reports: report/conformance/{servers,clients}/
index.json (Autobahn format), one JSON and one HTML page per case with the wire log, and index.html
(per-agent counts of the eight outcomes, the matrix grouped by section).

${renderOptions(options)}

A case that could not run (no connection, refused handshake, dead peer) is an error, not a verdict.
A --url server that cannot be reached is one error line, not 517 cases. The nginx peer is health-checked
after every Lua case; when it died it is restarted once, the cases it took along are run again, and
both are named in the summary and report/conformance/run.json. A case decided by a timeout that fired
within the margin of the measured lag is run once more, and listed ("re-run"); so is a case whose
connect or opening handshake got no answer in time (Autobahn's 5 s x --time-scale, plus the measured
lag and RTT): only a second stall makes it an error.

Exit code: 0 when ws, our strict agents and every --url server pass every case (OK/NON-STRICT/
INFORMATIONAL and a clean close; on 12.x/13.x, UNIMPLEMENTED with a clean close is accepted from a
--url server and from an agent that does not negotiate permessage-deflate), every agent gave a verdict on every selected case, and the peer
never died; the compat profiles' and Lua agents' failures are the original's documented deviations
(see --check-expected); 1 otherwise; 2 for bad options.

Examples:
  wslab conformance --agents ours-server-strict,ours-client-strict
  wslab conformance --url mine=ws://127.0.0.1:8080/ --cases '1.*,2.*,5.*'
  wslab conformance --mode client --port 9001      # then point any Autobahn client testee at ws://127.0.0.1:9001
  wslab conformance --agents lua-server,lua-client --check-expected --exclude '9.*'
  wslab conformance --agents ws-server,ws-client --cases '12.*,13.*'   # permessage-deflate only
  wslab conformance --repeat 5                     # a stability check: which verdicts change between runs
  wslab conformance --agents lua-server --lua-lib /usr/local/openresty/lualib`;

const LUA_AGENTS = ['lua-server', 'lua-client'];

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('conformance', argv, options);
  const libErr = chooseLuaLib(values['lua-lib']);
  if (libErr) throw new UsageError('conformance', `--lua-lib: ${libErr}`);
  const repeat = values.repeat;
  const outDir = values.out ?? join(REPORT_DIR, 'conformance');
  const cases = selectCases(values.cases ?? '*', values.exclude ?? '');
  if (values.mode === 'client') {
    const report = new ConformanceReport(join(outDir, 'clients'), 'Conformance: clients (we are the server)');
    const srv = await startFuzzingServer({ cases, port: values.port ?? 9001, onResult: (r) => {
      report.add(r);
      console.log(`${r.agent} ${r.id}: ${r.behavior} / ${r.behaviorClose}`);
    }, onUpdateReports: () => report.flush(true) });
    console.log(`fuzzingserver on ${srv.url} with ${cases.length} cases; Ctrl-C to stop (reports in ${shownPath(join(outDir, 'clients'))})`);
    // Ctrl-C: the interrupt handler (lab/children.ts) writes the report and exits.
    onInterrupt(() => report.flush(true));
    await new Promise<void>(() => {});
    return 0;
  }

  const servers: Record<string, string> = {};
  for (const spec of values.url) {
    const at = spec.indexOf('=');
    if (at <= 0) throw new UsageError('conformance', `--url takes NAME=URL, got "${spec}"`);
    servers[spec.slice(0, at)] = spec.slice(at + 1);
  }
  const agents = values.agents ?? (Object.keys(servers).length ? [] : undefined);
  // The peer `wslab peer start` left running, when the Lua agents need one and it matches.
  let peer: RunningPeer | undefined;
  if ((agents ?? AGENTS.map((a) => a.name)).some((n) => AGENTS.find((a) => a.name === n)?.needsPeer)) {
    const notLoading = chosenLibraryLoadError();
    if (notLoading !== null) {
      console.error(`wslab conformance: ${notLoading}`);
      return 1;
    }
    const recorded = await attachRecordedPeer({ luaLib: process.env.RESTY_WEBSOCKET_LIB });
    if (recorded.peer) {
      peer = recorded.peer;
      console.error(attachedLine('conformance', peer));
    } else if (recorded.why) console.error(`wslab conformance: starting a peer of its own: ${recorded.why}`);
  }
  const timeScale = values['time-scale'];
  const concurrency = values.concurrency;
  const tty = process.stderr.isTTY;
  const runs: ConformanceRun[] = [];
  const results: Array<{ failed: boolean; lines: string[]; json: Record<string, unknown> }> = [];
  for (let i = 1; i <= (repeat ?? 1); i++) {
    let done = 0;
    const total = cases.length * ((agents ?? AGENTS.map((a) => a.name)).length + Object.keys(servers).length);
    const res = await runConformance({
      agents, servers, cases: values.cases, exclude: values.exclude, outDir: repeat ? join(outDir, `run-${i}`) : outDir, peer,
      timeScale, concurrency,
      onResult: (r) => {
        done++;
        const tag = repeat ? `run ${i}/${repeat} ` : '';
        if (tty) process.stderr.write(`\r\x1b[K${tag}[${done}/${total}] ${r.agent} ${r.id}: ${r.behavior} / ${r.behaviorClose}`);
        else if (done % 50 === 0) process.stderr.write(`${tag}[${done}/${total}]\n`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    runs.push(res);
    results.push(judgeCliRun(res, values, Object.keys(servers)));
    if (repeat) console.log(`run ${i}/${repeat}: ${results[i - 1]!.failed ? 'FAIL' : 'pass'} (${(res.durationMs / 1000).toFixed(1)} s)`);
  }
  const last = results[results.length - 1]!;
  const unstable = repeat ? unstableCases(runs) : [];
  if (repeat) writeJsonReport(join(outDir, 'repeat.json'), { runs: repeat, failedRuns: results.filter((r) => r.failed).length, unstable, perRun: results.map((r) => r.json) }, 1);
  if (values.json) printJson(repeat ? { ...last.json, repeat, failedRuns: results.filter((r) => r.failed).length, unstable } : last.json);
  else {
    for (const l of last.lines) console.log(l);
    if (repeat) {
      console.log(`repeat: ${repeat} runs, ${results.filter((r) => r.failed).length} failed, ${unstable.length} case(s) whose verdict differed between runs${unstable.length ? ':' : ''}`);
      for (const u of unstable) console.log(`  ${u.agent} ${u.id}: ${u.verdicts.join(' | ')}`);
      console.log(`reports: ${outDir}/run-N/, ${outDir}/repeat.json`);
    }
  }
  return results.some((r) => r.failed) || unstable.length > 0 ? 1 : 0;
}

/** One run's lines, JSON summary and pass/fail, as the CLI prints them. */
function judgeCliRun(res: ConformanceRun, values: { 'check-expected': boolean; 'write-expected': boolean; out?: string }, urlAgents: readonly string[]): { failed: boolean; lines: string[]; json: Record<string, unknown> } {
  const summary = summarizeRun(res);
  const problems = runProblems(res, [...MUST_PASS, ...urlAgents]);
  const merged = { ...res.servers, ...res.clients };
  const lines: string[] = [];
  if (values['write-expected']) {
    const luaAgents = LUA_AGENTS.filter((a) => merged[a]);
    // The cases the run was asked for are recorded; the table keeps its verdicts of the others.
    writeExpected(mergeTables(readExpected(), tableFrom(merged, luaAgents, res.lib ? `lua-resty-websocket ${res.lib.version} from ${res.lib.path}` : 'lua-resty-websocket (see the peer report)'), res.selected));
    lines.push(`recorded ${luaAgents.join(', ')} into fixtures/conformance/lua-expected.json`);
  }
  const expectedDiffs: string[] = [];
  if (values['check-expected']) {
    const table = readExpected();
    for (const a of LUA_AGENTS) {
      if (!merged[a]) continue;
      for (const [id, want, have] of diffAgainst(table.agents[a] ?? {}, merged[a]!, res.selected)) expectedDiffs.push(`${a} ${id}: expected ${want}, got ${have}`);
    }
  }
  for (const [a, s] of Object.entries(summary)) lines.push(`${a.padEnd(20)} ${s.pass}/${s.cases} pass${s.unimplemented ? `, ${s.unimplemented} UNIMPLEMENTED` : ''}${s.errors ? `, ${s.errors} could not run` : ''}`);
  for (const [a, e] of Object.entries(res.errors)) lines.push(`${a.padEnd(20)} error: ${e}`);
  for (const [a, why] of Object.entries(res.skipped)) lines.push(`${a.padEnd(20)} skipped: ${why}`);
  lines.push(...expectedDiffs);
  const errorLines = new Set(Object.entries(res.errors).map(([a, e]) => `${a}: error: ${e}`));
  for (const p of problems) if (!errorLines.has(p)) lines.push(`problem: ${p}`);
  for (const r of res.reruns) lines.push(`re-run: ${r.agent} ${r.id}: ${r.reason}; first ${r.first}, then ${r.final}${r.first !== r.final ? ' (flaky)' : ''}`);
  if (res.lib) lines.push(`library: lua-resty-websocket ${res.lib.version} from ${res.lib.path}`);
  lines.push(`conformance: ${(res.durationMs / 1000).toFixed(1)} s; verdict waits padded by ${res.timing.paddingMs} ms (lag p95 ${res.timing.lagP95Ms} ms, RTT p90 ${res.timing.rttP90Ms} ms); ${shownPath(values.out ?? join(REPORT_DIR, 'conformance'))}/{servers,clients}/index.html, run.json`);
  const failed = problems.length > 0 || expectedDiffs.length > 0;
  return {
    failed,
    lines,
    json: {
      ok: !failed, summary, errors: res.errors, problems, expectedDiffs, reruns: res.reruns, flaky: res.flaky, restarts: res.restarts, affected: res.affected,
      lib: res.lib, timing: res.timing, interrupted: res.interrupted, skipped: res.skipped, durationMs: res.durationMs,
    },
  };
}
