// Child process of the deflate suite: ws clients with permessage-deflate doing serial round trips
// of compressible text against our server and a ws server, both with permessage-deflate (bench/
// echo-server.ts ours-deflate / ws-deflate). The same client drives both servers, so the client's
// cost is the same on both sides; what differs is the server, whose CPU time per message is read
// from /proc. Rounds alternate which server goes first; the ratio is the median of paired rounds.
import WebSocket from 'ws';
import { cpuUs, isMain, median } from './common.js';
import { mulberry32 } from '../lab/prng.js';

export interface DeflateTarget {
  name: 'ours' | 'ws';
  port: number;
  pid: number;
}

export interface DeflateChildParams {
  targets: DeflateTarget[];
  /** Octets per message (text, compressible about 3-4x by zlib). */
  size: number;
  conns: number[];
  rounds: number;
  roundMs: number;
  maxMsgs: number;
}

export interface DeflateCellReport {
  conns: number;
  /** Per target: msgs/s and server CPU µs per message, per round and their medians. */
  results: Record<string, { msgsPerSec: number[]; cpuUsPerMsg: number[]; medianMsgsPerSec: number; medianCpuUsPerMsg: number }>;
  /** ours / ws msgs/s per round, and their median. */
  ratios: number[];
  ratio: number;
}

export interface DeflateReport {
  size: number;
  /** What each server answered in Sec-WebSocket-Extensions (the parameters both were measured with). */
  extensions: Record<string, string>;
  /** How much zlib shrinks the messages (raw deflate, window 15, one message). */
  compressionRatio: number;
  cells: DeflateCellReport[];
}

const WORDS = ['alpha', 'bravo', 'socket', 'frame', 'nginx', 'message', 'deflate', 'window', 'server', 'client', 'payload', 'close', 'ping', 'token', 'stream', 'buffer'];

/** JSON records with random ids, words and numbers: every message new, compressible like an API's. */
export function jsonMessages(count: number, size: number, seed = 1): string[] {
  const rand = mulberry32(seed);
  const out: string[] = [];
  for (let m = 0; m < count; m++) {
    const records: string[] = [];
    let len = 2;
    while (len < size) {
      const rec = JSON.stringify({
        id: Math.floor(rand() * 1e9),
        name: `${WORDS[Math.floor(rand() * WORDS.length)]} ${WORDS[Math.floor(rand() * WORDS.length)]}`,
        score: Math.round(rand() * 1e6) / 1e3,
        active: rand() < 0.5,
        tags: [WORDS[Math.floor(rand() * WORDS.length)], WORDS[Math.floor(rand() * WORDS.length)]],
      });
      records.push(rec);
      len += rec.length + 1;
    }
    out.push(`[${records.join(',')}]`.slice(0, size - 1) + ']');
  }
  return out;
}

/** Opens n clients; with the Sec-WebSocket-Extensions the server answered the first. */
async function openClients(port: number, n: number): Promise<{ clients: WebSocket[]; answered: string }> {
  const clients: WebSocket[] = [];
  let answered = '';
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true, maxPayload: 1 << 20 });
    ws.once('upgrade', (res) => {
      if (i === 0) answered = String(res.headers['sec-websocket-extensions'] ?? '');
    });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (!ws.extensions.includes('permessage-deflate')) throw new Error(`port ${port}: permessage-deflate not negotiated (${ws.extensions || 'no extension'})`);
    clients.push(ws);
  }
  return { clients, answered };
}

/** Serial round trips on every client until the time or count bound; the messages echoed and the server's CPU time. */
async function round(clients: WebSocket[], pid: number, messages: string[], roundMs: number, maxMsgs: number): Promise<{ msgs: number; seconds: number; cpuUs: number }> {
  const cpuBefore = cpuUs(pid);
  const start = performance.now();
  const deadline = start + roundMs;
  let msgs = 0;
  await Promise.all(
    clients.map(
      (ws, c) =>
        new Promise<void>((resolve, reject) => {
          let next = c % messages.length;
          const guard = setTimeout(() => reject(new Error('deflate bench: echo timed out')), roundMs + 10_000);
          const onMessage = (data: Buffer): void => {
            if (data.length !== messages[next]!.length) return reject(new Error(`deflate bench: echo of ${data.length} octets, sent ${messages[next]!.length}`));
            msgs++;
            next = (next + 1) % messages.length;
            if (msgs < maxMsgs && performance.now() < deadline) ws.send(messages[next]!);
            else {
              clearTimeout(guard);
              ws.off('message', onMessage);
              resolve();
            }
          };
          ws.on('message', onMessage);
          ws.send(messages[next]!);
        }),
    ),
  );
  const seconds = (performance.now() - start) / 1000;
  return { msgs, seconds, cpuUs: (cpuUs(pid) ?? 0) - (cpuBefore ?? 0) };
}

async function measureDeflate(o: DeflateChildParams): Promise<DeflateReport> {
  const messages = jsonMessages(64, o.size);
  const { deflateRawSync } = await import('node:zlib');
  const compressionRatio = Math.round((o.size / deflateRawSync(messages[0]!).length) * 100) / 100;
  const extensions: Record<string, string> = {};
  const cells: DeflateCellReport[] = [];
  for (const conns of o.conns) {
    const open = new Map<string, WebSocket[]>();
    for (const t of o.targets) {
      const { clients, answered } = await openClients(t.port, conns);
      open.set(t.name, clients);
      extensions[t.name] = answered;
      await round(clients, t.pid, messages, Math.min(300, o.roundMs), o.maxMsgs); // warm-up
    }
    const results: DeflateCellReport['results'] = {};
    for (const t of o.targets) results[t.name] = { msgsPerSec: [], cpuUsPerMsg: [], medianMsgsPerSec: 0, medianCpuUsPerMsg: 0 };
    const ratios: number[] = [];
    for (let r = 0; r < o.rounds; r++) {
      const order = r % 2 === 0 ? o.targets : [...o.targets].reverse();
      const rate: Record<string, number> = {};
      for (const t of order) {
        const m = await round(open.get(t.name)!, t.pid, messages, o.roundMs, o.maxMsgs);
        rate[t.name] = m.msgs / m.seconds;
        results[t.name]!.msgsPerSec.push(Math.round(rate[t.name]!));
        results[t.name]!.cpuUsPerMsg.push(Math.round((m.cpuUs / Math.max(1, m.msgs)) * 10) / 10);
      }
      ratios.push(Math.round(((rate.ours ?? 0) / (rate.ws ?? 1)) * 1000) / 1000);
    }
    for (const v of Object.values(results)) {
      v.medianMsgsPerSec = median(v.msgsPerSec);
      v.medianCpuUsPerMsg = median(v.cpuUsPerMsg);
    }
    for (const clients of open.values()) for (const ws of clients) ws.terminate();
    cells.push({ conns, results, ratios, ratio: median(ratios) });
  }
  return { size: o.size, extensions, compressionRatio, cells };
}

if (isMain(import.meta.url)) {
  const params = JSON.parse(process.argv[2]!) as DeflateChildParams;
  measureDeflate(params).then(
    (r) => {
      process.stdout.write(JSON.stringify(r) + '\n');
      process.exit(0);
    },
    (e: unknown) => {
      process.stdout.write(JSON.stringify({ error: (e as Error).message }) + '\n');
      process.exit(1);
    },
  );
}
