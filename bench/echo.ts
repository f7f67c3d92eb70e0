// Echo benchmark (parent): our server, a ws server and a raw TCP echo (the floor) each in a child
// process, nginx + Lua /echo from the peer, and the load generator in its own child process.
import type { RunningPeer } from '../lab/peers/index.js';
import { cpuPlacement, median, pinNginx, spawnBenchChild, type ChildHandle } from './common.js';
import { benchBuildDir } from './build.js';
import type { LoadCell, LoadParams, LoadResult, LoadTarget } from './loadgen.js';

export interface EchoOptions {
  conns?: number[];
  sizes?: number[];
  /** In-flight messages per connection for the pipelined runs. */
  pipelineDepth?: number;
  /** Measured time of each target per cell and round. */
  timeMs: number;
  /** Rounds per cell, the targets' order rotated each round (default 1). */
  rounds?: number;
  warmupMs: number;
  maxMsgs: number;
  /** nginx + Lua peer; absent = that column is skipped. */
  peer: RunningPeer | null;
  /** Write CPU profiles of both server children here. */
  cpuProfDir?: string;
}

export interface EchoReport {
  results: LoadResult[];
  /**
   * Per cell: ours / ws, ours / nginx and ours / raw TCP echo msgs/s, each the median of the
   * rounds' ratios (ours and the other measured within seconds of each other); `vsWsRounds` are
   * those of ws.
   */
  ratios: Array<{ conns: number; size: number; depth: number; vsWs: number | null; vsWsRounds: number[]; vsNginx: number | null; vsTcp: number | null }>;
}

/** The servers bench/echo-server.ts runs. */
export type EchoServerKind = 'ours' | 'ws' | 'tcp' | 'tcp-pull' | 'ours-deflate' | 'ws-deflate';

/** The raw TCP echoes: they send back the client's own masked frames and run no code of ours to profile. */
export function isRawEcho(kind: EchoServerKind): boolean {
  return kind === 'tcp' || kind === 'tcp-pull';
}

/**
 * Starts bench/echo-server.ts as `kind` on the servers' CPU (cpuPlacement), with a CPU profile of
 * it in cpuProfDir/kind, except for the raw TCP echoes.
 */
export async function startServerChild(kind: EchoServerKind, lifetimeMs: number, cpuProfDir?: string): Promise<{ child: ChildHandle; port: number; pid: number }> {
  const dir = cpuProfDir && !isRawEcho(kind) ? `${cpuProfDir}/${kind}` : undefined;
  const child = spawnBenchChild(benchBuildDir(), 'echo-server.ts', [kind, String(lifetimeMs), ...(dir ? [dir] : [])], {}, lifetimeMs + 5000, [], cpuPlacement()?.server);
  const info = (await child.firstJson) as { port: number; pid: number };
  return { child, port: info.port, pid: info.pid };
}

export async function runEchoBench(o: EchoOptions): Promise<EchoReport> {
  const depth = o.pipelineDepth ?? 32;
  const cells: LoadCell[] = [];
  for (const conns of o.conns ?? [1, 64]) for (const size of o.sizes ?? [16, 16 * 1024]) for (const d of [1, depth]) cells.push({ conns, size, depth: d });
  const targetsCount = o.peer ? 4 : 3;
  const rounds = Math.max(1, o.rounds ?? 1);
  const bound = 60_000 + cells.length * targetsCount * (rounds * (o.timeMs + 2500) + o.warmupMs + 2500) * 2;
  const servers = await Promise.all([startServerChild('ours', bound, o.cpuProfDir), startServerChild('ws', bound, o.cpuProfDir), startServerChild('tcp', bound)]);
  const ngxPid = o.peer?.pid ?? null;
  const unpinNginx = pinNginx(ngxPid, cpuPlacement()?.server);
  try {
    const targets: LoadTarget[] = [
      { name: 'ours', host: '127.0.0.1', port: servers[0].port, path: '/', pid: servers[0].pid },
      { name: 'ws', host: '127.0.0.1', port: servers[1].port, path: '/', pid: servers[1].pid },
    ];
    if (o.peer) {
      const u = new URL(o.peer.wsUrl);
      targets.push({ name: 'nginx+lua', host: u.hostname, port: Number(u.port), path: `${u.pathname.replace(/\/$/, '')}/echo?timeout=60000`, pid: ngxPid });
    }
    // the raw TCP echo returns our masked frames as they are; the generator's decoder takes them
    targets.push({ name: 'tcp', host: '127.0.0.1', port: servers[2].port, path: '/', pid: servers[2].pid });
    const params: LoadParams = { targets, cells, timeMs: o.timeMs, maxMsgs: o.maxMsgs, warmupMs: o.warmupMs, rounds };
    const gen = spawnBenchChild(benchBuildDir(), 'loadgen.ts', [JSON.stringify(params)], {}, bound, [], cpuPlacement()?.load);
    const { results } = (await gen.firstJson) as { results: LoadResult[] };
    await gen.exited;
    const find = (name: string, c: LoadCell): LoadResult | undefined => results.find((x) => x.target === name && x.conns === c.conns && x.size === c.size && x.depth === c.depth);
    /** ours / other per round (where both ran), or of the one run. */
    const roundRatios = (name: string, c: LoadCell): number[] => {
      const ours = find('ours', c);
      const other = find(name, c);
      if (!ours || !other || ours.error || other.error) return [];
      const a = ours.perRound ?? [ours.msgsPerSec];
      const b = other.perRound ?? [other.msgsPerSec];
      return a.flatMap((x, i) => (x > 0 && (b[i] ?? 0) > 0 ? [x / b[i]!] : []));
    };
    const med = (xs: number[]): number | null => (xs.length > 0 ? median(xs) : null);
    const ratios = cells.map((c) => {
      const vsWsRounds = roundRatios('ws', c);
      return { ...c, vsWs: med(vsWsRounds), vsWsRounds, vsNginx: med(roundRatios('nginx+lua', c)), vsTcp: med(roundRatios('tcp', c)) };
    });
    return { results, ratios };
  } finally {
    unpinNginx();
    for (const s of servers) s.child.kill();
    await Promise.all(servers.map((s) => s.child.exited));
  }
}
