// Connections benchmark (parent): 1 .. 5000 connections of serial round trips against our server,
// a ws server, nginx + Lua /echo and a raw TCP echo, plain and through a promise per read (the
// floor of a pull API such as recvFrame), with each server's RSS per connection. For every
// connection count the four Node servers start fresh (so RSS growth belongs to that count) and one
// load generator child drives them all: ours and ws with all their connections open at once, in
// alternating rounds (the ratio is the median of the rounds'), nginx and the raw TCP echoes once
// each for as long as those rounds together, in an order rotated per count.
import { spawnSync } from 'node:child_process';
import type { RunningPeer } from '../lab/peers/index.js';
import type { ConnsParams, ConnsResult, ConnsTarget } from './conns-loadgen.js';
import { cpuPlacement, median, pinNginx, spawnBenchChild } from './common.js';
import { isRawEcho, startServerChild } from './echo.js';
import { benchBuildDir } from './build.js';

export const CONNS_COUNTS = [1, 100, 1000, 5000];

export interface ConnsOptions {
  counts?: number[];
  /** Payload bytes per message (default 64). */
  size?: number;
  /** Measured time of one run (of each round for ours and ws). */
  timeMs: number;
  /** Rounds of ours against ws, alternating which goes first (default 1). */
  rounds?: number;
  warmupMs: number;
  maxMsgs: number;
  peer: RunningPeer | null;
  /** CPU profiles of our server and the ws server at each count, in DIR/<count>/<kind>. */
  cpuProfDir?: string;
}

export interface ConnsReport {
  size: number;
  /** The open-file limits the children inherit (Node raises its soft limit to the hard one at start). */
  nofile: { soft: number | null; hard: number | null };
  results: ConnsResult[];
  /**
   * Per count: ours / ws msgs/s (the median of the paired rounds' ratios, with their range), server
   * CPU per message and RSS per connection; ours / nginx and ours / raw TCP (one run each).
   */
  ratios: Array<{ conns: number; vsWs: number | null; vsWsRounds: number[]; cpuVsWs: number | null; vsNginx: number | null; vsTcp: number | null; rssVsWs: number | null }>;
  /** Counts not run, and why (e.g. over the file-descriptor limit). */
  skipped: Array<{ conns: number; reason: string }>;
}

// tcp-pull: the raw TCP echo through a promise per read, the floor of any pull API (bench/echo-server.ts)
const SERVER_KINDS = ['ours', 'ws', 'tcp', 'tcp-pull'] as const;

function nofileLimits(): { soft: number | null; hard: number | null } {
  const r = spawnSync('sh', ['-c', 'ulimit -Sn; ulimit -Hn'], { encoding: 'utf8' });
  const [soft, hard] = r.stdout.trim().split('\n').map((x) => (x === 'unlimited' ? Infinity : Number(x)));
  return { soft: Number.isFinite(soft) || soft === Infinity ? soft! : null, hard: Number.isFinite(hard) || hard === Infinity ? hard! : null };
}

/** One connection count: the three Node servers fresh, one load generator driving them and nginx (`ci` rotates the order). */
async function measureCount(o: ConnsOptions, conns: number, ci: number, size: number, ngxPid: number | null): Promise<ConnsResult[]> {
  const rounds = Math.max(1, o.rounds ?? 1);
  const perTarget = rounds * o.timeMs + o.warmupMs + 5000 * rounds + conns * 10;
  const bound = 30_000 + 4 * perTarget * 2;
  const servers = await Promise.all(SERVER_KINDS.map(async (kind) => ({ kind, ...(await startServerChild(kind, bound, o.cpuProfDir ? `${o.cpuProfDir}/${conns}` : undefined)) })));
  try {
    const targets: ConnsTarget[] = servers.map((s) => ({ name: s.kind, host: '127.0.0.1', port: s.port, path: '/', pid: s.pid, rawEcho: isRawEcho(s.kind) }));
    if (o.peer) {
      const u = new URL(o.peer.wsUrl);
      targets.splice(2, 0, { name: 'nginx+lua', host: u.hostname, port: Number(u.port), path: `${u.pathname.replace(/\/$/, '')}/echo?timeout=60000`, pid: ngxPid });
    }
    // rotate who goes first, so slow drift of the machine's load does not favour one server
    const order = targets.map((_, i) => targets[(i + ci) % targets.length]!);
    const params: ConnsParams = { targets: order, conns, size, timeMs: o.timeMs, warmupMs: o.warmupMs, maxMsgs: o.maxMsgs, paired: ['ours', 'ws'], rounds };
    const gen = spawnBenchChild(benchBuildDir(), 'conns-loadgen.ts', [JSON.stringify(params)], {}, bound, [], cpuPlacement()?.load);
    const got = ((await gen.firstJson) as { results: ConnsResult[] }).results;
    await gen.exited;
    return got;
  } finally {
    for (const s of servers) s.child.kill();
    await Promise.all(servers.map((s) => s.child.exited));
  }
}

export async function runConnsBench(o: ConnsOptions): Promise<ConnsReport> {
  const size = o.size ?? 64;
  const nofile = nofileLimits();
  const skipped: ConnsReport['skipped'] = [];
  const results: ConnsResult[] = [];
  // Each side of a connection needs a descriptor; the children inherit the hard limit as their soft
  // one. The load generator holds ours's and ws's connections at once.
  const fdRoom = nofile.hard === null ? Infinity : nofile.hard - 256;
  const counts = (o.counts ?? CONNS_COUNTS).filter((n) => {
    if (2 * n <= fdRoom) return true;
    skipped.push({ conns: n, reason: `needs ${2 * n} open files in the load generator; RLIMIT_NOFILE hard limit is ${nofile.hard} (raise it, e.g. ulimit -Hn in the shell that runs wslab)` });
    return false;
  });
  const ngxPid = o.peer?.pid ?? null;
  const unpinNginx = pinNginx(ngxPid, cpuPlacement()?.server);
  try {
    for (const [ci, conns] of counts.entries()) results.push(...(await measureCount(o, conns, ci, size, ngxPid)));
  } finally {
    unpinNginx();
  }
  const find = (name: string, conns: number): ConnsResult | undefined => results.find((r) => r.target === name && r.conns === conns && !r.error && r.msgsPerSec > 0);
  const ratio = (a: number | null | undefined, b: number | null | undefined): number | null => (a != null && b != null && b > 0 ? a / b : null);
  const ratios = counts.map((conns) => {
    const ours = find('ours', conns);
    const ws = find('ws', conns);
    const vsWsRounds = (ours?.perRound ?? []).flatMap((r, i) => {
      const x = ratio(r.msgsPerSec, ws?.perRound?.[i]?.msgsPerSec);
      return x === null ? [] : [x];
    });
    return {
      conns,
      vsWs: vsWsRounds.length > 0 ? median(vsWsRounds) : ratio(ours?.msgsPerSec, ws?.msgsPerSec),
      vsWsRounds,
      cpuVsWs: ratio(ours?.serverCpuUsPerMsg, ws?.serverCpuUsPerMsg),
      vsNginx: ratio(ours?.msgsPerSec, find('nginx+lua', conns)?.msgsPerSec),
      vsTcp: ratio(ours?.msgsPerSec, find('tcp', conns)?.msgsPerSec),
      rssVsWs: ratio(ours?.rssPerConnKiB, ws?.rssPerConnKiB),
    };
  });
  return { size, nofile, results, ratios, skipped };
}
