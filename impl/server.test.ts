import { afterEach, describe, expect, it } from 'vitest';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { buildFrame, FrameDecoder, toRecvResult } from './protocol.js';
import { createServer, newServer, WebSocketServer, type CreateServerOptions, type RunningServer } from './server.js';
import type { RecvResult } from './types.js';

const HEAD = 'GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n';
const masked = (fin: boolean, op: number, p: string | Buffer) => {
  const b = typeof p === 'string' ? Buffer.from(p) : p;
  return buildFrame(fin, op, b.length, b, true).frame!;
};
const unmasked = (fin: boolean, op: number, p: string | Buffer) => {
  const b = typeof p === 'string' ? Buffer.from(p) : p;
  return buildFrame(fin, op, b.length, b, false).frame!;
};

/** A raw client: sends the head, collects the response head and the frames that follow. */
class RawClient {
  sock!: net.Socket;
  head = '';
  closed = false;
  private buf = Buffer.alloc(0);
  private dec = new FrameDecoder({ maxPayloadLen: 1 << 24, forceMasking: false });
  frames: RecvResult[] = [];
  maskBits: boolean[] = [];
  static async open(port: number, head = HEAD): Promise<RawClient> {
    const c = new RawClient();
    c.sock = net.connect(port, '127.0.0.1');
    await once(c.sock, 'connect');
    c.sock.on('data', (d: Buffer) => c.onData(d));
    c.sock.on('close', () => (c.closed = true));
    c.sock.on('error', () => {});
    c.sock.write(head + '\r\n');
    return c;
  }
  private onData(d: Buffer): void {
    if (!this.head) {
      this.buf = Buffer.concat([this.buf, d]);
      const at = this.buf.indexOf('\r\n\r\n');
      if (at < 0) return;
      this.head = this.buf.subarray(0, at).toString('latin1');
      d = this.buf.subarray(at + 4);
    }
    this.dec.push(Buffer.from(d));
    for (let f = this.dec.nextFrame(); f; f = this.dec.nextFrame()) {
      this.frames.push(toRecvResult(f.outcome));
      this.maskBits.push(f.head.masked);
    }
  }
  async until(pred: () => boolean, ms = 2000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
  }
  send(...frames: Buffer[]): void {
    for (const f of frames) this.sock.write(f);
  }
}

let running: RunningServer[] = [];
afterEach(async () => {
  for (const s of running) await s.close();
  running = [];
});

/** A server whose handler runs `body` and reports what it returned. */
async function serve<T>(body: (ws: WebSocketServer) => Promise<T>, opts: Partial<CreateServerOptions> = {}): Promise<{ port: number; result: Promise<T>; errors: string[] }> {
  let resolve!: (v: T) => void;
  const result = new Promise<T>((r) => (resolve = r));
  const errors: string[] = [];
  const srv = await createServer({ ...opts, handler: async (ws) => resolve(await body(ws)), onHandshakeError: (e) => errors.push(e) });
  running.push(srv);
  return { port: srv.port, result, errors };
}

const plain = (r: RecvResult) => ({ data: r.data?.toString() ?? null, type: r.type, err: r.err });

describe('server handshake over a real socket', () => {
  it('answers sanity.t 1: 101, upgrade headers, the Accept, the protocol, no Content-Type', async () => {
    const { port } = await serve(async (ws) => ws.recvFrame());
    const c = await RawClient.open(port, HEAD + 'Sec-WebSocket-Protocol: chat\r\n');
    await c.until(() => !!c.head);
    expect(c.head.split('\r\n')).toEqual(['HTTP/1.1 101 Switching Protocols', 'Connection: upgrade', 'Sec-WebSocket-Protocol: chat', 'Upgrade: websocket', 'Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=']);
    c.sock.destroy();
  });

  it('sends nothing on a failed handshake and closes (compat), or an HTTP error (strict)', async () => {
    const compat = await serve(async () => null);
    const c = await RawClient.open(compat.port, HEAD.replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 12'));
    await c.until(() => c.closed);
    expect(c.closed).toBe(true);
    expect(c.head).toBe('');
    expect(compat.errors).toEqual(['bad "sec-websocket-version" request header']);
    const strict = await serve(async () => null, { strict: true });
    const s = await RawClient.open(strict.port, HEAD.replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 12'));
    await s.until(() => !!s.head);
    expect(s.head).toMatch(/^HTTP\/1\.1 426 Upgrade Required\r\n/);
  });

  it('consumes and drops a request body (Content-Length), then speaks WebSocket', async () => {
    const { port, result } = await serve(async (ws) => plain(await ws.recvFrame()));
    const c = await RawClient.open(port, HEAD.replace('GET', 'POST') + 'Content-Length: 5\r\n');
    c.sock.write('abcde');
    c.send(masked(true, 1, 'after body'));
    expect(await result).toEqual({ data: 'after body', type: 'text', err: null });
    c.sock.destroy();
  });

  it('works on a Node http server upgrade event (newServer)', async () => {
    const server = http.createServer();
    const got = new Promise<RecvResult>((resolve) => {
      server.on('upgrade', async (req, socket, head) => {
        const { server: ws, err } = await newServer(req, socket as net.Socket, head);
        if (!ws) throw new Error(err);
        resolve(await ws.recvFrame());
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const c = await RawClient.open((server.address() as net.AddressInfo).port);
    await c.until(() => !!c.head);
    c.send(masked(true, 2, 'via http'));
    expect(plain(await got)).toEqual({ data: 'via http', type: 'binary', err: null });
    c.sock.destroy();
    server.close();
  });
});

describe('server methods and state rules (docs/behaviour.md §4, §5)', () => {
  it('rejects unmasked frames and becomes fatal', async () => {
    const { port, result } = await serve(async (ws) => [plain(await ws.recvFrame()), plain(await ws.recvFrame()), await ws.sendText('x'), ws.fatal]);
    const c = await RawClient.open(port);
    c.send(unmasked(true, 1, 'plain'));
    expect(await result).toEqual([
      { data: null, type: null, err: 'frame unmasked' },
      { data: null, type: null, err: 'fatal error already happened' },
      { bytes: null, err: 'fatal error already happened' },
      true,
    ]);
  });

  it('keeps a timeout non-fatal, and desynchronises after a timeout inside a frame', async () => {
    const { port, result } = await serve(async (ws) => {
      ws.setTimeout(50);
      const a = plain(await ws.recvFrame());
      const b = plain(await ws.recvFrame());
      ws.setTimeout(2000);
      const c = plain(await ws.recvFrame());
      return [a, b, c, ws.fatal];
    });
    const c = await RawClient.open(port);
    await c.until(() => !!c.head);
    const f = masked(true, 1, 'foo');
    c.send(f.subarray(0, 1));
    await new Promise((r) => setTimeout(r, 150));
    c.send(f.subarray(1));
    expect(await result).toEqual([
      { data: null, type: null, err: 'failed to receive the first 2 bytes: timeout' },
      { data: null, type: null, err: 'failed to receive the first 2 bytes: timeout' },
      // The consumed 0x81 is gone: the mask/length byte 0x83 is read as a header byte (opcode 3).
      { data: null, type: null, err: 'reserved non-control frames' },
      true,
    ]);
  });

  it('makes every send error fatal, argument errors included', async () => {
    const { port, result } = await serve(async (ws) => [await ws.sendPing(Buffer.alloc(126)), await ws.sendText('x'), plain(await ws.recvFrame())]);
    await RawClient.open(port);
    expect(await result).toEqual([
      { bytes: null, err: 'too much payload for control frame' },
      { bytes: null, err: 'fatal error already happened' },
      { data: null, type: null, err: 'fatal error already happened' },
    ]);
  });

  it('honours max_send_len and max_recv_len separately (limits.t 3, 4)', async () => {
    // Receive first: the send error is fatal (argument errors too), so a later recv would fail.
    const { port, result } = await serve(async (ws) => [plain(await ws.recvFrame()), await ws.sendText(Buffer.alloc(300))], { max_send_len: 200, max_recv_len: 1000 });
    const c = await RawClient.open(port);
    c.send(masked(true, 1, Buffer.alloc(300, 0x61)));
    const [got, sent] = await result;
    expect(sent).toEqual({ bytes: null, err: 'payload too big' });
    expect((got as ReturnType<typeof plain>).data?.length).toBe(300);
    const m = await serve(async (ws) => [await ws.sendText(Buffer.alloc(400)), plain(await ws.recvFrame())], { max_recv_len: 200 });
    const c2 = await RawClient.open(m.port);
    c2.send(masked(true, 1, Buffer.alloc(300)));
    expect(await m.result).toEqual([{ bytes: 404, err: null }, { data: null, type: null, err: "exceeding max payload len" }]);
  });

  it('applies the send_close code rules: type, range, LuaJIT rounding and wrap (docs/behaviour.md §4)', async () => {
    const { port, result } = await serve(async (ws) => {
      const out = [await ws.sendClose('1000'), await ws.sendClose(0x8000), ws.fatal, await ws.sendClose(1000.7, 'a'), await ws.sendClose(-1), await ws.sendClose(undefined, 'ignored'), await ws.sendClose(0)];
      out.push(await ws.sendText('after close'));
      out.push(await ws.sendClose(1000, 'x'.repeat(124)), ws.fatal);
      return out;
    });
    const c = await RawClient.open(port);
    const res = await result;
    expect(res.slice(0, 3)).toEqual([{ bytes: null, err: 'bad status code' }, { bytes: null, err: 'bad status code' }, false]);
    expect(res.slice(3, 8)).toEqual([{ bytes: 5, err: null }, { bytes: 4, err: null }, { bytes: 2, err: null }, { bytes: 4, err: null }, { bytes: 13, err: null }]);
    expect(res.slice(8)).toEqual([{ bytes: null, err: 'too much payload for control frame' }, true]);
    await c.until(() => c.frames.length >= 5);
    expect(c.frames.slice(0, 5).map(plain)).toEqual([
      { data: 'a', type: 'close', err: 1001 },
      { data: '', type: 'close', err: 65535 },
      { data: '', type: 'close', err: null },
      { data: '', type: 'close', err: 0 },
      { data: 'after close', type: 'text', err: null }, // no closed state (docs/behaviour.md §4)
    ]);
  });

  it('sends a final continuation with sendContinue, raw frames with sendFrame, and masks with send_masked', async () => {
    const { port, result } = await serve(async (ws) => [await ws.sendFrame(false, 1, 'a'), await ws.sendContinue('b'), await ws.sendFrame(true, 0x10, '')], { send_masked: true });
    const c = await RawClient.open(port);
    await result;
    await c.until(() => c.frames.length >= 3);
    expect(c.frames.slice(0, 2).map(plain)).toEqual([{ data: 'a', type: 'text', err: 'again' }, { data: 'b', type: 'continuation', err: null }]);
    expect(c.maskBits.slice(0, 2)).toEqual([true, true]);
    // Opcode 0x10 leaks into RSV3 (docs/behaviour.md §3): the receiver refuses it.
    expect(c.frames[2]!.err).toBe('bad RSV1, RSV2, or RSV3 bits');
  });

  it('answers "not initialized yet" without a socket', async () => {
    const ws = new WebSocketServer(null);
    expect(await ws.recvFrame()).toEqual({ data: null, type: null, err: 'not initialized yet' });
    expect(await ws.sendText('x')).toEqual({ bytes: null, err: 'not initialized yet' });
    expect(ws.setTimeout(10)).toEqual({ err: 'not initialized yet' });
  });
});

describe('strict profile (docs/behaviour.md §7)', () => {
  it('fails invalid UTF-8 with a 1007 close frame, fragmentation errors with 1002, oversize with 1009', async () => {
    for (const [frames, err, code, opts] of [
      [[masked(true, 1, Buffer.from('c328', 'hex'))], 'invalid UTF-8 in text message', 1007, {}],
      [[masked(true, 0, 'x')], 'continuation frame with no message to continue', 1002, {}],
      [[masked(true, 1, Buffer.alloc(20))], 'exceeding max payload len', 1009, { max_payload_len: 10 }],
      [[unmasked(true, 1, 'x')], 'frame unmasked', 1002, {}],
    ] as const) {
      const { port, result } = await serve(async (ws) => [plain(await ws.recvFrame()), ws.fatal], { strict: true, ...opts });
      const c = await RawClient.open(port);
      c.send(...frames);
      expect(await result).toEqual([{ data: null, type: null, err }, true]);
      await c.until(() => c.frames.length > 0 && c.closed);
      expect(c.frames[0]).toMatchObject({ type: 'close', err: code });
    }
  });

  it('compat accepts the same frames as the original does', async () => {
    const { port, result } = await serve(async (ws) => [plain(await ws.recvFrame()), plain(await ws.recvFrame())]);
    const c = await RawClient.open(port);
    c.send(masked(true, 1, Buffer.from('c328', 'hex')), masked(true, 0, 'x'));
    const [a, b] = await result;
    expect(a).toMatchObject({ type: 'text', err: null });
    expect(b).toEqual({ data: 'x', type: 'continuation', err: null });
  });

  it('has a closed state with serverClosedState: no data after the close frame', async () => {
    const { port, result } = await serve(async (ws) => [await ws.sendClose(1000), await ws.sendText('late')], { strict: true });
    await RawClient.open(port);
    expect(await result).toEqual([{ bytes: 4, err: null }, { bytes: null, err: 'already closed' }]);
  });

  it('makes a timeout inside a frame fatal with fatalOnPartialTimeout (compat stays non-fatal, docs/behaviour.md §7.9)', async () => {
    for (const strict of [true, false]) {
      const { port, result } = await serve(async (ws) => {
        ws.setTimeout(50);
        const r = plain(await ws.recvFrame());
        return [r, ws.fatal];
      }, { strict: strict ? { fatalOnPartialTimeout: true } : false });
      const c = await RawClient.open(port);
      await c.until(() => !!c.head);
      c.send(masked(true, 1, 'foo').subarray(0, 3));
      // Header read whole, then 1 of the 7 body bytes (key + "foo") before the timeout.
      expect(await result).toEqual([{ data: null, type: null, err: 'failed to read masking-len and payload: timeout' }, strict]);
      c.sock.destroy();
    }
  });

  it('refuses reserved opcodes on send with validateSendOpcode, and sends them in compat', async () => {
    const strict = await serve(async (ws) => [await ws.sendFrame(true, 0x3, 'x'), ws.fatal], { strict: { validateSendOpcode: true } });
    await RawClient.open(strict.port);
    expect(await strict.result).toEqual([{ bytes: null, err: 'bad opcode' }, true]);
    const compat = await serve(async (ws) => [await ws.sendFrame(true, 0x3, 'x'), ws.fatal]);
    await RawClient.open(compat.port);
    expect(await compat.result).toEqual([{ bytes: 3, err: null }, false]);
  });

  it('refuses invalid close codes on send', async () => {
    const { port, result } = await serve(async (ws) => [await ws.sendClose(1005), await ws.sendClose(5000), await ws.sendClose(4000)], { strict: true });
    await RawClient.open(port);
    expect(await result).toEqual([{ bytes: null, err: 'bad status code' }, { bytes: null, err: 'bad status code' }, { bytes: 4, err: null }]);
  });
});

// The answers after the client is gone are the kernel's (impl/socket.ts): the server socket stays
// open for sends after the client's FIN, as nginx's does; the first send goes out, the RST it
// provokes fails the next one.
describe('sending after the client closed, as ngx_lua does', () => {
  it('after the close frame and a FIN: 7 bytes, then "failed to send frame: broken pipe" (fatal), then "fatal error already happened"', async () => {
    let clientGone!: Promise<void>;
    const { port, result } = await serve(async (ws) => {
      const got = plain(await ws.recvFrame());
      await clientGone;
      return [got, await ws.sendText('abcde'), await ws.sendText('abcde'), await ws.sendText('abcde')];
    });
    const c = await RawClient.open(port);
    await c.until(() => c.head !== '');
    clientGone = new Promise((r) => c.sock.once('close', () => r()));
    c.send(masked(true, 0x8, ''));
    c.sock.destroy(); // nothing unread: a FIN after the close frame
    expect(await result).toEqual([
      { data: '', type: 'close', err: null },
      { bytes: 7, err: null },
      { bytes: null, err: 'failed to send frame: broken pipe' },
      { bytes: null, err: 'fatal error already happened' },
    ]);
  });
});
