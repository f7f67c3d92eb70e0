// ngx_lua's cosocket object (`ngx.socket.tcp()`), as far as the client needs it: connect (port
// check, pool lookup, backlog queue, host parsing, resolving), getreusedtimes, sslhandshake with
// setclientcert, setkeepalive, close. The keepalive pools are impl/pool.ts, the certificate checks
// impl/tls-verify.ts, the connection itself a NodeCosocket (impl/socket.ts).
import dns from 'node:dns';
import net from 'node:net';
import tls from 'node:tls';
import { EMPTY } from './byte-queue.js';
import { DEFAULT_KEEPALIVE_TIMEOUT_MS, DEFAULT_POOL_SIZE, defaultKeepalivePool } from './pool.js';
import type { IdleConnection, KeepalivePool, SocketPool, WaitingConnect, Wakeup } from './pool.js';
import { DEFAULT_TIMEOUT_MS, NodeCosocket, openStream } from './socket.js';
import type { Stream } from './socket.js';
import { luaSocketTimeout } from './lua.js';
import { verifyPeer } from './tls-verify.js';
import type { HostCheck } from './tls-verify.js';
import type { Cosocket, OkResult, ReceiveCallback, SendResult, SockRecv } from './types.js';
import { isIpv4Literal } from './uri.js';

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
  hostCheck?: HostCheck;
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
    this.timeoutMs = luaSocketTimeout(ms, DEFAULT_TIMEOUT_MS);
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
      // A connect that timed out had a connection (nginx closes it: the pool may be freed); a refused,
      // unparsable or unresolvable one never had one.
      this.release(opened.err === 'timeout' ? 'closed' : 'failed');
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
    return openStream(port === null ? { path: address, timeout: this.timeoutMs } : { host: address, port, timeout: this.timeoutMs });
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
    const result = await new Promise<{ stream: tls.TLSSocket; err: null } | { stream: null; err: string; completed?: true }>((done) => {
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
          const bad = verifyPeer(t, opts.verifyName === undefined ? opts.serverName : opts.verifyName, opts.hostCheck ?? 'x509-check-host');
          if (bad !== null) {
            // ngx_lua checks the certificate after a completed handshake, then shuts the connection
            // down: the server sees our Finished and a close, not a handshake cut off (destroy()
            // could drop the Finished still in the write queue).
            t.destroySoon();
            done({ stream: null, err: bad, completed: true });
            return;
          }
        }
        done({ stream: t, err: null });
      });
    });
    if (result.err !== null) {
      if (!('completed' in result)) raw.destroy(); // ngx_lua finalizes the socket when the handshake fails
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

  receiveLater(n: number, to: ReceiveCallback): void {
    if (this.conn === null) void this.receive(n).then((r) => to.received(r));
    else this.conn.receiveLater(n, to);
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

  /** The connection counted in `socketPool` is gone: closed (the last one frees the pool) or never opened. */
  private release(how: 'closed' | 'failed' = 'closed'): void {
    const spool = this.socketPool;
    this.socketPool = null;
    if (how === 'closed') spool?.closed();
    else spool?.released();
  }

  /**
   * sock:setkeepalive(timeout?, size?): puts the connection into the pool for its key. "closed"
   * when there is no connection, or when the server closed, the peer reset it, or a read or send
   * on it failed: ngx_lua then leaves the connection as it is (still counted in its pool, sends
   * still go out) until close(); "unread data in buffer" when bytes that came with the last read
   * are unread (it stays); "connection in dubious state" (and the connection is closed) when bytes
   * that came later are unread. timeout 0 keeps it forever.
   */
  setKeepalive(timeoutMs?: number | null, size?: number | null): OkResult {
    const conn = this.conn;
    if (conn === null || conn.closed || conn.failed || conn.stream.destroyed) return { ok: null, err: 'closed' };
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
    const { stream } = conn.detach();
    this.conn = null;
    const ms = timeoutMs === null || timeoutMs === undefined ? DEFAULT_KEEPALIVE_TIMEOUT_MS : Math.trunc(timeoutMs);
    const countedIn = this.socketPool;
    this.socketPool = null;
    spool.putIdle(stream, this.reused, ms, countedIn);
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
