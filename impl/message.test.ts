// recvMessage (impl/message.ts) over a real socket pair: reassembly, pings in between, the
// original's errors verbatim, its own caps (strict capMessageSize / capFragments, or options).
import { once } from 'node:events';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_FRAGMENTS, MESSAGE_ERRORS, recvMessage } from './message.js';
import { buildFrame } from './protocol.js';
import { WebSocketServer, type ServerOptions } from './server.js';
import { NodeCosocket } from './socket.js';

async function endpoint(opts: ServerOptions = {}): Promise<{ ws: WebSocketServer; peer: net.Socket; received: () => Buffer; done: () => void }> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const peer = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
  const [b] = (await once(server, 'connection')) as [net.Socket];
  await once(peer, 'connect');
  const got: Buffer[] = [];
  peer.on('data', (d: Buffer) => got.push(d));
  const ws = new WebSocketServer(new NodeCosocket(b, { timeout: 2000 }), opts);
  return { ws, peer, received: () => Buffer.concat(got), done: () => { peer.destroy(); b.destroy(); server.close(); } };
}

const frame = (fin: boolean, opcode: number, payload: string): Buffer => buildFrame(fin, opcode, payload.length, Buffer.from(payload, 'latin1'), true).frame!;
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

describe('recvMessage', () => {
  it('reassembles fragments and answers a ping that arrives in between; pongs are dropped', async () => {
    const { ws, peer, received, done } = await endpoint();
    peer.write(Buffer.concat([frame(false, 0x1, 'ab'), frame(true, 0x9, 'p!'), frame(true, 0xa, 'ignored'), frame(false, 0x0, 'cd'), frame(true, 0x0, 'ef')]));
    const m = await recvMessage(ws);
    expect(m).toEqual({ data: Buffer.from('abcdef'), type: 'text', err: null });
    await settle();
    expect(received().toString('latin1')).toBe('\x8a\x02p!');
    done();
  });

  it('passes a close frame and the original\'s errors through verbatim', async () => {
    const { ws, peer, done } = await endpoint({ max_recv_len: 5 });
    peer.write(Buffer.concat([frame(true, 0x8, '\x03\xe8bye')]));
    expect(await recvMessage(ws)).toEqual({ data: Buffer.from('bye'), type: 'close', err: 1000 });
    peer.write(frame(true, 0x2, 'too long'));
    expect(await recvMessage(ws)).toEqual({ data: null, type: null, err: 'exceeding max payload len' });
    done();
  });

  it('a timeout in the middle of a message loses nothing: the next call goes on', async () => {
    const { ws, peer, done } = await endpoint({ timeout: 80 });
    peer.write(frame(false, 0x2, 'one'));
    expect((await recvMessage(ws)).err).toBe('failed to receive the first 2 bytes: timeout');
    peer.write(frame(true, 0x0, 'two'));
    expect(await recvMessage(ws)).toEqual({ data: Buffer.from('onetwo'), type: 'binary', err: null });
    done();
  });

  it('its own sequencing errors in compat (recv_frame accepts a stray continuation)', async () => {
    const { ws, peer, done } = await endpoint();
    peer.write(frame(true, 0x0, 'stray'));
    expect(await recvMessage(ws)).toEqual({ data: null, type: null, err: MESSAGE_ERRORS.strayContinuation });
    done();
  });

  it('caps a reassembled message (max_message_len): "message too long", and strict fails the connection with 1009', async () => {
    const { ws, peer, received, done } = await endpoint({ strict: { capMessageSize: true, failWithCloseCode: true } });
    peer.write(Buffer.concat([frame(false, 0x1, 'abc'), frame(true, 0x0, 'def')]));
    expect(await recvMessage(ws, { max_message_len: 5 })).toEqual({ data: null, type: null, err: MESSAGE_ERRORS.tooLong });
    expect(await recvMessage(ws)).toMatchObject({ err: MESSAGE_ERRORS.tooLong });
    await settle();
    expect(received().toString('latin1')).toBe('\x88\x02\x03\xf1');
    done();
  });

  it('caps the fragments of one message: strict capFragments uses ws\'s 16384 and closes with 1008', async () => {
    const { ws, peer, received, done } = await endpoint({ strict: { capFragments: true, failWithCloseCode: true } });
    const tiny = frame(false, 0x0, '');
    peer.write(Buffer.concat([frame(false, 0x2, 'x'), ...Array.from({ length: DEFAULT_MAX_FRAGMENTS }, () => tiny)]));
    expect(await recvMessage(ws)).toEqual({ data: null, type: null, err: MESSAGE_ERRORS.tooManyFragments });
    await settle();
    expect(received().toString('latin1')).toBe('\x88\x02\x03\xf0');
    done();
  });

  it('compat has no caps and recv_frame is unchanged (a non-final frame is "again")', async () => {
    const { ws, peer, done } = await endpoint();
    peer.write(Buffer.concat([frame(false, 0x1, 'a'), frame(true, 0x0, 'b')]));
    expect(await ws.recvFrame()).toEqual({ data: Buffer.from('a'), type: 'text', err: 'again' });
    expect(await ws.recvFrame()).toEqual({ data: Buffer.from('b'), type: 'continuation', err: null });
    peer.write(Buffer.concat([frame(false, 0x1, 'a'), ...Array.from({ length: 20 }, () => frame(false, 0x0, 'b')), frame(true, 0x0, 'c')]));
    expect(await recvMessage(ws, {})).toEqual({ data: Buffer.from('a' + 'b'.repeat(20) + 'c'), type: 'text', err: null });
    done();
  });
});

describe('server options read with Lua truthiness', () => {
  it('timeout 0 is passed to settimeout (ngx_lua: the default), send_masked 0 masks (0 is true in Lua)', async () => {
    const { ws, received, done } = await endpoint({ timeout: 0, send_masked: 0 as unknown as boolean });
    expect((ws.socket as NodeCosocket).timeout).toBe(60_000);
    await ws.sendText('m');
    await settle();
    expect(received()[1]! & 0x80).toBe(0x80);
    done();
  });
});
