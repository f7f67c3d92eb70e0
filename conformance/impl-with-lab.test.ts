// Tests of the reference implementation that need the lab: the client over wss against the lab's
// throwaway PKI, mutual TLS with our server, and the client compared with the real Lua client in
// nginx. They moved here from impl/ so the library's own tests import nothing from the lab.
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import type tls from 'node:tls';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runLuaClient } from '../lab/peers/lua-api.js';
import { nativeUnavailable, startNativePeer } from '../lab/peers/native/index.js';
import type { RunningPeer } from '../lab/peers/types.js';
import { versionAtLeast } from '../lab/peers/types.js';
import { makeTestPki } from '../lab/pki.js';
import type { TestPki } from '../lab/pki.js';
import { newClient } from 'resty-websocket/client';
import { createServer } from 'resty-websocket/server';
import type { RecvResult } from 'resty-websocket';
import { frame, decodeFrames, client, peer, upgrade, closedPort, sleep, cleanupPeers } from '../impl/test-support/raw-peer.js';

afterEach(cleanupPeers);

describe('wss (docs/behaviour.md §5 step 8, cs.t 22-26, 29, 33-36, §7.12)', () => {
  let pki: TestPki;
  let selfSigned: { key: string; cert: string };
  beforeAll(() => {
    pki = makeTestPki();
    const dir = mkdtempSync(join(tmpdir(), 'wslab-selfsigned-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'),
      '-days', '2', '-subj', '/CN=test.com', '-addext', 'subjectAltName=DNS:test.com'], { stdio: 'ignore' });
    selfSigned = { key: readFileSync(join(dir, 'k.pem'), 'utf8'), cert: readFileSync(join(dir, 'c.pem'), 'utf8') };
  });
  const tlsPeer = (extra: tls.TlsOptions = {}) => peer(upgrade, { tls: { key: pki.serverKey, cert: pki.serverCert, ...extra } });

  it('ssl_verify off: connects; frames go through TLS; reuse skips both handshakes (cs.t 22, 26)', async () => {
    const p = await tlsPeer();
    const c = client();
    const url = `wss://127.0.0.1:${p.port}/`;
    expect((await c.connect(url)).res).toMatch(/^HTTP\/1.1 101/);
    await c.sendText('over tls');
    expect(decodeFrames(await p.connections[0]!.waitRest(14))[0]!.payload).toEqual(Buffer.from('over tls'));
    expect(c.setKeepalive()).toEqual({ ok: 1, err: null });
    expect((await c.connect(url)).res).toBe('connection reused');
    p.connections[0]!.socket.write(frame(0x1, 'still tls'));
    expect((await c.recvFrame()).data).toEqual(Buffer.from('still tls'));
    expect(p.accepted).toBe(1);
  });

  it('SNI (compat): the URI host even for an IP literal; host (with its port); server_name first (cs.t 33-36)', async () => {
    const p = await tlsPeer();
    const url = `wss://127.0.0.1:${p.port}/`;
    await client().connect(url);
    await client().connect(url, { host: 'test.com' });
    await client().connect(url, { host: 'test.com:8443' });
    await client().connect(url, { server_name: 'test.com' });
    await client().connect(url, { server_name: 'test.com', host: 'client.test' });
    await p.connection(4);
    expect(p.connections.map((c) => [c.servername, c.header('host')])).toEqual([
      ['127.0.0.1', `127.0.0.1:${p.port}`],
      ['test.com', 'test.com'],
      ['test.com:8443', 'test.com:8443'],
      ['test.com', `127.0.0.1:${p.port}`],
      ['test.com', 'client.test'],
    ]);
  });

  it('§7.12 strictSni: no SNI for IP literals, never a port', async () => {
    const p = await tlsPeer();
    const url = `wss://127.0.0.1:${p.port}/`;
    await client({ strict: { strictSni: true } }).connect(url);
    await client({ strict: { strictSni: true } }).connect(url, { host: 'test.com:8443' });
    await p.connection(1);
    expect(p.connections.map((c) => c.servername)).toEqual([false, 'test.com']);
  });

  it('strictSni still verifies an IP literal, against the IP SANs (RFC 6125), e.g. 127.0.0.1', async () => {
    const p = await tlsPeer();
    const strict = (names?: string[]) => client({ strict: { strictSni: true }, trustedCa: pki.caCert }).connect(`wss://127.0.0.1:${p.port}/`, { ssl_verify: true, ...(names ? { server_name: names[0] } : {}) });
    expect((await strict()).ok).toBe(1);
    expect((await strict(['nomatch.example'])).err).toBe('ssl handshake failed: certificate host mismatch');
    // a trusted certificate without the IP: compat (SNI "127.0.0.1") and strict (no SNI) both check the address
    const self = await peer(upgrade, { tls: selfSigned });
    const url = `wss://127.0.0.1:${self.port}/`;
    expect((await client({ trustedCa: selfSigned.cert }).connect(url, { ssl_verify: true })).err).toBe('ssl handshake failed: certificate host mismatch');
    expect((await client({ trustedCa: selfSigned.cert, strict: { strictSni: true } }).connect(url, { ssl_verify: true })).err).toBe('ssl handshake failed: certificate host mismatch');
    expect((await client({ trustedCa: selfSigned.cert, strict: { strictSni: true } }).connect(url, { ssl_verify: true, server_name: 'test.com' })).ok).toBe(1);
  });

  it('ssl_verify: trusted CA passes (cs.t 24); unknown CA, self-signed and name mismatch fail (cs.t 25)', async () => {
    const p = await tlsPeer();
    const url = `wss://127.0.0.1:${p.port}/`;
    expect((await client({ trustedCa: pki.caCert }).connect(url, { ssl_verify: true, server_name: 'test.com' })).ok).toBe(1);
    // nginx checks names with X509_check_host: the SNI "127.0.0.1" never matches, not even the IP SAN
    expect((await client({ trustedCa: pki.caCert }).connect(url, { ssl_verify: true })).err).toBe('ssl handshake failed: certificate host mismatch');
    expect((await client({ trustedCa: pki.caCert }).connect(url, { ssl_verify: true, host: 'localhost' })).ok).toBe(1);
    // OpenSSL ignores a wildcard with fewer than two dots after it: "*.test" does not cover any.test
    expect((await client({ trustedCa: pki.caCert }).connect(url, { ssl_verify: true, server_name: 'any.test' })).err).toBe('ssl handshake failed: certificate host mismatch');
    expect((await client({ trustedCa: pki.caCert }).connect(url, { ssl_verify: true, server_name: 'client.test' })).ok).toBe(1);
    expect((await client({ trustedCa: pki.caCert }).connect(url, { ssl_verify: true, host: 'test.com:8443' })).err).toBe('ssl handshake failed: certificate host mismatch');
    expect((await client().connect(url, { ssl_verify: true })).err).toBe('ssl handshake failed: 21: unable to verify the first certificate'); // OpenSSL's code for a lone leaf with an unknown issuer
    expect((await client({ trustedCa: pki.caCert }).connect(url, { ssl_verify: true, server_name: 'other.example' })).err).toBe('ssl handshake failed: certificate host mismatch');
    const self = await peer(upgrade, { tls: selfSigned });
    expect((await client().connect(`wss://127.0.0.1:${self.port}/`, { ssl_verify: true, server_name: 'test.com' })).err).toBe('ssl handshake failed: 18: self-signed certificate');
    expect((await client().connect(`wss://127.0.0.1:${self.port}/`, { ssl_verify: false })).ok).toBe(1);
  });

  it('"ssl handshake failed: handshake failed" against a plain-text port', async () => {
    const accepted: net.Socket[] = [];
    const plain = net.createServer((s) => {
      accepted.push(s);
      s.end('HTTP/1.1 400 Bad Request\r\n\r\n');
    });
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    const c = client();
    const r = await c.connect(`wss://127.0.0.1:${(plain.address() as net.AddressInfo).port}/`);
    for (const s of accepted) s.destroy();
    await new Promise((done) => plain.close(done));
    expect(r.err).toBe('ssl handshake failed: handshake failed');
  });

  it('mutual TLS with client_cert + client_priv_key (cs.t 29); bad material is reported', async () => {
    const p = await tlsPeer({ requestCert: true, rejectUnauthorized: true, ca: pki.caCert });
    const url = `wss://127.0.0.1:${p.port}/`;
    const r = await client().connect(url, { client_cert: pki.clientCert, client_priv_key: pki.clientKey });
    expect(r.ok).toBe(1);
    expect(p.connections[0]!.clientCn).toBe('wslab-client');
    expect((await client().connect(url, { client_cert: pki.clientCert })).err).toBe('client_priv_key must be provided with client_cert');
    expect((await client().connect(url, { client_cert: 'garbage', client_priv_key: pki.clientKey })).err).toMatch(/^failed to set TLS client certificate: ./);
  });
});

// Differential check against the real resty.websocket.client running in nginx (the installed copy:
// Debian's 0.08 unless RESTY_WEBSOCKET_LIB names another). Only what that version shares with
// v0.12 is compared; 0.08 has no Unix-socket URIs and no third return value (docs/behaviour.md §9).
const nginxMissing = nativeUnavailable();

describe.skipIf(nginxMissing !== null)('against the real Lua client in nginx', () => {
  let lua: RunningPeer & { stop(): Promise<void> };
  let capture: net.Server;
  let capturePort = 0;
  let replies: string[] = [];
  const requests: Buffer[] = [];
  const held = new Set<net.Socket>();
  beforeAll(async () => {
    lua = await startNativePeer();
    capture = net.createServer((sock) => {
      held.add(sock);
      sock.on('close', () => held.delete(sock));
      sock.on('error', () => {});
      let buf = Buffer.alloc(0);
      sock.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        // give a stray CRLF the time to arrive, then answer
        setTimeout(() => {
          requests.push(buf);
          const reply = replies.shift() ?? 'blah';
          if (reply === 'blah') sock.end(reply);
          else sock.write(reply);
        }, 50);
      });
    });
    await new Promise<void>((r) => capture.listen(0, '127.0.0.1', r));
    capturePort = (capture.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    await lua?.stop();
    for (const sock of held) sock.destroy();
    await new Promise((r) => capture?.close(r));
  });

  async function both(uri: string, opts: Record<string, unknown>, reply?: string) {
    requests.length = 0;
    replies = reply === undefined ? [] : [reply];
    const recs = await runLuaClient(lua, { steps: [{ op: 'randomseed', seed: 0 }, { op: 'connect', uri, opts }] });
    const theirs = recs[recs.length - 1]!;
    const theirErr = theirs.luaError ?? (Buffer.isBuffer(theirs.ret[1]) ? theirs.ret[1].toString('latin1') : null);
    const theirReq = requests[0] ?? null;
    requests.length = 0;
    replies = reply === undefined ? [] : [reply];
    // The key math.randomseed(0) gives the Lua client, unless the case passes its own (`{ key: 1 }`).
    const ours = await client({ resolver: false }).connect(uri, { key: 'y7KXwBSpVrxtkR0O+bQt+Q==', ...opts });
    await sleep(80);
    return { theirErr, ourErr: ours.err, theirReq, ourReq: requests[0] ?? null };
  }

  it('sends byte-identical requests (math.randomseed(0) gives the key we pass)', async () => {
    const base = `ws://127.0.0.1:${capturePort}`;
    const cases: Array<[string, Record<string, unknown>]> = [
      [`${base}/s`, { protocols: 'json' }],
      [`${base}/s`, { protocols: ['xml', 'json'], origin: 'test.com' }],
      [`${base}/s`, { headers: ['X-A: 1', 'X-B: 2'] }],
      [`${base}/s`, { headers: [] }],
      [`${base}?x=1#frag`, {}],
      [`${base}:abc/`, {}],
      [`ws://127.0.0.1:0${capturePort}/p`, {}],
    ];
    for (const [uri, opts] of cases) {
      const r = await both(uri, opts);
      expect(r.theirReq).not.toBeNull();
      expect(r.ourReq?.toString('latin1')).toBe(r.theirReq!.toString('latin1'));
      expect(r.ourErr).toBe(r.theirErr);
    }
  });

  it('gives identical connect errors', async () => {
    const closed = await closedPort();
    const cases: Array<[string, Record<string, unknown>, string?]> = [
      ['WS://127.0.0.1/', {}], ['ws:///p', {}], ['ws://[::1]:80/', {}], ['ws://user:pw@host/', {}],
      ['ws://127.0.0.1:99999/', {}], ['ws://h?x=1', {}], [`ws://127.0.0.1:${closed}/`, {}],
      [`ws://127.0.0.1:${closed}/`, { headers: 'x' }], [`ws://127.0.0.1:${closed}/`, { protocols: 'a', headers: 7 }],
      [`ws://127.0.0.1:${capturePort}/`, {}, 'HTTP/1.0 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n'],
      [`ws://127.0.0.1:${capturePort}/`, {}, 'HTTP/1.1 404 Not Found\r\n\r\n'],
      [`ws://127.0.0.1:${capturePort}/`, {}, '\r\n  HTTP/1.1 200 OK\r\n\r\n'],
      [`ws://127.0.0.1:${capturePort}/`, {}, 'blah'],
    ];
    if (versionAtLeast(lua.lib.clientVersion, '0.12')) {
      cases.push(['ws://unix:/nonexistent.sock', {}], ['ws://h/unix:foo', {}], [`ws://127.0.0.1:${closed}/`, { host: 1 }], [`ws://127.0.0.1:${closed}/`, { key: 1 }]);
    }
    const diffs: string[] = [];
    for (const [uri, opts, reply] of cases) {
      const r = await both(uri, opts, reply);
      if (r.ourErr !== r.theirErr) diffs.push(`${uri} ${JSON.stringify(opts)}: lua ${JSON.stringify(r.theirErr)} ours ${JSON.stringify(r.ourErr)}`);
    }
    expect(diffs).toEqual([]);
  });
});

describe('createServer with our client, over ws and wss', () => {
  it('echoes over wss with mutual TLS', async () => {
    const pki = makeTestPki();
    const srv = await createServer({
      tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, requestCert: true },
      handler: async (ws) => {
        const r = await ws.recvFrame();
        if (r.data) await ws.sendText(Buffer.concat([Buffer.from('echo: '), r.data]));
      },
    });
    const client = newClient({ trustedCa: pki.caCert });
    const conn = await client.connect(`${srv.url}/`, { ssl_verify: true, server_name: 'test.com', client_cert: pki.clientCert, client_priv_key: pki.clientKey });
    expect(conn.err).toBeNull();
    await client.sendText('hi');
    const echoed: RecvResult = await client.recvFrame();
    expect({ ...echoed, data: echoed.data?.toString() ?? null }).toEqual({ data: 'echo: hi', type: 'text', err: null });
    await client.close();
    await srv.close();
  });
});
