// Echo benchmark (parent): our server, a ws server and a raw TCP echo (the floor) each in a child
// process, nginx + Lua /echo from the peer, and the load generator in its own child process.
import type { RunningPeer } from '../lab/peers/index.js';
import { spawnBenchChild, type ChildHandle } from './common.js';
import { benchBuildDir } from './build.js';
import type { LoadCell, LoadParams, LoadResult, LoadTarget } from './loadgen.js';

export interface EchoOptions {
  conns?: number[];
  sizes?: number[];
  /** In-flight messages per connection for the pipelined runs. */
  pipelineDepth?: number;
  timeMs: number;
  warmupMs: number;
  maxMsgs: number;
  /** nginx + Lua peer; absent = that column is skipped. */
  peer: RunningPeer | null;
  /** Write CPU profiles of both server children here. */
  cpuProfDir?: string;
}

export interface EchoReport {
  results: LoadResult[];
  /** Per cell: ours / ws, ours / nginx and ours / raw TCP echo msgs/s. */
  ratios: Array<{ conns: number; size: number; depth: number; vsWs: number | null; vsNginx: number | null; vsTcp: number | null }>;
}

/** The servers bench/echo-server.ts runs. */
export type EchoServerKind = 'ours' | 'ws' | 'tcp' | 'ours-deflate' | 'ws-deflate';

/** Starts bench/echo-server.ts as `kind` (with a CPU profile of it in cpuProfDir/kind, except for the raw TCP echo). */
export async function startServerChild(kind: EchoServerKind, lifetimeMs: number, cpuProfDir?: string): Promise<{ child: ChildHandle; port: number; pid: number }> {
  const dir = cpuProfDir && kind !== 'tcp' ? `${cpuProfDir}/${kind}` : undefined;
  const child = spawnBenchChild(benchBuildDir(), 'echo-server.ts', [kind, String(lifetimeMs), ...(dir ? [dir] : [])], {}, lifetimeMs + 5000);
  const info = (await child.firstJson) as { port: number; pid: number };
  return { child, port: info.port, pid: info.pid };
}

export async function runEchoBench(o: EchoOptions): Promise<EchoReport> {
  const depth = o.pipelineDepth ?? 32;
  const cells: LoadCell[] = [];
  for (const conns of o.conns ?? [1, 64]) for (const size of o.sizes ?? [16, 16 * 1024]) for (const d of [1, depth]) cells.push({ conns, size, depth: d });
  const targetsCount = o.peer ? 4 : 3;
  const bound = 60_000 + cells.length * targetsCount * (o.timeMs + o.warmupMs + 2500) * 2;
  const servers = await Promise.all([startServerChild('ours', bound, o.cpuProfDir), startServerChild('ws', bound, o.cpuProfDir), startServerChild('tcp', bound)]);
  try {
    const targets: LoadTarget[] = [
      { name: 'ours', host: '127.0.0.1', port: servers[0].port, path: '/', pid: servers[0].pid },
      { name: 'ws', host: '127.0.0.1', port: servers[1].port, path: '/', pid: servers[1].pid },
    ];
    if (o.peer) {
      const u = new URL(o.peer.wsUrl);
      const pid = 'pid' in o.peer && typeof o.peer.pid === 'number' ? o.peer.pid : null;
      targets.push({ name: 'nginx+lua', host: u.hostname, port: Number(u.port), path: `${u.pathname.replace(/\/$/, '')}/echo?timeout=60000`, pid });
    }
    // the raw TCP echo returns our masked frames as they are; the generator's decoder takes them
    targets.push({ name: 'tcp', host: '127.0.0.1', port: servers[2].port, path: '/', pid: servers[2].pid });
    const params: LoadParams = { targets, cells, timeMs: o.timeMs, maxMsgs: o.maxMsgs, warmupMs: o.warmupMs };
    const gen = spawnBenchChild(benchBuildDir(), 'loadgen.ts', [JSON.stringify(params)], {}, bound);
    const { results } = (await gen.firstJson) as { results: LoadResult[] };
    await gen.exited;
    const rate = (name: string, c: LoadCell): number | null => {
      const r = results.find((x) => x.target === name && x.conns === c.conns && x.size === c.size && x.depth === c.depth);
      return r && !r.error && r.msgsPerSec > 0 ? r.msgsPerSec : null;
    };
    const ratios = cells.map((c) => {
      const ours = rate('ours', c);
      const ws = rate('ws', c);
      const ngx = rate('nginx+lua', c);
      const tcp = rate('tcp', c);
      return { ...c, vsWs: ours !== null && ws !== null ? ours / ws : null, vsNginx: ours !== null && ngx !== null ? ours / ngx : null, vsTcp: ours !== null && tcp !== null ? ours / tcp : null };
    });
    return { results, ratios };
  } finally {
    for (const s of servers) s.child.kill();
    await Promise.all(servers.map((s) => s.child.exited));
  }
}
