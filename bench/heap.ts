// Heap per idle connection: what each open, idle WebSocket connection keeps on the server's V8 heap
// (after a full collection), for our server, a ws server and a raw `net` echo (the floor: Node's
// own socket objects). Unlike RSS (the conns suite) it does not depend on how far V8 grew its young
// generation under load, so it names what the server code itself keeps per connection.
//
// Each server runs in its own child (bench/echo-server.ts with --expose-gc, asked `heap` on stdin);
// this process opens the connections, so their client side is not on the measured heap. Per server:
// one warm-up connection (JIT, the lazily made module state), closed; the heap as the baseline;
// N connections opened, one 64 B echo on each (so each is past its first frame, as in service),
// left idle; the heap again. Per connection = (loaded - baseline) / N.
import type * as net from 'node:net';
import { buildFrame } from '../impl/protocol.js';
import { benchBuildDir } from './build.js';
import { openUpgraded, spawnBenchChild } from './common.js';

export const HEAP_KINDS = ['ours', 'ws', 'tcp'] as const;
export type HeapKind = (typeof HEAP_KINDS)[number];

export interface HeapOptions {
  /** Idle connections per server (default 2000). */
  conns?: number;
  /** Repeats per server, each in a fresh child (default 2). */
  rounds?: number;
}

export interface HeapResult {
  kind: HeapKind;
  conns: number;
  /** Heap bytes per idle connection, one per round. */
  perRound: number[];
  /** Median of the rounds. */
  bytesPerConn: number;
  /** External (Buffer) bytes per connection, median. */
  externalPerConn: number;
  error?: string;
}

export interface HeapReport {
  conns: number;
  results: HeapResult[];
  /** ours / ws of bytesPerConn. */
  vsWs: number | null;
}

interface HeapReading {
  heapUsed: number;
  external: number;
  gc: boolean;
}

const KEY = Buffer.from([0x11, 0x22, 0x33, 0x44]);

/** One 64 B masked frame and its echo (the server's unmasked frame, or our own from the raw echo). */
async function echoOnce(sock: net.Socket, kind: HeapKind): Promise<void> {
  const frame = buildFrame(true, 0x2, 64, Buffer.alloc(64, 0x78), true, KEY).frame!;
  const want = kind === 'tcp' ? frame.length : 66;
  await new Promise<void>((resolve, reject) => {
    let got = 0;
    const onData = (d: Buffer): void => {
      got += d.length;
      if (got < want) return;
      sock.off('data', onData);
      sock.off('error', reject);
      sock.pause();
      resolve();
    };
    sock.on('data', onData);
    sock.on('error', reject);
    sock.resume();
    sock.write(frame);
  });
}

async function openIdle(kind: HeapKind, port: number, n: number): Promise<net.Socket[]> {
  const socks: net.Socket[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      next++;
      const { sock } = await openUpgraded({ name: kind, host: '127.0.0.1', port, path: '/' }, 10_000);
      socks.push(sock);
      await echoOnce(sock, kind);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(n, 64) }, worker));
  } catch (e) {
    for (const s of socks) s.destroy();
    throw e;
  }
  return socks;
}

async function measureOnce(kind: HeapKind, n: number): Promise<{ perConn: number; externalPerConn: number }> {
  const child = spawnBenchChild(benchBuildDir(), 'echo-server.ts', [kind, '120000'], {}, 125_000, ['--expose-gc']);
  try {
    const { port } = (await child.firstJson) as { port: number };
    const warm = await openIdle(kind, port, 1);
    for (let i = 0; i < 20; i++) await echoOnce(warm[0]!, kind);
    for (const s of warm) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    const base = (await child.ask('heap')) as HeapReading;
    if (!base.gc) throw new Error('the server child has no gc() (--expose-gc)');
    const socks = await openIdle(kind, port, n);
    // let the server's side of the last echoes settle (its writes' callbacks, the next read armed)
    await new Promise((r) => setTimeout(r, 200));
    const loaded = (await child.ask('heap')) as HeapReading;
    for (const s of socks) s.destroy();
    return { perConn: (loaded.heapUsed - base.heapUsed) / n, externalPerConn: (loaded.external - base.external) / n };
  } finally {
    child.kill();
    await child.exited;
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

export async function runHeapBench(o: HeapOptions = {}): Promise<HeapReport> {
  const n = o.conns ?? 2000;
  const rounds = o.rounds ?? 2;
  const results: HeapResult[] = [];
  for (const kind of HEAP_KINDS) {
    const per: number[] = [];
    const ext: number[] = [];
    let error: string | undefined;
    for (let i = 0; i < rounds; i++) {
      try {
        const m = await measureOnce(kind, n);
        per.push(Math.round(m.perConn));
        ext.push(Math.round(m.externalPerConn));
      } catch (e) {
        error = (e as Error).message;
      }
    }
    results.push({ kind, conns: n, perRound: per, bytesPerConn: per.length ? median(per) : NaN, externalPerConn: ext.length ? median(ext) : NaN, ...(error !== undefined ? { error } : {}) });
  }
  const ours = results.find((r) => r.kind === 'ours')?.bytesPerConn;
  const ws = results.find((r) => r.kind === 'ws')?.bytesPerConn;
  return { conns: n, results, vsWs: ours !== undefined && ws !== undefined && ws > 0 && Number.isFinite(ours) ? ours / ws : null };
}
