// ngx_lua's cosocket object (`ngx.socket.tcp()`) with its per-process keepalive pool, as far as
// the client needs it: connect (port check, pool lookup, backlog queue, host parsing, resolving),
// getreusedtimes, sslhandshake with setclientcert, setkeepalive, close. The pool rules follow
// ngx_http_lua_socket_tcp.c: pools are keyed "host:port" (or the Unix socket address, or the
// `pool` option), idle connections are reused most-recently-pooled first, a full pool evicts its
// least recently pooled connection, idle connections the peer closes or writes to are dropped,
// and `backlog` caps open connections at the pool size with a bounded queue of waiting connects.
import dns from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import { EMPTY } from './byte-queue.js';
import { DEFAULT_TIMEOUT_MS, NodeCosocket, ngxSocketError } from './socket.js';
import type { Stream } from './socket.js';
import type { Cosocket, OkResult, SendResult, SockRecv } from './types.js';

/** lua_socket_pool_size's default. */
export const DEFAULT_POOL_SIZE = 30;
/** lua_socket_keepalive_timeout's default (ms). */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 60_000;

interface IdleConnection {
  stream: Stream;
  reused: number;
  timer: NodeJS.Timeout | null;
  drop: () => void;
}

/** What a queued connect gets when it may go on: an idle connection, or a counted slot to open one. */
type Wakeup = { idle: IdleConnection } | { idle: null };

interface WaitingConnect {
  wake: (w: Wakeup) => void;
}

/** One pool (ngx_http_lua_socket_pool_t). */
export class SocketPool {
  readonly key: string;
  readonly size: number;
  /** -1: no backlog option, so open connections are not limited. */
  readonly backlog: number;
  /** Open connections counted against this pool (active, idle and being opened). */
  connections = 0;
  /** Idle connections, most recently pooled first. */
  readonly idle: IdleConnection[] = [];
  readonly waiting: WaitingConnect[] = [];

  constructor(key: string, size: number, backlog: number) {
    this.key = key;
    this.size = size;
    this.backlog = backlog;
  }

  /** Takes the most recently pooled idle connection. */
  takeIdle(): IdleConnection | null {
    const item = this.idle.shift();
    if (!item) return null;
    if (item.timer) clearTimeout(item.timer);
    item.stream.off('data', item.drop);
    item.stream.off('end', item.drop);
    item.stream.off('close', item.drop);
    item.stream.off('error', item.drop);
    item.stream.pause();
    item.stream.ref();
    return item;
  }

  /** A counted connection went away: let a queued connect go on. */
  released(): void {
    this.connections--;
    this.resumeWaiting();
  }

  /** Hands idle connections, then free slots, to queued connects in arrival order. */
  resumeWaiting(): void {
    while (this.waiting.length > 0) {
      const idle = this.takeIdle();
      if (idle !== null) {
        this.waiting.shift()!.wake({ idle });
      } else if (this.connections < this.size) {
        this.connections++;
        this.waiting.shift()!.wake({ idle: null });
      } else {
        return;
      }
    }
  }
}

export interface PoolStats {
  key: string;
  size: number;
  backlog: number;
  connections: number;
  idle: number;
  waiting: number;
}

/** All pools of a process (ngx_lua keeps them per worker). */
export class KeepalivePool {
  private readonly pools = new Map<string, SocketPool>();

  get(key: string): SocketPool | undefined {
    return this.pools.get(key);
  }

  create(key: string, size: number, backlog: number): SocketPool {
    const pool = new SocketPool(key, size, backlog);
    this.pools.set(key, pool);
    return pool;
  }

  stats(key: string): PoolStats | null {
    const p = this.pools.get(key);
    if (!p) return null;
    return { key, size: p.size, backlog: p.backlog, connections: p.connections, idle: p.idle.length, waiting: p.waiting.length };
  }

  /** Closes every idle connection (tests and shutdown). */
  drain(): void {
    for (const pool of this.pools.values()) {
      for (const item of [...pool.idle]) item.drop();
    }
    this.pools.clear();
  }
}

/** The per-process pool every TcpSocket uses unless given another one. */
export const defaultKeepalivePool = new KeepalivePool();

export interface TcpConnectOptions {
  /** Pool name instead of "host:port" / the socket path. Numbers are used as their text. */
  pool?: unknown;
  pool_size?: unknown;
  backlog?: unknown;
}

export interface TcpSocketOptions {
  pool?: KeepalivePool;
  /**
   * How host names are resolved. 'system' (default) uses the OS resolver, like an nginx with a
   * `resolver` directive; false reproduces an nginx without one: every name that is not an IPv4
   * literal fails with `no resolver defined to resolve "<host>"`.
   */
  resolver?: 'system' | false;
  /** Extra trusted CA certificates for ssl_verify (nginx's lua_ssl_trusted_certificate). */
  trustedCa?: string | Buffer | Array<string | Buffer>;
}

export interface SslHandshakeOptions {
  /** The SNI name; null or "" sends none. */
  serverName: string | null;
  verify: boolean;
  /**
   * The name the certificate must match when verifying; default the SNI name (ngx_lua checks
   * the name it sent, and none when it sent none).
   */
  verifyName?: string | null;
  /**
   * How the name is matched: 'x509-check-host' (default) is OpenSSL's X509_check_host as nginx's
   * ngx_ssl_check_host calls it: DNS names only, so an IP literal never matches (not even an IP
   * SAN) and "host:port" never does; 'rfc6125' is Node's checkServerIdentity (IP SANs for IPs).
   */
  hostCheck?: 'x509-check-host' | 'rfc6125';
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function isIpv4Literal(host: string): boolean {
  const m = IPV4_RE.exec(host);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

/** OpenSSL's X509_verify_cert_error_string texts for the codes Node reports, as "<n>: <text>". */
const VERIFY_ERRORS: Record<string, string> = {
  UNABLE_TO_GET_ISSUER_CERT: '2: unable to get issuer certificate',
  CERT_NOT_YET_VALID: '9: certificate is not yet valid',
  CERT_HAS_EXPIRED: '10: certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: '18: self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: '19: self-signed certificate in certificate chain',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: '20: unable to get local issuer certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: '21: unable to verify the first certificate',
  CERT_REVOKED: '23: certificate revoked',
  INVALID_CA: '24: invalid CA certificate',
  CERT_UNTRUSTED: '27: certificate not trusted',
  CERT_REJECTED: '28: certificate rejected',
};

/**
 * OpenSSL's X509_check_host(cert, name, 0): the DNS subject alternative names, or the subject CN
 * when there are none; case-insensitive; a "*" in the leftmost label (possibly partial, like
 * "f*.example.com") matches within that label, never across dots, and needs two labels after it.
 * IP SANs are not consulted, so an IP literal only matches a DNS SAN or CN spelled the same.
 */
export function x509CheckHost(name: string, cert: { subjectaltname?: string; subject?: { CN?: string | string[] } }): boolean {
  const host = name.toLowerCase().replace(/\.$/, '');
  const sans = (cert.subjectaltname ?? '').split(/,\s*/).filter((e) => e.startsWith('DNS:')).map((e) => e.slice(4));
  const cn = cert.subject?.CN;
  const patterns = sans.length > 0 ? sans : cn === undefined ? [] : Array.isArray(cn) ? cn : [cn];
  return patterns.some((p) => dnsNameMatches(p.toLowerCase(), host));
}

function dnsNameMatches(pattern: string, host: string): boolean {
  if (!pattern.includes('*')) return pattern === host;
  const labels = pattern.split('.');
  const hostLabels = host.split('.');
  if (labels.length !== hostLabels.length || labels.length < 3) return false;
  if (labels.slice(1).some((l) => l.includes('*')) || labels[0]!.split('*').length > 2) return false;
  if (labels.slice(1).join('.') !== hostLabels.slice(1).join('.')) return false;
  const [prefix, suffix] = labels[0]!.split('*') as [string, string];
  const first = hostLabels[0]!;
  return first.length >= prefix.length + suffix.length && first.startsWith(prefix) && first.endsWith(suffix) && first !== '';
}

/**
 * ngx.socket.tcp(): one object that can be connected, pooled and reconnected. It implements the
 * Cosocket interface over its current connection; with no connection every read and send fails
 * with "closed", as ngx_lua's do.
 */
export class TcpSocket implements Cosocket {
  private conn: NodeCosocket | null = null;
  private timeoutMs = DEFAULT_TIMEOUT_MS;
  private socketPool: SocketPool | null = null;
  private poolKey: string | null = null;
  private reused = 0;
  private clientCert: { cert: string | Buffer; key: string | Buffer } | null = null;
  private readonly registry: KeepalivePool;
  private readonly resolver: 'system' | false;
  private readonly trustedCa: Array<string | Buffer> | undefined;

  constructor(opts: TcpSocketOptions = {}) {
    this.registry = opts.pool ?? defaultKeepalivePool;
    this.resolver = opts.resolver ?? 'system';
    this.trustedCa = opts.trustedCa === undefined ? undefined : Array.isArray(opts.trustedCa) ? opts.trustedCa : [opts.trustedCa];
  }

  /** The current connection's stream (null when not connected). */
  get stream(): Stream | null {
    return this.conn?.stream ?? null;
  }

  get connected(): boolean {
    return this.conn !== null && !this.conn.closed;
  }

  /** The pool key of the current (or last) connection. */
  get key(): string | null {
    return this.poolKey;
  }

  setTimeout(ms: number): void {
    this.timeoutMs = ms > 0 ? ms : DEFAULT_TIMEOUT_MS;
    this.conn?.setTimeout(ms);
  }

  /**
   * sock:connect(host, port, opts) or, for "unix:<path>" addresses, sock:connect(addr, opts).
   * A connection the object still holds is closed first, as ngx_lua does.
   */
  async connect(host: string, port: number | null, opts: TcpConnectOptions = {}): Promise<OkResult> {
    const unix = host.startsWith('unix:');
    if (!unix) {
      const p = port ?? 0;
      if (!Number.isFinite(p) || p < 0 || p > 65535) return { ok: null, err: `bad port number: ${formatPort(p)}` };
    }
    let key: string;
    if (opts.pool === undefined || opts.pool === null) key = unix ? host : `${host}:${Math.trunc(port ?? 0)}`;
    else if (typeof opts.pool === 'string') key = opts.pool;
    else if (typeof opts.pool === 'number') key = String(opts.pool);
    else return { ok: null, err: `bad "pool" option type: ${typeof opts.pool === 'boolean' ? 'boolean' : 'table'}` };
    const sizeOpt = optInteger(opts.pool_size);
    const backlogOpt = optInteger(opts.backlog);
    if (sizeOpt !== null && sizeOpt <= 0) return { ok: null, err: `bad "pool_size" option value: ${sizeOpt}` };
    if (backlogOpt !== null && backlogOpt < 0) return { ok: null, err: `bad "backlog" option value: ${backlogOpt}` };

    if (this.conn !== null) await this.finalize();
    this.poolKey = key;
    this.reused = 0;

    let spool = this.registry.get(key) ?? null;
    if (spool === null && (sizeOpt !== null || backlogOpt !== null)) {
      spool = this.registry.create(key, sizeOpt ?? DEFAULT_POOL_SIZE, backlogOpt ?? -1);
    }
    this.socketPool = spool;

    if (spool !== null) {
      const idle = spool.takeIdle();
      if (idle !== null) return this.adopt(idle);
      if (spool.backlog >= 0 && spool.connections >= spool.size) {
        if (spool.waiting.length >= spool.backlog) return { ok: null, err: 'too many waiting connect operations' };
        const w = await this.waitInQueue(spool);
        if (w === null) return { ok: null, err: 'timeout' };
        if (w.idle !== null) return this.adopt(w.idle);
        // else: resumeWaiting already counted the slot for us
      } else {
        spool.connections++;
      }
    }

    const opened = await this.open(host, unix ? null : (port ?? 0));
    if (opened.err !== null) {
      this.release();
      return { ok: null, err: opened.err };
    }
    this.conn = new NodeCosocket(opened.stream, { timeout: this.timeoutMs });
    return { ok: 1, err: null };
  }

  private adopt(idle: IdleConnection): OkResult {
    this.reused = idle.reused + 1;
    this.conn = new NodeCosocket(idle.stream, { timeout: this.timeoutMs });
    return { ok: 1, err: null };
  }

  /** Queues a connect; null when the connect timeout passes first (ngx_lua says "timeout"). */
  private waitInQueue(spool: SocketPool): Promise<Wakeup | null> {
    return new Promise((resolve) => {
      const w: WaitingConnect = {
        wake: (wakeup) => {
          clearTimeout(timer);
          resolve(wakeup);
        },
      };
      const timer = setTimeout(() => {
        const at = spool.waiting.indexOf(w);
        if (at >= 0) spool.waiting.splice(at, 1);
        resolve(null);
      }, this.timeoutMs);
      spool.waiting.push(w);
    });
  }

  private async open(host: string, port: number | null): Promise<{ stream: Stream; err: null } | { stream: null; err: string }> {
    let address: string;
    if (port === null) {
      address = host.slice('unix:'.length);
    } else {
      // ngx_parse_url: a bracketed IPv6 literal, else a host without "?" (nor "/").
      if (host.startsWith('[')) {
        const inner = host.endsWith(']') ? host.slice(1, -1) : '';
        if (!net.isIPv6(inner)) return { stream: null, err: `failed to parse host name "${host}": invalid host` };
        address = inner;
      } else if (host.includes('?') || host.includes('/')) {
        return { stream: null, err: `failed to parse host name "${host}": invalid host` };
      } else if (isIpv4Literal(host) || net.isIPv6(host)) {
        address = host;
      } else if (this.resolver === false) {
        return { stream: null, err: `no resolver defined to resolve "${host}"` };
      } else {
        const r = await resolve(host);
        if (r.err !== null) return { stream: null, err: r.err };
        address = r.address;
      }
    }
    if (port === 0) return { stream: null, err: 'connection refused' }; // what Linux says for port 0
    return new Promise((done) => {
      // Half-open like an nginx cosocket: after the server's FIN, reads say "closed" but sends still go out.
      const stream = port === null ? net.connect({ path: address, allowHalfOpen: true }) : net.connect({ host: address, port, allowHalfOpen: true });
      const timer = setTimeout(() => {
        stream.destroy();
        done({ stream: null, err: 'timeout' });
      }, this.timeoutMs);
      const onError = (e: Error): void => {
        clearTimeout(timer);
        done({ stream: null, err: ngxSocketError(e) });
      };
      stream.once('error', onError);
      stream.once('connect', () => {
        clearTimeout(timer);
        stream.off('error', onError);
        done({ stream, err: null });
      });
    });
  }

  /** sock:getreusedtimes(). */
  getReusedTimes(): { count: number; err: null } | { count: null; err: string } {
    if (!this.connected) return { count: null, err: 'closed' };
    return { count: this.reused, err: null };
  }

  /** sock:setclientcert(cert, key): kept for the next sslhandshake; PEM text or Buffers. */
  setClientCert(cert: string | Buffer, key: string | Buffer): OkResult {
    try {
      tls.createSecureContext({ cert, key });
    } catch (e) {
      return { ok: null, err: (e as Error).message };
    }
    this.clientCert = { cert, key };
    return { ok: 1, err: null };
  }

  /**
   * sock:sslhandshake(false, server_name, ssl_verify). Errors are ngx_lua's: "handshake failed",
   * "timeout", "<n>: <X509 verify error>" or "certificate host mismatch" when verifying.
   */
  async sslHandshake(opts: SslHandshakeOptions): Promise<OkResult> {
    if (!this.connected) return { ok: null, err: 'closed' };
    const { stream: raw, buffered } = this.conn!.detach();
    if (buffered.length > 0) raw.unshift(buffered);
    const result = await new Promise<{ stream: tls.TLSSocket; err: null } | { stream: null; err: string }>((done) => {
      const t = tls.connect({
        socket: raw as net.Socket,
        servername: opts.serverName || undefined,
        rejectUnauthorized: false,
        checkServerIdentity: () => undefined, // names are checked below, the way the caller asks
        ca: this.trustedCa,
        cert: this.clientCert?.cert,
        key: this.clientCert?.key,
      });
      const timer = setTimeout(() => {
        t.destroy();
        done({ stream: null, err: 'timeout' });
      }, this.timeoutMs);
      const onError = (): void => {
        clearTimeout(timer);
        t.destroy();
        done({ stream: null, err: 'handshake failed' });
      };
      t.once('error', onError);
      t.once('close', onError);
      t.once('secureConnect', () => {
        clearTimeout(timer);
        t.off('error', onError);
        t.off('close', onError);
        if (opts.verify) {
          if (!t.authorized) {
            const code = String(t.authorizationError ?? '');
            t.destroy();
            done({ stream: null, err: VERIFY_ERRORS[code] ?? code });
            return;
          }
          const name = opts.verifyName === undefined ? opts.serverName : opts.verifyName;
          if (name) {
            const cert = t.getPeerCertificate();
            const bad = opts.hostCheck === 'rfc6125' ? tls.checkServerIdentity(name, cert) !== undefined : !x509CheckHost(name, cert);
            if (bad) {
              t.destroy();
              done({ stream: null, err: 'certificate host mismatch' });
              return;
            }
          }
        }
        done({ stream: t, err: null });
      });
    });
    if (result.err !== null) {
      raw.destroy(); // ngx_lua finalizes the socket when the handshake fails
      this.conn = null;
      this.release();
      return { ok: null, err: result.err };
    }
    this.conn = new NodeCosocket(result.stream, { timeout: this.timeoutMs });
    return { ok: 1, err: null };
  }

  receive(n: number): Promise<SockRecv> {
    if (this.conn === null) return Promise.resolve({ data: null, err: 'closed', partial: EMPTY });
    return this.conn.receive(n);
  }

  tryReceive(n: number): Buffer | null {
    return this.conn === null ? null : this.conn.tryReceive(n);
  }

  receiveUntil(pattern: Buffer | string): Promise<SockRecv> {
    if (this.conn === null) return Promise.resolve({ data: null, err: 'closed', partial: EMPTY });
    return this.conn.receiveUntil(pattern);
  }

  send(data: Buffer | string | readonly Buffer[]): Promise<SendResult> {
    if (this.conn === null) return Promise.resolve({ bytes: null, err: 'closed' });
    return this.conn.send(data);
  }

  sendNow(data: Buffer | string | readonly Buffer[]): SendResult | Promise<SendResult> {
    if (this.conn === null) return { bytes: null, err: 'closed' };
    return this.conn.sendNow(data);
  }

  /** Bytes received on the current connection and not yet read. */
  get buffered(): number {
    return this.conn?.buffered ?? 0;
  }

  /** sock:close(): 1, or nil, "closed" when there is no connection. */
  async close(): Promise<OkResult> {
    if (this.conn === null) return { ok: null, err: 'closed' };
    return this.finalize();
  }

  private async finalize(): Promise<OkResult> {
    const conn = this.conn!;
    this.conn = null;
    const r = await conn.close();
    this.release();
    return r.ok === 1 ? r : { ok: 1, err: null };
  }

  /** The connection counted in `socketPool` is gone. */
  private release(): void {
    const spool = this.socketPool;
    this.socketPool = null;
    spool?.released();
  }

  /**
   * sock:setkeepalive(timeout?, size?): puts the connection into the pool for its key. "closed"
   * when there is no live connection; "connection in dubious state" (and the connection is
   * closed) when received data is still unread. timeout 0 keeps it forever.
   */
  setKeepalive(timeoutMs?: number | null, size?: number | null): OkResult {
    const conn = this.conn;
    // After the server's FIN ngx_lua answers "closed" but keeps the connection: sends still go out.
    if (conn !== null && conn.closed && !conn.stream.destroyed && conn.stream.writable) return { ok: null, err: 'closed' };
    if (conn === null || conn.closed || conn.stream.destroyed) {
      if (conn !== null) {
        this.conn = null;
        void conn.close();
        this.release();
      }
      return { ok: null, err: 'closed' };
    }
    const key = this.poolKey!;
    let spool = this.registry.get(key) ?? null;
    if (spool === null) {
      const poolSize = size === null || size === undefined ? DEFAULT_POOL_SIZE : Math.trunc(size);
      if (poolSize <= 0) return { ok: null, err: `bad "pool_size" option value: ${poolSize}` };
      spool = this.registry.create(key, poolSize, -1);
    }
    if (conn.buffered > 0) {
      // ngx_lua: bytes its buffer holds -> "unread data in buffer" (the connection stays);
      // bytes still in the kernel -> "connection in dubious state" (the connection is closed).
      if (conn.bufferedAtLastRead > 0) return { ok: null, err: 'unread data in buffer' };
      this.conn = null;
      void conn.close();
      this.release();
      return { ok: null, err: 'connection in dubious state' };
    }
    if (spool.idle.length >= spool.size) {
      const lru = spool.idle.pop()!;
      if (lru.timer) clearTimeout(lru.timer);
      lru.stream.destroy();
      if (this.socketPool !== null) this.socketPool.connections--;
    } else if (this.socketPool === null) {
      spool.connections++;
    }
    const { stream } = conn.detach();
    this.conn = null;
    const pool = spool;
    const item: IdleConnection = {
      stream,
      reused: this.reused,
      timer: null,
      // Any event on an idle connection (data, EOF, error, idle timeout) closes it.
      drop: () => {
        const at = pool.idle.indexOf(item);
        if (at < 0) return;
        pool.idle.splice(at, 1);
        if (item.timer) clearTimeout(item.timer);
        stream.destroy();
        pool.released();
      },
    };
    const ms = timeoutMs === null || timeoutMs === undefined ? DEFAULT_KEEPALIVE_TIMEOUT_MS : Math.trunc(timeoutMs);
    if (ms > 0) {
      item.timer = setTimeout(item.drop, ms);
      item.timer.unref();
    }
    stream.on('data', item.drop);
    stream.on('end', item.drop);
    stream.on('close', item.drop);
    stream.on('error', item.drop);
    stream.resume();
    stream.unref();
    pool.idle.unshift(item);
    this.socketPool = null;
    pool.resumeWaiting();
    return { ok: 1, err: null };
  }
}

function optInteger(v: unknown): number | null {
  if (v === undefined || v === null) return null;
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function formatPort(p: number): string {
  return Number.isFinite(p) && Math.abs(p) < 2 ** 63 ? BigInt(Math.trunc(p)).toString() : String(p);
}

/** The OS resolver, worded like nginx's resolver. IPv4 first (nginx's resolver default order). */
function resolve(host: string): Promise<{ address: string; err: null } | { address: null; err: string }> {
  return new Promise((done) => {
    dns.lookup(host, { all: true }, (e, addrs) => {
      if (e || addrs.length === 0) {
        done({ address: null, err: `${host} could not be resolved (3: Host not found)` });
        return;
      }
      const v4 = addrs.find((a) => a.family === 4);
      done({ address: (v4 ?? addrs[0]!).address, err: null });
    });
  });
}
