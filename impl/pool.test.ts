// The ngx_lua-like cosocket and its keepalive pool against a plain TCP server on 127.0.0.1.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KeepalivePool } from './pool.js';
import { TcpSocket } from './tcp-socket.js';

interface Server {
  port: number;
  /** Server-side sockets in accept order. */
  sockets: net.Socket[];
  /** Bytes each server-side socket received. */
  received: Buffer[];
  closed: boolean[];
  close(): Promise<void>;
}

const servers: Server[] = [];
const registries: KeepalivePool[] = [];

async function server(): Promise<Server> {
  const s: Server = { port: 0, sockets: [], received: [], closed: [], close: async () => {} };
  const srv = net.createServer((sock) => {
    const i = s.sockets.length;
    s.sockets.push(sock);
    s.received.push(Buffer.alloc(0));
    s.closed.push(false);
    sock.on('data', (d) => { s.received[i] = Buffer.concat([s.received[i]!, d]); });
    sock.on('error', () => {});
    sock.on('close', () => { s.closed[i] = true; });
    sock.on('end', () => sock.end());
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  s.port = (srv.address() as net.AddressInfo).port;
  s.close = () => new Promise((r) => {
    for (const x of s.sockets) x.destroy();
    srv.close(() => r());
  });
  servers.push(s);
  return s;
}

function registry(): KeepalivePool {
  const r = new KeepalivePool();
  registries.push(r);
  return r;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await sleep(5);
  }
}

afterEach(async () => {
  for (const r of registries.splice(0)) r.drain();
  for (const s of servers.splice(0)) await s.close();
});

describe('TcpSocket: connect and close', () => {
  it('connects, sends, closes; a second close says "closed"; a closed socket fails reads and sends with "closed"', async () => {
    const srv = await server();
    const sock = new TcpSocket({ pool: registry() });
    expect(await sock.connect('127.0.0.1', srv.port)).toEqual({ ok: 1, err: null });
    expect(await sock.send('hi')).toEqual({ bytes: 2, err: null });
    await until(() => srv.received[0]!.length === 2);
    expect(await sock.close()).toEqual({ ok: 1, err: null });
    expect(await sock.close()).toEqual({ ok: null, err: 'closed' });
    expect(await sock.send('x')).toEqual({ bytes: null, err: 'closed' });
    expect((await sock.receive(1)).err).toBe('closed');
    expect(sock.getReusedTimes()).toEqual({ count: null, err: 'closed' });
    await until(() => srv.closed[0] === true);
  });

  it('reconnecting closes the connection the object still holds', async () => {
    const srv = await server();
    const sock = new TcpSocket({ pool: registry() });
    await sock.connect('127.0.0.1', srv.port);
    await sock.connect('127.0.0.1', srv.port);
    await until(() => srv.closed[0] === true);
    expect(srv.closed[1]).toBe(false);
  });

  it('ngx_lua errors: bad port number, bad pool options, connection refused, invalid host, no resolver', async () => {
    const sock = new TcpSocket({ pool: registry(), resolver: false });
    expect(await sock.connect('127.0.0.1', 65536)).toEqual({ ok: null, err: 'bad port number: 65536' });
    expect(await sock.connect('127.0.0.1', 1, { pool_size: 0 })).toEqual({ ok: null, err: 'bad "pool_size" option value: 0' });
    expect(await sock.connect('127.0.0.1', 1, { backlog: -1 })).toEqual({ ok: null, err: 'bad "backlog" option value: -1' });
    expect(await sock.connect('127.0.0.1', 1, { pool: true })).toEqual({ ok: null, err: 'bad "pool" option type: boolean' });
    const srv = await server();
    await srv.close();
    expect(await sock.connect('127.0.0.1', srv.port)).toEqual({ ok: null, err: 'connection refused' });
    expect(await sock.connect('[', 80)).toEqual({ ok: null, err: 'failed to parse host name "[": invalid host' });
    expect(await sock.connect('example.test', 80)).toEqual({ ok: null, err: 'no resolver defined to resolve "example.test"' });
  });
});

describe('keepalive pool (ngx_lua semantics)', () => {
  it('getreusedtimes: 0 for a new connection, then 1, 2 for the same pooled connection', async () => {
    const srv = await server();
    const sock = new TcpSocket({ pool: registry() });
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      await sock.connect('127.0.0.1', srv.port);
      counts.push(sock.getReusedTimes().count!);
      expect(sock.setKeepalive()).toEqual({ ok: 1, err: null });
    }
    expect(counts).toEqual([0, 1, 2]);
    expect(srv.sockets).toHaveLength(1);
  });

  it('the default key is "host:port"; the pool option overrides it', async () => {
    const srv = await server();
    const reg = registry();
    const a = new TcpSocket({ pool: reg });
    await a.connect('127.0.0.1', srv.port);
    expect(a.key).toBe(`127.0.0.1:${srv.port}`);
    a.setKeepalive();
    const b = new TcpSocket({ pool: reg });
    await b.connect('127.0.0.1', srv.port, { pool: 'other' });
    expect(b.getReusedTimes().count).toBe(0);
    b.setKeepalive();
    expect(reg.stats(`127.0.0.1:${srv.port}`)).toMatchObject({ idle: 1 });
    expect(reg.stats('other')).toMatchObject({ idle: 1, size: 30 });
    const c = new TcpSocket({ pool: reg });
    await c.connect('127.0.0.1', srv.port, { pool: 'other' });
    expect(c.getReusedTimes().count).toBe(1);
  });

  it('reuse takes the most recently pooled connection; a full pool closes its least recently pooled one', async () => {
    const srv = await server();
    const reg = registry();
    const a = new TcpSocket({ pool: reg });
    const b = new TcpSocket({ pool: reg });
    const c = new TcpSocket({ pool: reg });
    await a.connect('127.0.0.1', srv.port);
    await b.connect('127.0.0.1', srv.port);
    await c.connect('127.0.0.1', srv.port);
    expect(a.setKeepalive(0, 2)).toEqual({ ok: 1, err: null }); // creates the pool with size 2
    b.setKeepalive();
    c.setKeepalive(); // full: a (least recently pooled) is closed
    await until(() => srv.closed[0] === true);
    expect(srv.closed.slice(1)).toEqual([false, false]);
    const d = new TcpSocket({ pool: reg });
    await d.connect('127.0.0.1', srv.port);
    await d.send('d');
    await until(() => srv.received[2]!.length === 1); // c's connection, pooled last
    expect(reg.stats(`127.0.0.1:${srv.port}`)).toMatchObject({ size: 2, idle: 1, connections: 2 });
  });

  it('an idle connection expires after its max idle time; 0 keeps it', async () => {
    const srv = await server();
    const reg = registry();
    const a = new TcpSocket({ pool: reg });
    const b = new TcpSocket({ pool: reg });
    await a.connect('127.0.0.1', srv.port);
    await b.connect('127.0.0.1', srv.port, { pool: 'forever' });
    a.setKeepalive(20);
    b.setKeepalive(0);
    await until(() => srv.closed[0] === true);
    // its last connection gone, the pool is freed
    expect(reg.stats(`127.0.0.1:${srv.port}`)).toBeNull();
    await sleep(40);
    expect(srv.closed[1]).toBe(false);
    expect(reg.stats('forever')).toMatchObject({ idle: 1 });
  });

  it('an idle connection is dropped when the peer sends data or closes', async () => {
    const srv = await server();
    const reg = registry();
    const a = new TcpSocket({ pool: reg });
    const b = new TcpSocket({ pool: reg });
    await a.connect('127.0.0.1', srv.port, { pool: 'a' });
    await b.connect('127.0.0.1', srv.port, { pool: 'b' });
    a.setKeepalive();
    b.setKeepalive();
    srv.sockets[0]!.write('unexpected');
    srv.sockets[1]!.end();
    // each was its pool's last connection: both pools are freed
    await until(() => reg.stats('a') === null && reg.stats('b') === null);
    await until(() => srv.closed[0] === true);
  });

  it('set_keepalive: "closed" without a live connection, "connection in dubious state" with unread data', async () => {
    const srv = await server();
    const sock = new TcpSocket({ pool: registry() });
    expect(sock.setKeepalive()).toEqual({ ok: null, err: 'closed' });
    await sock.connect('127.0.0.1', srv.port);
    srv.sockets[0]!.write('x');
    await until(() => sock.buffered === 1);
    expect(sock.setKeepalive()).toEqual({ ok: null, err: 'connection in dubious state' });
    await until(() => srv.closed[0] === true);
    expect(sock.setKeepalive(0, 0)).toEqual({ ok: null, err: 'closed' });
    await sock.connect('127.0.0.1', srv.port, { pool: 'p0' });
    expect(sock.setKeepalive(0, 0)).toEqual({ ok: null, err: 'bad "pool_size" option value: 0' });
  });

  it('backlog: at most pool_size open connections, a bounded queue, "too many waiting connect operations"', async () => {
    const srv = await server();
    const reg = registry();
    const opts = { pool: 'b', pool_size: 2, backlog: 1 };
    const socks = [0, 1, 2, 3].map(() => new TcpSocket({ pool: reg }));
    expect((await socks[0]!.connect('127.0.0.1', srv.port, opts)).ok).toBe(1);
    expect((await socks[1]!.connect('127.0.0.1', srv.port, opts)).ok).toBe(1);
    const queued = socks[2]!.connect('127.0.0.1', srv.port, opts);
    await until(() => reg.stats('b')!.waiting === 1);
    expect(await socks[3]!.connect('127.0.0.1', srv.port, opts)).toEqual({ ok: null, err: 'too many waiting connect operations' });
    await socks[0]!.close(); // frees a slot: the queued connect opens a new connection
    expect(await queued).toEqual({ ok: 1, err: null });
    expect(socks[2]!.getReusedTimes().count).toBe(0);
    await until(() => srv.sockets.length === 3);
    expect(reg.stats('b')).toMatchObject({ connections: 2, waiting: 0 });
  });

  it('backlog: a queued connect gets a connection put back with set_keepalive, or times out', async () => {
    const srv = await server();
    const reg = registry();
    const opts = { pool_size: 1, backlog: 2 };
    const a = new TcpSocket({ pool: reg });
    const b = new TcpSocket({ pool: reg });
    const c = new TcpSocket({ pool: reg });
    c.setTimeout(30);
    await a.connect('127.0.0.1', srv.port, opts);
    expect(await c.connect('127.0.0.1', srv.port, opts)).toEqual({ ok: null, err: 'timeout' });
    const queued = b.connect('127.0.0.1', srv.port, opts);
    await until(() => reg.stats(`127.0.0.1:${srv.port}`)!.waiting === 1);
    a.setKeepalive();
    expect(await queued).toEqual({ ok: 1, err: null });
    expect(b.getReusedTimes().count).toBe(1);
    expect(srv.sockets).toHaveLength(1);
  });

  it('closing the last connection of a pool frees it: a later connect is no longer bound by its pool_size and backlog', async () => {
    const srv = await server();
    const reg = registry();
    const key = `127.0.0.1:${srv.port}`;
    const a = new TcpSocket({ pool: reg });
    expect((await a.connect('127.0.0.1', srv.port, { pool_size: 1, backlog: 0 })).ok).toBe(1);
    expect(reg.stats(key)).toMatchObject({ size: 1, backlog: 0, connections: 1 });
    // the reconnect closes the only connection first: the pool goes with it, and this connect has no options
    expect((await a.connect('127.0.0.1', srv.port)).ok).toBe(1);
    expect(reg.stats(key)).toBeNull();
    const b = new TcpSocket({ pool: reg });
    expect(await b.connect('127.0.0.1', srv.port)).toEqual({ ok: 1, err: null });
    expect(srv.sockets.length).toBeGreaterThanOrEqual(2);
  });

  it('set_keepalive on a connection whose send failed says "closed" and leaves it counted until close(), as ngx_lua does', async () => {
    const srv = await server();
    const reg = registry();
    const key = `127.0.0.1:${srv.port}`;
    const opts = { pool_size: 1, backlog: 0 };
    const a = new TcpSocket({ pool: reg });
    expect((await a.connect('127.0.0.1', srv.port, opts)).ok).toBe(1);
    await until(() => srv.sockets.length === 1);
    srv.sockets[0]!.destroy(); // the server goes away: the first send is taken, the next meets the RST
    await until(() => srv.closed[0] === true);
    await sleep(20);
    expect((await a.send('first')).err).toBeNull();
    expect(await a.send('second')).toEqual({ bytes: null, err: 'broken pipe' });
    expect(a.setKeepalive()).toEqual({ ok: null, err: 'closed' });
    expect(reg.stats(key)).toMatchObject({ connections: 1 });
    const b = new TcpSocket({ pool: reg });
    expect(await b.connect('127.0.0.1', srv.port, opts)).toEqual({ ok: null, err: 'too many waiting connect operations' });
    await a.close(); // the last connection: the pool goes with it
    expect(reg.stats(key)).toBeNull();
    expect((await b.connect('127.0.0.1', srv.port, opts)).ok).toBe(1);
  });

  it('an idle connection that goes away frees its pool when it was the last one; a refused connect only gives its slot back', async () => {
    const srv = await server();
    const reg = registry();
    const key = `127.0.0.1:${srv.port}`;
    const a = new TcpSocket({ pool: reg });
    const b = new TcpSocket({ pool: reg });
    await a.connect('127.0.0.1', srv.port, { pool_size: 2, backlog: 0 });
    await b.connect('127.0.0.1', srv.port, { pool_size: 2, backlog: 0 });
    expect(a.setKeepalive().ok).toBe(1);
    await until(() => srv.sockets.length === 2);
    srv.sockets[0]!.destroy(); // the idle one: dropped, one connection is left, the pool stays
    await until(() => reg.stats(key)!.connections === 1);
    await b.close(); // the last one
    expect(reg.stats(key)).toBeNull();

    const closedPort = srv.port;
    await srv.close();
    const c = new TcpSocket({ pool: reg });
    expect((await c.connect('127.0.0.1', closedPort, { pool: 'refused', pool_size: 1, backlog: 0 })).err).toBe('connection refused');
    expect(reg.stats('refused')).toMatchObject({ size: 1, backlog: 0, connections: 0 });
  });

  it('without backlog the pool limits idle connections only, not open ones', async () => {
    const srv = await server();
    const reg = registry();
    const socks = [0, 1, 2].map(() => new TcpSocket({ pool: reg }));
    for (const s of socks) expect((await s.connect('127.0.0.1', srv.port, { pool_size: 1 })).ok).toBe(1);
    expect(reg.stats(`127.0.0.1:${srv.port}`)).toMatchObject({ size: 1, connections: 3 });
  });
});
