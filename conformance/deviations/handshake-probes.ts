// Where the original's handshakes depart from RFC 6455 (docs/behaviour.md §7.1, §7.3, §7.4), shown on
// the real library in nginx: raw requests to its server (bytes in, status line and headers out) and
// its client against a server that answers wrongly.
import net from 'node:net';
import { once } from 'node:events';
import { runLuaClient } from '../../lab/peers/lua-api.js';
import type { RunningPeer } from '../../lab/peers/types.js';

export interface HandshakeProbe {
  id: string;
  specItem: number;
  title: string;
  rfc: string;
  rfcRequires: string;
  /** What the probe sends (a request to the Lua server, or the response our fake server gives the Lua client). */
  input: string;
}

export interface HandshakeProbeResult {
  probe: HandshakeProbe;
  /** What the original did: the response head it sent, or the Lua client's connect results. */
  observed: string;
  deviates: boolean;
  error?: string;
}

const KEY = 'x3JJHMbDL1EzLkh9GBhXDw==';
const req = (lines: string[], method = 'GET'): string =>
  [`${method} /echo HTTP/1.1`, 'Host: 127.0.0.1', ...lines].join('\r\n') + '\r\n\r\n';
const GOOD = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13'];

const SERVER_PROBES: Array<HandshakeProbe & { judge: (head: string) => boolean }> = [
  {
    id: 'subprotocol-echoed-whole', specItem: 3, title: 'the server echoes the whole Sec-WebSocket-Protocol value instead of selecting one',
    rfc: 'RFC 6455 §4.2.2', rfcRequires: 'answer with one of the offered subprotocols (or none)',
    input: req([...GOOD, 'Sec-WebSocket-Protocol: chat, superchat']),
    judge: (h) => /\r\nSec-WebSocket-Protocol: chat, superchat\r\n/i.test(h + '\r\n'),
  },
  {
    id: 'key-not-validated', specItem: 4, title: 'a Sec-WebSocket-Key that is not base64 of 16 bytes is accepted',
    rfc: 'RFC 6455 §4.2.1', rfcRequires: 'the key must be a base64-encoded 16-byte value; otherwise answer 400',
    input: req(['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: abc', 'Sec-WebSocket-Version: 13']),
    judge: (h) => h.startsWith('HTTP/1.1 101'),
  },
  {
    id: 'method-not-checked', specItem: 4, title: 'a POST request is upgraded',
    rfc: 'RFC 6455 §4.2.1', rfcRequires: 'the opening handshake must be a GET request',
    input: req(GOOD, 'POST'),
    judge: (h) => h.startsWith('HTTP/1.1 101'),
  },
  {
    id: 'connection-substring', specItem: 4, title: 'Connection is matched as a substring: "xupgradex" passes',
    rfc: 'RFC 6455 §4.2.1', rfcRequires: 'Connection must contain the token "Upgrade"',
    input: req(['Upgrade: websocket', 'Connection: xupgradex', `Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 13']),
    judge: (h) => h.startsWith('HTTP/1.1 101'),
  },
  {
    id: 'no-426', specItem: 4, title: 'an unsupported version gets no 426 and no Sec-WebSocket-Version: the connection is just closed',
    rfc: 'RFC 6455 §4.2.2, §4.4', rfcRequires: 'answer 426 Upgrade Required with Sec-WebSocket-Version: 13',
    input: req(['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Key: ${KEY}`, 'Sec-WebSocket-Version: 8']),
    judge: (h) => !h.startsWith('HTTP/1.1 426'),
  },
];

async function rawExchange(port: number, request: string): Promise<string> {
  const sock = net.connect(port, '127.0.0.1');
  await once(sock, 'connect');
  sock.write(request);
  let buf = Buffer.alloc(0);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 1500);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.includes('\r\n\r\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
    sock.on('error', () => {});
  });
  sock.destroy();
  const text = buf.toString('latin1');
  const at = text.indexOf('\r\n\r\n');
  return at >= 0 ? text.slice(0, at) : text.length ? text : '(connection closed, nothing sent)';
}

/** A one-shot server that answers any request with `response`, for the Lua client probes. */
async function fakeServer(response: string): Promise<{ port: number; close(): void }> {
  const srv = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => s.end(response));
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

const CLIENT_PROBES: Array<HandshakeProbe & { response: string }> = [
  {
    id: 'client-accepts-404', specItem: 1, title: 'the client treats a 404 response as a successful handshake',
    rfc: 'RFC 6455 §4.1', rfcRequires: 'fail the connection unless the status is 101', input: 'HTTP/1.1 404 Not Found\r\n\r\n',
    response: 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n',
  },
  {
    id: 'client-accepts-bad-accept', specItem: 1, title: 'the client accepts a wrong Sec-WebSocket-Accept and no Upgrade header',
    rfc: 'RFC 6455 §4.1', rfcRequires: 'fail the connection when Sec-WebSocket-Accept is not the expected value',
    input: 'HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: bogus\r\n\r\n',
    response: 'HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: bogus\r\n\r\n',
  },
];

export async function runHandshakeProbes(peer: RunningPeer): Promise<HandshakeProbeResult[]> {
  const out: HandshakeProbeResult[] = [];
  const port = Number(new URL(peer.httpUrl).port);
  for (const p of SERVER_PROBES) {
    try {
      const head = await rawExchange(port, p.input);
      out.push({ probe: strip(p), observed: head, deviates: p.judge(head) });
    } catch (e) {
      out.push({ probe: strip(p), observed: '', deviates: false, error: (e as Error).message });
    }
  }
  for (const p of CLIENT_PROBES) {
    const fake = await fakeServer(p.response);
    try {
      const records = await runLuaClient(peer, { steps: [{ op: 'connect', uri: `ws://127.0.0.1:${fake.port}/`, opts: {} }] });
      const ret = records[1]?.ret ?? [];
      const shown = ret.map((v) => (Buffer.isBuffer(v) ? JSON.stringify(v.toString('latin1')) : String(v)));
      out.push({ probe: strip(p), observed: `connect() -> ${shown.join(', ')}`, deviates: ret[0] === 1 });
    } catch (e) {
      out.push({ probe: strip(p), observed: '', deviates: false, error: (e as Error).message });
    } finally {
      fake.close();
    }
  }
  return out;
}

function strip<T extends HandshakeProbe>(p: T): HandshakeProbe {
  return { id: p.id, specItem: p.specItem, title: p.title, rfc: p.rfc, rfcRequires: p.rfcRequires, input: p.input };
}
