// Deflate benchmark (parent): compressed echo, our server vs a ws server, both with
// permessage-deflate on its defaults, each in a child process (bench/echo-server.ts), driven by
// ws clients with permessage-deflate in a third (deflate-child.ts).
import { benchBuildDir } from './build.js';
import type { DeflateChildParams, DeflateReport } from './deflate-child.js';
import { cpuPlacement, spawnBenchChild } from './common.js';
import { startServerChild } from './echo.js';

export interface DeflateOptions {
  /** Octets per message. */
  size?: number;
  conns?: number[];
  rounds: number;
  /** Time and message bounds per round per server. */
  roundMs: number;
  maxMsgs: number;
  /** Write CPU profiles of both servers' serving here (DIR/ours-deflate, DIR/ws-deflate). */
  cpuProfDir?: string;
}

export async function runDeflateBench(o: DeflateOptions): Promise<DeflateReport> {
  const conns = o.conns ?? [1, 16];
  const bound = 30_000 + conns.length * (o.rounds + 1) * 2 * (o.roundMs + 10_000);
  const servers = await Promise.all([startServerChild('ours-deflate', bound, o.cpuProfDir), startServerChild('ws-deflate', bound, o.cpuProfDir)]);
  try {
    const params: DeflateChildParams = {
      targets: [
        { name: 'ours', port: servers[0].port, pid: servers[0].pid },
        { name: 'ws', port: servers[1].port, pid: servers[1].pid },
      ],
      size: o.size ?? 16 * 1024,
      conns,
      rounds: o.rounds,
      roundMs: o.roundMs,
      maxMsgs: o.maxMsgs,
    };
    // the servers run on the servers' CPU (startServerChild), the clients on the other
    const child = spawnBenchChild(benchBuildDir(), 'deflate-child.ts', [JSON.stringify(params)], {}, bound, [], cpuPlacement()?.load);
    const report = (await child.firstJson) as DeflateReport | { error: string };
    await child.exited;
    if ('error' in report) throw new Error(report.error);
    return report;
  } finally {
    for (const s of servers) s.child.kill();
    // (a server writes its CPU profile as it stops)
    await Promise.all(servers.map((s) => s.child.exited));
  }
}
