// The byte-level peers of the session diff: a raw client that drives a library server, and a raw
// server that drives a library client. They send exactly the bytes a session asks for, at the
// times it asks, and record what the library sent back and whether it closed TCP.
import net from 'node:net';
import tls from 'node:tls';
import type { PayloadSpec, Step } from '../peers/lua-api.js';
import { makeTestPki } from '../pki.js';
import { FIXED_MASK_KEY, type ClientSession, type PeerEnd, type ServerSession, type TrafficGroup } from './types.js';
import { acceptFor } from 'resty-websocket';
import { peerEndKind } from '../tcp-state.js';
import { encodeFrame, encodeHead, headEnd, headValue } from '../wire.js';

export function payloadBytes(p: PayloadSpec | undefined): Buffer {
  if (p === undefined || p === null) return Buffer.alloc(0);
  if (typeof p === 'string') return Buffer.from(p, 'utf8');
  if (typeof p === 'number' || typeof p === 'boolean') return Buffer.from(String(p));
  if ('hex' in p) return Buffer.from(p.hex, 'hex');
  return Buffer.alloc(p.len, p.fill);
}

export function groupBytes(g: TrafficGroup): Buffer {
  const all = Buffer.concat(g.frames.map((f) => encodeFrame({ ...f, maskKey: f.mask ? FIXED_MASK_KEY : null, payload: payloadBytes(f.payload) })));
  return g.cut === undefined ? all : all.subarray(0, Math.min(g.cut, all.length));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Writes `bytes`, split at `chops` into writes 1 ms apart. */
async function writeChopped(sock: net.Socket, bytes: Buffer, chops: number[] = []): Promise<void> {
  let at = 0;
  for (const c of [...chops].sort((a, b) => a - b)) {
    if (c <= at || c >= bytes.length) continue;
    sock.write(bytes.subarray(at, c));
    at = c;
    await sleep(1);
  }
  if (at < bytes.length) sock.write(bytes.subarray(at));
}

/** After the last group a FIN or RST waits this long, so what the library does without waiting for input is not raced. */
export const RST_SETTLE_MS = 40;

interface Collected {
  chunks: Buffer[];
  /** The library closed (FIN, RST or an error) before we closed our socket. */
  ended: boolean;
  /** We closed our socket: later close events are ours, not the library's. */
  self: boolean;
  /** The library's side reset the connection (it closed with bytes unread): the kernel may drop what it had sent. */
  reset: boolean;
  /** Settles once the library's end is known for what it was (`reset` final): at the socket's end or close. */
  ended$: Promise<void>;
  /** Settles once no question about the library's end is pending: end our side only after it. */
  endKnown: Promise<void>;
}

/**
 * Our end after the library's, as Node makes it for a socket without allowHalfOpen: a FIN, and a
 * later write fails with EPIPE ("ended by the other party"), which counts as the library's reset.
 */
function endAfterLibrary(sock: net.Socket): void {
  if (sock.destroyed || sock.writableEnded) return;
  sock.end();
  sock.write = ((...args: unknown[]): boolean => {
    const cb = args.find((a) => typeof a === 'function') as ((e: Error) => void) | undefined;
    const err = Object.assign(new Error('This socket has been ended by the other party'), { code: 'EPIPE' });
    if (cb) process.nextTick(cb, err);
    sock.destroy(err);
    return false;
  }) as typeof sock.write;
}

/**
 * What the library sends on `sock`, and how it ends. The socket must have allowHalfOpen: at the
 * library's end the kernel is asked whether it was a FIN or a reset (lab/tcp-state.ts), which it can
 * tell only while our side is still open; our side then ends as Node would have ended it at once.
 */
function collect(sock: net.Socket): Collected {
  const c: Collected = { chunks: [], ended: false, self: false, reset: false, ended$: Promise.resolve(), endKnown: Promise.resolve() };
  c.ended$ = new Promise<void>((resolve) => {
    sock.on('end', () => {
      if (c.self) return endAfterLibrary(sock);
      c.ended = true;
      // A reset behind bytes still queued for reading ends the stream like a FIN in Node: the kernel
      // tells them apart, by the connection's ports (taken while it is up: a reset one has none).
      c.endKnown = peerEndKind(...ports).then((kind) => {
        if (kind === 'reset' && !c.self) c.reset = true;
        endAfterLibrary(sock);
        resolve();
      });
    });
    sock.on('close', () => {
      if (!c.self) c.ended = true;
      void c.endKnown.then(() => resolve());
    });
  });
  sock.on('data', (d: Buffer) => c.chunks.push(d));
  let ports: [number | undefined, number | undefined] = [sock.localPort, sock.remotePort];
  const keepPorts = (): void => void (ports = [sock.localPort, sock.remotePort]);
  sock.once('connect', keepPorts);
  sock.once('secureConnect', keepPorts);
  sock.on('error', (e: NodeJS.ErrnoException) => {
    // ECONNRESET on a read, EPIPE on a write: either way the library's side reset the connection.
    if (!c.self && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) c.reset = true;
  });
  return c;
}

async function waitFor(cond: () => boolean, c: Collected, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && !c.ended && Date.now() < deadline) await Promise.race([sleep(2), c.ended$]);
}

async function finish(sock: net.Socket, c: Collected, end: PeerEnd, waitMs: number, settleMs: number, onOurEnd: () => void = () => {}): Promise<boolean> {
  // A FIN or RST waits until the library has used what came before it: a read with a 1 ms timeout
  // must time out, not see the FIN, whatever the scheduling.
  if (end !== 'hold') await sleep(settleMs);
  await c.endKnown; // the library's end, if it came, is told for what it was before ours changes it
  if (end === 'fin') {
    onOurEnd();
    sock.end();
  }
  if (end === 'rst' || end === 'close') {
    onOurEnd();
    // Gone: what the library does later is in its records, not on this socket.
    c.self = true;
    // A TLS socket cannot be reset (its socket is the TLS layer's): it is destroyed instead.
    if (end === 'rst' && !(sock instanceof tls.TLSSocket)) sock.resetAndDestroy();
    else sock.destroy();
    return c.ended;
  }
  await Promise.race([c.ended$, sleep(waitMs)]);
  await c.endKnown;
  if (end === 'hold') onOurEnd();
  c.self = true;
  sock.destroy();
  return c.ended;
}

async function sendGroups(sock: net.Socket, groups: TrafficGroup[], from: number, onSent: (i: number) => void = () => {}): Promise<void> {
  for (let i = from; i < groups.length; i++) {
    const g = groups[i]!;
    if (g.pauseMs > 0) await sleep(g.pauseMs);
    if (sock.destroyed) return;
    onSent(i);
    await writeChopped(sock, groupBytes(g), g.chops);
  }
}

/** Calls that can wait for the peer, each for at most the timeout in force when it is made. */
const WAITING_OPS: ReadonlySet<string> = new Set(['recv_frame', 'send_text', 'send_binary', 'send_ping', 'send_pong', 'send_close', 'send_frame', 'send_continue', 'connect', 'close', 'set_keepalive']);

/**
 * The longest the peer waits for the library to close: the longest the program can run (every call
 * that can wait at the timeout then in force, set_timeout followed, and every sleep, all as the run's
 * time scale stretched them) and 1.5 s, at most 2 minutes. Derived from the program, so a program
 * that runs long (a 1 s set_timeout stretched tenfold) is not cut off near its own end, where the two
 * sides' closes would race the wait.
 */
export function closeWaitMs(timeoutMs: number, steps: readonly Step[]): number {
  let timeout = timeoutMs;
  let bound = timeout; // new() itself reads nothing, but the handshake's send can wait
  for (const step of steps) {
    if (step.op === 'set_timeout') timeout = step.ms > 0 ? step.ms : 60_000;
    else if (step.op === 'sleep') bound += step.ms;
    else if (WAITING_OPS.has(step.op)) bound += timeout;
  }
  return Math.min(120_000, 1500 + bound);
}

export interface RawClientResult {
  /** The response head (without the blank line), or null when the library closed without one. */
  head: string | null;
  /** Every byte after the head. */
  after: Buffer;
  libraryClosed: boolean;
  reset: boolean;
}

/** Where a raw client connects: a host and port, over TCP or TLS. */
export interface RawTarget {
  host: string;
  port: number;
  /** wss: the CA to trust (PEM) or `insecure` to accept any certificate; SNI is the host unless it is an IP literal. */
  tls?: { ca?: string; insecure?: boolean; servername?: string };
}

/** What a raw client sends: a request head and traffic groups, and how it ends (a server session's parts). */
export type RawClientScript = Pick<ServerSession, 'request' | 'traffic' | 'end' | 'settleMs' | 'endDelayMs'>;

/** A raw client's run with times: when each group went out and when the other side's bytes and close came. */
export interface TimedRawClientResult extends RawClientResult {
  /** The connection failed before any byte went out (ECONNREFUSED, a TLS error ...): the error code or text. */
  connectError: string | null;
  /** ms after the start when each traffic group was written; null when it was not (no 101 yet, or the socket was gone). */
  groupSentAt: Array<number | null>;
  /** Every chunk received after the head, with its arrival time (ms after the start) and offset in `after`. */
  arrivals: Array<{ at: number; offset: number }>;
  /** When we ended our side (FIN, RST, or destroy after waiting), ms after the start. */
  ourEndAt: number;
  /** When the other side closed, ms after the start, or null (it had not when we gave up). */
  closedAt: number | null;
}

/** Plays the client side of a server session against 127.0.0.1:port, GETting `path`. */
export async function runRawClient(port: number, path: string, s: ServerSession, closeWait: number): Promise<RawClientResult> {
  const r = await runRawClientAt({ host: '127.0.0.1', port }, path, s, closeWait || closeWaitMs(Number(s.opts.timeout ?? 60000), s.steps));
  if (r.connectError !== null) throw new Error(r.connectError);
  return r;
}

/**
 * Plays a raw client against any host, port and path, over TCP or TLS (wss). `headWaitMs` bounds
 * the wait for the response head. Connection errors come back as `connectError`, never thrown.
 */
export async function runRawClientAt(target: RawTarget, path: string, s: RawClientScript, closeWait: number, headWaitMs = 5000): Promise<TimedRawClientResult> {
  const t0 = Date.now();
  const since = (): number => Date.now() - t0;
  const sock: net.Socket = target.tls
    ? tls.connect({
        host: target.host,
        port: target.port,
        ...(target.tls.ca ? { ca: target.tls.ca } : {}),
        rejectUnauthorized: !target.tls.insecure,
        ...(target.tls.servername ?? (net.isIP(target.host) ? undefined : target.host) ? { servername: target.tls.servername ?? target.host } : {}),
        noDelay: true,
        allowHalfOpen: true, // collect() ends our side once the library's end is told
      } as tls.ConnectionOptions)
    : net.connect({ port: target.port, host: target.host, noDelay: true, allowHalfOpen: true });
  const c = collect(sock);
  const arrivals: Array<{ at: number; offset: number }> = [];
  let received = 0;
  sock.on('data', (d: Buffer) => {
    arrivals.push({ at: since(), offset: received });
    received += d.length;
  });
  let closedAt: number | null = null;
  const markClosed = (): void => {
    if (!c.self && closedAt === null) closedAt = since();
  };
  sock.once('end', markClosed);
  sock.once('close', markClosed);
  const connectError = await new Promise<string | null>((resolve) => {
    sock.once(target.tls ? 'secureConnect' : 'connect', () => resolve(null));
    sock.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  const groupSentAt: Array<number | null> = s.traffic.map(() => null);
  if (connectError !== null) {
    c.self = true;
    sock.destroy();
    return { head: null, after: Buffer.alloc(0), libraryClosed: false, reset: false, connectError, groupSentAt, arrivals: [], ourEndAt: since(), closedAt: null };
  }
  const head = encodeHead(`${s.request.method} ${path} HTTP/${s.request.version}`, s.request.headers);
  const first = s.traffic[0];
  const startsNow = first !== undefined && first.pauseMs === 0;
  // Group 0 travels with the request, so the library's first reads find it already buffered.
  sock.write(Buffer.concat([Buffer.from(head, 'latin1'), startsNow && !first.chops?.length ? groupBytes(first) : Buffer.alloc(0)]));
  if (startsNow) groupSentAt[0] = since();
  if (startsNow && first.chops?.length) await writeChopped(sock, groupBytes(first), first.chops);
  const all = (): Buffer => Buffer.concat(c.chunks);
  await waitFor(() => headEnd(all()) >= 0, c, headWaitMs);
  const got = all();
  const he = headEnd(got);
  if (he >= 0) await sendGroups(sock, s.traffic, startsNow ? 1 : 0, (i) => (groupSentAt[i] = since()));
  let ourEndAt: number | null = null;
  const libraryClosed = await finish(sock, c, s.end, closeWait, s.endDelayMs ?? s.settleMs ?? RST_SETTLE_MS, () => (ourEndAt = since()));
  const bytes = all();
  const e = headEnd(bytes);
  const headLen = Math.max(e, 0);
  return {
    head: e < 0 ? null : bytes.subarray(0, e - 4).toString('latin1'),
    after: e < 0 ? bytes : bytes.subarray(e),
    libraryClosed,
    reset: c.reset,
    connectError: null,
    groupSentAt,
    arrivals: arrivals.map((a) => ({ at: a.at, offset: Math.max(0, a.offset - headLen) })),
    ourEndAt: ourEndAt ?? since(),
    closedAt,
  };
}

export interface RawServerConnection {
  head: string | null;
  after: Buffer;
  libraryClosed: boolean;
  reset: boolean;
}

export interface RawServer {
  port: number;
  /** Ends the first connection's script and reports every connection (call after the library's program ran). */
  done(closeWait: number): Promise<RawServerConnection[]>;
  close(): void;
}

function acceptOf(reqHead: string): string {
  return acceptFor(headValue(reqHead, 'sec-websocket-key') ?? '');
}

/** A plain 101 to a request. */
function upgradeResponse(reqHead: string): string {
  return encodeHead('HTTP/1.1 101 Switching Protocols', [['Upgrade', 'websocket'], ['Connection', 'upgrade'], ['Sec-WebSocket-Accept', acceptOf(reqHead)]]);
}

function responseText(s: ClientSession, reqHead: string): Buffer {
  if ('raw' in s.response) return Buffer.from(s.response.raw, 'latin1');
  const accept = acceptOf(reqHead);
  return Buffer.from(encodeHead(s.response.status, s.response.headers.map(([n, v]) => [n, v.replace('{accept}', accept)])), 'latin1');
}

/** One connection the raw server accepted: what it received, and its script while that runs. */
interface AcceptedConnection {
  sock: net.Socket;
  c: Collected;
  /** Where the request head ends in what was received (-1 until it has). */
  headLen: number;
  scripted: Promise<void> | null;
}

/**
 * The script of connection `index`: the first gets the session's response and traffic and ends as
 * the session says; later ones get a plain 101 and nothing else. A `settled` one answers after the settle.
 */
async function scriptConnection(s: ClientSession, entry: AcceptedConnection, index: number, settleMs: number, settled: boolean, lastLaterAccept: () => number): Promise<void> {
  const { sock, c } = entry;
  const all = (): Buffer => Buffer.concat(c.chunks);
  await waitFor(() => headEnd(all()) >= 0, c, 5000);
  const he = headEnd(all());
  if (he < 0) return;
  entry.headLen = he;
  const reqHead = all().subarray(0, he).toString('latin1');
  // Later than any 1 ms read timeout the program may have set, never racing it (startRawServer
  // decides which connections may meet one).
  if (settled) await sleep(settleMs);
  if (sock.destroyed) return;
  if (index > 0) {
    sock.write(upgradeResponse(reqHead));
    return;
  }
  const first = s.traffic[0];
  const startsNow = first !== undefined && first.pauseMs === 0 && !first.chops?.length;
  sock.write(Buffer.concat([responseText(s, reqHead), startsNow ? groupBytes(first) : Buffer.alloc(0)]));
  await sendGroups(sock, s.traffic, startsNow ? 1 : 0);
  // A client checks for the server's FIN in calls that read nothing (set_keepalive says
  // "closed"): a FIN or RST waits until the client has used what came before it.
  if (s.end !== 'hold') await endWait(s.endDelayMs ?? settleMs, settleMs, lastLaterAccept);
  if (s.end !== 'hold') await c.endKnown;
  if (s.end === 'fin') sock.end();
  if (s.end === 'rst') {
    c.self = true;
    sock.resetAndDestroy();
  }
  if (s.end === 'close') {
    c.self = true;
    sock.destroy();
  }
}

/**
 * The wait before the first connection's FIN or RST: `delayMs` after its traffic, and a settle
 * after the server last accepted a later connection. A program that connects again after the
 * traffic is still running; what it does next (a 1 ms read on that connection, then its end and the
 * library's close of the first) follows from that accept, not from the traffic, so a lag spike
 * between the traffic and the connect must not let the FIN or RST overtake it.
 */
async function endWait(delayMs: number, settleMs: number, lastLaterAccept: () => number): Promise<void> {
  await sleep(delayMs);
  for (let left = lastLaterAccept() + settleMs - Date.now(); left > 0; left = lastLaterAccept() + settleMs - Date.now()) await sleep(left);
}

/**
 * TCP connections accepted, and TLS handshakes that failed: a client's connect may return before
 * our side of its handshake completed, so done() waits until every accepted one is accounted for.
 */
interface AcceptCounts {
  accepted: number;
  tlsFailed: number;
}

/**
 * The server's side of the TLS handshake on an accepted connection, then `onConnection`. A `settled`
 * connection's handshake starts after the settle, as its 101 does: a program may have set a 1 ms
 * timeout, and a TLS handshake that takes about that long would race it.
 */
function acceptTls(raw: net.Socket, settled: boolean, context: tls.SecureContext, settleMs: number, counts: AcceptCounts, onConnection: (sock: net.Socket) => void): void {
  const handshake = (): void => {
    if (raw.destroyed || raw.readableEnded) {
      counts.tlsFailed++; // the client gave up first: its records say why
      raw.destroy();
      return;
    }
    const t = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
    let secure = false;
    t.on('error', () => {});
    t.once('secure', () => {
      secure = true;
      onConnection(t as unknown as net.Socket);
    });
    t.once('close', () => {
      if (!secure) counts.tlsFailed++;
    });
  };
  if (settled) setTimeout(handshake, settleMs);
  else handshake();
}

/** What each connection received: the request head, the bytes after it, and how the library closed. */
function receivedBy(conns: AcceptedConnection[]): RawServerConnection[] {
  return conns.map((x) => {
    const bytes = Buffer.concat(x.c.chunks);
    const he = x.headLen >= 0 ? x.headLen : headEnd(bytes);
    return {
      head: he < 0 ? null : bytes.subarray(0, he - 4).toString('latin1'),
      after: he < 0 ? bytes : bytes.subarray(he),
      libraryClosed: x.c.ended,
      reset: x.c.reset,
    };
  });
}

/**
 * Whether the program sets a timeout shorter than the settle before one of its connects: the
 * connection that connect opens may be the first one, whose reply would otherwise race that timeout.
 */
function shortTimeoutBeforeConnect(s: ClientSession, settleMs: number): boolean {
  let short = false;
  for (const step of s.steps) {
    if (step.op === 'set_timeout' && typeof step.ms === 'number' && step.ms < settleMs) short = true;
    if (step.op === 'connect' && short) return true;
  }
  return false;
}

/**
 * Plays the server side of a client session: the first connection gets the session's response and
 * traffic and ends as the session says (once the library's program has run, for `hold`); later
 * connections (a second connect that did not reuse the pooled one) get a plain 101 and nothing else.
 */
export async function startRawServer(s: ClientSession): Promise<RawServer> {
  const settleMs = s.settleMs ?? RST_SETTLE_MS;
  // Later connections always wait the settle; the first one too when a short timeout may race it.
  const settledFrom = shortTimeoutBeforeConnect(s, settleMs) ? 0 : 1;
  const conns: AcceptedConnection[] = [];
  let lastLaterAcceptAt = -Infinity;
  const onConnection = (sock: net.Socket): void => {
    sock.setNoDelay(true);
    const entry: AcceptedConnection = { sock, c: collect(sock), headLen: -1, scripted: null };
    const index = conns.length;
    conns.push(entry);
    entry.scripted = scriptConnection(s, entry, index, settleMs, index >= settledFrom, () => lastLaterAcceptAt);
  };
  // wss: the lab's server certificate (names localhost, 127.0.0.1, *.test ...); whether a library
  // trusts it is up to the trust store both sides are given (the peer's CA).
  const pki = s.target === 'wss' ? makeTestPki() : null;
  const counts: AcceptCounts = { accepted: 0, tlsFailed: 0 };
  const context = pki ? tls.createSecureContext({ cert: pki.serverCert, key: pki.serverKey }) : null;
  // allowHalfOpen (a TLS socket on top inherits it): collect() ends our side once the library's end is told
  const server = net.createServer({ allowHalfOpen: true }, (raw) => {
    const index = counts.accepted++;
    if (index > 0) lastLaterAcceptAt = Date.now();
    if (context === null) onConnection(raw);
    else acceptTls(raw, index >= settledFrom, context, settleMs, counts, onConnection);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    done: async (closeWait) => {
      // A connection the library opened and closed at once (a 1 ms timeout) may still wait in the
      // kernel's accept queue: one poll phase accepts it (setImmediate runs after the poll).
      await sleep(1);
      await new Promise<void>((r) => setImmediate(r));
      const until = Date.now() + closeWait;
      while (conns.length + counts.tlsFailed < counts.accepted && Date.now() < until) await sleep(2);
      await Promise.all(conns.map((x) => x.scripted));
      // The library's program has run: give its close (or its request's end) a moment to arrive.
      await Promise.all(conns.map((x) => Promise.race([x.c.ended$, sleep(closeWait)])));
      return receivedBy(conns);
    },
    close: () => {
      for (const x of conns) {
        x.c.self = true;
        x.sock.destroy();
      }
      server.close();
    },
  };
}
