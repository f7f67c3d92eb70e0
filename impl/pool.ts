// ngx_lua's per-process keepalive pools (ngx_http_lua_socket_pool_t), as far as the client's
// socket (impl/tcp-socket.ts) needs them. The rules follow ngx_http_lua_socket_tcp.c: pools are
// keyed "host:port" (or the Unix socket address, or the `pool` option), idle connections are
// reused most-recently-pooled first, a full pool evicts its least recently pooled connection, idle
// connections the peer closes or writes to are dropped, and `backlog` caps open connections at
// the pool size with a bounded queue of waiting connects. A pool is freed (forgotten with its
// size and backlog) when closing a connection brings its count to 0, as
// ngx_http_lua_socket_free_pool does from the socket's finalize and the idle close handler; a
// connect that fails before it has a connection only gives its slot back.
import type { Stream } from './socket.js';

/** lua_socket_pool_size's default. */
export const DEFAULT_POOL_SIZE = 30;
/** lua_socket_keepalive_timeout's default (ms). */
export const DEFAULT_KEEPALIVE_TIMEOUT_MS = 60_000;

export interface IdleConnection {
  stream: Stream;
  reused: number;
  timer: NodeJS.Timeout | null;
  drop: () => void;
}

/** What a queued connect gets when it may go on: an idle connection, or a counted slot to open one. */
export type Wakeup = { idle: IdleConnection } | { idle: null };

export interface WaitingConnect {
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
  /** Forgets this pool in its registry (ngx_http_lua_socket_free_pool). */
  private readonly free: () => void;

  constructor(key: string, size: number, backlog: number, free: () => void = () => {}) {
    this.key = key;
    this.size = size;
    this.backlog = backlog;
    this.free = free;
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

  /**
   * Pools `stream` as idle (setkeepalive's part once the connection is known to be clean): a full
   * pool first evicts its least recently pooled connection; `countedIn` is the pool the connection
   * is already counted in (null: none, so it is counted here now). Any event on an idle connection (data, EOF, error, the idle timeout
   * `timeoutMs`, 0 = none) closes it.
   */
  putIdle(stream: Stream, reused: number, timeoutMs: number, countedIn: SocketPool | null): void {
    if (this.idle.length >= this.size) {
      const lru = this.idle.pop()!;
      if (lru.timer) clearTimeout(lru.timer);
      lru.stream.destroy();
      if (countedIn !== null) countedIn.connections--;
    } else if (countedIn === null) {
      this.connections++;
    }
    const item: IdleConnection = {
      stream,
      reused,
      timer: null,
      drop: () => {
        const at = this.idle.indexOf(item);
        if (at < 0) return;
        this.idle.splice(at, 1);
        if (item.timer) clearTimeout(item.timer);
        stream.destroy();
        this.closed();
      },
    };
    if (timeoutMs > 0) {
      item.timer = setTimeout(item.drop, timeoutMs);
      item.timer.unref();
    }
    stream.on('data', item.drop);
    stream.on('end', item.drop);
    stream.on('close', item.drop);
    stream.on('error', item.drop);
    stream.resume();
    stream.unref();
    this.idle.unshift(item);
    this.resumeWaiting();
  }

  /** A counted connect ended without a connection (it failed before one existed): its slot goes to a queued connect. */
  released(): void {
    this.connections--;
    this.resumeWaiting();
  }

  /**
   * A counted connection was closed: the last one frees the pool, any other lets a queued connect go
   * on (ngx_lua counts queued connects among its connections, so a pool with any is not freed).
   */
  closed(): void {
    this.connections--;
    if (this.connections === 0 && this.waiting.length === 0) this.free();
    else this.resumeWaiting();
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
    const pool = new SocketPool(key, size, backlog, () => {
      if (this.pools.get(key) === pool) this.pools.delete(key);
    });
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
