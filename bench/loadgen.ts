// Child process: the echo load generator. Raw net sockets, a hand-written upgrade request,
// pre-built masked binary frames and a FrameDecoder that counts the echoes, so the generator
// costs as little as possible and is the same for every server. Bounded by message count AND time.
import type * as net from 'node:net';
// impl by path, not by package name: a child runs from the bench build, beside the impl/*.js built with it (bench/build.ts).
import { buildFrame, FrameDecoder } from '../impl/protocol.js';
import { cpuUs, isMain, median, openUpgraded, percentileSorted } from './common.js';

export interface LoadTarget {
  name: string;
  host: string;
  port: number;
  path: string;
  /** The server's process, for its CPU time (/proc); absent = not measured. */
  pid?: number | null;
}

export interface LoadCell {
  conns: number;
  size: number;
  /** Messages in flight per connection (1 = serial round trips). */
  depth: number;
}

export interface LoadParams {
  targets: LoadTarget[];
  cells: LoadCell[];
  /** Measured time per target per cell (per round), and the cap on messages. */
  timeMs: number;
  maxMsgs: number;
  warmupMs: number;
  /** Rounds per cell (default 1): every target once per round, the order rotated each round. */
  rounds?: number;
}

export interface LoadResult {
  target: string;
  conns: number;
  size: number;
  depth: number;
  msgs: number;
  seconds: number;
  msgsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Server CPU time per message (µs) during the measured run: unlike msgs/s, barely moved by other load on the machine. */
  serverCpuUsPerMsg?: number | null;
  /** msgs/s of each round, in order, when the cell ran in rounds (the totals above are over all). */
  perRound?: number[];
  error?: string;
}

const KEY = Buffer.from([0x11, 0x22, 0x33, 0x44]);

interface Conn {
  sock: net.Socket;
  dec: FrameDecoder;
}

async function openConn(t: LoadTarget): Promise<Conn> {
  const { sock, rest } = await openUpgraded(t, 5000);
  const dec = new FrameDecoder({ maxPayloadLen: 0x7fffffff, forceMasking: false });
  if (rest.length > 0) dec.push(rest);
  return { sock, dec };
}

/** One measurement: `conns` connections each keeping `depth` messages in flight. */
async function runLoad(t: LoadTarget, cell: LoadCell, timeMs: number, maxMsgs: number): Promise<LoadResult> {
  const payload = Buffer.alloc(cell.size, 0x78);
  const frame = buildFrame(true, 0x2, cell.size, payload, true, KEY).frame!;
  const conns = await Promise.all(Array.from({ length: cell.conns }, () => openConn(t)));
  const latencies = new Float64Array(maxMsgs);
  let received = 0;
  let sent = 0;
  let stopSending = false;
  let errorText: string | undefined;
  const cpu0 = cpuUs(t.pid ?? null);
  const start = performance.now();
  let last = start;
  await new Promise<void>((resolve) => {
    let finished = false;
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(sendTimer);
      clearTimeout(hardTimer);
      resolve();
    };
    const sendTimer = setTimeout(() => {
      stopSending = true;
      if (received === sent) finish();
    }, timeMs);
    // the echoes in flight when sending stops get at most 2 s more
    const hardTimer = setTimeout(() => {
      errorText ??= `${sent - received} echoes missing at the time limit`;
      finish();
    }, timeMs + 2000);
    for (const c of conns) {
      const sentAt: number[] = [];
      let head = 0;
      const send = (): void => {
        sent++;
        sentAt.push(performance.now());
        c.sock.write(frame);
      };
      c.sock.on('data', (d: Buffer) => {
        // The next messages of this read go out in one writev: the generator must cost less than
        // the servers it measures, or every ratio drifts towards 1.
        c.sock.cork();
        try {
          onEchoes(d);
        } finally {
          c.sock.uncork();
        }
      });
      const onEchoes = (d: Buffer): void => {
        c.dec.push(d);
        for (let r = c.dec.next(); r !== null; r = c.dec.next()) {
          if (r.type !== 'binary' || r.data!.length !== cell.size) {
            errorText ??= `${t.name}: unexpected echo ${r.type} ${r.err}`;
            finish();
            return;
          }
          const now = performance.now();
          if (received < maxMsgs) latencies[received] = now - sentAt[head++]!;
          received++;
          last = now;
          if (!stopSending && sent < maxMsgs) send();
          else if (received === sent) finish();
        }
        if (head > 4096) {
          sentAt.splice(0, head);
          head = 0;
        }
      };
      c.sock.on('error', (e) => {
        errorText ??= `${t.name}: ${e.message}`;
        finish();
      });
      c.sock.on('close', () => {
        if (!finished && !stopSending) {
          errorText ??= `${t.name}: connection closed by the server`;
          finish();
        }
      });
      c.sock.resume();
      c.sock.cork();
      for (let i = 0; i < cell.depth && sent < maxMsgs; i++) send();
      c.sock.uncork();
    }
  });
  const cpu1 = cpuUs(t.pid ?? null);
  for (const c of conns) c.sock.destroy();
  const n = Math.min(received, maxMsgs);
  const lat = latencies.subarray(0, n).sort();
  const seconds = (last - start) / 1000;
  return {
    target: t.name,
    conns: cell.conns,
    size: cell.size,
    depth: cell.depth,
    msgs: received,
    seconds,
    msgsPerSec: seconds > 0 ? received / seconds : 0,
    p50Ms: percentileSorted(lat, 50),
    p99Ms: percentileSorted(lat, 99),
    serverCpuUsPerMsg: cpu0 !== null && cpu1 !== null && received > 0 ? (cpu1 - cpu0) / received : null,
    ...(errorText !== undefined ? { error: errorText } : {}),
  };
}

function failed(t: LoadTarget, cell: LoadCell, e: unknown): LoadResult {
  return { target: t.name, ...cell, msgs: 0, seconds: 0, msgsPerSec: 0, p50Ms: NaN, p99Ms: NaN, error: (e as Error).message };
}

/**
 * A target's rounds of one cell as one result: messages and seconds summed, the rounds' own rates
 * kept (`perRound`), latency percentiles the median of the rounds', CPU per message over all.
 */
function combine(t: LoadTarget, cell: LoadCell, runs: LoadResult[]): LoadResult {
  if (runs.length === 1) return runs[0]!;
  const ok = runs.filter((r) => r.msgs > 0);
  const msgs = runs.reduce((a, r) => a + r.msgs, 0);
  const seconds = runs.reduce((a, r) => a + r.seconds, 0);
  const cpu = ok.every((r) => r.serverCpuUsPerMsg != null) ? ok.reduce((a, r) => a + r.serverCpuUsPerMsg! * r.msgs, 0) : null;
  const error = runs.find((r) => r.error !== undefined)?.error;
  return {
    target: t.name,
    ...cell,
    msgs,
    seconds,
    msgsPerSec: seconds > 0 ? msgs / seconds : 0,
    p50Ms: median(ok.map((r) => r.p50Ms)),
    p99Ms: median(ok.map((r) => r.p99Ms)),
    serverCpuUsPerMsg: cpu !== null && msgs > 0 ? cpu / msgs : null,
    perRound: runs.map((r) => r.msgsPerSec),
    ...(error !== undefined ? { error } : {}),
  };
}

export async function runLoadgen(p: LoadParams): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  const rounds = Math.max(1, p.rounds ?? 1);
  for (const cell of p.cells) {
    const runs = new Map<LoadTarget, LoadResult[]>(p.targets.map((t) => [t, []]));
    const broken = new Set<LoadTarget>();
    for (const t of p.targets) {
      try {
        if (p.warmupMs > 0) await runLoad(t, cell, p.warmupMs, p.maxMsgs);
      } catch (e) {
        runs.get(t)!.push(failed(t, cell, e));
        broken.add(t);
      }
    }
    // every target in turn for one cell, in an order rotated per round, so slow drift of the
    // machine's load hits all of them alike and the rounds pair up
    for (let r = 0; r < rounds; r++) {
      for (let i = 0; i < p.targets.length; i++) {
        const t = p.targets[(i + r) % p.targets.length]!;
        if (broken.has(t)) continue;
        try {
          runs.get(t)!.push(await runLoad(t, cell, p.timeMs, p.maxMsgs));
        } catch (e) {
          runs.get(t)!.push(failed(t, cell, e));
          broken.add(t);
        }
      }
    }
    for (const t of p.targets) results.push(combine(t, cell, runs.get(t)!));
  }
  return results;
}

if (isMain(import.meta.url)) {
  const res = await runLoadgen(JSON.parse(process.argv[2]!) as LoadParams);
  process.stdout.write(JSON.stringify({ results: res }) + '\n');
  process.exit(0);
}
