// Child process: an echo server, ours (createServer + recvFrame/sendFrame, like the Lua /echo
// location), ws's, both with permessage-deflate (`ours-deflate`, `ws-deflate`), or a raw TCP echo (the floor: what the loopback and Node's net layer cost with
// no WebSocket at all; `tcp-pull` the same through a promise per read), on 127.0.0.1. Prints {"port":N,"pid":N} and runs until stdin closes or a
// bound passes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import * as net from 'node:net';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import { WebSocketServer } from 'ws';
// impl by path, not by package name: a child runs from the bench build, beside the impl/*.js built with it (bench/build.ts).
import { createServer } from '../impl/server.js';

const OPCODES: Record<string, number> = { text: 0x1, binary: 0x2, continuation: 0x0 };

async function startOurs(maxPayloadLen: number): Promise<{ port: number; close(): Promise<void> }> {
  return createServer({
    max_payload_len: maxPayloadLen,
    timeout: 60_000,
    handler: async (wb) => {
      for (;;) {
        const { data, type, err } = await wb.recvFrame();
        if (data === null) return;
        if (type === 'close') {
          await wb.sendClose();
          return;
        }
        if (type === 'ping') {
          await wb.sendPong(data);
          continue;
        }
        if (type === 'pong') continue;
        const sent = await wb.sendFrame(err !== 'again', OPCODES[type!]!, data);
        if (sent.bytes === null) return;
      }
    },
  });
}

/**
 * Ours with permessage-deflate (RFC 7692; strict profile, the extension's defaults: window 15,
 * context takeover, threshold 1024): whole messages in, the same message out through sendText or
 * sendBinary, which compress it (the deflate suite).
 */
async function startOursDeflate(maxPayloadLen: number): Promise<{ port: number; close(): Promise<void> }> {
  return createServer({
    max_payload_len: maxPayloadLen,
    timeout: 60_000,
    strict: true,
    permessageDeflate: true,
    handler: async (wb) => {
      let parts: Buffer[] = [];
      let kind: 'text' | 'binary' = 'text';
      for (;;) {
        const { data, type, err } = await wb.recvFrame();
        if (data === null) return;
        if (type === 'close') {
          await wb.sendClose();
          return;
        }
        if (type === 'ping') {
          await wb.sendPong(data);
          continue;
        }
        if (type === 'pong') continue;
        if (type !== 'continuation') kind = type === 'binary' ? 'binary' : 'text';
        parts.push(data);
        if (err === 'again') continue;
        const message = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
        parts = [];
        const sent = kind === 'binary' ? await wb.sendBinary(message) : await wb.sendText(message);
        if (sent.bytes === null) return;
      }
    },
  });
}

async function startWs(maxPayloadLen: number, perMessageDeflate = false): Promise<{ port: number; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: maxPayloadLen, perMessageDeflate, clientTracking: true });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data as Buffer, { binary: isBinary }));
    ws.on('error', () => {});
  });
  return {
    port: (wss.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of wss.clients) c.terminate();
        wss.close(() => resolve());
      }),
  };
}

/**
 * Raw TCP echo: every byte read is written back, so a client sees its own (masked) frames. It
 * answers the HTTP upgrade with a bare 101 first, so the same load generator can drive it.
 *
 * `pull`: the same echo through the shape of any pull API, ours included: after the upgrade, an
 * async loop awaits one promise per read (`const bytes = await read(); write(bytes)`). No
 * WebSocket work at all, so what it costs over the plain echo (the conns suite's `tcp-pull`) is
 * what waiting on a promise costs a connection: the promise, its resolving functions and the
 * await's reaction, young objects that every scavenge finds alive.
 */
async function startTcp(pull = false): Promise<{ port: number; close(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  const srv = net.createServer({ noDelay: true }, (sock) => {
    socks.add(sock);
    sock.on('error', () => {});
    let head: Buffer | null = Buffer.alloc(0);
    const reads = pull ? new PullReads() : null;
    sock.on('close', () => {
      socks.delete(sock);
      reads?.push(null);
    });
    sock.on('data', (d: Buffer) => {
      if (head === null) {
        if (reads) reads.push(d);
        else sock.write(d);
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      const rest = head.length > end + 4 ? head.subarray(end + 4) : null;
      head = null;
      if (reads) {
        if (rest) reads.push(rest);
        void echoPulled(sock, reads);
      } else if (rest) sock.write(rest);
    });
  });
  await new Promise<void>((resolve) => srv.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => resolve()));
  return {
    port: (srv.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of socks) s.destroy();
        srv.close(() => resolve());
      }),
  };
}

/** The bytes read on a socket, handed out by `read()`, one promise per call that has to wait (null: closed). */
class PullReads {
  private queued: Buffer | null = null;
  private closed = false;
  private waiting: ((b: Buffer | null) => void) | null = null;

  push(b: Buffer | null): void {
    const w = this.waiting;
    if (w !== null) {
      this.waiting = null;
      w(b);
    } else if (b === null) this.closed = true;
    else this.queued = this.queued === null ? b : Buffer.concat([this.queued, b]);
  }

  read(): Promise<Buffer | null> {
    const q = this.queued;
    if (q !== null || this.closed) {
      this.queued = null;
      return Promise.resolve(q);
    }
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }
}

async function echoPulled(sock: net.Socket, reads: PullReads): Promise<void> {
  for (;;) {
    const bytes = await reads.read();
    if (bytes === null) return;
    sock.write(bytes);
  }
}

/**
 * A CPU profile of the serving only: started once listening, written at the end (node --cpu-prof
 * would also record loading tsx and the modules, a third of a short run's samples).
 */
function startProfile(dir: string): () => Promise<void> {
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params ?? {}, (err, res) => (err ? reject(err) : resolve(res))));
  const started = post('Profiler.enable').then(() => post('Profiler.setSamplingInterval', { interval: 1000 })).then(() => post('Profiler.start'));
  return async () => {
    await started;
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

const kind = process.argv[2];
const lifetimeMs = Number(process.argv[3] ?? 600_000);
const profDir = process.argv[4];
const SERVERS: Record<string, () => Promise<{ port: number; close(): Promise<void> }>> = {
  ours: () => startOurs(65535),
  ws: () => startWs(65535),
  tcp: () => startTcp(),
  'tcp-pull': () => startTcp(true),
  'ours-deflate': () => startOursDeflate(1 << 20),
  'ws-deflate': () => startWs(1 << 20, true),
};
const server = await (SERVERS[kind ?? 'ours'] ?? SERVERS.ours!)();
const stopProfile = profDir ? startProfile(profDir) : null;
process.stdout.write(JSON.stringify({ port: server.port, pid: process.pid }) + '\n');
let stopping = false;
const stop = (): void => {
  if (stopping) return;
  stopping = true;
  void (stopProfile?.() ?? Promise.resolve())
    .catch((e: unknown) => console.error(`echo-server: profile not written: ${String(e)}`))
    .then(() => server.close())
    .finally(() => process.exit(0));
};
// `heap` on stdin (the idle-heap probe, bench/heap.ts; the child runs with --expose-gc): a full
// collection, then the heap in use, as one JSON line. Anything else on stdin is ignored.
let cmd = '';
process.stdin.on('data', (d: Buffer) => {
  cmd += d.toString('latin1');
  for (let nl = cmd.indexOf('\n'); nl >= 0; nl = cmd.indexOf('\n')) {
    const line = cmd.slice(0, nl).trim();
    cmd = cmd.slice(nl + 1);
    if (line.startsWith('snapshot ')) {
      // `snapshot FILE`: a heap snapshot, to see what the heap per connection is made of
      process.stdout.write(JSON.stringify({ snapshot: writeHeapSnapshot(line.slice('snapshot '.length)) }) + '\n');
      continue;
    }
    if (line !== 'heap') continue;
    const gc = (globalThis as { gc?: () => void }).gc;
    // twice: weak references and finalizers freed by the first collection are swept by the second
    gc?.();
    gc?.();
    const m = process.memoryUsage();
    process.stdout.write(JSON.stringify({ heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, gc: gc !== undefined }) + '\n');
  }
});
process.stdin.on('end', stop);
process.stdin.on('close', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
setTimeout(stop, lifetimeMs).unref();
// keep the process alive while stdin is open
setInterval(() => {}, 1 << 30);
