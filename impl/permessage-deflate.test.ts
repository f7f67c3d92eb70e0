// permessage-deflate (RFC 7692): negotiation as pure functions, then over real sockets on
// 127.0.0.1 against ws@8 (the calibrating implementation) in both directions, the bounds on
// inflation, and the compat profile's refusal.
import net from 'node:net';
import zlib from 'node:zlib';
import { fc, test as fcTest } from '@fast-check/vitest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer as WsServer } from 'ws';
import { acceptFor } from './handshake-client.js';
import { recvMessage } from './message.js';
import {
  DEFLATE_ERRORS, negotiateAsClient, negotiateAsServer, offerAsClient, parseExtensions, PerMessageDeflate, resolveDeflateOption,
  type DeflateSettings, type PerMessageDeflateOptions,
} from './permessage-deflate.js';
import { buildFrame } from './protocol.js';
import { acceptWebSocket, createServer, type RunningServer, type WebSocketServer } from './server.js';
import { newClient } from './client.js';
import { COMPAT, STRICT } from './profile.js';

const settings = (o: PerMessageDeflateOptions = {}): DeflateSettings => resolveDeflateOption(o, STRICT, 65535).settings!;

describe('the option', () => {
  it('is off unless given, and needs strict checkFragmentation', () => {
    expect(resolveDeflateOption(undefined, COMPAT, 10)).toEqual({ settings: null, err: null });
    expect(resolveDeflateOption(false, STRICT, 10)).toEqual({ settings: null, err: null });
    expect(resolveDeflateOption(true, COMPAT, 10)).toEqual({ settings: null, err: DEFLATE_ERRORS.needsStrict });
    expect(resolveDeflateOption(true, { checkFragmentation: true }, 10).settings).toMatchObject({ threshold: 1024, maxMessageLen: 10 });
  });

  it('refuses bad values by name', () => {
    const err = (o: unknown): string | null => resolveDeflateOption(o as PerMessageDeflateOptions, STRICT, 10).err;
    expect(err({ serverMaxWindowBits: 7 })).toBe('bad permessage-deflate option: serverMaxWindowBits must be a boolean or an integer 8-15');
    expect(err({ clientMaxWindowBits: 16 })).toMatch(/clientMaxWindowBits/);
    expect(err({ serverNoContextTakeover: 1 })).toMatch(/serverNoContextTakeover must be a boolean/);
    expect(err({ threshold: -1 })).toMatch(/threshold/);
    expect(err({ level: 10 })).toMatch(/level/);
    expect(err({ maxMessageLen: 0 })).toMatch(/maxMessageLen/);
    expect(err({ windowBits: 9 })).toBe('bad permessage-deflate option: unknown option windowBits');
  });
});

describe('Sec-WebSocket-Extensions', () => {
  it('parses lists, parameters, quoted values and several lines', () => {
    expect(parseExtensions(['permessage-deflate; client_max_window_bits, permessage-deflate ;server_max_window_bits="10"', 'x-foo'])).toEqual([
      { name: 'permessage-deflate', params: [['client_max_window_bits', true]] },
      { name: 'permessage-deflate', params: [['server_max_window_bits', '10']] },
      { name: 'x-foo', params: [] },
    ]);
  });

  it('refuses what does not parse', () => {
    for (const bad of ['permessage-deflate;', ';x', 'a b', 'a; b="c', 'a; b="c d"', 'a; =1', 'a; b=', 'a @']) {
      expect(parseExtensions([bad]), bad).toBeNull();
    }
  });
});

describe('negotiation, server side (RFC 7692 §5, §7)', () => {
  const answer = (offer: string, o: PerMessageDeflateOptions = {}): string | null => {
    const n = negotiateAsServer([offer], settings(o));
    if (!n.ok) throw new Error(n.err);
    return n.response;
  };

  it('accepts the first acceptable offer and answers every parameter it agrees to', () => {
    expect(answer('permessage-deflate')).toBe('permessage-deflate');
    expect(answer('permessage-deflate; client_max_window_bits')).toBe('permessage-deflate');
    expect(answer('permessage-deflate; client_max_window_bits=10')).toBe('permessage-deflate; client_max_window_bits=10');
    expect(answer('permessage-deflate; server_max_window_bits=9; server_no_context_takeover; client_no_context_takeover'))
      .toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9');
    expect(answer('x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=12')).toBe('permessage-deflate; server_max_window_bits=12');
  });

  it('declines offers with unknown or repeated parameters or bad values, and goes on to the next offer', () => {
    for (const bad of [
      'permessage-deflate; foo', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
      'permessage-deflate; server_max_window_bits=7', 'permessage-deflate; server_max_window_bits=16', 'permessage-deflate; server_max_window_bits=08',
      'permessage-deflate; server_max_window_bits', 'permessage-deflate; client_max_window_bits=abc', 'permessage-deflate; server_no_context_takeover=1',
    ]) {
      expect(answer(bad), bad).toBeNull();
      expect(answer(`${bad}, permessage-deflate; client_max_window_bits`), bad).toBe('permessage-deflate');
    }
  });

  it('applies its settings: own limits, demands, refusals', () => {
    expect(answer('permessage-deflate', { serverNoContextTakeover: true, clientNoContextTakeover: true }))
      .toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover');
    expect(answer('permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: false })).toBeNull();
    expect(answer('permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: 12 })).toBe('permessage-deflate; server_max_window_bits=10');
    expect(answer('permessage-deflate', { serverMaxWindowBits: 12 })).toBe('permessage-deflate; server_max_window_bits=12');
    expect(answer('permessage-deflate; server_max_window_bits=10', { serverMaxWindowBits: false })).toBeNull();
    // A limit on the client's window needs the client's consent (the parameter in its offer).
    expect(answer('permessage-deflate', { clientMaxWindowBits: 9 })).toBeNull();
    expect(answer('permessage-deflate; client_max_window_bits', { clientMaxWindowBits: 9 })).toBe('permessage-deflate; client_max_window_bits=9');
    expect(answer('permessage-deflate; client_max_window_bits=8', { clientMaxWindowBits: 9 })).toBe('permessage-deflate; client_max_window_bits=8');
    expect(answer('permessage-deflate; client_max_window_bits=8', { clientMaxWindowBits: false })).toBe('permessage-deflate; client_max_window_bits=8');
  });

  it('fails the handshake on a header that does not parse', () => {
    expect(negotiateAsServer(['permessage-deflate; ='], settings())).toEqual({ ok: false, err: DEFLATE_ERRORS.badRequest });
  });
});

describe('negotiation, client side', () => {
  const agree = (response: string[], o: PerMessageDeflateOptions = {}): ReturnType<typeof negotiateAsClient> => negotiateAsClient(response, settings(o));

  it('offers what it asks for', () => {
    expect(offerAsClient(settings())).toBe('permessage-deflate; client_max_window_bits');
    expect(offerAsClient(settings({ serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9 })))
      .toBe('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9');
    expect(offerAsClient(settings({ clientMaxWindowBits: false }))).toBe('permessage-deflate');
  });

  it('takes a declined offer and an agreed one', () => {
    expect(agree([])).toEqual({ params: null, err: null });
    expect(agree(['permessage-deflate; server_max_window_bits=10; client_max_window_bits=8; client_no_context_takeover']).params)
      .toEqual({ serverNoContextTakeover: false, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 8 });
  });

  it('fails a response the offer does not allow, with the reason', () => {
    const cases: Array<[string[], PerMessageDeflateOptions, string]> = [
      [['x-foo'], {}, 'extension not offered: x-foo'],
      [['permessage-deflate, permessage-deflate'], {}, 'more than one permessage-deflate'],
      [['permessage-deflate', 'permessage-deflate'], {}, 'more than one permessage-deflate'],
      [['permessage-deflate; foo'], {}, 'unknown parameter "foo"'],
      [['permessage-deflate; client_no_context_takeover; client_no_context_takeover'], {}, 'duplicate parameter "client_no_context_takeover"'],
      [['permessage-deflate; server_max_window_bits=16'], {}, 'invalid value for parameter "server_max_window_bits": 16'],
      [['permessage-deflate; client_max_window_bits'], {}, 'invalid value for parameter "client_max_window_bits": no value'],
      [['permessage-deflate; client_max_window_bits=10'], { clientMaxWindowBits: false }, 'client_max_window_bits was not offered'],
      [['permessage-deflate; client_max_window_bits=12'], { clientMaxWindowBits: 10 }, 'client_max_window_bits=12 is above the offered 10'],
      [['permessage-deflate; server_max_window_bits=12'], { serverMaxWindowBits: 10 }, 'server_max_window_bits=12 is above the requested 10'],
      [['permessage-deflate'], { serverNoContextTakeover: true }, 'server_no_context_takeover was requested but not answered'],
      [['permessage-deflate; x="'], {}, 'does not parse: permessage-deflate; x="'],
    ];
    for (const [response, o, why] of cases) expect(agree(response, o).err, why).toBe(DEFLATE_ERRORS.badResponse + why);
  });
});

// ---------------------------------------------------------------------------------------------
// Over sockets.

const BIG = 4 * 1024 * 1024;

/** Our strict server echoing whole messages (recvMessage), with `deflate` as its option. */
async function ourEcho(deflate: PerMessageDeflateOptions | true, extra: { maxPayload?: number } = {}): Promise<RunningServer> {
  return createServer({
    strict: true, max_payload_len: extra.maxPayload ?? BIG, permessageDeflate: deflate, log: false,
    handler: async (ws) => {
      for (;;) {
        const m = await recvMessage(ws);
        if (m.data === null || m.type === 'close') return;
        await (m.type === 'text' ? ws.sendText(m.data) : ws.sendBinary(m.data));
      }
    },
  });
}

/** ws's own option type (its window bits are numbers only, a subset of ours). */
type WsDeflate = NonNullable<WebSocket.ClientOptions['perMessageDeflate']>;

/** A ws server echoing messages. */
async function wsEcho(deflate: PerMessageDeflateOptions | boolean): Promise<{ url: string; close: () => Promise<void> }> {
  const wss = new WsServer({ host: '127.0.0.1', port: 0, perMessageDeflate: deflate as WsDeflate });
  wss.on('connection', (s) => s.on('message', (d, binary) => s.send(d as Buffer, { binary })));
  await new Promise((r) => wss.once('listening', r));
  return { url: `ws://127.0.0.1:${(wss.address() as net.AddressInfo).port}`, close: () => new Promise((r) => wss.close(() => r())) };
}

/** A ws client, open (with the extensions the server agreed to). */
async function wsClient(url: string, deflate: PerMessageDeflateOptions | boolean): Promise<WebSocket> {
  const c = new WebSocket(url + '/', { perMessageDeflate: deflate as WsDeflate });
  await new Promise((resolve, reject) => {
    c.once('open', resolve);
    c.once('error', reject);
  });
  return c;
}

function wsRoundTrip(c: WebSocket, data: Buffer, binary = true): Promise<Buffer> {
  return new Promise((resolve) => {
    c.once('message', (d) => resolve(d as Buffer));
    c.send(data, { binary });
  });
}

/** Every combination of the parameters (both sides configured alike; ws compresses everything). */
const COMBOS: PerMessageDeflateOptions[] = [];
for (const serverNoContextTakeover of [false, true]) {
  for (const clientNoContextTakeover of [false, true]) {
    for (const serverMaxWindowBits of [undefined, 8, 11, 15]) {
      for (const clientMaxWindowBits of [undefined, 8, 11, 15]) {
        COMBOS.push({ serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits });
      }
    }
  }
}
const name = (o: PerMessageDeflateOptions): string => JSON.stringify(o);
/** The property's combinations: every flag pair with the window sizes at the edges and unlimited. */
const PROPERTY_COMBOS = COMBOS.filter((c) => c.serverMaxWindowBits !== 11 && c.clientMaxWindowBits !== 11);

/** Messages where context takeover and window size matter: repeats within and across messages. */
function messages(seed: number): Buffer[] {
  const text = Buffer.from(`lorem ipsum ${seed} dolor sit amet `.repeat(200));
  const random = Buffer.alloc(3000);
  let x = seed | 1;
  for (let i = 0; i < random.length; i++) random[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return [text, text, random, Buffer.concat([random, text, random]), Buffer.alloc(0), Buffer.from('short')];
}

describe('interop with ws, every parameter combination', () => {
  it('our server with a ws client: agreed extension and byte-identical echoes', async () => {
    for (const combo of COMBOS) {
      const srv = await ourEcho({ ...combo, threshold: 0 });
      const c = await wsClient(srv.url, { ...combo, threshold: 0 });
      expect(c.extensions, name(combo)).toMatch(/^permessage-deflate/);
      for (const m of messages(COMBOS.indexOf(combo))) expect((await wsRoundTrip(c, m)).equals(m), name(combo)).toBe(true);
      c.close();
      await srv.close();
    }
  });

  it('a ws server with our client: agreed extension and byte-identical echoes', async () => {
    for (const combo of COMBOS) {
      const srv = await wsEcho({ ...combo, threshold: 0 });
      const wb = newClient({ strict: true, max_payload_len: BIG, permessageDeflate: { ...combo, threshold: 0 } });
      const r = await wb.connect(srv.url + '/');
      expect(r.err, name(combo)).toBeNull();
      const p = wb.permessageDeflate!;
      expect(p.serverNoContextTakeover, name(combo)).toBe(combo.serverNoContextTakeover);
      expect(p.clientNoContextTakeover, name(combo)).toBe(combo.clientNoContextTakeover);
      expect(p.clientMaxWindowBits, name(combo)).toBe(combo.clientMaxWindowBits ?? 15);
      expect(p.serverMaxWindowBits, name(combo)).toBe(combo.serverMaxWindowBits ?? 15);
      for (const m of messages(COMBOS.indexOf(combo))) {
        await wb.sendBinary(m);
        const back = await recvMessage(wb);
        expect(back.data?.equals(m), name(combo)).toBe(true);
      }
      await wb.close();
      await srv.close();
    }
  });
});

describe('a 1 MiB message through every combination, both directions (property)', () => {
  const ours: Array<{ srv: RunningServer; ws: WebSocket }> = [];
  const theirs: Array<{ srv: { close: () => Promise<void> }; wb: ReturnType<typeof newClient> }> = [];
  beforeAll(async () => {
    for (const combo of PROPERTY_COMBOS) {
      const srv = await ourEcho({ ...combo, threshold: 0 });
      ours.push({ srv, ws: await wsClient(srv.url, { ...combo, threshold: 0 }) });
      const wsSrv = await wsEcho({ ...combo, threshold: 0 });
      const wb = newClient({ strict: true, max_payload_len: BIG, permessageDeflate: { ...combo, threshold: 0 } });
      expect((await wb.connect(wsSrv.url + '/')).err).toBeNull();
      theirs.push({ srv: wsSrv, wb });
    }
  });
  afterAll(async () => {
    for (const o of ours) {
      o.ws.close();
      await o.srv.close();
    }
    for (const t of theirs) {
      await t.wb.close();
      await t.srv.close();
    }
  });

  /** 1 MiB from a seed: runs of a repeated phrase (compressible) between random stretches. */
  const mib = fc.record({ seed: fc.integer(), repeatShare: fc.integer({ min: 0, max: 100 }) }).map(({ seed, repeatShare }) => {
    const out = Buffer.alloc(1 << 20);
    let x = seed >>> 0 || 1;
    const next = (): number => (x = (x ^ (x << 13)) >>> 0, x = (x ^ (x >>> 17)) >>> 0, x = (x ^ (x << 5)) >>> 0);
    const phrase = Buffer.from(`phrase-${seed}-`);
    for (let i = 0; i < out.length;) {
      const run = 1 + (next() % 4096);
      const repeat = next() % 100 < repeatShare;
      for (let j = 0; j < run && i < out.length; j++, i++) out[i] = repeat ? phrase[i % phrase.length]! : next() & 0xff;
    }
    return out;
  });

  // One combination after another. About 15 s on an idle machine; the timeout leaves room for a
  // loaded one (the verdict is the bytes, never the time).
  fcTest.prop([mib], { numRuns: 2, seed: 7692, endOnFailure: true })('round-trips byte-identical', async (message) => {
    for (let i = 0; i < PROPERTY_COMBOS.length; i++) {
      expect((await wsRoundTrip(ours[i]!.ws, message)).equals(message), `ws client -> our server ${name(PROPERTY_COMBOS[i]!)}`).toBe(true);
      const { wb } = theirs[i]!;
      expect((await wb.sendBinary(message)).err).toBeNull();
      const back = await recvMessage(wb);
      expect(back.data?.equals(message), `our client -> ws server ${name(PROPERTY_COMBOS[i]!)}`).toBe(true);
    }
  }, 240_000);
});

// ---------------------------------------------------------------------------------------------
// Frames, bounds and failures over a raw socket.

/** A raw client: handshake with `extensions`, then frames in and out as bytes. */
async function rawClient(port: number, extensions: string | null): Promise<{ sock: net.Socket; response: string; read: () => Promise<Buffer>; ended: Promise<void> }> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  const key = Buffer.alloc(16, 7).toString('base64');
  sock.write(`GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n${extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : ''}\r\n`);
  let buffered = Buffer.alloc(0);
  let wake: (() => void) | null = null;
  sock.on('data', (d) => {
    buffered = Buffer.concat([buffered, d]);
    wake?.();
  });
  const ended = new Promise<void>((r) => sock.once('close', () => {
    r();
    wake?.();
  }));
  const until = async (ok: () => boolean): Promise<void> => {
    while (!ok() && !sock.destroyed) await new Promise<void>((r) => (wake = r));
  };
  await until(() => buffered.includes('\r\n\r\n'));
  const end = buffered.indexOf('\r\n\r\n');
  const response = buffered.subarray(0, end).toString('latin1');
  expect(response).toContain(acceptFor(key));
  buffered = buffered.subarray(end + 4);
  return {
    sock, response, ended,
    // One whole frame (unmasked, from a server), as bytes.
    read: async () => {
      await until(() => buffered.length >= 2);
      const len7 = buffered[1]! & 0x7f;
      const hdr = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      await until(() => buffered.length >= hdr);
      const len = len7 === 126 ? buffered.readUInt16BE(2) : len7 === 127 ? Number(buffered.readBigUInt64BE(2)) : len7;
      await until(() => buffered.length >= hdr + len);
      const frame = buffered.subarray(0, hdr + len);
      buffered = buffered.subarray(hdr + len);
      return frame;
    },
  };
}

/** A masked client frame; `opcode` may carry RSV bits above it (0x40 is RSV1). */
const frame = (fin: boolean, opcode: number, payload: Buffer): Buffer => buildFrame(fin, opcode, payload.length, payload, true).frame!;
const deflated = (data: Buffer): Buffer => {
  const out = zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return out.subarray(0, out.length - 4);
};

/** Our strict server running `handler` on each connection, the results handed out. */
async function serverWith<T>(opts: { permessageDeflate?: PerMessageDeflateOptions | true; max_payload_len?: number }, handler: (ws: WebSocketServer) => Promise<T>): Promise<{ srv: RunningServer; results: T[] }> {
  const results: T[] = [];
  const srv = await createServer({ strict: true, log: false, ...opts, handler: async (ws) => void results.push(await handler(ws)) });
  return { srv, results };
}

async function settled<T>(results: T[], n = 1): Promise<T[]> {
  const t0 = Date.now();
  while (results.length < n && Date.now() - t0 < 15_000) await new Promise((r) => setTimeout(r, 5));
  return results;
}

describe('frames under permessage-deflate', () => {
  it('recvFrame gives each fragment as it inflates ("again" until the last); control frames in between stay plain', async () => {
    const { srv, results } = await serverWith({ permessageDeflate: true }, async (ws) => {
      const got = [];
      for (let i = 0; i < 4; i++) got.push(await ws.recvFrame());
      return got;
    });
    const c = await rawClient(srv.port, 'permessage-deflate');
    expect(c.response).toContain('Sec-WebSocket-Extensions: permessage-deflate');
    const text = Buffer.from('hello hello hello hello compressed world');
    const z = deflated(text);
    c.sock.write(Buffer.concat([frame(false, 0x41, z.subarray(0, 5)), frame(true, 0x9, Buffer.from('p')), frame(false, 0x0, z.subarray(5, 12)), frame(true, 0x0, z.subarray(12))]));
    const [r] = await settled(results);
    expect(r!.map((f) => f.type)).toEqual(['text', 'ping', 'continuation', 'continuation']);
    expect(r!.map((f) => f.err)).toEqual(['again', null, 'again', null]);
    expect(Buffer.concat([r![0]!.data!, r![2]!.data!, r![3]!.data!]).toString()).toBe(text.toString());
    c.sock.destroy();
    await srv.close();
  });

  it('RSV1 on a control or continuation frame fails the connection with 1002; without negotiation RSV1 stays a protocol error', async () => {
    for (const [ext, bytes, err] of [
      ['permessage-deflate', frame(true, 0x49, Buffer.from('p')), DEFLATE_ERRORS.rsv1Control],
      ['permessage-deflate', Buffer.concat([frame(false, 0x1, Buffer.from('a')), frame(true, 0x40, Buffer.from('b'))]), DEFLATE_ERRORS.rsv1Continuation],
      [null, frame(true, 0x41, deflated(Buffer.from('x'))), 'bad RSV1, RSV2, or RSV3 bits'],
      ['permessage-deflate', frame(true, 0x61, deflated(Buffer.from('x'))), 'bad RSV1, RSV2, or RSV3 bits'],
    ] as const) {
      const { srv, results } = await serverWith({ permessageDeflate: true }, async (ws) => {
        for (;;) {
          const f = await ws.recvFrame();
          if (f.data === null) return f.err;
        }
      });
      const c = await rawClient(srv.port, ext);
      c.sock.write(bytes);
      const close = await c.read();
      expect(close.subarray(0, 4), err).toEqual(Buffer.from([0x88, 2, 0x03, 0xea]));
      expect((await settled(results))[0], err).toBe(err);
      c.sock.destroy();
      await srv.close();
    }
  });

  it('corrupt compressed data fails with 1007 and zlib\'s message', async () => {
    const { srv, results } = await serverWith({ permessageDeflate: true }, (ws) => ws.recvFrame());
    const c = await rawClient(srv.port, 'permessage-deflate');
    c.sock.write(frame(true, 0x42, Buffer.from([0xff, 0xff, 0xff, 0xff])));
    expect((await c.read()).subarray(0, 4)).toEqual(Buffer.from([0x88, 2, 0x03, 0xef]));
    expect((await settled(results))[0]!.err).toMatch(/^failed to inflate: /);
    await srv.close();
  });

  it('sends messages below the threshold uncompressed and the rest with RSV1 on the first frame only', async () => {
    const { srv } = await serverWith({ permessageDeflate: { threshold: 100 } }, async (ws) => {
      await ws.sendText('small');
      await ws.sendBinary(Buffer.alloc(100, 'a'));
      await ws.sendPing('p');
      return null;
    });
    const c = await rawClient(srv.port, 'permessage-deflate');
    const small = await c.read();
    const big = await c.read();
    const ping = await c.read();
    expect(small[0]).toBe(0x81);
    expect(small.subarray(2).toString()).toBe('small');
    expect(big[0]).toBe(0xc2);
    expect(zlib.inflateRawSync(Buffer.concat([big.subarray(2), Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH }).equals(Buffer.alloc(100, 'a'))).toBe(true);
    expect(ping[0]).toBe(0x89);
    await srv.close();
  });

  it('keeps the order of sends issued without waiting, compressed or not', async () => {
    const { srv } = await serverWith({ permessageDeflate: { threshold: 10 } }, async (ws) => {
      const sent = [ws.sendText(Buffer.alloc(50000, 'x')), ws.sendText('tiny'), ws.sendPing('p'), ws.sendText(Buffer.alloc(20, 'y'))];
      return Promise.all(sent);
    });
    const c = await rawClient(srv.port, 'permessage-deflate');
    const first = [await c.read(), await c.read(), await c.read(), await c.read()].map((f) => f[0]);
    expect(first).toEqual([0xc1, 0x81, 0x89, 0xc1]);
    await srv.close();
  });
});

describe('bounds', () => {
  it('a message inflating past maxMessageLen fails with 1009 and "inflated message too long", across fragments too', async () => {
    for (const split of [false, true]) {
      const { srv, results } = await serverWith({ permessageDeflate: { maxMessageLen: 1000 } }, async (ws) => {
        for (;;) {
          const f = await ws.recvFrame();
          if (f.data === null) return f.err;
        }
      });
      const c = await rawClient(srv.port, 'permessage-deflate');
      const z = deflated(Buffer.alloc(1001, 'z'));
      c.sock.write(split ? Buffer.concat([frame(false, 0x41, z.subarray(0, 4)), frame(true, 0x0, z.subarray(4))]) : frame(true, 0x41, z));
      expect((await c.read()).subarray(0, 4)).toEqual(Buffer.from([0x88, 2, 0x03, 0xf1]));
      expect((await settled(results))[0]).toBe(DEFLATE_ERRORS.tooLong);
      await srv.close();
    }
  });

  it('exactly maxMessageLen passes', async () => {
    const { srv, results } = await serverWith({ permessageDeflate: { maxMessageLen: 1000 } }, (ws) => ws.recvFrame());
    const c = await rawClient(srv.port, 'permessage-deflate');
    c.sock.write(frame(true, 0x41, deflated(Buffer.alloc(1000, 'z'))));
    expect((await settled(results))[0]!.data!.length).toBe(1000);
    await srv.close();
  });

  it('a zip bomb (1 MiB inflating to 1 GiB) stays under a fixed RSS bound', async () => {
    // The steady-state deflate output of a 1 MiB run of zeros repeats byte for byte once the window
    // is all zeros: the first segment and 1023 copies of the second inflate to 1 GiB.
    const d = zlib.createDeflateRaw({ level: 9 });
    let chunks: Buffer[] = [];
    d.on('data', (c: Buffer) => chunks.push(c));
    const segments: Buffer[] = [];
    for (let i = 0; i < 3; i++) {
      d.write(Buffer.alloc(1 << 20));
      await new Promise<void>((r) => d.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
      segments.push(Buffer.concat(chunks));
      chunks = [];
    }
    d.close();
    expect(segments[1]!.equals(segments[2]!)).toBe(true);
    const bomb = Buffer.concat([segments[0]!, ...Array<Buffer>(1023).fill(segments[1]!)]);
    const payload = bomb.subarray(0, bomb.length - 4);
    expect(payload.length).toBeLessThan(1.1 * 1024 * 1024);

    const { srv, results } = await serverWith({ max_payload_len: 2 << 20, permessageDeflate: { maxMessageLen: 1 << 20 } }, (ws) => ws.recvFrame());
    const c = await rawClient(srv.port, 'permessage-deflate');
    const wire = frame(true, 0x42, payload);
    (globalThis as { gc?: () => void }).gc?.();
    const before = process.memoryUsage().rss;
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
    c.sock.write(wire);
    const [r] = await settled(results);
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(r!.err).toBe(DEFLATE_ERRORS.tooLong);
    expect(peak - before).toBeLessThan(64 * 1024 * 1024);
    await srv.close();
  });
});

describe('the compat profile never negotiates', () => {
  it('createServer refuses the option; acceptWebSocket and connect return the error', async () => {
    await expect(createServer({ permessageDeflate: true, handler: () => {} })).rejects.toThrow(DEFLATE_ERRORS.needsStrict);
    await expect(createServer({ strict: { validateUtf8: true }, permessageDeflate: true, handler: () => {} })).rejects.toThrow(DEFLATE_ERRORS.needsStrict);
    const wb = newClient({ permessageDeflate: true });
    expect(await wb.connect('ws://127.0.0.1:1/')).toEqual({ ok: null, err: DEFLATE_ERRORS.needsStrict, res: null });

    const results: Array<{ err: string | null }> = [];
    const tcp = net.createServer((s) => void acceptWebSocket(s, { permessageDeflate: true }).then((r) => {
      results.push(r);
      s.destroy();
    }));
    await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
    const s = net.connect((tcp.address() as net.AddressInfo).port, '127.0.0.1');
    s.on('error', () => {});
    s.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n');
    expect((await settled(results))[0]!.err).toBe(DEFLATE_ERRORS.needsStrict);
    await new Promise((r) => tcp.close(r));
  });

  it('a server without the option answers no extension, and ws goes on uncompressed', async () => {
    const srv = await createServer({ strict: true, log: false, handler: async (ws) => {
      const m = await recvMessage(ws);
      if (m.data && m.type !== 'close') await ws.sendBinary(m.data);
    } });
    const c = await wsClient(srv.url, true);
    expect(c.extensions).toBe('');
    const m = Buffer.alloc(5000, 'q');
    expect((await wsRoundTrip(c, m)).equals(m)).toBe(true);
    c.close();
    await srv.close();
  });
});

describe('the client refuses a bad response', () => {
  it('fails the connection with the reason and the header', async () => {
    for (const [ext, why] of [
      ['permessage-deflate; client_max_window_bits=16', 'invalid value for parameter "client_max_window_bits": 16'],
      ['permessage-deflate; foo=1', 'unknown parameter "foo"'],
      ['x-webkit-deflate-frame', 'extension not offered: x-webkit-deflate-frame'],
    ]) {
      const tcp = net.createServer((s) => s.once('data', (d) => {
        const key = /Sec-WebSocket-Key: (\S+)/.exec(d.toString())![1]!;
        s.end(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\nSec-WebSocket-Extensions: ${ext}\r\n\r\n`);
      }));
      await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', () => r()));
      const wb = newClient({ strict: true, permessageDeflate: true });
      const r = await wb.connect(`ws://127.0.0.1:${(tcp.address() as net.AddressInfo).port}/`);
      expect(r.err).toBe(DEFLATE_ERRORS.badResponse + why);
      await new Promise((done) => tcp.close(done));
    }
  });

  it('a deflate connection is not kept alive', async () => {
    const srv = await ourEcho(true);
    const wb = newClient({ strict: true, permessageDeflate: true });
    expect((await wb.connect(srv.url + '/')).err).toBeNull();
    expect(wb.setKeepalive(1000, 1)).toEqual({ ok: null, err: 'a permessage-deflate connection cannot be kept alive' });
    await srv.close();
  });
});

describe('the contexts', () => {
  it('release() frees both zlib handles and settles work in progress', async () => {
    const p = new PerMessageDeflate({ serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, settings(), true);
    const z = await p.deflate(Buffer.alloc(10000, 'a'));
    expect(Buffer.isBuffer(z)).toBe(true);
    const pending = p.deflate(Buffer.alloc(1 << 22, 'b'));
    p.release();
    expect(await pending).toEqual({ err: DEFLATE_ERRORS.released, closeCode: 1011 });
    expect(await p.inflate(z as Buffer, true, 1 << 20)).toEqual({ err: DEFLATE_ERRORS.released, closeCode: 1011 });
    expect(p.isReleased).toBe(true);
  });

  it('a message that ends its DEFLATE stream (BFINAL, RFC 7692 §7.2.3.4) is followed by one in a new stream, with or without context takeover', async () => {
    for (const noTakeover of [false, true]) {
      const p = new PerMessageDeflate({ serverNoContextTakeover: false, clientNoContextTakeover: noTakeover, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, settings(), true);
      for (const text of ['Hello', 'Hello again', 'and a third']) {
        // a sender without a sync flush: each message one complete DEFLATE stream, its last block BFINAL
        const got = await p.inflate(zlib.deflateRawSync(Buffer.from(text)), true, 1 << 20);
        expect(Buffer.isBuffer(got) ? got.toString() : got, `noContextTakeover ${noTakeover}`).toBe(text);
      }
      p.release();
    }
  });

  it('with context takeover a repeated message compresses to far less; without, to the same size each time', async () => {
    const sizes = async (noTakeover: boolean): Promise<number[]> => {
      const p = new PerMessageDeflate({ serverNoContextTakeover: noTakeover, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 }, settings(), true);
      const msg = Buffer.from('the same sentence, again and again, with some length to it. '.repeat(8));
      const out = [];
      for (let i = 0; i < 3; i++) out.push(((await p.deflate(msg)) as Buffer).length);
      p.release();
      return out;
    };
    const takeover = await sizes(false);
    const fresh = await sizes(true);
    expect(takeover[1]!).toBeLessThan(takeover[0]! / 3);
    expect(fresh).toEqual([fresh[0], fresh[0], fresh[0]]);
  });
});
