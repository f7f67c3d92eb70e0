// Client benchmark: our client vs the ws client, serial round trips against the same
// nginx + Lua /echo, interleaved rounds, median ratio.
import WebSocket from 'ws';
import type { RunningPeer } from '../lab/peers/index.js';
import { newClient } from 'resty-websocket/client';
import { median } from './common.js';

export interface ClientOptions {
  peer: RunningPeer;
  size?: number;
  rounds: number;
  /** Time and message bounds per round per client. */
  roundMs: number;
  maxMsgs: number;
}

export interface ClientReport {
  size: number;
  ours: { msgsPerSec: number; rounds: number[] };
  ws: { msgsPerSec: number; rounds: number[] };
  ratio: number;
  ratios: number[];
}

function echoUrl(peer: RunningPeer): string {
  return `${peer.wsUrl.replace(/\/$/, '')}/echo?timeout=60000`;
}

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

export async function runClientBench(o: ClientOptions): Promise<ClientReport> {
  const url = echoUrl(o.peer);
  const size = o.size ?? 16;
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
