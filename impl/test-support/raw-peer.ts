// Test support for the client tests: a raw TCP/TLS peer written here answers with crafted bytes
// (the tests see the exact request bytes and control every response byte), the `ws` package's
// server as a conforming peer, and frame helpers. Not part of the package (the build leaves out
// impl/test-support/); the lab's tests of impl that need its PKI or the nginx peer use it too.
import net from 'node:net';
import tls from 'node:tls';
import { WebSocketServer } from 'ws';
import { newClient, type WebSocketClient } from '../client.js';
import type { ClientOptions } from '../client.js';
import { acceptFor } from '../handshake-client.js';
import { KeepalivePool } from '../pool.js';
import { buildFrame } from '../protocol.js';

export interface PeerConnection {
  socket: net.Socket | tls.TLSSocket;
  /** The request head including its final CRLFCRLF. */
  head: Buffer;
  /** Everything received after the head so far (grows as bytes arrive). */
  rest(): Buffer;
  /** Resolves once at least `n` bytes arrived after the head. */
  waitRest(n: number, timeoutMs?: number): Promise<Buffer>;
  /** A header value of the request (first occurrence, case-insensitive). */
  header(name: string): string | undefined;
  /** The TLS SNI the client sent ("" for none; undefined on plain TCP). */
  servername?: string | false;
  /** The client certificate's CN on mutual TLS. */
  clientCn?: string;
}

export interface Peer {
  port: number;
  connections: PeerConnection[];
  /** Resolves with the n-th (0-based) connection once its request head arrived. */
  connection(i: number): Promise<PeerConnection>;
  /** Raw TCP connections accepted (with or without a request). */
  accepted: number;
  close(): Promise<void>;
}

export type OnRequest = (conn: PeerConnection) => void;

/** 101 Switching Protocols with the right Accept for the request's key. */
export function upgradeResponse(conn: PeerConnection, extraHeaders: string[] = []): Buffer {
  const key = conn.header('sec-websocket-key') ?? '';
  return Buffer.from(['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: upgrade',
    `Sec-WebSocket-Accept: ${acceptFor(key)}`, ...extraHeaders, '', ''].join('\r\n'), 'latin1');
}

/** A frame as a server sends it (unmasked unless a mask key is given). */
export function frame(opcode: number, payload: Buffer | string, opts: { fin?: boolean; maskKey?: Buffer } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const built = buildFrame(opts.fin ?? true, opcode, data.length, Buffer.from(data), opts.maskKey !== undefined, opts.maskKey);
  if (built.frame === null) throw new Error(built.err);
  return built.frame;
}

/** Decodes client frames: [fin, opcode, masked, payload (unmasked)]. */
export function decodeFrames(buf: Buffer): Array<{ fin: boolean; opcode: number; masked: boolean; payload: Buffer }> {
  const out: Array<{ fin: boolean; opcode: number; masked: boolean; payload: Buffer }> = [];
  let off = 0;
  while (off + 2 <= buf.length) {
    const b0 = buf[off]!;
    const b1 = buf[off + 1]!;
    let len = b1 & 0x7f;
    let p = off + 2;
    if (len === 126) { len = buf.readUInt16BE(p); p += 2; }
    else if (len === 127) { len = Number(buf.readBigUInt64BE(p)); p += 8; }
    const masked = (b1 & 0x80) !== 0;
    const key = masked ? buf.subarray(p, p + 4) : null;
    if (masked) p += 4;
    if (p + len > buf.length) break;
    const payload = Buffer.from(buf.subarray(p, p + len));
    if (key) for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i % 4]!;
    out.push({ fin: (b0 & 0x80) !== 0, opcode: b0 & 0x0f, masked, payload });
    off = p + len;
  }
  return out;
}

export interface PeerOptions {
  tls?: tls.TlsOptions;
  /** Listen on a Unix socket path instead of a TCP port. */
  path?: string;
}

export async function startPeer(onRequest: OnRequest, opts: PeerOptions = {}): Promise<Peer> {
  const connections: PeerConnection[] = [];
  const waiters = new Map<number, Array<(c: PeerConnection) => void>>();
  const sockets = new Set<net.Socket>();
  const handle = (socket: net.Socket | tls.TLSSocket): void => {
    sockets.add(socket);
    peer.accepted++;
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    let buf = Buffer.alloc(0);
    let conn: PeerConnection | null = null;
    let restBuf = Buffer.alloc(0);
    const restWaiters: Array<() => void> = [];
    socket.on('data', (chunk: Buffer) => {
      if (conn !== null) {
        restBuf = Buffer.concat([restBuf, chunk]);
        for (const w of restWaiters.splice(0)) w();
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end + 4);
      restBuf = Buffer.from(buf.subarray(end + 4));
      const lines = head.toString('latin1').split('\r\n');
      const c: PeerConnection = {
        socket,
        head,
        rest: () => restBuf,
        waitRest: (n, timeoutMs = 3000) => new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`peer: waited for ${n} bytes, got ${restBuf.length}`)), timeoutMs);
          const check = (): void => {
            if (restBuf.length >= n) { clearTimeout(t); resolve(restBuf); } else restWaiters.push(check);
          };
          check();
        }),
        header: (name) => {
          const line = lines.find((l) => l.toLowerCase().startsWith(name.toLowerCase() + ':'));
          return line === undefined ? undefined : line.slice(line.indexOf(':') + 1).trim();
        },
      };
      if ('servername' in socket) {
        c.servername = (socket as tls.TLSSocket).servername ?? false;
        const cert = (socket as tls.TLSSocket).getPeerCertificate();
        if (cert && cert.subject) c.clientCn = String(cert.subject.CN);
      }
      conn = c;
      connections.push(c);
      const i = connections.length - 1;
      for (const w of waiters.get(i) ?? []) w(c);
      onRequest(c);
    });
  };
  const server = opts.tls ? tls.createServer(opts.tls, handle) : net.createServer(handle);
  // Raw connections too (a TLS handshake may never finish), so close() can end every one.
  server.on('connection', (s: net.Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  if (opts.tls) server.on('tlsClientError', () => {});
  await new Promise<void>((resolve) => {
    if (opts.path !== undefined) server.listen(opts.path, resolve);
    else server.listen(0, '127.0.0.1', resolve);
  });
  const addr = server.address();
  const peer: Peer = {
    port: typeof addr === 'object' && addr !== null ? addr.port : 0,
    connections,
    accepted: 0,
    connection: (i) => {
      const c = connections[i];
      if (c) return Promise.resolve(c);
      return new Promise((resolve) => {
        const list = waiters.get(i) ?? [];
        list.push(resolve);
        waiters.set(i, list);
      });
    },
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
  return peer;
}

// ---------------------------------------------------------------------------------------------

export const KEY = 'y7KXwBSpVrxtkR0O+bQt+Q==';
export const pools: KeepalivePool[] = [];
export const peers: Peer[] = [];
export const servers: WebSocketServer[] = [];

export function client(opts: ClientOptions = {}): WebSocketClient {
  const pool = new KeepalivePool();
  pools.push(pool);
  return newClient({ timeout: 3000, keepalivePool: pool, ...opts });
}

export async function peer(onRequest: OnRequest = upgrade, opts: PeerOptions = {}): Promise<Peer> {
  const p = await startPeer(onRequest, opts);
  peers.push(p);
  return p;
}

export function upgrade(c: PeerConnection): void {
  c.socket.write(upgradeResponse(c));
}

export async function wsEcho(): Promise<number> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await new Promise((r) => wss.on('listening', r));
  wss.on('connection', (s) => s.on('message', (d, binary) => s.send(d, { binary })));
  return (wss.address() as net.AddressInfo).port;
}

export async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(5);
  }
}

/** Closes every peer, pool and ws server the helpers made (call from afterEach). */
export async function cleanupPeers(): Promise<void> {
  for (const p of pools.splice(0)) p.drain();
  for (const p of peers.splice(0)) await p.close();
  for (const s of servers.splice(0)) {
    for (const c of s.clients) c.terminate();
    await new Promise((r) => s.close(r));
  }
}

export const head = (port: number, lines: string[]): string =>
  ['GET /s HTTP/1.1', 'Upgrade: websocket', `Host: 127.0.0.1:${port}`, `Sec-WebSocket-Key: ${KEY}`, ...lines, 'Connection: Upgrade', '', ''].join('\r\n');
