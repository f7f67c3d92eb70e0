// ngx_lua's cosocket rules for overlapping operations and settimeout's argument
// (ngx_http_lua_socket_check_busy_reading/writing; tcpsock:settimeout: not above 0 = the default).
import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { luaSocketTimeout, luaToNumber, luaTruthy } from './lua.js';
import { DEFAULT_TIMEOUT_MS, NodeCosocket, SOCKET_BUSY } from './socket.js';

async function pair(): Promise<{ a: net.Socket; b: net.Socket; done: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const a = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [b] = (await once(server, 'connection')) as [net.Socket];
  await once(a, 'connect');
  return { a, b, done: () => { a.destroy(); b.destroy(); server.close(); } };
}

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
