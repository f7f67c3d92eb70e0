// Child process: the load generator of the `conns` suite. N connections to one server, each doing
// serial round trips of one small binary frame (one message in flight per connection), and the
// server's RSS and CPU time read from /proc/<pid> around the run.
//
// It must cost less than the servers it measures: no WebSocket decoder at all. Every echo has a
// known length (the server's unmasked frame, or our own masked frame back from the raw TCP echo),
// so a connection only counts bytes, checks the first byte of each echo it sees start, and sends
// the next frame when one is complete. Its own CPU time per message is reported beside the
// server's, so the claim can be checked on every run.
import type * as net from 'node:net';
// impl by path, not by package name: a child runs from the bench build, beside the impl/*.js built with it (bench/build.ts).
import { buildFrame } from '../impl/protocol.js';
import { cpuUs, isMain, openUpgraded, percentileSorted, rssKiB } from './common.js';

export interface ConnsTarget {
  name: string;
  host: string;
  port: number;
  path: string;
  /** The server's process (its RSS and CPU time are read from /proc); null = not measurable. */
  pid: number | null;
  /** A raw TCP echo: the echo is the masked frame we sent, not the server's unmasked one. */
  rawEcho?: boolean;
}

export interface ConnsParams {
  targets: ConnsTarget[];
  conns: number;
  size: number;
  /** Measured time, warm-up time (on one connection, before the RSS baseline), message cap. */
  timeMs: number;
  warmupMs: number;
  maxMsgs: number;
  /** Connections being opened at once (the rest wait: the listen backlogs are 511-4096). */
  openConcurrency?: number;
  /**
   * Targets measured side by side (ours and ws): all their connections open at once, then
   * `rounds` rounds of `timeMs` each, alternating which goes first, so both see the same machine
   * within seconds and their ratio is the median of per-round ratios. The others run once for
   * `rounds` × `timeMs`.
   */
  paired?: string[];
  rounds?: number;
}

/** One round of a paired target: its messages per second and the server's CPU per message. */
export interface ConnsRound {
  msgsPerSec: number;
  serverCpuUsPerMsg: number | null;
}

export interface ConnsResult {
  target: string;
  conns: number;
  size: number;
  msgs: number;
  seconds: number;
  msgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Server RSS (KiB) after the warm-up with no connection open, and with all N open after the run. */
  rssBaseKiB: number | null;
  rssLoadedKiB: number | null;
  /** (loaded - base) / N: what each open connection costs the server, including what the load made it keep. */
  rssPerConnKiB: number | null;
  /** CPU time per message (µs) of the server and of this load generator during the measured run. */
  serverCpuUsPerMsg: number | null;
  loadgenCpuUsPerMsg: number;
  /** A paired target's rounds, in order (its totals above are over all of them). */
  perRound?: ConnsRound[];
  error?: string;
}

const KEY = Buffer.from([0x11, 0x22, 0x33, 0x44]);

async function openAll(t: ConnsTarget, n: number, concurrency: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  let next = 0;
  let failure: Error | null = null;
  const worker = async (): Promise<void> => {
    while (next < n && failure === null) {
      next++;
      try {
        const { sock, rest } = await openUpgraded(t, 10_000);
        if (rest.length !== 0) throw new Error(`${t.name}: ${rest.length} unexpected bytes after the 101`);
        socks.push(sock);
      } catch (e) {
        failure ??= e as Error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, concurrency) }, worker));
  if (failure !== null) {
    for (const s of socks) s.destroy();
    throw failure;
  }
  return socks;
}

interface RunStats {
  msgs: number;
  seconds: number;
  latencies: Float64Array;
  error?: string;
}

/** Serial round trips on every socket until `timeMs` passed or `maxMsgs` were sent; waits for the echoes in flight. */
function roundTrips(t: ConnsTarget, socks: net.Socket[], frame: Buffer, echoLen: number, echoFirstByte: number, timeMs: number, maxMsgs: number): Promise<RunStats> {
  const latencies = new Float64Array(maxMsgs);
  let received = 0;
  let sent = 0;
  let stopSending = false;
  let errorText: string | undefined;
  const start = performance.now();
  let last = start;
  return new Promise((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(sendTimer);
      clearTimeout(hardTimer);
      for (const s of socks) {
        s.removeAllListeners('data');
        s.pause();
      }
      resolve({ msgs: received, seconds: (last - start) / 1000, latencies: latencies.subarray(0, Math.min(received, maxMsgs)), ...(errorText !== undefined ? { error: errorText } : {}) });
    };
    const sendTimer = setTimeout(() => {
      stopSending = true;
      if (received === sent) finish();
    }, timeMs);
    // the echoes in flight when sending stops get 5 s more, plus 1 ms per connection (thousands of
    // connections on a loaded machine answer in bursts)
    const graceMs = 5000 + socks.length;
    const hardTimer = setTimeout(() => {
      errorText ??= `${sent - received} echoes missing ${(graceMs / 1000).toFixed(0)} s after the time limit`;
      finish();
    }, timeMs + graceMs);
    for (const sock of socks) {
      let got = 0; // bytes of the current echo received so far
      let sentAt = 0;
      sock.on('data', (d: Buffer) => {
        let i = 0;
        while (i < d.length) {
          if (got === 0 && d[i] !== echoFirstByte) {
            errorText ??= `${t.name}: unexpected echo byte 0x${d[i]!.toString(16)}`;
            finish();
            return;
          }
          const take = Math.min(echoLen - got, d.length - i);
          got += take;
          i += take;
          if (got < echoLen) break;
          got = 0;
          const now = performance.now();
          if (received < maxMsgs) latencies[received] = now - sentAt;
          received++;
          last = now;
          if (!stopSending && sent < maxMsgs) {
            sent++;
            sentAt = now;
            sock.write(frame);
          } else if (received === sent) finish();
        }
      });
      sock.on('error', (e) => {
        errorText ??= `${t.name}: ${e.message}`;
        finish();
      });
      sock.on('close', () => {
        if (!finished) {
          errorText ??= `${t.name}: connection closed by the server`;
          finish();
        }
      });
      sock.resume();
      if (sent < maxMsgs) {
        sent++;
        sentAt = performance.now();
        sock.write(frame);
      }
    }
  });
}

/** A target's frame, the length and first byte of its echo. */
function framing(t: ConnsTarget, size: number): { frame: Buffer; echoLen: number; echoFirstByte: number } {
  const payload = Buffer.alloc(size, 0x78);
  const frame = buildFrame(true, 0x2, size, payload, true, KEY).frame!;
  const serverHead = size < 126 ? 2 : size < 65536 ? 4 : 10;
  return { frame, echoLen: t.rawEcho ? frame.length : serverHead + size, echoFirstByte: 0x82 };
}

/** Warm-up on one connection (JIT, heap sizing), closed, then the server's RSS as the baseline. */
async function warmUp(t: ConnsTarget, p: ConnsParams): Promise<number | null> {
  if (p.warmupMs > 0) {
    const { frame, echoLen, echoFirstByte } = framing(t, p.size);
    const warm = await openAll(t, 1, 1);
    const w = await roundTrips(t, warm, frame, echoLen, echoFirstByte, p.warmupMs, p.maxMsgs);
    for (const s of warm) s.destroy();
    if (w.error) throw new Error(`warm-up: ${w.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return rssKiB(t.pid);
}

interface Measured {
  msgs: number;
  seconds: number;
  latencies: Float64Array[];
  serverCpuUs: number | null;
  ownCpuUs: number;
  error?: string;
}

/** One measured run on open connections: round trips for `timeMs`, with both sides' CPU time. */
async function measureRun(t: ConnsTarget, socks: net.Socket[], p: ConnsParams): Promise<Measured> {
  const { frame, echoLen, echoFirstByte } = framing(t, p.size);
  const cpu0 = cpuUs(t.pid);
  const own0 = process.cpuUsage();
  const r = await roundTrips(t, socks, frame, echoLen, echoFirstByte, p.timeMs, p.maxMsgs);
  const own = process.cpuUsage(own0);
  const cpu1 = cpuUs(t.pid);
  return { msgs: r.msgs, seconds: r.seconds, latencies: [r.latencies], serverCpuUs: cpu0 !== null && cpu1 !== null ? cpu1 - cpu0 : null, ownCpuUs: own.user + own.system, ...(r.error !== undefined ? { error: r.error } : {}) };
}

function result(t: ConnsTarget, p: ConnsParams, m: Measured, rssBase: number | null, rssLoaded: number | null, perRound?: ConnsRound[]): ConnsResult {
  const all = new Float64Array(m.latencies.reduce((n, l) => n + l.length, 0));
  let at = 0;
  for (const l of m.latencies) {
    all.set(l, at);
    at += l.length;
  }
  const lat = all.sort();
  return {
    target: t.name,
    conns: p.conns,
    size: p.size,
    msgs: m.msgs,
    seconds: m.seconds,
    msgsPerSec: m.seconds > 0 ? m.msgs / m.seconds : 0,
    p50Ms: percentileSorted(lat, 50),
    p99Ms: percentileSorted(lat, 99),
    rssBaseKiB: rssBase,
    rssLoadedKiB: rssLoaded,
    rssPerConnKiB: rssBase !== null && rssLoaded !== null ? (rssLoaded - rssBase) / p.conns : null,
    serverCpuUsPerMsg: m.serverCpuUs !== null && m.msgs > 0 ? m.serverCpuUs / m.msgs : null,
    loadgenCpuUsPerMsg: m.msgs > 0 ? m.ownCpuUs / m.msgs : 0,
    ...(perRound !== undefined ? { perRound } : {}),
    ...(m.error !== undefined ? { error: m.error } : {}),
  };
}

function failed(t: ConnsTarget, p: ConnsParams, e: unknown): ConnsResult {
  return { target: t.name, conns: p.conns, size: p.size, msgs: 0, seconds: 0, msgsPerSec: 0, p50Ms: NaN, p99Ms: NaN, rssBaseKiB: null, rssLoadedKiB: null, rssPerConnKiB: null, serverCpuUsPerMsg: null, loadgenCpuUsPerMsg: 0, error: (e as Error).message };
}

/**
 * A target measured alone, in one run as long as all the rounds of a paired target together (and
 * with their message cap), so its RSS grows over as many messages as ours and ws's.
 */
async function measure(t: ConnsTarget, p: ConnsParams): Promise<ConnsResult> {
  const rssBase = await warmUp(t, p);
  const socks = await openAll(t, p.conns, p.openConcurrency ?? 128);
  const rounds = p.paired !== undefined && p.paired.length > 0 ? Math.max(1, p.rounds ?? 1) : 1;
  try {
    const m = await measureRun(t, socks, { ...p, timeMs: p.timeMs * rounds, maxMsgs: p.maxMsgs * rounds });
    return result(t, p, m, rssBase, rssKiB(t.pid));
  } finally {
    for (const s of socks) s.destroy();
  }
}

/**
 * The paired targets: each warmed up and its baseline RSS read, all their connections opened,
 * then the rounds, alternating which target goes first; RSS again with everything still open.
 */
async function measurePaired(ts: ConnsTarget[], p: ConnsParams): Promise<ConnsResult[]> {
  const open = new Map<ConnsTarget, { rssBase: number | null; socks: net.Socket[]; runs: Measured[] }>();
  const out = new Map<ConnsTarget, ConnsResult>();
  try {
    for (const t of ts) {
      try {
        const rssBase = await warmUp(t, p);
        open.set(t, { rssBase, socks: await openAll(t, p.conns, p.openConcurrency ?? 128), runs: [] });
      } catch (e) {
        out.set(t, failed(t, p, e));
      }
    }
    const rounds = Math.max(1, p.rounds ?? 1);
    for (let r = 0; r < rounds; r++) {
      const order = [...open.keys()];
      if (r % 2 === 1) order.reverse();
      for (const t of order) {
        const o = open.get(t)!;
        o.runs.push(await measureRun(t, o.socks, p));
        await new Promise((res) => setTimeout(res, 50));
      }
    }
    for (const [t, o] of open) {
      const sum = (f: (m: Measured) => number | null): number | null => o.runs.reduce<number | null>((a, m) => (a === null || f(m) === null ? null : a + f(m)!), 0);
      const total: Measured = {
        msgs: sum((m) => m.msgs)!,
        seconds: sum((m) => m.seconds)!,
        latencies: o.runs.flatMap((m) => m.latencies),
        serverCpuUs: sum((m) => m.serverCpuUs),
        ownCpuUs: sum((m) => m.ownCpuUs)!,
        ...(o.runs.some((m) => m.error) ? { error: o.runs.find((m) => m.error)!.error! } : {}),
      };
      const perRound = o.runs.map((m) => ({ msgsPerSec: m.seconds > 0 ? m.msgs / m.seconds : 0, serverCpuUsPerMsg: m.serverCpuUs !== null && m.msgs > 0 ? m.serverCpuUs / m.msgs : null }));
      out.set(t, result(t, p, total, o.rssBase, rssKiB(t.pid), perRound));
    }
  } finally {
    for (const o of open.values()) for (const s of o.socks) s.destroy();
  }
  return ts.map((t) => out.get(t)!);
}

export async function runConnsLoadgen(p: ConnsParams): Promise<ConnsResult[]> {
  const out: ConnsResult[] = [];
  const pairedNames = new Set(p.paired ?? []);
  const paired = p.targets.filter((t) => pairedNames.has(t.name));
  let pairedDone = paired.length === 0;
  for (const t of p.targets) {
    if (pairedNames.has(t.name)) {
      // the paired targets run together, where the first of them comes in the order
      if (!pairedDone) out.push(...(await measurePaired(paired, p)));
      pairedDone = true;
    } else {
      try {
        out.push(await measure(t, p));
      } catch (e) {
        out.push(failed(t, p, e));
      }
    }
    // let the server close what we destroyed before the next one is measured
    await new Promise((r) => setTimeout(r, 200));
  }
  return out;
}

if (isMain(import.meta.url)) {
  const res = await runConnsLoadgen(JSON.parse(process.argv[2]!) as ConnsParams);
  process.stdout.write(JSON.stringify({ results: res }) + '\n');
  process.exit(0);
}
