// Child process: the echo load generator. Raw net sockets, a hand-written upgrade request,
// pre-built masked binary frames and a FrameDecoder that counts the echoes, so the generator
// costs as little as possible and is the same for every server. Bounded by message count AND time.
import * as net from 'node:net';
import { buildFrame, FrameDecoder } from 'resty-websocket/protocol';
import { percentileSorted } from './common.js';

export interface LoadTarget {
  name: string;
  host: string;
  port: number;
  path: string;
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
  /** Measured time per target per cell, and the cap on messages. */
  timeMs: number;
  maxMsgs: number;
  warmupMs: number;
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
  error?: string;
}

const KEY = Buffer.from([0x11, 0x22, 0x33, 0x44]);

function upgradeRequest(t: LoadTarget): string {
  return (
    `GET ${t.path} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

interface Conn {
  sock: net.Socket;
  dec: FrameDecoder;
}

async function openConn(t: LoadTarget): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: t.host, port: t.port, noDelay: true });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${t.name}: handshake timed out`));
    }, 5000);
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.pause();
      if (!head.subarray(0, 12).toString('latin1').includes(' 101')) {
        sock.destroy();
        reject(new Error(`${t.name}: no 101: ${head.subarray(0, end).toString('latin1').split('\r\n')[0]}`));
        return;
      }
      const dec = new FrameDecoder({ maxPayloadLen: 0x7fffffff, forceMasking: false });
      if (head.length > end + 4) dec.push(Buffer.from(head.subarray(end + 4)));
      resolve({ sock, dec });
    };
    sock.on('data', onData);
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.once('connect', () => sock.write(upgradeRequest(t)));
  });
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
    ...(errorText !== undefined ? { error: errorText } : {}),
  };
}

export async function runLoadgen(p: LoadParams): Promise<LoadResult[]> {
  const results: LoadResult[] = [];
  for (const cell of p.cells) {
    // every target in turn for one cell, so slow drift hits all of them alike
    for (const t of p.targets) {
      try {
        if (p.warmupMs > 0) await runLoad(t, cell, p.warmupMs, p.maxMsgs);
        results.push(await runLoad(t, cell, p.timeMs, p.maxMsgs));
      } catch (e) {
        results.push({ target: t.name, ...cell, msgs: 0, seconds: 0, msgsPerSec: 0, p50Ms: NaN, p99Ms: NaN, error: (e as Error).message });
      }
    }
  }
  return results;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const res = await runLoadgen(JSON.parse(process.argv[2]!) as LoadParams);
  process.stdout.write(JSON.stringify({ results: res }) + '\n');
  process.exit(0);
}
