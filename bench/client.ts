// Client benchmark (parent): our client vs the ws client, serial round trips against the same
// nginx + Lua /echo, interleaved rounds, median ratio, measured in a child process
// (client-child.ts) running plain JavaScript like the servers of the other suites (bench/build.ts).
import type { RunningPeer } from '../lab/peers/index.js';
import { benchBuildDir } from './build.js';
import type { ClientChildParams, ClientReport } from './client-child.js';
import { cpuPlacement, pinNginx, spawnBenchChild } from './common.js';

export interface ClientOptions {
  peer: RunningPeer;
  size?: number;
  rounds: number;
  /** Time and message bounds per round per client. */
  roundMs: number;
  maxMsgs: number;
}

function echoUrl(peer: RunningPeer): string {
  return `${peer.wsUrl.replace(/\/$/, '')}/echo?timeout=60000`;
}

/** Runs the rounds in a child process (plain JavaScript, see bench/build.ts). */
export async function runClientBench(o: ClientOptions): Promise<ClientReport> {
  const params: ClientChildParams = { url: echoUrl(o.peer), size: o.size ?? 16, rounds: o.rounds, roundMs: o.roundMs, maxMsgs: o.maxMsgs };
  const bound = 30_000 + (o.rounds + 1) * 2 * (o.roundMs + 10_000);
  // the clients on the load generators' CPU, nginx's workers on the servers' (cpuPlacement)
  const unpinNginx = pinNginx(o.peer.pid ?? null, cpuPlacement()?.server);
  let report: ClientReport | { error: string };
  try {
    const child = spawnBenchChild(benchBuildDir(), 'client-child.ts', [JSON.stringify(params)], {}, bound, [], cpuPlacement()?.load);
    report = (await child.firstJson) as ClientReport | { error: string };
    await child.exited;
  } finally {
    unpinNginx();
  }
  if ('error' in report) throw new Error(report.error);
  return report;
}

