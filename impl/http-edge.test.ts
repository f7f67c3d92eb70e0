// The table, row by row, against our createServer with small sizes and short timeouts:
// what nginx + the original answer (measured on the lab's nginx peer, README "Security and
// limits") is what our server answers, and when it closes.
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { buildFrame } from './protocol.js';
import { createServer, handlerErrorLine, type CreateServerOptions, type RunningServer } from './server.js';
import type { HandshakeRequest } from './handshake-server.js';

const UPGRADE = ['Host: a', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
const head = (...extra: string[]): string => ['GET /ws HTTP/1.1', ...UPGRADE, ...extra].join('\r\n') + '\r\n\r\n';

let servers: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function serve(opts: Partial<CreateServerOptions> = {}): Promise<RunningServer> {
  const srv = await createServer({
    log: false,
    handler: async (ws) => {
      const r = await ws.recvFrame();
      if (r.data) await ws.sendText(Buffer.concat([Buffer.from('echo:'), r.data]));
    },
    ...opts,
  });
  servers.push(srv);
  return srv;
}

interface Exchange {
  text: string;
  /** ms from connect to the server's close (or the test's own give-up). */
  closedAfter: number;
  closedByServer: boolean;
}

/** Connects, sends `parts` (a Buffer each, or a delay in ms), collects everything until close. */
function exchange(port: number, parts: Array<Buffer | string | number>, giveUpMs = 4000, onData?: (text: string, sock: net.Socket) => void): Promise<Exchange> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const t0 = Date.now();
    let done = false;
    const finish = (byServer: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(giveUp);
      sock.destroy();
      resolve({ text: Buffer.concat(chunks).toString('latin1'), closedAfter: Date.now() - t0, closedByServer: byServer });
    };
    const giveUp = setTimeout(() => finish(false), giveUpMs);
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      onData?.(Buffer.concat(chunks).toString('latin1'), sock);
    });
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', () => finish(true));
    sock.on('connect', async () => {
      for (const p of parts) {
        if (done) return;
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else sock.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
      }
    });
  });
}

const maskedText = (s: string): Buffer => buildFrame(true, 0x1, Buffer.byteLength(s), Buffer.from(s), true).frame!;

describe('client_header_timeout: a deadline for the whole head, then a silent close', () => {
  it('closes a head trickling in byte by byte at the deadline, without a response (nginx logs 408, sends nothing)', async () => {
    const srv = await serve({ client_header_timeout: 400 });
    const trickle = head().split('').flatMap((c) => [c, 30]);
    const r = await exchange(srv.port, trickle);
    expect(r.closedByServer).toBe(true);
    expect(r.text).toBe('');
    expect(r.closedAfter).toBeGreaterThanOrEqual(380);
    expect(r.closedAfter).toBeLessThan(2000);
  });

  it('closes a silent connection and one that sent only the request line', async () => {
    const srv = await serve({ client_header_timeout: 300 });
    const [silent, lineOnly] = await Promise.all([exchange(srv.port, []), exchange(srv.port, ['GET /ws HTTP/1.1\r\n'])]);
    for (const r of [silent, lineOnly]) {
      expect(r).toMatchObject({ closedByServer: true, text: '' });
      expect(r.closedAfter).toBeGreaterThanOrEqual(280);
    }
  });

  it('a head that completes in time upgrades as before', async () => {
    const srv = await serve({ client_header_timeout: 2000 });
    let sent = false;
    const r = await exchange(srv.port, [head()], 4000, (text, sock) => {
      if (!sent && text.includes('\r\n\r\n')) {
        sent = true;
        sock.write(maskedText('hi'));
      }
    });
    expect(r.text).toMatch(/^HTTP\/1\.1 101 Switching Protocols\r\n/);
    expect(r.text).toContain('echo:hi');
  });
});

describe('client_max_body_size: 413 at once, bodies counted and never stored', () => {
  it('answers 413 to a Content-Length over the limit before any body byte, like nginx', async () => {
    const srv = await serve({ client_max_body_size: 100 });
    const r = await exchange(srv.port, [head('Content-Length: 1000000000000')], 3000, (text, sock) => {
      if (text.includes('</html>')) sock.end();
    });
    expect(r.text).toMatch(/^HTTP\/1\.1 413 Request Entity Too Large\r\n/);
    expect(r.text).toContain('Connection: close');
  });

  it('drops a body within the limit and reads the frames after it', async () => {
    const srv = await serve({ client_max_body_size: 100 });
    const r = await exchange(srv.port, [Buffer.concat([Buffer.from(head('Content-Length: 5') + 'hello'), maskedText('after')])]);
    expect(r.text).toMatch(/^HTTP\/1\.1 101 /);
    expect(r.text).toContain('echo:after');
    expect(r.text).not.toContain('hello');
  });

  it('reads a chunked body (and 413s one that grows past the limit)', async () => {
    const srv = await serve({ client_max_body_size: 10 });
    const ok = await exchange(srv.port, [Buffer.concat([Buffer.from(head('Transfer-Encoding: chunked') + '3\r\nabc\r\n0\r\n\r\n'), maskedText('c')])]);
    expect(ok.text).toMatch(/^HTTP\/1\.1 101 /);
    expect(ok.text).toContain('echo:c');
    const big = await exchange(srv.port, [head('Transfer-Encoding: chunked') + '5\r\nabcde\r\n8\r\n'], 3000, (t, s) => t.includes('</html>') && s.end());
    expect(big.text).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('answers Expect: 100-continue with an interim 100 before reading the body, like ngx.req.read_body()', async () => {
    const srv = await serve();
    const r = await exchange(srv.port, [head('Expect: 100-continue', 'Content-Length: 3'), 100, 'abc', maskedText('x')]);
    expect(r.text).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 101 /);
    expect(r.text).toContain('echo:x');
  });

  it('client_body_timeout: a body that stops arriving is closed silently; one that trickles is not', async () => {
    const srv = await serve({ client_body_timeout: 300 });
    const stalled = await exchange(srv.port, [head('Content-Length: 10') + 'abc']);
    expect(stalled).toMatchObject({ closedByServer: true, text: '' });
    expect(stalled.closedAfter).toBeGreaterThanOrEqual(280);
    const trickle = await exchange(srv.port, [head('Content-Length: 4'), 150, 'a', 150, 'b', 150, 'c', 150, 'd', maskedText('t')]);
    expect(trickle.text).toContain('echo:t');
  });
});

describe('header buffers and the header-line cap: nginx\'s 400 "Request Header Or Cookie Too Large", 494 never on the wire', () => {
  const tooLarge = /^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*<title>400 Request Header Or Cookie Too Large<\/title>/;
  it('one 9000-byte header line', async () => {
    const srv = await serve();
    const r = await exchange(srv.port, [head('X: ' + 'a'.repeat(9000))], 3000, (t, s) => t.includes('</html>') && s.end());
    expect(r.text).toMatch(tooLarge);
    expect(r.text).not.toContain('494');
  });

  it('10k "a:" lines, 1000 "X-H-i: v" lines, and a head over 33 KiB get the 400, not a silent close', async () => {
    const srv = await serve();
    const heads = [
      head(...Array.from({ length: 10_000 }, () => 'a:')),
      head(...Array.from({ length: 1000 }, (_, i) => `X-H-${i}: v`)),
      head(...Array.from({ length: 40 }, () => 'X-Big: ' + 'b'.repeat(900))),
    ];
    for (const h of heads) {
      const r = await exchange(srv.port, [h], 3000, (t, s) => t.includes('</html>') && s.end());
      expect(r.text).toMatch(tooLarge);
    }
  });

  it('a request line over 8 KiB is 414; the limits are options', async () => {
    const srv = await serve({ client_header_buffer_size: 64, large_client_header_buffers: { number: 2, size: 256 }, max_request_headers: 10 });
    const uri = await exchange(srv.port, [`GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`], 3000, (t, s) => t.includes('</html>') && s.end());
    expect(uri.text).toMatch(/^HTTP\/1\.1 414 Request-URI Too Large\r\n/);
    const many = await exchange(srv.port, [head(...Array.from({ length: 6 }, (_, i) => `X-${i}: v`))], 3000, (t, s) => t.includes('</html>') && s.end());
    expect(many.text).toMatch(tooLarge);
    const fits = await exchange(srv.port, [Buffer.concat([Buffer.from(head()), maskedText('k')])]);
    expect(fits.text).toContain('echo:k');
  });

  it('a bad header line is answered at once, before the head ends (nginx does not wait)', async () => {
    const srv = await serve();
    const r = await exchange(srv.port, ['GET /ws HTTP/1.1\r\nHost: a\r\nfo o: 1\r\nX: '], 3000, (t, s) => t.includes('</html>') && s.end());
    expect(r.text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(r.closedAfter).toBeLessThan(1500);
  });
});

describe('createServer handler errors: logged (one line with the stack), counted, onError, socket closed', () => {
  it('logs and counts a throwing handler and closes the connection', async () => {
    const lines: string[] = [];
    const seen: unknown[] = [];
    const srv = await serve({
      log: (l) => lines.push(l),
      onError: (err) => seen.push(err),
      handler: async () => {
        throw new Error('boom in handler');
      },
    });
    const r = await exchange(srv.port, [head()]);
    expect(r.text).toMatch(/^HTTP\/1\.1 101 /);
    expect(r.closedByServer).toBe(true);
    expect(srv.handlerErrors).toBe(1);
    expect(seen).toHaveLength(1);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[error\] resty-websocket server: handler failed: Error: boom in handler \| at /);
    expect(lines[0]).not.toContain('\n');
  });

  it('onError gets an equal copy of the request the handler got, whether the handler throws or rejects later', async () => {
    for (const later of [false, true]) {
      const got: HandshakeRequest[] = [];
      const seen: HandshakeRequest[] = [];
      const srv = await serve({
        log: false,
        onError: (_err, _ws, request) => seen.push(request),
        handler: (_ws, request) => {
          got.push(request);
          if (!later) throw new Error('at once');
          return new Promise((_resolve, reject) => setImmediate(() => reject(new Error('later'))));
        },
      });
      await exchange(srv.port, [head()]);
      expect(srv.handlerErrors).toBe(1);
      expect(seen).toHaveLength(1);
      const fields = ({ method, target, httpVersion, rawHeaders }: HandshakeRequest): HandshakeRequest => ({ method, target, httpVersion, rawHeaders });
      expect(fields(seen[0]!)).toEqual(fields(got[0]!));
      expect(seen[0]!.rawHeaders.length).toBeGreaterThan(3);
    }
  });

  it('a rejected non-Error value is logged too', () => {
    expect(handlerErrorLine('plain')).toBe('[error] resty-websocket server: handler failed: plain');
  });
});
