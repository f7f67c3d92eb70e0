// Child process of the client benchmark: both clients, interleaved rounds against one URL.
import WebSocket from 'ws';
// impl by path, not by package name: a child runs from the bench build, beside the impl/*.js built with it (bench/build.ts).
import { newClient } from '../impl/client.js';
import { isMain, median } from './common.js';

async function oursRound(url: string, payload: Buffer, roundMs: number, maxMsgs: number): Promise<number> {
  const wb = newClient({ timeout: 10_000, max_payload_len: 1 << 20 });
  const c = await wb.connect(url);
  if (c.err !== null) throw new Error(`our client: ${c.err}`);
  const start = performance.now();
  const deadline = start + roundMs;
  let n = 0;
  try {
    while (n < maxMsgs && performance.now() < deadline) {
      const s = await wb.sendBinary(payload);
      if (s.err !== null) throw new Error(`our client send: ${s.err}`);
      const r = await wb.recvFrame();
      if (r.type !== 'binary' || r.data!.length !== payload.length) throw new Error(`our client recv: ${r.type} ${String(r.err)}`);
      n++;
    }
    return n / ((performance.now() - start) / 1000);
  } finally {
    await wb.close();
  }
}

async function wsRound(url: string, payload: Buffer, roundMs: number, maxMsgs: number): Promise<number> {
  const ws = new WebSocket(url, { perMessageDeflate: false, maxPayload: 1 << 20 });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const start = performance.now();
  const deadline = start + roundMs;
  let n = 0;
  try {
    await new Promise<void>((resolve, reject) => {
      const guard = setTimeout(() => reject(new Error('ws client: echo timed out')), roundMs + 10_000);
      ws.on('error', reject);
      ws.on('message', (data: Buffer) => {
        if (data.length !== payload.length) return reject(new Error('ws client: wrong echo'));
        n++;
        if (n < maxMsgs && performance.now() < deadline) ws.send(payload, { binary: true });
        else {
          clearTimeout(guard);
          resolve();
        }
      });
      ws.send(payload, { binary: true });
    });
    return n / ((performance.now() - start) / 1000);
  } finally {
    ws.terminate();
  }
}

/** What the child measured: both clients' rates per round and their ratios. */
export interface ClientReport {
  size: number;
  ours: { msgsPerSec: number; rounds: number[] };
  ws: { msgsPerSec: number; rounds: number[] };
  ratio: number;
  ratios: number[];
}

export interface ClientChildParams {
  url: string;
  size: number;
  rounds: number;
  roundMs: number;
  maxMsgs: number;
}

async function measureClients(o: ClientChildParams): Promise<ClientReport> {
  const url = o.url;
  const size = o.size;
  const payload = Buffer.alloc(size, 0x63);
  // warm-up, then alternate who goes first
  await oursRound(url, payload, Math.min(200, o.roundMs), o.maxMsgs);
  await wsRound(url, payload, Math.min(200, o.roundMs), o.maxMsgs);
  const ours: number[] = [];
  const ws: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < o.rounds; r++) {
    let a: number;
    let b: number;
    if (r % 2 === 0) {
      a = await oursRound(url, payload, o.roundMs, o.maxMsgs);
      b = await wsRound(url, payload, o.roundMs, o.maxMsgs);
    } else {
      b = await wsRound(url, payload, o.roundMs, o.maxMsgs);
      a = await oursRound(url, payload, o.roundMs, o.maxMsgs);
    }
    ours.push(a);
    ws.push(b);
    ratios.push(a / b);
  }
  return { size, ours: { msgsPerSec: median(ours), rounds: ours }, ws: { msgsPerSec: median(ws), rounds: ws }, ratio: median(ratios), ratios };
}

if (isMain(import.meta.url) && process.argv[2]) {
  let out: ClientReport | { error: string };
  try {
    out = await measureClients(JSON.parse(process.argv[2]) as ClientChildParams);
  } catch (e) {
    out = { error: (e as Error).message };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
  process.exit(0);
}
