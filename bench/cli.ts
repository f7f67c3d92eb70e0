// `wslab bench`: codec, echo server, client and fuzz throughput as ratios against ws and
// nginx + Lua. Prints tables, checks the project's targets and writes report/bench.json.
import { readdirSync, } from 'node:fs';
import { cpus, totalmem, arch, platform, release } from 'node:os';
import { join, resolve } from 'node:path';
import { parseCommandLine, renderOptions, shownPath, UsageError, type OptionsSpec } from '../lab/args.js';
import { chooseLuaLib, chosenLibraryLoadError } from '../lab/lua-lib.js';
import { interruptedReportFile } from '../lab/children.js';
import { writeJsonReport } from '../lab/reports.js';
import { startPeer, type RunningPeer } from '../lab/peers/index.js';
import type { ClientReport } from './client-child.js';
import { runClientBench } from './client.js';
import type { DeflateReport } from './deflate-child.js';
import { runDeflateBench } from './deflate.js';
import { runCodecBench, type CodecReport } from './codec.js';
import { runConnsBench, type ConnsReport } from './conns.js';
import type { ConnsResult } from './conns-loadgen.js';
import { printJson } from '../lab/output.js';
import { REPORT_DIR } from '../lab/paths.js';
import { cpuPlacement, fmtRate, fmtRatio, fmtSize, table, type CpuPlacement } from './common.js';
import { runEchoBench, type EchoReport } from './echo.js';
import { runFuzzBench, type FuzzBenchReport } from './fuzz.js';
import { runHeapBench, type HeapReport } from './heap.js';
import { hotFunctions, mainProfileIn } from './profile.js';
import { runSessionBench, type SessionBenchReport } from './session.js';

export const SUITES = ['codec', 'echo', 'conns', 'heap', 'client', 'deflate', 'fuzz', 'session'] as const;
/** The suites that measure the nginx + Lua peer (and so load the library). */
const PEER_SUITES: readonly string[] = ['echo', 'conns', 'client', 'session'];
export type Suite = (typeof SUITES)[number];

/** `wslab bench`'s options: the parser's spec and the Options block of its help. */
export const options = {
  only: { type: 'list', choices: SUITES, help: 'comma list of suites (default: all)' },
  quick: { type: 'flag', help: 'shorter runs (about 1.5 minutes in all)' },
  out: { type: 'string', value: 'FILE', help: 'JSON report (default report/bench.json)' },
  'lua-lib': { type: 'string', value: 'DIR', help: 'the lua-resty-websocket the nginx peer loads (or RESTY_WEBSOCKET_LIB; either layout)' },
  json: { type: 'flag', help: "print the report (report/bench.json's object) as one JSON document on stdout;\nthe tables go to stderr" },
  'cpu-prof': {
    type: 'string', value: 'DIR',
    help: 'write CPU profiles (node --cpu-prof) of the codec children (DIR/codec), of\nthe two echo servers (DIR/echo/ours, DIR/echo/ws), of both at each connection\ncount (DIR/conns/<N>/ours, DIR/conns/<N>/ws) and of the two compressed echo\nservers (DIR/deflate/ours-deflate, DIR/deflate/ws-deflate); open them in Chrome DevTools',
  },
} as const satisfies OptionsSpec;

export const help = `wslab bench [--only codec,echo,conns,heap,client,deflate,fuzz,session] [--quick] [--out FILE] [--cpu-prof DIR]

Benchmarks as ratios against ws 8 and nginx + Lua (the real lua-resty-websocket):
  codec   FrameDecoder / buildFrame vs ws Receiver / Sender, 2 B .. 1 MiB frames, masked and not,
          with and without bufferutil (one child process each); unmask MiB/s vs Buffer.copy
  echo    one load generator (raw sockets, own process) against our server, a ws server, a raw
          TCP echo (each in a child process) and nginx + Lua /echo: 1 and 64 connections, 16 B and
          16 KiB, serial round trips and 32 in flight per connection; msgs/s, p50/p99 latency
  conns   1, 100, 1000 and 5000 connections of serial 64 B round trips against the same four
          servers and the raw TCP echo through a promise per read (tcp-pull, the floor of any
          pull API; fresh Node servers per count; ours and ws in 5 alternating rounds with all
          their connections open, median of paired rounds): msgs/s, p99, server RSS per open
          connection, server and load-generator CPU time per message
  heap    V8 heap bytes per idle connection (after a full GC, N connections past one echo each) of
          our server, a ws server and a raw net echo, each in a child process
  client  our client vs the ws client, serial round trips against nginx + Lua /echo
  deflate compressed echo: our server vs a ws server, both with permessage-deflate (defaults),
          driven by the same ws clients, 1 and 16 connections of serial 16 KiB JSON text; msgs/s
          and server CPU per message, median of paired rounds
  fuzz    jsfuzz execs/s per target and differential cases/s (15 s each, 5 s with --quick)
  session  session diff against nginx: whole sessions/s per role, both sides run (3 x 15 s per role, 1 x 8 s with --quick)

${renderOptions(options)}

The full run takes about 7 minutes and every loop is bounded by count and time. The echo, conns
and client suites need the nginx + Lua peer (npm run setup); without it their nginx parts are
skipped. The conns suite needs an open-file limit above 10000 at 5000 connections (it prints the
limit and skips the counts that do not fit). Every goal is printed with ✓/✗, the goal and the measured value.

Examples:
  wslab bench
  wslab bench --quick
  wslab bench --only codec
  wslab bench --only conns --quick   # 1..5000 connections: msgs/s, p99, RSS and CPU per connection
  WSLAB_BENCH_DEBUG=1 wslab bench --only echo --quick   # child processes' stderr shown
  wslab bench --only echo --quick --cpu-prof report/prof   # where does our server spend its time?
`;

/** The knobs of one run (the CLI picks one of PROFILES; the smoke test passes tiny ones). */
export interface BenchProfile {
  codec: { rounds: number; roundMs: number; passBytes?: number };
  echo: { timeMs: number; rounds?: number; warmupMs: number; maxMsgs: number; conns?: number[]; sizes?: number[] };
  conns: { timeMs: number; rounds?: number; warmupMs: number; maxMsgs: number; counts?: number[] };
  /** Idle connections per server and repeats (fresh children each). */
  heap?: { conns: number; rounds: number };
  client: { rounds: number; roundMs: number; maxMsgs: number };
  /** Compressed echo, ours vs ws (default: 5 rounds of 600 ms at 1 and 16 connections). */
  deflate?: { rounds: number; roundMs: number; maxMsgs: number; conns?: number[] };
  fuzz: { timeMs: number; target?: string };
  /** Session diff against nginx (default: 3 rounds of 15 s per role). */
  session?: { rounds: number; roundMs: number };
}

export const PROFILES: Record<'full' | 'quick', BenchProfile> = {
  full: {
    codec: { rounds: 5, roundMs: 80 },
    echo: { timeMs: 500, rounds: 3, warmupMs: 300, maxMsgs: 1_000_000 },
    conns: { timeMs: 800, rounds: 5, warmupMs: 500, maxMsgs: 2_000_000 },
    heap: { conns: 2000, rounds: 2 },
    client: { rounds: 5, roundMs: 600, maxMsgs: 200_000 },
    deflate: { rounds: 5, roundMs: 600, maxMsgs: 200_000 },
    fuzz: { timeMs: 15_000 },
    session: { rounds: 3, roundMs: 15_000 },
  },
  quick: {
    codec: { rounds: 3, roundMs: 30 },
    echo: { timeMs: 250, rounds: 2, warmupMs: 150, maxMsgs: 500_000 },
    conns: { timeMs: 400, rounds: 3, warmupMs: 200, maxMsgs: 1_000_000 },
    heap: { conns: 1000, rounds: 1 },
    client: { rounds: 3, roundMs: 300, maxMsgs: 100_000 },
    deflate: { rounds: 3, roundMs: 300, maxMsgs: 100_000 },
    fuzz: { timeMs: 5_000 },
    session: { rounds: 1, roundMs: 8_000 },
  },
};

export interface TargetCheck {
  name: string;
  /** got must be >= want ('min', the default) or <= want ('max'). */
  bound?: 'min' | 'max';
  /** What got and want are: a ratio (default) or a rate per second. */
  unit?: 'ratio' | 'per-second';
  want: number;
  got: number | null;
  ok: boolean;
  detail: string;
}

export interface BenchReport {
  command: string;
  startedAt: string;
  durationMs: number;
  machine: { cpus: number; cpuModel: string; memMiB: number; platform: string; release: string; arch: string; node: string; loadavg?: number[] };
  profile: BenchProfile;
  codec?: CodecReport;
  echo?: EchoReport;
  conns?: ConnsReport;
  heap?: HeapReport;
  client?: ClientReport;
  deflate?: DeflateReport;
  fuzz?: FuzzBenchReport;
  session?: SessionBenchReport;
  errors: Record<string, string>;
  targets: TargetCheck[];
  /** The CPUs the servers and their clients were pinned to (null: left to the scheduler). */
  cpuPlacement?: CpuPlacement | null;
  /** The lua-resty-websocket the nginx peer loaded (_VERSION, folder), when a suite used it. */
  luaLib?: { version: string; path: string; source: string };
}

function geomean(xs: number[]): number | null {
  const ok = xs.filter((x) => Number.isFinite(x) && x > 0);
  return ok.length === 0 ? null : Math.exp(ok.reduce((a, x) => a + Math.log(x), 0) / ok.length);
}

function check(name: string, want: number, got: number | null, detail: string, bound: 'min' | 'max' = 'min', unit: 'ratio' | 'per-second' = 'ratio'): TargetCheck {
  const ok = got !== null && Number.isFinite(got) && (bound === 'min' ? got >= want : got <= want);
  return { name, ...(bound === 'max' ? { bound } : {}), ...(unit !== 'ratio' ? { unit } : {}), want, got, ok, detail };
}

/** Below this a server's RSS growth per connection is within the noise of RSS itself (pages, GC timing). */
const RSS_NOISE_KIB = 2;

function fmtTargetValue(t: TargetCheck, x: number | null): string {
  return t.unit === 'per-second' ? (x === null ? '-' : `${fmtRate(x)}/s`) : fmtRatio(x);
}

/** The project's targets, from whatever suites ran. */
export function checkTargets(r: BenchReport): TargetCheck[] {
  const out: TargetCheck[] = [];
  for (const v of r.codec ?? []) {
    const dec = v.cells.filter((c) => c.op === 'decode');
    const small = dec.filter((c) => c.size <= 125);
    if (small.length > 0) {
      const worst = small.reduce((a, c) => (c.ratio < a.ratio ? c : a));
      out.push(check(`decoder vs ws, small frames [${v.variant}]`, 1.5, worst.ratio, `worst of ${small.length}: ${fmtSize(worst.size)} ${worst.masked ? 'masked' : 'unmasked'}`));
    }
    const k64 = dec.filter((c) => c.size === 65536);
    if (k64.length > 0) {
      const worst = k64.reduce((a, c) => (c.ratio < a.ratio ? c : a));
      out.push(check(`decoder vs ws, 64 KiB [${v.variant}]`, 1.0, worst.ratio, `worst: ${worst.masked ? 'masked' : 'unmasked'}`));
    }
    // The goal is the default masking's: bufferutil, as in ws. The pure-JS loop (the js run) has
    // none, since no JS loop approaches memcpy (bench/README.md); its MiB/s stay in the table.
    const big = v.variant === 'bufferutil' ? v.unmask.filter((u) => u.size >= 65536) : [];
    if (big.length > 0) {
      const worst = big.reduce((a, u) => (u.ratioMask < a.ratioMask ? u : a));
      out.push(check('unmask vs Buffer.copy [bufferutil]', 0.5, worst.ratioMask, `worst: ${fmtSize(worst.size)}${v.nativeMask ? '' : '; bufferutil did not load, so this is the pure-JS loop'}`));
    }
  }
  if (r.echo) {
    const big = r.echo.ratios.filter((c) => c.depth > 1 && c.size >= 16 * 1024 && c.vsWs !== null);
    if (big.length > 0) {
      const worst = big.reduce((a, c) => (c.vsWs! < a.vsWs! ? c : a));
      const cpu = (name: string): string => fmtUs(r.echo!.results.find((x) => x.target === name && x.conns === worst.conns && x.size === worst.size && x.depth === worst.depth)?.serverCpuUsPerMsg);
      out.push(check('echo server vs ws, 16 KiB pipelined', 1.0, worst.vsWs, `worst of ${big.length}: ${worst.conns} conn(s), ${worst.depth} in flight; server CPU ${cpu('ours')} vs ${cpu('ws')} µs/msg`));
    }
    for (const c of r.echo.ratios.filter((x) => x.depth === 1 && x.size >= 16 * 1024)) {
      const cpu = (name: string): string => fmtUs(r.echo!.results.find((x) => x.target === name && x.conns === c.conns && x.size === c.size && x.depth === 1)?.serverCpuUsPerMsg);
      const rounds = c.vsWsRounds.length > 0 ? `median of ${c.vsWsRounds.length} rounds, range ${fmtRatio(Math.min(...c.vsWsRounds))}-${fmtRatio(Math.max(...c.vsWsRounds))}; ` : '';
      out.push(check(`echo server vs ws, ${fmtSize(c.size)} serial, ${c.conns} conn(s)`, 1.0, c.vsWs, `${rounds}server CPU ${cpu('ours')} vs ${cpu('ws')} µs/msg`));
    }
    const piped = r.echo.ratios.filter((c) => c.depth > 1);
    const ws = piped.map((c) => c.vsWs).filter((x): x is number => x !== null);
    const ngx = piped.map((c) => c.vsNginx).filter((x): x is number => x !== null);
    out.push(check('echo server vs ws, pipelined', 1.2, geomean(ws), `geomean of ${ws.length} cells, min ${fmtRatio(ws.length ? Math.min(...ws) : null)}`));
    out.push(check('echo server vs nginx + Lua, pipelined', 0.8, geomean(ngx), `geomean of ${ngx.length} cells, min ${fmtRatio(ngx.length ? Math.min(...ngx) : null)}`));
  }
  if (r.conns) {
    const at = (name: string, conns: number): ConnsResult | undefined => connsResultAt(r.conns!, name, conns);
    for (const c of r.conns.ratios) {
      const ours = at('ours', c.conns);
      const ws = at('ws', c.conns);
      const rounds = c.vsWsRounds.length > 0 ? `median of ${c.vsWsRounds.length} paired rounds, range ${fmtRatio(Math.min(...c.vsWsRounds))}-${fmtRatio(Math.max(...c.vsWsRounds))}; ` : '';
      out.push(check(`server vs ws, ${c.conns} conn(s), serial ${fmtSize(r.conns.size)}`, 1.0, c.vsWs, `${rounds}${fmtRate(ours?.msgsPerSec ?? NaN)} vs ${fmtRate(ws?.msgsPerSec ?? NaN)} msgs/s`));
      const rawCpu = (name: string): string => fmtUs(at(name, c.conns)?.serverCpuUsPerMsg);
      out.push(check(`server CPU per message vs ws, ${c.conns} conn(s)`, 1.0, c.cpuVsWs, `${fmtUs(ours?.serverCpuUsPerMsg)} vs ${fmtUs(ws?.serverCpuUsPerMsg)} µs/msg over all rounds; raw TCP echo ${rawCpu('tcp')}, through a promise per read ${rawCpu('tcp-pull')}`, 'max'));
    }
    for (const c of r.conns.ratios.filter((x) => x.conns >= 100)) {
      const ours = at('ours', c.conns)?.rssPerConnKiB ?? null;
      const ws = at('ws', c.conns)?.rssPerConnKiB ?? null;
      const noisy = ws !== null && ws < RSS_NOISE_KIB;
      const got = ours === null || ws === null ? null : noisy ? (ours < RSS_NOISE_KIB ? 1 : null) : ours / ws;
      const floor = `; raw TCP echo ${fmtKiB(at('tcp', c.conns)?.rssPerConnKiB)}, through a promise per read ${fmtKiB(at('tcp-pull', c.conns)?.rssPerConnKiB)}`;
      const detail = `${fmtKiB(ours)} vs ${fmtKiB(ws)} KiB${floor}${noisy ? ` (ws below the ${RSS_NOISE_KIB} KiB noise floor: met only if ours is too)` : ''}`;
      out.push(check(`RSS per connection vs ws, ${c.conns} conns`, 1.0, got, detail, 'max'));
    }
  }
  if (r.heap) {
    const b = (k: string): string => {
      const x = r.heap!.results.find((y) => y.kind === k);
      return x === undefined || !Number.isFinite(x.bytesPerConn) ? '-' : `${x.bytesPerConn} B (${x.perRound.join('/')})`;
    };
    out.push(check(`heap per idle connection vs ws, ${r.heap.conns} conns`, 1.0, r.heap.vsWs, `ours ${b('ours')} vs ws ${b('ws')}; raw net ${b('tcp')}`, 'max'));
  }
  if (r.client) out.push(check('client vs ws client', 1.0, r.client.ratio, `median of ${r.client.ratios.length} paired rounds, range ${fmtRatio(Math.min(...r.client.ratios))}-${fmtRatio(Math.max(...r.client.ratios))}`));
  for (const c of r.deflate?.cells ?? []) {
    const v = (name: string): string => `${fmtRate(c.results[name]?.medianMsgsPerSec ?? NaN)} msgs/s, ${fmtUs(c.results[name]?.medianCpuUsPerMsg)} µs/msg`;
    out.push(check(`compressed echo vs ws, ${c.conns} conn(s), serial ${fmtSize(r.deflate!.size)}`, 1.0, c.ratio, `ours ${v('ours')} vs ws ${v('ws')}; median of ${c.ratios.length} paired rounds, range ${fmtRatio(Math.min(...c.ratios))}-${fmtRatio(Math.max(...c.ratios))}`));
  }
  if (r.fuzz?.diff.ok) {
    const d = r.fuzz.diff;
    const cpu = d.nodeCpuUsPerCase !== undefined ? `; CPU per case ${d.nodeCpuUsPerCase.toFixed(0)} µs node, ${d.luaCpuUsPerCase!.toFixed(0)} µs luajit` : '';
    out.push(check('differential fuzzing', 10_000, d.casesPerSec, `${d.cases} cases vs the Lua protocol.lua${cpu}`, 'min', 'per-second'));
  }
  if (r.session) out.push(check('session diff against nginx, sessions/s', 40, r.session.sessionsPerSec, `median of ${r.session.roles.map((x) => `${x.role} ${x.perRound.join('/')}`).join(', ')} (${r.session.jobs} jobs)`, 'min', 'per-second'));
  return out;
}

function fmtUs(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(1);
}

function fmtKiB(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : x.toFixed(1);
}

/** The conns suite's result for one server at one connection count. */
function connsResultAt(c: ConnsReport, target: string, conns: number): ConnsResult | undefined {
  return c.results.find((x) => x.target === target && x.conns === conns);
}

function printConns(c: ConnsReport): void {
  console.log(`
conns: serial ${fmtSize(c.size)} round trips per connection; msgs/s (p99 ms) | server RSS KiB per open connection | server CPU µs per message (load generator's)`);
  console.log(`  RLIMIT_NOFILE soft ${c.nofile.soft} / hard ${c.nofile.hard} (children run with the hard limit as their soft one)`);
  for (const s of c.skipped) console.log(`  skipped ${s.conns} connections: ${s.reason}`);
  const names = ['ours', 'ws', 'nginx+lua', 'tcp', 'tcp-pull'].filter((n) => c.results.some((r) => r.target === n));
  const rows = c.ratios.map((x) => {
    const cells = names.map((n) => {
      const r = connsResultAt(c, n, x.conns);
      if (!r) return '-';
      if (r.error && r.msgsPerSec === 0) return 'error';
      return `${fmtRate(r.msgsPerSec)} (${r.p99Ms.toFixed(1)}) | ${fmtKiB(r.rssPerConnKiB)} | ${fmtUs(r.serverCpuUsPerMsg)} (${fmtUs(r.loadgenCpuUsPerMsg)})${r.error ? '!' : ''}`;
    });
    const range = x.vsWsRounds.length > 1 ? ` (${fmtRatio(Math.min(...x.vsWsRounds))}-${fmtRatio(Math.max(...x.vsWsRounds))})` : '';
    return [String(x.conns), ...cells, `${fmtRatio(x.vsWs)}${range}`, fmtRatio(x.vsNginx), fmtRatio(x.vsTcp)];
  });
  console.log(table(['conns', ...names, 'ours/ws (rounds)', 'ours/nginx', 'ours/tcp'], rows));
  for (const r of c.results) if (r.error) console.log(`  ! ${r.target} ${r.conns} conns: ${r.error}`);
}

function printHeap(h: HeapReport): void {
  console.log(`\nheap: V8 heap bytes per idle connection (${h.conns} connections, one 64 B echo each, after a full GC); external (Buffer) bytes in brackets`);
  console.log(table(['server', 'bytes/conn', 'rounds'], h.results.map((x) => [x.kind === 'tcp' ? 'raw net' : x.kind, x.error && x.perRound.length === 0 ? `error: ${x.error}` : `${x.bytesPerConn} (${x.externalPerConn})`, x.perRound.join(', ')])));
  console.log(`  ours / ws: ${fmtRatio(h.vsWs)} (goal ≤ 1.00)`);
}

function printCodec(c: CodecReport): void {
  for (const v of c) {
    console.log(`\ncodec [${v.variant}, our masking ${v.nativeMask ? 'native' : 'JS'}] frames/s (MiB/s), ratio = ours / ws (median of rounds)`);
    console.log(
      table(
        ['op', 'size', 'mask', 'ours', 'ws', 'ratio'],
        v.cells.map((x) => [
          x.op,
          fmtSize(x.size),
          x.masked ? 'yes' : 'no',
          `${fmtRate(x.ours.framesPerSec)} (${x.ours.mibPerSec.toFixed(0)})`,
          `${fmtRate(x.ws.framesPerSec)} (${x.ws.mibPerSec.toFixed(0)})`,
          fmtRatio(x.ratio),
        ]),
        3,
      ),
    );
    console.log(`unmask MiB/s [${v.variant}]`);
    console.log(
      table(
        ['size', 'maskInPlace', 'maskInPlaceJs', 'Buffer.copy', 'mask/copy', 'js/copy'],
        v.unmask.map((u) => [fmtSize(u.size), u.maskInPlace.toFixed(0), u.maskInPlaceJs.toFixed(0), u.bufferCopy.toFixed(0), fmtRatio(u.ratioMask), fmtRatio(u.ratioMaskJs)]),
      ),
    );
  }
}

function printEcho(e: EchoReport): void {
  console.log('\necho: msgs/s (p50 / p99 ms) server CPU µs per message; depth = messages in flight per connection; ratios: median of rounds');
  const rows = e.ratios.map((c) => {
    const cell = (name: string): string => {
      const r = e.results.find((x) => x.target === name && x.conns === c.conns && x.size === c.size && x.depth === c.depth);
      if (!r) return '-';
      if (r.error && r.msgsPerSec === 0) return 'error';
      return `${fmtRate(r.msgsPerSec)} (${r.p50Ms?.toFixed(2)}/${r.p99Ms?.toFixed(2)}) ${fmtUs(r.serverCpuUsPerMsg)}${r.error ? '!' : ''}`;
    };
    const range = c.vsWsRounds.length > 1 ? ` (${fmtRatio(Math.min(...c.vsWsRounds))}-${fmtRatio(Math.max(...c.vsWsRounds))})` : '';
    return [String(c.conns), fmtSize(c.size), String(c.depth), cell('ours'), cell('ws'), cell('nginx+lua'), cell('tcp'), `${fmtRatio(c.vsWs)}${range}`, fmtRatio(c.vsNginx), fmtRatio(c.vsTcp)];
  });
  console.log(table(['conns', 'size', 'depth', 'ours', 'ws', 'nginx+lua', 'raw tcp', 'ours/ws (rounds)', 'ours/nginx', 'ours/tcp'], rows));
  for (const r of e.results) if (r.error) console.log(`  ! ${r.target} ${r.conns}x${fmtSize(r.size)} depth ${r.depth}: ${r.error}`);
}

function printClient(c: ClientReport): void {
  console.log(`\nclient: serial round trips of ${fmtSize(c.size)} against nginx + Lua /echo`);
  console.log(table(['client', 'msgs/s'], [['ours', fmtRate(c.ours.msgsPerSec)], ['ws', fmtRate(c.ws.msgsPerSec)], ['ours/ws (median of paired rounds)', fmtRatio(c.ratio)]]));
}

function printDeflate(d: DeflateReport): void {
  console.log(`\ndeflate: serial round trips of ${fmtSize(d.size)} JSON text (zlib shrinks it ${d.compressionRatio}x), ws clients with permessage-deflate`);
  console.log(`  negotiated: ours "${d.extensions.ours ?? '-'}", ws "${d.extensions.ws ?? '-'}"`);
  const rows = d.cells.map((c) => [String(c.conns), fmtRate(c.results.ours?.medianMsgsPerSec ?? NaN), fmtRate(c.results.ws?.medianMsgsPerSec ?? NaN), fmtUs(c.results.ours?.medianCpuUsPerMsg), fmtUs(c.results.ws?.medianCpuUsPerMsg), fmtRatio(c.ratio)]);
  console.log(table(['conns', 'ours msgs/s', 'ws msgs/s', 'ours CPU µs/msg', 'ws CPU µs/msg', 'ours/ws (median of paired rounds)'], rows));
}

function printFuzz(f: FuzzBenchReport): void {
  console.log('\nfuzz: jsfuzz execs/s per target (fresh corpus), differential cases/s');
  const rows = f.targets.map((t) => [t.target, t.ok ? fmtRate(t.execsPerSec) : `error`]);
  rows.push(['diff (vs Lua)', f.diff.ok ? fmtRate(f.diff.casesPerSec) : `error: ${f.diff.error ?? ''}`]);
  if (f.diff.nodeCpuUsPerCase !== undefined) rows.push(['  diff CPU µs per case: node | luajit', `${f.diff.nodeCpuUsPerCase.toFixed(0)} | ${f.diff.luaCpuUsPerCase!.toFixed(0)}`]);
  console.log(table(['target', 'per second'], rows));
}

function printProfiles(dir: string): void {
  const connsDirs: string[] = [];
  try {
    for (const n of readdirSync(join(dir, 'conns')).sort((a, b) => Number(a) - Number(b))) connsDirs.push(`conns/${n}/ours`, `conns/${n}/ws`);
  } catch {
    // the conns suite did not run
  }
  for (const sub of ['echo/ours', 'echo/ws', ...connsDirs, 'deflate/ours-deflate', 'deflate/ws-deflate', 'codec']) {
    let file: string | null = null;
    try {
      file = mainProfileIn(join(dir, sub));
    } catch {
      continue; // that suite did not run
    }
    if (!file) continue;
    console.log(`\nCPU profile ${file}: self time, share of busy samples`);
    console.log(table(['function', 'where', 'share'], hotFunctions(file).map((h) => [h.name, h.where, `${(h.share * 100).toFixed(1)}%`]), 2));
  }
}

export interface RunBenchOptions {
  suites: readonly Suite[];
  profile: BenchProfile;
  out: string | null;
  command?: string;
  /** Print tables (default true). */
  print?: boolean;
  cpuProfDir?: string;
}

/** Runs the chosen suites; never throws for one suite's failure (it lands in `errors`). */
export async function runBench(o: RunBenchOptions): Promise<BenchReport> {
  const started = Date.now();
  const print = o.print ?? true;
  const cpuList = cpus();
  const report: BenchReport = {
    command: o.command ?? 'wslab bench',
    startedAt: new Date(started).toISOString(),
    durationMs: 0,
    machine: {
      cpus: cpuList.length,
      cpuModel: cpuList[0]?.model ?? 'unknown',
      memMiB: Math.round(totalmem() / 1048576),
      platform: platform(),
      release: release(),
      arch: arch(),
      node: process.version,
    },
    profile: o.profile,
    cpuPlacement: cpuPlacement(),
    errors: {},
    targets: [],
  };
  const log = (s: string): void => {
    if (print) console.error(s);
  };
  const pinned = report.cpuPlacement;
  log(pinned ? `[bench] servers (and nginx's workers) on CPU ${pinned.server}, load generators and clients on CPU ${pinned.load}` : '[bench] one CPU or no taskset: servers and load generators share what the scheduler gives them');
  const stopInterruptReport = o.out ? interruptedReportFile(o.out, () => ({ ...report, durationMs: Date.now() - started })) : () => {};
  let peer: RunningPeer | null = null;
  const needPeer = o.suites.some((s) => PEER_SUITES.includes(s));
  if (needPeer) {
    try {
      peer = await startPeer();
      report.luaLib = { version: peer.lib.clientVersion, path: peer.lib.path, source: peer.lib.source };
    } catch (e) {
      report.errors.peer = `nginx + Lua peer unavailable, its measurements are skipped: ${(e as Error).message}`;
      log(report.errors.peer);
    }
  }
  try {
    for (const suite of o.suites) {
      log(`[bench] ${suite} ...`);
      try {
        if (suite === 'codec') {
          report.codec = await runCodecBench({ ...o.profile.codec, ...(o.cpuProfDir ? { cpuProfDir: join(o.cpuProfDir, 'codec') } : {}) });
          if (print) printCodec(report.codec);
        } else if (suite === 'echo') {
          report.echo = await runEchoBench({ ...o.profile.echo, peer, ...(o.cpuProfDir ? { cpuProfDir: join(o.cpuProfDir, 'echo') } : {}) });
          if (print) printEcho(report.echo);
        } else if (suite === 'conns') {
          report.conns = await runConnsBench({ ...o.profile.conns, peer, ...(o.cpuProfDir ? { cpuProfDir: join(o.cpuProfDir, 'conns') } : {}) });
          if (print) printConns(report.conns);
        } else if (suite === 'heap') {
          report.heap = await runHeapBench(o.profile.heap ?? { conns: 2000, rounds: 2 });
          if (print) printHeap(report.heap);
        } else if (suite === 'client') {
          if (!peer) throw new Error('needs the nginx + Lua peer');
          report.client = await runClientBench({ ...o.profile.client, peer });
          if (print) printClient(report.client);
        } else if (suite === 'deflate') {
          report.deflate = await runDeflateBench({ ...(o.profile.deflate ?? PROFILES.full.deflate!), ...(o.cpuProfDir ? { cpuProfDir: join(o.cpuProfDir, 'deflate') } : {}) });
          if (print) printDeflate(report.deflate);
        } else if (suite === 'session') {
          if (!peer) throw new Error('needs the nginx + Lua peer');
          report.session = await runSessionBench({ ...(o.profile.session ?? { rounds: 3, roundMs: 15_000 }), peer });
          if (print) console.log(`\nsession diff against nginx + Lua ${report.session.lib}: sessions/s per round (both sides run each session)\n${report.session.roles.map((x) => `  ${x.role}: ${x.perRound.join(', ')} (median ${x.median}, range ${x.min}-${x.max}; ${x.divergences} divergences, ${x.explained} explained, ${x.retries} retries, ${x.stallReruns} re-run after a stall)`).join('\n')}`);
        } else {
          report.fuzz = await runFuzzBench(o.profile.fuzz);
          if (print) printFuzz(report.fuzz);
        }
      } catch (e) {
        report.errors[suite] = (e as Error).stack ?? String(e);
        log(`[bench] ${suite} failed: ${(e as Error).message}`);
      }
    }
  } finally {
    await peer?.stop();
  }
  report.targets = checkTargets(report);
  report.durationMs = Date.now() - started;
  stopInterruptReport();
  report.machine.loadavg = (await import('node:os')).loadavg();
  if (print && report.targets.length > 0) {
    console.log('\ntargets');
    console.log(table(['', 'target', 'detail', 'goal', 'got'], report.targets.map((t) => [t.ok ? '✓' : '✗', t.name, t.detail, `${t.bound === 'max' ? '≤' : '≥'} ${fmtTargetValue(t, t.want)}`, fmtTargetValue(t, t.got)]), 3));
  }
  if (print && o.cpuProfDir) printProfiles(o.cpuProfDir);
  if (o.out) {
    writeJsonReport(o.out, report);
    if (print) console.log(`\nwrote ${shownPath(o.out)} (${(report.durationMs / 1000).toFixed(0)} s)`);
  }
  return report;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCommandLine('bench', argv, options);
  const libErr = chooseLuaLib(values['lua-lib']);
  if (libErr) throw new UsageError('bench', `--lua-lib: ${libErr}`);
  const suites = values.only ?? [...SUITES];
  const notLoading = suites.some((s) => PEER_SUITES.includes(s)) ? chosenLibraryLoadError() : null;
  if (notLoading !== null) {
    console.error(`wslab bench: ${notLoading}`);
    return 1;
  }
  const report = await runBench({
    suites,
    profile: PROFILES[values.quick ? 'quick' : 'full'],
    out: resolve(values.out ?? join(REPORT_DIR, 'bench.json')),
    command: ['wslab bench', ...argv].join(' '),
    ...(values['cpu-prof'] ? { cpuProfDir: resolve(values['cpu-prof']) } : {}),
  });
  // With --json the tables above went to stderr (lab/output.ts); the report is the document.
  if (values.json) printJson(report);
  // a missed target is a finding, not a failure; a suite that could not run is
  return Object.keys(report.errors).filter((k) => k !== 'peer').length > 0 ? 1 : 0;
}
