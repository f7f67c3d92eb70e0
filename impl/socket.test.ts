import { describe, expect, it } from 'vitest';
import net from 'node:net';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { luaSocketTimeout, luaToNumber, luaTruthy } from './lua.js';
import { connectCosocket, DEFAULT_TIMEOUT_MS, NodeCosocket, SOCKET_BUSY } from './socket.js';

async function pair(): Promise<{ a: net.Socket; b: net.Socket; port: number; done: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  const a = net.connect(port, '127.0.0.1');
  const [b] = (await once(server, 'connection')) as [net.Socket];
  await once(a, 'connect');
  return { a, b, port, done: () => { a.destroy(); b.destroy(); server.close(); } };
}

describe('NodeCosocket', () => {
  it('reads exactly n bytes across chunks and keeps the rest', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    a.write('he');
    setTimeout(() => a.write('llo world'), 10);
    expect((await s.receive(5)).data?.toString()).toBe('hello');
    expect((await s.receive(6)).data?.toString()).toBe(' world');
    expect(await s.receive(0)).toEqual({ data: Buffer.alloc(0), err: null });
    done();
  });

  it('reads up to a pattern, excluding it, with the bytes after it left for the next read', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b, { head: Buffer.from('HTTP/1.1 101 OK\r\nA: ') });
    a.write(Buffer.from('b\r\n\r\n\x81\x00', 'latin1'));
    expect((await s.receiveUntil('\r\n\r\n')).data?.toString()).toBe('HTTP/1.1 101 OK\r\nA: b');
    expect((await s.receive(2)).data?.toString('hex')).toBe('8100');
    done();
  });

  it('times out with the partial bytes consumed, and stays usable', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b, { timeout: 30 });
    a.write('abc');
    const r = await s.receive(5);
    expect(r).toEqual({ data: null, err: 'timeout', partial: Buffer.from('abc') });
    a.write('de');
    expect((await s.receive(2)).data?.toString()).toBe('de');
    done();
  });

  it('times out on silence, not on the length of a read that keeps making progress (like ngx_lua)', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b, { timeout: 80 });
    // 8 pieces 40 ms apart: the read takes ~320 ms, four times the timeout, with no gap above 80 ms.
    let sent = 0;
    const tick = setInterval(() => {
      a.write(Buffer.alloc(4, 0x61 + sent));
      if (++sent === 8) clearInterval(tick);
    }, 40);
    const started = Date.now();
    const r = await s.receive(32);
    expect(r.err).toBeNull();
    expect(r.data?.length).toBe(32);
    expect(Date.now() - started).toBeGreaterThan(160);
    // Then silence: the next read times out after one timeout.
    expect((await s.receive(1)).err).toBe('timeout');
    done();
  });

  it('times each read from its own start, after earlier reads settled, and honours a lowered timeout at once', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b, { timeout: 60_000 });
    // a read that settles leaves the socket's one timer armed for 60 s ...
    a.write('x');
    expect((await s.receive(1)).data?.toString()).toBe('x');
    // ... which must not delay a read under a 40 ms timeout set afterwards
    s.setTimeout(600);
    let t0 = performance.now();
    expect(await s.receive(1)).toEqual({ data: null, err: 'timeout', partial: Buffer.alloc(0) });
    expect(performance.now() - t0).toBeLessThan(20_000);
    // reads in a row, each answered well within the timeout, then a pause: the one timer of the
    // socket, armed by the first of them, must not fire on a later one before its own 600 ms
    for (let i = 0; i < 3; i++) {
      setTimeout(() => a.write('y'), 150);
      const r = await s.receive(1);
      expect(r.err).toBeNull();
      expect(r.data?.toString()).toBe('y');
    }
    t0 = performance.now();
    expect((await s.receive(1)).err).toBe('timeout');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(595);
    done();
  });

  it('reports "closed" when the peer ends, after the buffered bytes are read', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    a.end('xy');
    expect((await s.receive(1)).data?.toString()).toBe('x');
    expect(await s.receive(2)).toEqual({ data: null, err: 'closed', partial: Buffer.from('y') });
    done();
  });

  it('reports "connection reset by peer" on RST', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    const pending = s.receive(1);
    a.resetAndDestroy();
    expect((await pending).err).toBe('connection reset by peer');
    done();
  });

  it('returns 1 then "closed" from close(), and fails sends and reads after it', async () => {
    const { b, done } = await pair();
    const s = new NodeCosocket(b);
    expect(await s.close()).toEqual({ ok: 1, err: null });
    expect(await s.close()).toEqual({ ok: null, err: 'closed' });
    expect(await s.send('x')).toEqual({ bytes: null, err: 'closed' });
    expect((await s.receive(1)).err).toBe('closed');
    done();
  });

  it('applies flow control: a large burst is fully delivered in order', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    const big = Buffer.alloc(5 << 20);
    for (let i = 0; i < big.length; i += 4096) big[i] = (i >> 12) & 0xff;
    a.write(big);
    const got = await s.receive(big.length);
    expect(Buffer.compare(got.data!, big)).toBe(0);
    done();
  });

  it('send returns at once under 1 MiB queued, waits past it while the peer reads nothing, and times out like ngx_lua', async () => {
    const { a, b, done } = await pair();
    a.pause();
    const s = new NodeCosocket(b, { timeout: 300 });
    const piece = Buffer.alloc(64 * 1024, 0x61);
    // the first sends are taken at once (the kernel and a little queue hold them)
    expect(s.sendNow(piece)).toEqual({ bytes: piece.length, err: null });
    let waited: Promise<unknown> | null = null;
    for (let i = 0; i < 200 && waited === null; i++) {
      const r = s.sendNow(piece);
      if (r instanceof Promise) waited = r;
      else expect(r).toEqual({ bytes: piece.length, err: null });
    }
    expect(waited).not.toBeNull();
    expect(b.writableLength).toBeGreaterThan(1 << 20);
    // nobody reads: once the kernel's buffers on both ends are full too (a few MiB on loopback),
    // a waiting send fails with ngx_lua's "timeout" when the send timeout passes
    let r = (await waited) as { bytes: number | null; err: string | null };
    for (let total = 0; r.err === null && total < 256 << 20; total += piece.length) {
      const next = s.sendNow(piece);
      r = next instanceof Promise ? await next : next;
    }
    expect(r).toEqual({ bytes: null, err: 'timeout' });
    done();
  });

  it('a send waiting past the mark resumes once the peer reads, before the queue is empty', async () => {
    const { a, b, done } = await pair();
    a.pause();
    const s = new NodeCosocket(b, { timeout: 20_000 });
    const piece = Buffer.alloc(64 * 1024, 0x62);
    let waited: Promise<unknown> | null = null;
    let sent = 0;
    for (let i = 0; i < 400 && waited === null; i++) {
      const r = s.sendNow(piece);
      sent += piece.length;
      if (r instanceof Promise) waited = r;
    }
    expect(waited).not.toBeNull();
    let received = 0;
    a.on('data', (d: Buffer) => {
      received += d.length;
    });
    a.resume();
    expect(await waited).toEqual({ bytes: piece.length, err: null });
    expect(received).toBeLessThanOrEqual(sent);
    while (received < sent) await new Promise((r) => setTimeout(r, 5));
    expect(received).toBe(sent);
    done();
  });

  it('detach() hands back the stream and the unread bytes', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    a.write('left over');
    await new Promise((r) => setTimeout(r, 20));
    const { stream, buffered } = s.detach();
    expect(stream).toBe(b);
    expect(buffered.toString()).toBe('left over');
    expect(s.closed).toBe(true);
    done();
  });
});

// What ngx_lua's cosockets answer after the peer closed, which the kernel decides: after a FIN a
// read says "closed" and the first send is taken (the peer's kernel answers it with an RST), the
// next fails with EPIPE; an RST is reported once, by the next read or send. Then ngx_lua's
// read_closed / write_closed make later calls in that direction say "closed".
/** The stream's 'close' (events.once would reject on the 'error' that comes first). */
const closeOf = (s: net.Socket): Promise<void> => new Promise((resolve) => s.once('close', () => resolve()));

describe('after the peer closed (FIN or RST), error for error like ngx_lua', () => {
  it('after a FIN the first send is taken, the next says "broken pipe", then "closed"; reads say "closed"', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    a.destroy(); // nothing unread there: a FIN
    await once(b, 'end');
    expect(await s.send('first')).toEqual({ bytes: 5, err: null });
    // back to back: on loopback the RST is back before the first send's syscall returns
    expect(await s.send('second')).toEqual({ bytes: null, err: 'broken pipe' });
    expect(await s.send('third')).toEqual({ bytes: null, err: 'closed' });
    expect(await s.receive(1)).toEqual({ data: null, err: 'closed', partial: Buffer.alloc(0) });
    expect(await s.receive(1)).toEqual({ data: null, err: 'closed', partial: Buffer.alloc(0) });
    done();
  });

  it('the same on a stream Node is not reading yet (a server before its first read): the FIN is unseen, the kernel still answers', async () => {
    const { a, b, done } = await pair();
    b.pause();
    const s = new NodeCosocket(b);
    const peerGone = once(a, 'close');
    a.destroy();
    await peerGone;
    expect(await s.send('first')).toEqual({ bytes: 5, err: null });
    expect(await s.send('second')).toEqual({ bytes: null, err: 'broken pipe' });
    done();
  });

  it('keeps sending after the peer half-closes (a server socket that is not half-open by default)', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    const got: Buffer[] = [];
    a.on('data', (d: Buffer) => got.push(d));
    a.allowHalfOpen = true;
    a.end(); // a FIN, and a still reads
    expect((await s.receive(1)).err).toBe('closed');
    const arrived = once(a, 'data');
    expect(await s.send('still')).toEqual({ bytes: 5, err: null });
    await arrived;
    expect(Buffer.concat(got).toString()).toBe('still');
    expect(a.readableEnded).toBe(false); // our FIN comes with close() only
    const ended = once(a, 'end');
    await s.close();
    await ended;
    done();
  });

  it('an RST is reported once, by the next send; then sends say "closed" and reads "closed"', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    a.resetAndDestroy();
    await closeOf(b); // Node read the RST (ECONNRESET) and let the socket go
    expect(await s.send('x')).toEqual({ bytes: null, err: 'connection reset by peer' });
    expect(await s.send('x')).toEqual({ bytes: null, err: 'closed' });
    expect((await s.receive(1)).err).toBe('closed');
    done();
  });

  it('an RST is reported once, by the next read; then reads say "closed" and a send "broken pipe"', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    a.write('ab');
    await once(b, 'data');
    a.resetAndDestroy();
    await closeOf(b);
    expect(await s.receive(3)).toEqual({ data: null, err: 'connection reset by peer', partial: Buffer.from('ab') });
    expect((await s.receive(1)).err).toBe('closed');
    expect(await s.send('x')).toEqual({ bytes: null, err: 'broken pipe' });
    // both directions failed: close() says "closed", as ngx_lua's does
    expect(await s.close()).toEqual({ ok: null, err: 'closed' });
    done();
  });

  it('bytes sent before an RST come first when no read was waiting (the stream paused, as after the request head)', async () => {
    const { a, b, done } = await pair();
    b.pause();
    const s = new NodeCosocket(b);
    a.write('abc');
    await new Promise((r) => setTimeout(r, 30)); // Node reads them into the paused stream
    a.resetAndDestroy();
    await closeOf(b);
    // the kernel hands queued bytes out before the reset's error
    expect(await s.receive(2)).toEqual({ data: Buffer.from('ab'), err: null });
    expect(await s.receive(2)).toEqual({ data: null, err: 'connection reset by peer', partial: Buffer.from('c') });
    done();
  });

  it('after a FIN with bytes still unread, back-to-back sends are not batched: the second says "broken pipe"', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    a.write('abcd');
    expect((await s.receive(1)).data?.toString()).toBe('a');
    await new Promise((r) => setTimeout(r, 30)); // 'bcd' arrived and waits to be read
    const peerGone = once(a, 'close');
    a.destroy();
    await peerGone;
    await new Promise((r) => setTimeout(r, 30)); // the FIN reached Node
    expect(s.peerEnded).toBe(true);
    const first = s.sendNow('first');
    const second = s.sendNow('second');
    expect(await first).toEqual({ bytes: 5, err: null });
    expect(await second).toEqual({ bytes: null, err: 'broken pipe' });
    done();
  });

  it('close() with bytes unread resets the connection (no FIN first), without them it sends a FIN', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b);
    a.write('unread');
    await once(b, 'data');
    const seen: string[] = [];
    a.on('end', () => seen.push('FIN'));
    a.on('error', (e: NodeJS.ErrnoException) => seen.push(e.code ?? e.message));
    expect(await s.close()).toEqual({ ok: 1, err: null });
    await closeOf(a);
    expect(seen).toEqual(['ECONNRESET']);
    done();

    const p = await pair();
    const t = new NodeCosocket(p.b);
    p.a.write('read');
    expect((await t.receive(4)).data?.toString()).toBe('read');
    const ended = once(p.a, 'end');
    expect(await t.close()).toEqual({ ok: 1, err: null });
    await ended;
    p.done();
  });

  it('close() with bytes unread on a Unix socket closes it (a Unix socket has no RST)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cosock-'));
    const path = join(dir, 's.sock');
    const server = net.createServer((c) => {
      c.on('error', () => {});
      c.write('unread');
    });
    server.listen(path);
    await once(server, 'listening');
    const r = await connectCosocket({ path });
    const s = r.sock!;
    await once(s.stream, 'data');
    expect(await s.close()).toEqual({ ok: 1, err: null });
    expect(s.stream.destroyed).toBe(true);
    server.close();
  });
});

describe('connectCosocket', () => {
  it('connects, and says "connection refused" like ngx_lua when nothing listens', async () => {
    const { port, done } = await pair();
    const ok = await connectCosocket({ host: '127.0.0.1', port });
    expect(ok.err).toBeNull();
    await ok.sock!.close();
    const server = net.createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const free = (server.address() as net.AddressInfo).port;
    server.close();
    await once(server, 'close');
    expect(await connectCosocket({ host: '127.0.0.1', port: free })).toEqual({ sock: null, err: 'connection refused' });
    done();
  });
});

/** Blocks the event loop for `ms` (what a loaded machine does to a process between two turns). */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    /* busy */
  }
}

// nginx handles the I/O events of a cycle before it expires its timers; libuv runs due timers first.
describe('a deadline and the bytes (or the connect) due in the same turn', () => {
  it('a read whose bytes had arrived by its deadline gets them, not "timeout"', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b, { timeout: 5 });
    const r = s.receive(2);
    a.write('ok');
    stall(50); // the bytes are in the kernel, the 5 ms timer is due: both are there when the loop turns
    expect(await r).toEqual({ data: Buffer.from('ok'), err: null });
    // and with nothing arriving, the timeout still comes
    expect((await s.receive(1)).err).toBe('timeout');
    done();
  });

  it('a connect that completed by its deadline succeeds', async () => {
    const server = net.createServer((c) => c.destroy()).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const port = (server.address() as net.AddressInfo).port;
    const p = connectCosocket({ host: '127.0.0.1', port, timeout: 2 });
    stall(50);
    const r = await p;
    expect(r.err).toBeNull();
    await r.sock?.close();
    server.close();
  });
});

// ngx_lua's rules for overlapping operations (ngx_http_lua_socket_check_busy_reading/writing) and
// settimeout's argument (not above 0 = the configured default).
describe('overlapping reads and sends', () => {
  it('a second read while one waits answers at once "socket busy reading"; the first read goes on and gets its bytes', async () => {
    const { a, b, done } = await pair();
    const s = new NodeCosocket(b, { timeout: 2000 });
    a.write('ab');
    const first = s.receive(5);
    await new Promise((r) => setTimeout(r, 20));
    expect(await s.receive(1)).toEqual({ data: null, err: SOCKET_BUSY.reading, partial: Buffer.alloc(0) });
    expect(await s.receiveUntil('\n')).toMatchObject({ data: null, err: 'socket busy reading' });
    expect(s.tryReceive(1)).toBeNull();
    a.write('cde');
    expect((await first).data?.toString()).toBe('abcde');
    // Free again once the first read settled.
    a.write('f');
    expect((await s.receive(1)).data?.toString()).toBe('f');
    done();
  });

  it('the first read keeps its own timeout', async () => {
    const { b, done } = await pair();
    const s = new NodeCosocket(b, { timeout: 60 });
    const first = s.receive(1);
    expect((await s.receive(1)).err).toBe('socket busy reading');
    expect(await first).toMatchObject({ data: null, err: 'timeout' });
    done();
  });

  it('a send while one waits for the kernel answers "socket busy writing"', async () => {
    const { a, b, done } = await pair();
    a.pause(); // the peer reads nothing: the first big send has to wait
    const s = new NodeCosocket(b, { timeout: 2000 });
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    const first = s.send(big);
    expect(await s.send('x')).toEqual({ bytes: null, err: SOCKET_BUSY.writing });
    a.resume();
    expect(await first).toEqual({ bytes: big.length, err: null });
    expect(await s.send('y')).toEqual({ bytes: 1, err: null });
    done();
  });
});

describe('settimeout and Lua truthiness (impl/lua.ts)', () => {
  it('0, negative and non-numbers mean the configured default; numeric strings are numbers', () => {
    expect(luaSocketTimeout(0, DEFAULT_TIMEOUT_MS)).toBe(60_000);
    expect(luaSocketTimeout(-5, DEFAULT_TIMEOUT_MS)).toBe(60_000);
    expect(luaSocketTimeout('abc', DEFAULT_TIMEOUT_MS)).toBe(60_000);
    expect(luaSocketTimeout(' 250 ', DEFAULT_TIMEOUT_MS)).toBe(250);
    expect(luaSocketTimeout(10.9, DEFAULT_TIMEOUT_MS)).toBe(10);
    expect(luaToNumber('0x10')).toBe(16);
  });

  it('NodeCosocket.setTimeout follows it', async () => {
    const { b, done } = await pair();
    const s = new NodeCosocket(b, { timeout: 50 });
    s.setTimeout(0);
    expect(s.timeout).toBe(DEFAULT_TIMEOUT_MS);
    s.setTimeout(75);
    expect(s.timeout).toBe(75);
    done();
  });

  it('only nil and false are false', () => {
    expect([0, '', [], {}, NaN].every(luaTruthy)).toBe(true);
    expect([null, undefined, false].some(luaTruthy)).toBe(false);
  });
});
