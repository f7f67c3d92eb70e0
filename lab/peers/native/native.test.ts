import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nativeUnavailable, startNativePeer } from './index.js';
import { resolveLuaLib } from '../../lua-lib.js';
import { needsLibVersion } from '../index.js';
import { registerLuaServer, runLuaClient } from '../lua-api.js';
import type { RunningPeer } from '../types.js';
import { buildFrame, FrameDecoder } from 'resty-websocket/protocol';

const why = nativeUnavailable();

/** A raw client (plain, or over a TLS socket already connected): handshake, then frames out and in. */
async function rawSession(port: number, path: string, frames: Buffer[], expectFrames: number, over?: tls.TLSSocket): Promise<{ head: string; frames: ReturnType<FrameDecoder['next']>[] }> {
  const sock = over ?? net.connect(port, '127.0.0.1');
  if (!over) await once(sock, 'connect');
  sock.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: chat\r\n\r\n`);
  let buf = Buffer.alloc(0);
  let head = '';
  const dec = new FrameDecoder({ maxPayloadLen: 1 << 24, forceMasking: false });
  const got: ReturnType<FrameDecoder['next']>[] = [];
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 3000);
    sock.on('data', (d: Buffer) => {
      if (!head) {
        buf = Buffer.concat([buf, d]);
        const at = buf.indexOf('\r\n\r\n');
        if (at < 0) return;
        head = buf.subarray(0, at).toString();
        for (const f of frames) sock.write(f);
        d = buf.subarray(at + 4);
      }
      dec.push(Buffer.from(d));
      for (let r = dec.next(); r; r = dec.next()) got.push(r);
      if (got.length >= expectFrames) { clearTimeout(timer); resolve(); }
    });
    sock.on('close', () => { clearTimeout(timer); resolve(); });
  });
  sock.destroy();
  return { head, frames: got };
}

const masked = (fin: boolean, op: number, payload: string | Buffer): Buffer => {
  const p = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return buildFrame(fin, op, p.length, p, true).frame!;
};

describe.skipIf(why !== null)('native peer (nginx + the real lua-resty-websocket)', () => {
  let peer: RunningPeer;
  beforeAll(async () => {
    peer = await startNativePeer();
  });
  afterAll(async () => {
    await peer?.stop();
  });

  it('reports the loaded library version and ngx_lua version', () => {
    expect(peer.lib.protocolVersion).toMatch(/^0\.\d+$/);
    expect(peer.lib.serverVersion).toBe(peer.lib.protocolVersion);
    expect(peer.lib.ngxLuaVersion).toBeGreaterThanOrEqual(10000);
    expect(peer.wsUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
  });

  it('answers the sanity.t handshake with the Accept of docs/behaviour.md §4.10 and echoes frames', async () => {
    const port = Number(new URL(peer.httpUrl).port);
    const s = await rawSession(port, '/echo', [masked(true, 1, 'foo'), masked(true, 9, 'hi'), masked(true, 8, Buffer.from([0x03, 0xe8, 0x79]))], 3);
    expect(s.head).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
    expect(s.head).toContain('Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=');
    expect(s.head).toContain('Sec-WebSocket-Protocol: chat');
    expect(s.frames.map((f) => [f!.type, f!.data?.toString(), f!.err])).toEqual([['text', 'foo', null], ['pong', 'hi', null], ['close', 'y', 1000]]);
  });

  it('runs scripted server steps and reports every return value and the fatal flag', async () => {
    const port = Number(new URL(peer.httpUrl).port);
    const script = await registerLuaServer(peer, { opts: { max_payload_len: 10 }, steps: [{ op: 'recv_frame' }, { op: 'recv_frame' }, { op: 'send_text', payload: 'x' }] });
    expect(await script.results(0)).toEqual({ done: false, claimed: false, records: [] });
    await rawSession(port, script.path, [masked(true, 1, 'hello'), masked(true, 1, 'this is too long')], 0);
    const { done, claimed, records } = await script.results();
    expect([done, claimed]).toEqual([true, true]);
    expect(records.map((r) => r.op)).toEqual(['new', 'recv_frame', 'recv_frame', 'send_text']);
    expect(records[1]!.ret).toEqual([Buffer.from('hello'), Buffer.from('text'), null]);
    expect(records[2]!.ret).toEqual([null, null, Buffer.from('exceeding max payload len')]);
    expect(records[2]!.state).toEqual({ fatal: true, closed: false });
    expect(records[3]!.ret).toEqual([null, Buffer.from('fatal error already happened')]);
  });

  it('runs the real client against its own echo server', async () => {
    const records = await runLuaClient(peer, {
      steps: [
        { op: 'connect', uri: `${peer.wsUrl}/echo` },
        { op: 'send_text', payload: 'hello' },
        { op: 'recv_frame' },
        { op: 'send_close', code: 1000, msg: 'bye' },
        { op: 'recv_frame' },
        { op: 'send_text', payload: 'after close' },
      ],
    });
    expect(records[1]!.ret[0]).toBe(1);
    expect(records[2]!.ret).toEqual([11, null]);
    expect(records[3]!.ret).toEqual([Buffer.from('hello'), Buffer.from('text'), null]);
    expect(records[5]!.ret).toEqual([Buffer.from('bye'), Buffer.from('close'), 1000]);
    expect(records[6]!.ret).toEqual([null, Buffer.from('already closed')]);
  });

  it('serves a self-signed certificate no one trusts on its own TLS port, with only the scripted server there', async () => {
    const port = Number(new URL(peer.wssSelfSignedUrl).port);
    expect(peer.wssSelfSignedUrl).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    expect([Number(new URL(peer.wssUrl).port), Number(new URL(peer.httpUrl).port)]).not.toContain(port);
    const open = async (): Promise<tls.TLSSocket> => {
      const t = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca: peer.caPem, rejectUnauthorized: false });
      await once(t, 'secureConnect');
      return t;
    };
    const probe = await open();
    const cert = new X509Certificate(probe.getPeerCertificate().raw);
    expect([probe.authorized, probe.authorizationError]).toEqual([false, 'DEPTH_ZERO_SELF_SIGNED_CERT']);
    expect(cert.issuer).toBe(cert.subject);
    // Not the other endpoints: /health is nginx's 404 there.
    probe.write('GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n');
    const chunks: Buffer[] = [];
    probe.on('data', (d: Buffer) => chunks.push(d));
    await once(probe, 'end');
    expect(Buffer.concat(chunks).toString().split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
    // The scripted server runs there, registered on the plain port.
    const script = await registerLuaServer(peer, { steps: [{ op: 'recv_frame' }] });
    const s = await rawSession(port, script.path, [masked(true, 1, 'over a self-signed certificate')], 0, await open());
    expect(s.head).toMatch(/^HTTP\/1\.1 101 Switching Protocols/);
    const { records } = await script.results();
    expect(records.map((r) => r.ret)).toEqual([[true, null], [Buffer.from('over a self-signed certificate'), Buffer.from('text'), null]]);
  });

  it('skips v0.12-only features with a reason on older libraries', () => {
    const reason = needsLibVersion(peer, '0.12', 'max_recv_len');
    if (peer.lib.clientVersion === '0.08') expect(reason).toBe('needs lua-resty-websocket 0.12+ (max_recv_len); the peer runs 0.08');
    else expect(reason).toBeNull();
  });

  it('loads another copy of the library from RESTY_WEBSOCKET_LIB and reports its _VERSION', async () => {
    // A lib/ folder in the resty.websocket layout, made from the run's library files (Debian's, or
    // RESTY_WEBSOCKET_LIB's in either layout) with a _VERSION of its own.
    const debian = resolveLuaLib().lib!;
    const lib = mkdtempSync(join(tmpdir(), 'wslab-lib-'));
    mkdirSync(join(lib, 'resty', 'websocket'), { recursive: true });
    const { readFileSync } = await import('node:fs');
    for (const m of ['protocol', 'client', 'server']) {
      const src = readFileSync(join(debian.dir, `${m}.lua`), 'utf8').replaceAll('nginx.websocket.', 'resty.websocket.').replace(/_VERSION = '[^']*'/, "_VERSION = '0.99'");
      writeFileSync(join(lib, 'resty', 'websocket', `${m}.lua`), src);
    }
    const other = await startNativePeer({ luaLib: lib });
    try {
      expect(other.lib.clientVersion).toBe('0.99');
      expect(other.lib.source).toBe(lib);
    } finally {
      await other.stop();
    }
  });

  it('says what to install when the library folder is wrong', () => {
    expect(resolveLuaLib({ luaLib: '/nonexistent' }).err).toMatch(/not a lua-resty-websocket lib\/ folder/);
  });
});
