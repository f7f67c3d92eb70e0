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

async function measure(t: ConnsTarget, p: ConnsParams): Promise<ConnsResult> {
  const payload = Buffer.alloc(p.size, 0x78);
  const frame = buildFrame(true, 0x2, p.size, payload, true, KEY).frame!;
  const serverHead = p.size < 126 ? 2 : p.size < 65536 ? 4 : 10;
  const echoLen = t.rawEcho ? frame.length : serverHead + p.size;
  const echoFirstByte = 0x82;
  const concurrency = p.openConcurrency ?? 128;
  // Warm-up on one connection (JIT, heap sizing), closed before the baseline.
  if (p.warmupMs > 0) {
    const warm = await openAll(t, 1, 1);
    const w = await roundTrips(t, warm, frame, echoLen, echoFirstByte, p.warmupMs, p.maxMsgs);
    for (const s of warm) s.destroy();
    if (w.error) throw new Error(`warm-up: ${w.error}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const rssBase = rssKiB(t.pid);
  const socks = await openAll(t, p.conns, concurrency);
  try {
    const cpu0 = cpuUs(t.pid);
    const own0 = process.cpuUsage();
    const r = await roundTrips(t, socks, frame, echoLen, echoFirstByte, p.timeMs, p.maxMsgs);
    const own = process.cpuUsage(own0);
    const cpu1 = cpuUs(t.pid);
    const rssLoaded = rssKiB(t.pid);
    const lat = r.latencies.sort();
    return {
      target: t.name,
      conns: p.conns,
      size: p.size,
      msgs: r.msgs,
      seconds: r.seconds,
      msgsPerSec: r.seconds > 0 ? r.msgs / r.seconds : 0,
      p50Ms: percentileSorted(lat, 50),
      p99Ms: percentileSorted(lat, 99),
      rssBaseKiB: rssBase,
      rssLoadedKiB: rssLoaded,
      rssPerConnKiB: rssBase !== null && rssLoaded !== null ? (rssLoaded - rssBase) / p.conns : null,
      serverCpuUsPerMsg: cpu0 !== null && cpu1 !== null && r.msgs > 0 ? (cpu1 - cpu0) / r.msgs : null,
      loadgenCpuUsPerMsg: r.msgs > 0 ? (own.user + own.system) / r.msgs : 0,
      ...(r.error !== undefined ? { error: r.error } : {}),
    };
  } finally {
    for (const s of socks) s.destroy();
  }
}

export async function runConnsLoadgen(p: ConnsParams): Promise<ConnsResult[]> {
  const out: ConnsResult[] = [];
  for (const t of p.targets) {
    try {
      out.push(await measure(t, p));
    } catch (e) {
      out.push({ target: t.name, conns: p.conns, size: p.size, msgs: 0, seconds: 0, msgsPerSec: 0, p50Ms: NaN, p99Ms: NaN, rssBaseKiB: null, rssLoadedKiB: null, rssPerConnKiB: null, serverCpuUsPerMsg: null, loadgenCpuUsPerMsg: 0, error: (e as Error).message });
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
