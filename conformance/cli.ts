// `wslab conformance`: Autobahn's 301 non-compression cases against servers and clients.
import { parseCommandLine, shownPath, UsageError } from '../cli/args.js';
import { AGENTS } from './agents/index.js';
import { CASES } from './cases/index.js';
import { passes, runConformance } from './index.js';
import { diffAgainst, readExpected, tableFrom, writeExpected } from './expected.js';
import { startFuzzingServer } from './runner/client-mode.js';
import { selectCases } from './cases/index.js';
import { ConformanceReport } from './report/index.js';
import { join } from 'node:path';
import { ROOT_DIR } from '../lab/paths.js';
import { attachedLine, attachRecordedPeer } from '../lab/peers/recorded.js';
import type { RunningPeer } from '../lab/peers/types.js';

export const help = `Usage: wslab conformance [options]

Runs Autobahn|Testsuite's 301 non-compression cases (sections 1-7, 9, 10), ported to TypeScript.
Server agents are tested in server mode (we connect as the client, like fuzzingclient); client
agents in client mode (they connect to our fuzzingserver). Reports: report/conformance/{servers,clients}/
index.json (Autobahn format), one JSON per case with the wire log, and index.html (agents × cases).

Options:
  --agents LIST        built-in agents (default: all): ${AGENTS.map((a) => a.name).join(', ')}
  --url NAME=URL       also test a server of yours (repeatable), e.g. --url myapp=ws://127.0.0.1:8080/echo
  --mode client        only run a fuzzingserver for external client testees (--port N, default 9001)
  --cases GLOBS        case id globs, e.g. '1.*,5.*' (default: all ${CASES.length})
  --exclude GLOBS      case id globs to leave out, e.g. '9.*'
  --time-scale N       multiply the verdict-deciding waits (killAfter, close timeouts) on a loaded machine
  --out DIR            report folder (default report/conformance)
  --concurrency N      agents run at once (default 4)
  --check-expected     compare the Lua agents with fixtures/conformance/lua-expected.json (exit 1 on a difference)
  --write-expected     record the Lua agents' verdicts into fixtures/conformance/lua-expected.json
  --json               print the summary as JSON

Exit code: 0 when every agent of ours and ws pass (OK/NON-STRICT/INFORMATIONAL and a clean close) except the
compat profiles, whose failures are the original's documented deviations; 1 otherwise.

Examples:
  wslab conformance --agents ours-server-strict,ours-client-strict
  wslab conformance --url mine=ws://127.0.0.1:8080/ --cases '1.*,2.*,5.*'
  wslab conformance --mode client --port 9001      # then point any Autobahn client testee at ws://127.0.0.1:9001
  wslab conformance --agents lua-server,lua-client --check-expected`;

const MUST_PASS = ['ws-server', 'ws-client', 'ours-server-strict', 'ours-client-strict'];
const LUA_AGENTS = ['lua-server', 'lua-client'];

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('conformance', argv, {
    agents: { type: 'list', choices: AGENTS.map((a) => a.name) }, url: { type: 'repeat' }, mode: { type: 'string', choices: ['server', 'client'] },
    port: { type: 'number', integer: true, min: 0, max: 65535 },
    cases: { type: 'string' }, exclude: { type: 'string' }, 'time-scale': { type: 'number', min: 0.1 }, out: { type: 'string' },
    concurrency: { type: 'number', integer: true, min: 1 }, 'check-expected': { type: 'flag' }, 'write-expected': { type: 'flag' },
    json: { type: 'flag' },
  });
  const outDir = values.out ?? join(ROOT_DIR, 'report', 'conformance');
  const cases = selectCases(values.cases ?? '*', values.exclude ?? '');
  if (values.mode === 'client') {
    const report = new ConformanceReport(join(outDir, 'clients'), 'Conformance: clients (we are the server)');
    const srv = await startFuzzingServer({ cases, port: values.port ?? 9001, onResult: (r) => {
      report.add(r);
      console.log(`${r.agent} ${r.id}: ${r.behavior} / ${r.behaviorClose}`);
    }, onUpdateReports: () => report.flush(true) });
    console.log(`fuzzingserver on ${srv.url} with ${cases.length} cases; Ctrl-C to stop (reports in ${shownPath(join(outDir, 'clients'))})`);
    await new Promise<void>((resolve) => process.once('SIGINT', () => resolve()));
    report.flush(true);
    await srv.close();
    return 0;
  }

  const servers: Record<string, string> = {};
  for (const spec of values.url ?? []) {
    const at = spec.indexOf('=');
    if (at <= 0) throw new UsageError('conformance', `--url takes NAME=URL, got "${spec}"`);
    servers[spec.slice(0, at)] = spec.slice(at + 1);
  }
  const agents = values.agents ?? (Object.keys(servers).length ? [] : undefined);
  // The peer `wslab peer start` left running, when the Lua agents need one and it matches.
  let peer: RunningPeer | undefined;
  if ((agents ?? AGENTS.map((a) => a.name)).some((n) => AGENTS.find((a) => a.name === n)?.needsPeer)) {
    const recorded = await attachRecordedPeer({ luaLib: process.env.RESTY_WEBSOCKET_LIB });
    if (recorded.peer) {
      peer = recorded.peer;
      console.error(attachedLine('conformance', peer));
    } else if (recorded.why) console.error(`wslab conformance: starting a peer of its own: ${recorded.why}`);
  }
  const controller = new AbortController();
  const onSigint = (): void => {
    console.error('\nwslab conformance: interrupted, writing what finished');
    controller.abort();
  };
  process.once('SIGINT', onSigint);
  let done = 0;
  const total = cases.length * ((agents ?? AGENTS.map((a) => a.name)).length + Object.keys(servers).length);
  const tty = process.stderr.isTTY;
  try {
    const res = await runConformance({
      agents, servers, cases: values.cases, exclude: values.exclude, outDir, peer,
      timeScale: values['time-scale'],
      concurrency: values.concurrency,
      signal: controller.signal,
      onResult: (r) => {
        done++;
        if (tty) process.stderr.write(`\r\x1b[K[${done}/${total}] ${r.agent} ${r.id}: ${r.behavior} / ${r.behaviorClose}`);
        else if (done % 50 === 0) process.stderr.write(`[${done}/${total}]\n`);
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    const summary: Record<string, { cases: number; pass: number }> = {};
    for (const idx of [res.servers, res.clients]) {
      for (const [agent, byCase] of Object.entries(idx)) {
        const entries = Object.values(byCase);
        summary[agent] = { cases: entries.length, pass: entries.filter(passes).length };
      }
    }
    let failed = Object.keys(res.errors).length > 0;
    for (const a of MUST_PASS) if (summary[a] && summary[a].pass !== summary[a].cases) failed = true;
    const merged = { ...res.servers, ...res.clients };
    if (values['write-expected']) {
      const luaAgents = LUA_AGENTS.filter((a) => merged[a]);
      writeExpected(tableFrom(merged, luaAgents, 'lua-resty-websocket (see the peer report)'));
      console.log(`recorded ${luaAgents.join(', ')} into fixtures/conformance/lua-expected.json`);
    }
    if (values['check-expected']) {
      const table = readExpected();
      for (const a of LUA_AGENTS) {
        if (!merged[a]) continue;
        const diffs = diffAgainst(table.agents[a] ?? {}, merged[a]!);
        for (const [id, want, have] of diffs) console.log(`${a} ${id}: expected ${want}, got ${have}`);
        if (diffs.length) failed = true;
      }
    }
    if (values.json) console.log(JSON.stringify({ summary, errors: res.errors, durationMs: res.durationMs }));
    else {
      for (const [a, s] of Object.entries(summary)) console.log(`${a.padEnd(20)} ${s.pass}/${s.cases} pass`);
      for (const [a, e] of Object.entries(res.errors)) console.log(`${a.padEnd(20)} error: ${e}`);
      console.log(`conformance: ${(res.durationMs / 1000).toFixed(1)} s; ${shownPath(outDir)}/{servers,clients}/index.html`);
    }
    return failed ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
