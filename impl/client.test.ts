// The client against real sockets on 127.0.0.1: a raw TCP/TLS peer (test-support/raw-peer.ts)
// answers with crafted bytes (the tests see the exact request bytes and control every response
// byte), plus the `ws` package's server as a conforming peer. Each compat deviation of docs/behaviour.md §7 that
// concerns the client is checked in both profiles. The wss and Lua-comparison tests need the lab
// (its PKI, the nginx peer) and live in conformance/impl-with-lab.test.ts.
import net from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newClient, WebSocketClient } from './client.js';
import { STRICT_ERRORS } from './message-validator.js';
import { KeepalivePool } from './pool.js';
import { upgradeResponse, frame, decodeFrames, KEY, pools, servers, client, peer, upgrade, wsEcho, closedPort, sleep, until, cleanupPeers, head } from './test-support/raw-peer.js';

afterEach(cleanupPeers);

describe('connect: the request bytes (docs/behaviour.md §5 step 10, cs.t 19-21, 27, 30-32, 37)', () => {
  it('cs.t 19: protocols="json"; a peer answering "blah" gives "failed to receive response header: closed"', async () => {
    const p = await peer((c) => c.socket.end('blah'));
    const r = await client().connect(`ws://127.0.0.1:${p.port}/s`, { protocols: 'json', key: KEY });
    expect(r).toEqual({ ok: null, err: 'failed to receive response header: closed', res: null });
    expect(p.connections[0]!.head.toString('latin1')).toBe(head(p.port, ['Sec-WebSocket-Protocol: json', 'Sec-WebSocket-Version: 13']));
  });

  it('cs.t 20, 21: a protocols table joined with ","; Origin after the Version line', async () => {
    const p = await peer();
    expect((await client().connect(`ws://127.0.0.1:${p.port}/s`, { protocols: ['xml', 'json'], origin: 'test.com', key: KEY })).ok).toBe(1);
    expect(p.connections[0]!.head.toString('latin1')).toBe(head(p.port, ['Sec-WebSocket-Protocol: xml,json', 'Sec-WebSocket-Version: 13', 'Origin: test.com']));
  });

  it('cs.t 27: custom headers reach the server, after Connection', async () => {
    const p = await peer();
    await client().connect(`ws://127.0.0.1:${p.port}/s`, { headers: ['X-Foo: bar', 'X-Baz: 1'], key: KEY });
    expect(p.connections[0]!.head.toString('latin1')).toBe(
      head(p.port, ['Sec-WebSocket-Version: 13']).replace('Connection: Upgrade\r\n', 'Connection: Upgrade\r\nX-Foo: bar\r\nX-Baz: 1\r\n'));
    expect(p.connections[0]!.header('x-foo')).toBe('bar');
  });

  it('cs.t 30-32, 37: Host defaults to addr:port; the host option is verbatim, with or without a port; the key option', async () => {
    const p = await peer();
    const url = `ws://127.0.0.1:${p.port}/s`;
    await client().connect(url);
    await client().connect(url, { host: 'client.test' });
    await client().connect(url, { host: 'client.test:8080', key: KEY });
    await p.connection(2);
    expect(p.connections.map((c) => c.header('host'))).toEqual([`127.0.0.1:${p.port}`, 'client.test', 'client.test:8080']);
    expect(p.connections[2]!.header('sec-websocket-key')).toBe(KEY);
  });

  it('the port text goes into Host verbatim ("018090"), while the connection uses the number', async () => {
    const p = await peer();
    const padded = String(p.port).padStart(6, '0');
    expect((await client().connect(`ws://127.0.0.1:${padded}/`)).ok).toBe(1);
    expect(p.connections[0]!.header('host')).toBe(`127.0.0.1:${padded}`);
  });

  it('path quirks reach the wire: ":abc/" path, "?x=1" path, fragment sent (compat); strict fixes them', async () => {
    const p = await peer();
    const c = client();
    // the port group stops at "?", so the path is "?x=1#frag", fragment included
    await c.connect(`ws://127.0.0.1:${p.port}?x=1#frag`);
    expect(p.connections[0]!.head.toString('latin1').split('\r\n')[0]).toBe('GET ?x=1#frag HTTP/1.1');
    await client().connect(`ws://localhost:${p.port}:abc/`, { key: KEY });
    await p.connection(1);
    expect(p.connections[1]!.head.toString('latin1').split('\r\n')[0]).toBe('GET :abc/ HTTP/1.1');
    await client({ strict: true }).connect(`ws://localhost:${p.port}?x=1#frag`);
    await p.connection(2);
    expect(p.connections[2]!.head.toString('latin1').split('\r\n')[0]).toBe('GET /?x=1 HTTP/1.1');
  });

  it('a generated key is 16 random bytes in base64, fresh for each connect', async () => {
    const p = await peer();
    const c = client();
    await c.connect(`ws://127.0.0.1:${p.port}/`);
    await c.connect(`ws://127.0.0.1:${p.port}/`);
    await p.connection(1);
    const keys = p.connections.map((x) => x.header('sec-websocket-key')!);
    expect(Buffer.from(keys[0]!, 'base64')).toHaveLength(16);
    expect(keys[0]).not.toBe(keys[1]);
  });

  it('§7.13: headers = {} sends a stray CRLF after the head (compat); noStrayCrlf does not', async () => {
    const p = await peer();
    const compat = client();
    expect((await compat.connect(`ws://127.0.0.1:${p.port}/`, { headers: [] })).ok).toBe(1);
    expect((await p.connections[0]!.waitRest(2)).toString('latin1')).toBe('\r\n');
    const strict = client({ strict: { noStrayCrlf: true } });
    // A non-array table, as Lua code can pass: typed string[], accepted at run time.
    expect((await strict.connect(`ws://127.0.0.1:${p.port}/`, { headers: {} as unknown as string[] })).ok).toBe(1);
    await strict.sendText('x');
    const rest = await (await p.connection(1)).waitRest(7);
    expect(rest[0]).toBe(0x81);
  });
});

describe('connect: errors in the original order (docs/behaviour.md §5 steps 1-7)', () => {
  it('option type errors, checked in order before connecting (even for ws://)', async () => {
    const port = await closedPort();
    const url = `ws://127.0.0.1:${port}/`;
    const c = client();
    const err = async (opts: object) => (await c.connect(url, opts)).err;
    expect(await err({ protocols: true, client_cert: 'x' })).toBe('attempt to concatenate a boolean value');
    expect(await err({ client_cert: 'x', server_name: 1 })).toBe('client_priv_key must be provided with client_cert');
    expect(await err({ server_name: 1, headers: 'x' })).toBe('SSL server_name must be a string');
    expect(await err({ server_name: false })).toBe('SSL server_name must be a string');
    expect(await err({ headers: 'x', host: 1 })).toBe('custom headers must be a table');
    expect(await err({ host: 1, key: 1 })).toBe('custom host header must be a string');
    expect(await err({ host: false })).toBe('custom host header must be a string');
    expect(await err({ key: 1 })).toBe('custom Sec-WebSocket-Key must be a string');
    expect(await err({})).toBe('failed to connect: connection refused');
  });

  it('"bad websocket uri"', async () => {
    const c = client();
    for (const u of ['WS://127.0.0.1/', 'http://127.0.0.1/', 'ws:///p', undefined, 'ws://unix:/x.sock', 'ws://h/unix:foo']) {
      // undefined: a nil uri, as Lua code can pass (typed string, checked at run time).
      expect(await c.connect(u as string)).toEqual({ ok: null, err: 'bad websocket uri', res: null });
    }
  });

  it('the connect step reports ports, IPv6 literals, "?" in the host and unresolvable names as ngx_lua does', async () => {
    const c = client({ resolver: false });
    expect((await c.connect('ws://127.0.0.1:99999/')).err).toBe('failed to connect: bad port number: 99999');
    expect((await c.connect('ws://[::1]:80/')).err).toBe('failed to connect: failed to parse host name "[": invalid host');
    expect((await c.connect('ws://h?x=1')).err).toBe('failed to connect: failed to parse host name "h?x=1": invalid host');
    expect((await c.connect('ws://user:pw@host/')).err).toBe('failed to connect: no resolver defined to resolve "user"');
    expect((await c.connect('ws://localhost:1/')).err).toBe('failed to connect: no resolver defined to resolve "localhost"');
  });

  it('with the system resolver (an nginx `resolver`), names resolve', async () => {
    const p = await peer();
    expect((await client().connect(`ws://localhost:${p.port}/`)).ok).toBe(1);
  });

  it('"failed to send the handshake request: timeout" when the peer never reads a 32 MiB request', async () => {
    const held: net.Socket[] = [];
    const deaf = net.createServer((sock) => {
      sock.pause();
      held.push(sock);
    });
    await new Promise<void>((r) => deaf.listen(0, '127.0.0.1', r));
    const port = (deaf.address() as net.AddressInfo).port;
    const r = await client({ timeout: 300 }).connect(`ws://127.0.0.1:${port}/`, { headers: ['X-Big: ' + 'a'.repeat(32 << 20)] });
    expect(r).toEqual({ ok: null, err: 'failed to send the handshake request: timeout', res: null });
    for (const sock of held) sock.destroy();
    await new Promise((done) => deaf.close(done));
  });

  it('"failed to receive response header: timeout" when the server never answers', async () => {
    const p = await peer(() => {});
    expect(await client({ timeout: 50 }).connect(`ws://127.0.0.1:${p.port}/`)).toEqual({ ok: null, err: 'failed to receive response header: timeout', res: null });
  });

  it('"bad HTTP response status line: <header block>" unless it starts with HTTP/1.1', async () => {
    const block = 'HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket';
    const p = await peer((c) => c.socket.write(block + '\r\n\r\n'));
    expect(await client().connect(`ws://127.0.0.1:${p.port}/`)).toEqual({ ok: null, err: 'bad HTTP response status line: ' + block, res: null });
  });

  it('"not initialized" (connect, close, set_keepalive) vs "not initialized yet" (the rest) without a socket', async () => {
    const bare = Object.create(WebSocketClient.prototype) as WebSocketClient;
    expect(await bare.connect('ws://127.0.0.1:1/')).toEqual({ ok: null, err: 'not initialized', res: null });
    expect(await bare.close()).toEqual({ ok: null, err: 'not initialized' });
    expect(bare.setKeepalive()).toEqual({ ok: null, err: 'not initialized' });
    expect(await bare.recvFrame()).toEqual({ data: null, type: null, err: 'not initialized yet' });
    expect(await bare.sendText('x')).toEqual({ bytes: null, err: 'not initialized yet' });
    expect(bare.setTimeout(10)).toEqual({ err: 'not initialized yet' });
  });
});

describe('connect: the response (docs/behaviour.md §5 steps 12-14, §7.1, §7.18)', () => {
  it('the third value is the header block without the final CRLFCRLF (cs.t 38, 39)', async () => {
    const p = await peer((c) => c.socket.write(upgradeResponse(c, ['X-My-Custom-Header: test'])));
    const r = await client().connect(`ws://127.0.0.1:${p.port}/`);
    expect(r.ok).toBe(1);
    expect(r.res).toMatch(/^HTTP\/1.1 101 Switching Protocols\r\n[\s\S]*X-My-Custom-Header: test$/);
  });

  it('§7.1 compat accepts any HTTP/1.1 status, a bogus Accept, leading CRLFs; strict fails each', async () => {
    const bodies = [
      'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\nSec-WebSocket-Accept: bogus\r\n\r\n',
      'HTTP/1.1 200 OK\r\n\r\n',
    ];
    const p = await peer((c) => c.socket.write(bodies[(p.connections.length - 1) % bodies.length]!));
    const url = `ws://127.0.0.1:${p.port}/`;
    for (const b of bodies) {
      const r = await client().connect(url);
      expect(r).toEqual({ ok: 1, err: null, res: b.slice(0, -4) });
    }
    const strictErrs: Array<string | null> = [];
    for (let i = 0; i < bodies.length; i++) strictErrs.push((await client({ strict: true }).connect(url)).err);
    expect(strictErrs).toEqual(['bad HTTP response status code: 404', 'bad "sec-websocket-accept" response header: bogus', 'bad HTTP response status code: 200']);
    const lead = await peer((c) => c.socket.write(Buffer.concat([Buffer.from('\r\n \t'), upgradeResponse(c)])));
    expect((await client().connect(`ws://127.0.0.1:${lead.port}/`)).ok).toBe(1);
  });

  it('§7.1: strict fails a subprotocol that was not requested; compat does not look', async () => {
    const p = await peer((c) => c.socket.write(upgradeResponse(c, ['Sec-WebSocket-Protocol: chat, superchat'])));
    const url = `ws://127.0.0.1:${p.port}/`;
    expect((await client().connect(url, { protocols: 'chat, superchat' })).ok).toBe(1);
    expect((await client({ strict: true }).connect(url, { protocols: ['chat', 'superchat'] })).err).toBe('bad "sec-websocket-protocol" response header: chat, superchat');
  });

  it('bytes after the header stay buffered and are read as frames', async () => {
    const p = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), frame(0x1, 'early')])));
    const c = client();
    await c.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await c.recvFrame()).toEqual({ data: Buffer.from('early'), type: 'text', err: null });
  });

  it('§7.18: compat reads a huge response header; limitResponseHeader stops at 64 KiB', async () => {
    const huge = 'HTTP/1.1 101 Switching Protocols\r\nX-Big: ' + 'a'.repeat(70_000) + '\r\n\r\n';
    const p = await peer((c) => c.socket.write(huge));
    const url = `ws://127.0.0.1:${p.port}/`;
    expect((await client().connect(url)).res).toHaveLength(huge.length - 4);
    expect((await client({ strict: { limitResponseHeader: true } }).connect(url)).err).toBe('failed to receive response header: too large');
  });
});

describe('frames (docs/behaviour.md §5 client methods)', () => {
  it('round trips with the ws package: text, binary, ping/pong, close', async () => {
    const port = await wsEcho();
    const c = client();
    expect((await c.connect(`ws://127.0.0.1:${port}/`)).ok).toBe(1);
    expect(await c.sendText('你好, WebSocket!')).toEqual({ bytes: 2 + 4 + 18, err: null });
    expect(await c.recvFrame()).toEqual({ data: Buffer.from('你好, WebSocket!'), type: 'text', err: null });
    await c.sendBinary(Buffer.from([0, 1, 2]));
    expect(await c.recvFrame()).toEqual({ data: Buffer.from([0, 1, 2]), type: 'binary', err: null });
    await c.sendPing('hey');
    expect(await c.recvFrame()).toEqual({ data: Buffer.from('hey'), type: 'pong', err: null });
    expect(await c.sendClose(1000, 'bye')).toEqual({ bytes: 2 + 4 + 5, err: null });
    expect(await c.recvFrame()).toEqual({ data: Buffer.from('bye'), type: 'close', err: 1000 });
  });

  it('frames are masked unless send_unmasked (cs.t 16); payloads coerce like Lua tostring', async () => {
    const p = await peer();
    const masked = client();
    await masked.connect(`ws://127.0.0.1:${p.port}/`);
    await masked.sendText(12.5);
    await masked.sendPong();
    const unmasked = client({ send_unmasked: true });
    await unmasked.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await unmasked.sendBinary('x')).toEqual({ bytes: 3, err: null });
    expect(decodeFrames(await p.connections[0]!.waitRest(6 + 4 + 6))).toEqual([
      { fin: true, opcode: 1, masked: true, payload: Buffer.from('12.5') },
      { fin: true, opcode: 0xa, masked: true, payload: Buffer.alloc(0) },
    ]);
    expect(decodeFrames(await (await p.connection(1)).waitRest(3))).toEqual([{ fin: true, opcode: 2, masked: false, payload: Buffer.from('x') }]);
  });

  it('§7.2: a masked frame from the server is unmasked and accepted (compat); strict fails with close 1002', async () => {
    const key = Buffer.from([1, 2, 3, 4]);
    const p = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), frame(0x1, 'masked!', { maskKey: key })])));
    const compat = client();
    await compat.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await compat.recvFrame()).toEqual({ data: Buffer.from('masked!'), type: 'text', err: null });
    const strict = client({ strict: true });
    await strict.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await strict.recvFrame()).toEqual({ data: null, type: null, err: 'frame masked' });
    expect(strict.fatal).toBe(true);
    const sent = decodeFrames(await (await p.connection(1)).waitRest(8));
    expect(sent).toEqual([{ fin: true, opcode: 8, masked: true, payload: Buffer.from([0x03, 0xea]) }]);
    expect(await strict.recvFrame()).toEqual({ data: null, type: null, err: 'fatal error already happened' });
  });

  it('limits.t 1-2 and the 65535 default: payload too big / exceeding max payload len, both fatal', async () => {
    const p = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), frame(0x1, 'a'.repeat(201))])));
    const c = client({ max_send_len: 200, max_recv_len: 200 });
    await c.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await c.sendText('a'.repeat(200))).toEqual({ bytes: 208, err: null });
    expect(await c.recvFrame()).toEqual({ data: null, type: null, err: 'exceeding max payload len' });
    expect(await c.sendText('a')).toEqual({ bytes: null, err: 'fatal error already happened' });
    const d = client();
    await d.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await d.sendBinary(Buffer.alloc(65536))).toEqual({ bytes: null, err: 'payload too big' });
    expect(d.fatal).toBe(true);
    const e = client({ max_payload_len: 65536 });
    await e.connect(`ws://127.0.0.1:${p.port}/`);
    expect((await e.sendBinary(Buffer.alloc(65536))).bytes).toBe(65536 + 14);
  });

  it('send checks run in order: fatal, then already closed; send_close sets closed in every case', async () => {
    const p = await peer();
    const c = client();
    await c.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await c.sendClose(0x8000)).toEqual({ bytes: null, err: 'bad status code' });
    expect(await c.sendClose('1000')).toEqual({ bytes: null, err: 'bad status code' });
    expect([c.closed, c.fatal]).toEqual([false, false]);
    expect(await c.sendClose(1000.7, 'x')).toEqual({ bytes: 9, err: null });
    expect([c.closed, c.fatal]).toEqual([true, false]);
    expect(await c.sendText('after')).toEqual({ bytes: null, err: 'already closed' });
    expect(c.fatal).toBe(false);
    expect(await c.sendClose()).toEqual({ bytes: null, err: 'already closed' });
    expect(c.fatal).toBe(true);
    expect(await c.sendText('after')).toEqual({ bytes: null, err: 'fatal error already happened' });
    expect(decodeFrames(await p.connections[0]!.waitRest(9))).toEqual([{ fin: true, opcode: 8, masked: true, payload: Buffer.from([0x03, 0xe9, 0x78]) }]);
    expect('sendContinue' in c).toBe(false);
  });

  it('send_close code rules: -1 is sent as 0xffff, no code means no payload; an oversized reason is fatal and closed', async () => {
    const p = await peer();
    const a = client();
    await a.connect(`ws://127.0.0.1:${p.port}/`);
    await a.sendClose(-1, 'r');
    const b = client();
    await b.connect(`ws://127.0.0.1:${p.port}/`);
    await b.sendClose(undefined, 'ignored');
    expect(decodeFrames(await p.connections[0]!.waitRest(9))[0]!.payload).toEqual(Buffer.from([0xff, 0xff, 0x72]));
    expect(decodeFrames(await (await p.connection(1)).waitRest(6))[0]!.payload).toEqual(Buffer.alloc(0));
    const c = client();
    await c.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await c.sendClose(1000, 'x'.repeat(124))).toEqual({ bytes: null, err: 'too much payload for control frame' });
    expect([c.closed, c.fatal]).toEqual([true, true]);
  });

  it('§7.7 validateCloseCodes on send: compat sends 1005 and 0; strict says "bad status code"', async () => {
    const p = await peer();
    const compat = client();
    await compat.connect(`ws://127.0.0.1:${p.port}/`);
    expect((await compat.sendClose(1005)).err).toBeNull();
    const strict = client({ strict: true });
    await strict.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await strict.sendClose(1005)).toEqual({ bytes: null, err: 'bad status code' });
    expect(await strict.sendClose(0)).toEqual({ bytes: null, err: 'bad status code' });
    expect(strict.closed).toBe(false);
    expect((await strict.sendClose(4000)).err).toBeNull();
  });

  it('§7.16 validateSendOpcode: compat sends 0x3 and leaks 0x10 into RSV3; strict refuses', async () => {
    const p = await peer();
    const compat = client({ send_unmasked: true });
    await compat.connect(`ws://127.0.0.1:${p.port}/`);
    await compat.sendFrame(true, 0x3, 'a');
    await compat.sendFrame(true, 0x10, 'b');
    const rest = await p.connections[0]!.waitRest(6);
    expect([...rest]).toEqual([0x83, 0x01, 0x61, 0x90, 0x01, 0x62]);
    const strict = client({ strict: true });
    await strict.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await strict.sendFrame(true, 0x3, 'a')).toEqual({ bytes: null, err: 'bad opcode' });
  });

  it('recv_frame ignores the closed flag: the reply to send_close can be read (cs.t 3, 4)', async () => {
    const port = await wsEcho();
    const c = client();
    await c.connect(`ws://127.0.0.1:${port}/`);
    await c.sendClose(1001, "client, let's close!");
    expect(await c.recvFrame()).toEqual({ data: Buffer.from("client, let's close!"), type: 'close', err: 1001 });
  });
});

describe('close() (docs/behaviour.md §5, §7.15)', () => {
  it('on an object that never connected: "failed to send close frame: failed to send frame: closed", then fatal', async () => {
    const c = client();
    expect(await c.close()).toEqual({ ok: null, err: 'failed to send close frame: failed to send frame: closed' });
    expect([c.closed, c.fatal]).toEqual([true, true]);
    expect(await c.close()).toEqual({ ok: null, err: 'fatal error already happened' });
  });

  it('sends an empty close frame unless send_close did, then closes; a second close says "closed" (cs.t 17, 18)', async () => {
    const p = await peer();
    const a = client();
    await a.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await a.close()).toEqual({ ok: 1, err: null });
    expect(await a.close()).toEqual({ ok: null, err: 'closed' });
    expect(decodeFrames(await p.connections[0]!.waitRest(6))).toEqual([{ fin: true, opcode: 8, masked: true, payload: Buffer.alloc(0) }]);
    const b = client();
    await b.connect(`ws://127.0.0.1:${p.port}/`);
    await b.sendClose(1000);
    expect(await b.close()).toEqual({ ok: 1, err: null });
    const conn = await p.connection(1);
    await until(() => conn.socket.readableEnded || conn.socket.destroyed);
    expect(decodeFrames(conn.rest())).toHaveLength(1);
  });

  it('a fatal client leaves the socket open (compat); strictConnectionState closes it', async () => {
    const p = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), Buffer.from([0xc1, 0x00])])));
    const compat = client();
    await compat.connect(`ws://127.0.0.1:${p.port}/`);
    expect((await compat.recvFrame()).err).toBe('bad RSV1, RSV2, or RSV3 bits');
    expect(await compat.close()).toEqual({ ok: null, err: 'fatal error already happened' });
    expect(compat.socket!.connected).toBe(true);
    const strict = client({ strict: { strictConnectionState: true } });
    await strict.connect(`ws://127.0.0.1:${p.port}/`);
    expect((await strict.recvFrame()).err).toBe('bad RSV1, RSV2, or RSV3 bits');
    expect(await strict.close()).toEqual({ ok: null, err: 'fatal error already happened' });
    expect(strict.socket!.connected).toBe(false);
    const conn = await p.connection(1);
    await until(() => conn.socket.readableEnded || conn.socket.destroyed);
  });

  it('failWithCloseCode: a strict client sends close 1002 on a protocol error; compat sends nothing', async () => {
    const p = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), Buffer.from([0x83, 0x00])])));
    const compat = client();
    await compat.connect(`ws://127.0.0.1:${p.port}/`);
    expect((await compat.recvFrame()).err).toBe('reserved non-control frames');
    const strict = client({ strict: true });
    await strict.connect(`ws://127.0.0.1:${p.port}/`);
    expect((await strict.recvFrame()).err).toBe('reserved non-control frames');
    const conn = await p.connection(1);
    expect(decodeFrames(await conn.waitRest(8))[0]!.payload).toEqual(Buffer.from([0x03, 0xea]));
    await sleep(50);
    expect(p.connections[0]!.rest()).toHaveLength(0);
  });
});

describe('timeouts (cs.t 9-10, §7.9)', () => {
  it('a read timeout is not fatal; the next recv_frame works', async () => {
    const p = await peer();
    const c = client({ timeout: 100 });
    await c.connect(`ws://127.0.0.1:${p.port}/`);
    expect(c.setTimeout(20)).toBeUndefined();
    expect(await c.recvFrame()).toEqual({ data: null, type: null, err: 'failed to receive the first 2 bytes: timeout' });
    c.setTimeout(1000);
    p.connections[0]!.socket.write(frame(0x1, 'late'));
    expect(await c.recvFrame()).toEqual({ data: Buffer.from('late'), type: 'text', err: null });
  });

  it('§7.9: a timeout inside a frame desynchronises compat; fatalOnPartialTimeout makes it fatal', async () => {
    const whole = frame(0x2, 'abc'); // 82 03 61 62 63
    const p = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), whole.subarray(0, 1)])));
    const run = async (c: WebSocketClient, i: number) => {
      await c.connect(`ws://127.0.0.1:${p.port}/`);
      c.setTimeout(30);
      const first = await c.recvFrame();
      (await p.connection(i)).socket.write(whole.subarray(1));
      c.setTimeout(1000);
      return [first.err, (await c.recvFrame()).err];
    };
    expect(await run(client(), 0)).toEqual(['failed to receive the first 2 bytes: timeout', 'reserved non-control frames']);
    expect(await run(client({ strict: { fatalOnPartialTimeout: true } }), 1)).toEqual(['failed to receive the first 2 bytes: timeout', 'fatal error already happened']);
  });
});

describe('set_keepalive and reuse (docs/behaviour.md §5, §7.14, cs.t 13, 39)', () => {
  it('cs.t 13: one object, pool option, three rounds: a handshake, then "connection reused" twice', async () => {
    const port = await wsEcho();
    const c = client();
    const res: string[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await c.connect(`ws://127.0.0.1:${port}/`, { pool: 'my_conn_pool' });
      res.push(r.res!.startsWith('HTTP/1.1 101') ? 'new connection' : r.res!);
      await c.sendText(`round ${i}`);
      expect((await c.recvFrame()).data).toEqual(Buffer.from(`round ${i}`));
      expect(c.setKeepalive()).toEqual({ ok: 1, err: null });
    }
    expect(res).toEqual(['new connection', 'connection reused', 'connection reused']);
    expect(servers[0]!.clients.size).toBe(1);
  });

  it('cs.t 39: a new client object on the same pool gets "connection reused"; echo works', async () => {
    const port = await wsEcho();
    const pool = new KeepalivePool();
    pools.push(pool);
    const a = newClient({ keepalivePool: pool });
    expect((await a.connect(`ws://127.0.0.1:${port}/`)).res).toMatch(/^HTTP\/1.1 101 Switching Protocols\r\n/);
    expect(a.setKeepalive()).toEqual({ ok: 1, err: null });
    const b = newClient({ keepalivePool: pool });
    expect(await b.connect(`ws://127.0.0.1:${port}/`)).toEqual({ ok: 1, err: null, res: 'connection reused' });
    await b.sendText('hi');
    expect((await b.recvFrame()).data).toEqual(Buffer.from('hi'));
  });

  it('§7.14: set_keepalive changes no state; a later send fails "closed" and the fatal flag survives reuse (compat)', async () => {
    const port = await wsEcho();
    const c = client();
    await c.connect(`ws://127.0.0.1:${port}/`);
    expect(c.setKeepalive()).toEqual({ ok: 1, err: null });
    expect([c.closed, c.fatal]).toEqual([false, false]);
    expect(await c.sendText('x')).toEqual({ bytes: null, err: 'failed to send frame: closed' });
    expect(c.fatal).toBe(true);
    expect(await c.connect(`ws://127.0.0.1:${port}/`)).toEqual({ ok: 1, err: null, res: 'connection reused' });
    expect(await c.sendText('x')).toEqual({ bytes: null, err: 'fatal error already happened' });
  });

  it('§7.14: the closed flag from send_close survives reuse (compat); strictConnectionState starts fresh', async () => {
    const p = await peer();
    const url = `ws://127.0.0.1:${p.port}/`;
    const c = client();
    await c.connect(url);
    await c.sendClose(1000);
    expect(c.setKeepalive()).toEqual({ ok: 1, err: null });
    expect((await c.connect(url)).res).toBe('connection reused');
    expect(await c.sendText('x')).toEqual({ bytes: null, err: 'already closed' });

    const s = client({ strict: { strictConnectionState: true } });
    await s.connect(url);
    expect(s.setKeepalive()).toEqual({ ok: 1, err: null });
    expect(s.closed).toBe(true);
    expect((await s.connect(url)).res).toBe('connection reused');
    expect(await s.sendText('x')).toEqual({ bytes: 7, err: null });
    await s.sendClose(1000);
    expect(s.setKeepalive()).toEqual({ ok: null, err: 'already closed' });
  });

  it('"unread data in buffer" / "connection in dubious state" when received data is unread; "closed" when never connected or the peer closed', async () => {
    // Bytes that came with the response head sit in ngx_lua's buffer (its recv took them): "unread
    // data in buffer" (what the session diff saw nginx answer); bytes that came later are still in
    // the kernel: "connection in dubious state".
    const together = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), frame(0x1, 'unread')])));
    const b = client();
    await b.connect(`ws://127.0.0.1:${together.port}/`);
    expect(b.socket!.buffered).toBeGreaterThan(0);
    expect(b.setKeepalive()).toEqual({ ok: null, err: 'unread data in buffer' });
    const p = await peer((c) => {
      c.socket.write(upgradeResponse(c));
      setTimeout(() => c.socket.write(frame(0x1, 'unread')), 50);
    });
    const c = client();
    await c.connect(`ws://127.0.0.1:${p.port}/`);
    await until(() => c.socket!.buffered > 0);
    expect(c.setKeepalive()).toEqual({ ok: null, err: 'connection in dubious state' });
    expect(client().setKeepalive()).toEqual({ ok: null, err: 'closed' });
    const gone = await peer((conn) => conn.socket.end(upgradeResponse(conn)));
    const d = client();
    await d.connect(`ws://127.0.0.1:${gone.port}/`);
    expect((await d.recvFrame()).err).toBe('failed to receive the first 2 bytes: closed');
    expect(d.setKeepalive()).toEqual({ ok: null, err: 'closed' });
  });

  it('an idle pooled connection is dropped when the peer writes or closes; the next connect does a handshake', async () => {
    const p = await peer();
    const pool = new KeepalivePool();
    pools.push(pool);
    const url = `ws://127.0.0.1:${p.port}/`;
    const c = newClient({ keepalivePool: pool, timeout: 3000 });
    await c.connect(url);
    c.setKeepalive();
    expect(pool.stats(`127.0.0.1:${p.port}`)).toMatchObject({ idle: 1, connections: 1 });
    p.connections[0]!.socket.write('x');
    // the dropped connection was the pool's last: the pool is freed with it
    await until(() => pool.stats(`127.0.0.1:${p.port}`) === null);
    expect((await c.connect(url)).res).toMatch(/^HTTP\/1.1 101/);
    c.setKeepalive();
    p.connections[1]!.socket.end();
    await until(() => pool.stats(`127.0.0.1:${p.port}`) === null);
    expect((await c.connect(url)).res).toMatch(/^HTTP\/1.1 101/);
  });

  it('backlog: pool_size 1 + backlog 1 queues one connect, refuses the next, and hands over on set_keepalive', async () => {
    const p = await peer();
    const pool = new KeepalivePool();
    pools.push(pool);
    const url = `ws://127.0.0.1:${p.port}/`;
    const opts = { pool_size: 1, backlog: 1 };
    const a = newClient({ keepalivePool: pool, timeout: 3000 });
    const b = newClient({ keepalivePool: pool, timeout: 3000 });
    const c = newClient({ keepalivePool: pool, timeout: 3000 });
    expect((await a.connect(url, opts)).ok).toBe(1);
    const waiting = b.connect(url, opts);
    await until(() => pool.stats(`127.0.0.1:${p.port}`)!.waiting === 1);
    expect(await c.connect(url, opts)).toEqual({ ok: null, err: 'failed to connect: too many waiting connect operations', res: null });
    expect(a.setKeepalive()).toEqual({ ok: 1, err: null });
    expect(await waiting).toEqual({ ok: 1, err: null, res: 'connection reused' });
    expect(p.accepted).toBe(1);
  });

  it('backlog: a queued connect gives up after the connect timeout; a close frees the slot', async () => {
    const p = await peer();
    const pool = new KeepalivePool();
    pools.push(pool);
    const url = `ws://127.0.0.1:${p.port}/`;
    const opts = { pool_size: 1, backlog: 5 };
    const a = newClient({ keepalivePool: pool, timeout: 3000 });
    const b = newClient({ keepalivePool: pool, timeout: 50 });
    await a.connect(url, opts);
    expect((await b.connect(url, opts)).err).toBe('failed to connect: timeout');
    b.setTimeout(3000);
    const waiting = b.connect(url, opts);
    await until(() => pool.stats(`127.0.0.1:${p.port}`)!.waiting === 1);
    await a.close();
    expect((await waiting).res).toMatch(/^HTTP\/1.1 101/);
  });
});


describe('Unix sockets (docs/behaviour.md §5 step 2)', () => {
  it('ws://unix:<path>:<resource> sends Host "unix_sock"; the pool key is the socket address', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wslab-unix-'));
    const path = join(dir, 'ws.sock');
    const p = await peer(upgrade, { path });
    const pool = new KeepalivePool();
    pools.push(pool);
    const c = newClient({ keepalivePool: pool });
    const r = await c.connect(`ws://unix:${path}:/chat`);
    expect(r.ok).toBe(1);
    const conn = await p.connection(0);
    expect(conn.head.toString('latin1').split('\r\n').slice(0, 3)).toEqual(['GET /chat HTTP/1.1', 'Upgrade: websocket', 'Host: unix_sock']);
    c.setKeepalive();
    expect(pool.stats(`unix:${path}`)).toMatchObject({ idle: 1 });
  });
});

// The strict message checks come from impl/message-validator.ts (shared with the server).
describe('strict message checks on receive (§7.5, §7.6, §7.7; MessageValidator)', () => {
  const cases: Array<{ name: string; frames: Buffer[]; code: number }> = [
    { name: '§7.6 invalid UTF-8 in a text frame', frames: [frame(0x1, Buffer.from([0xce, 0xba, 0xe1, 0xbd]))], code: 1007 },
    { name: '§7.5 a continuation frame with nothing before it', frames: [frame(0x0, 'x')], code: 1002 },
    { name: '§7.5 a new text frame inside a fragmented message', frames: [frame(0x1, 'a', { fin: false }), frame(0x1, 'b')], code: 1002 },
    { name: '§7.7 close code 1005 on the wire', frames: [frame(0x8, Buffer.from([0x03, 0xed]))], code: 1002 },
    { name: '§7.6 a close reason that is not UTF-8', frames: [frame(0x8, Buffer.from([0x03, 0xe8, 0xff]))], code: 1007 },
  ];
  for (const t of cases) {
    it(`${t.name}: compat returns the frames, strict fails with close ${t.code}`, async () => {
      const p = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), ...t.frames])));
      const compat = client();
      await compat.connect(`ws://127.0.0.1:${p.port}/`);
      for (let i = 0; i < t.frames.length; i++) expect((await compat.recvFrame()).data).not.toBeNull();
      expect(compat.fatal).toBe(false);
      const strict = client({ strict: true });
      await strict.connect(`ws://127.0.0.1:${p.port}/`);
      let last = await strict.recvFrame();
      for (let i = 1; i < t.frames.length && last.data !== null; i++) last = await strict.recvFrame();
      expect(last.data).toBeNull();
      expect(Object.values(STRICT_ERRORS).some((e) => (last.err as string).startsWith(e))).toBe(true);
      expect(strict.fatal).toBe(true);
      const sent = decodeFrames(await (await p.connection(1)).waitRest(8));
      expect(sent[0]).toMatchObject({ opcode: 8, masked: true });
      expect(sent[0]!.payload.readUInt16BE(0)).toBe(t.code);
    });
  }

  it('valid fragmented UTF-8 split across frames passes strict', async () => {
    const text = Buffer.from('κόσμε');
    const p = await peer((c) => c.socket.write(Buffer.concat([upgradeResponse(c), frame(0x1, text.subarray(0, 3), { fin: false }), frame(0x0, text.subarray(3))])));
    const strict = client({ strict: true });
    await strict.connect(`ws://127.0.0.1:${p.port}/`);
    expect(await strict.recvFrame()).toEqual({ data: text.subarray(0, 3), type: 'text', err: 'again' });
    expect(await strict.recvFrame()).toEqual({ data: text.subarray(3), type: 'continuation', err: null });
  });
});

// The answers after the server is gone are the kernel's (impl/socket.ts): a FIN lets the first
// send through and the RST it provokes fails the next; an RST is reported by the next call.
describe('sending after the server closed (FIN or RST), as ngx_lua does', () => {
  const gone = (s: net.Socket | import('node:tls').TLSSocket): Promise<void> => new Promise((r) => s.once('close', () => r()));

  it('after a FIN: the first send goes out, the next fails "broken pipe" (fatal), then "fatal error already happened"', async () => {
    let closed!: Promise<void>;
    const p = await peer((conn) => {
      conn.socket.write(upgradeResponse(conn));
      closed = gone(conn.socket);
      conn.socket.destroy(); // nothing unread: a FIN
    });
    const c = client();
    expect((await c.connect(`ws://127.0.0.1:${p.port}/`)).ok).toBe(1);
    await closed;
    expect(await c.sendText('abcde')).toEqual({ bytes: 11, err: null });
    expect(await c.sendText('abcde')).toEqual({ bytes: null, err: 'failed to send frame: broken pipe' });
    expect(c.fatal).toBe(true);
    expect(await c.sendText('abcde')).toEqual({ bytes: null, err: 'fatal error already happened' });
  });

  it('after an RST: the next send fails "connection reset by peer"', async () => {
    let closed!: Promise<void>;
    const p = await peer((conn) => {
      conn.socket.write(upgradeResponse(conn));
      closed = gone(conn.socket);
      (conn.socket as net.Socket).resetAndDestroy();
    });
    const c = client();
    expect((await c.connect(`ws://127.0.0.1:${p.port}/`)).ok).toBe(1);
    await closed;
    expect(await c.sendText('abcde')).toEqual({ bytes: null, err: 'failed to send frame: connection reset by peer' });
    expect(await c.recvFrame()).toEqual({ data: null, type: null, err: 'fatal error already happened' });
  });
});
