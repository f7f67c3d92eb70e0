// Our server playing the scripted-server role: one listener per run, which performs the handshake
// with the scenario's options and runs its steps on the first connection. Like
// fixtures/lua/wslab/scripted_server.lua it records new()'s result (a failed handshake is
// `new -> nil, err`, then the connection is closed like the README's ngx.exit(444)), and answers
// the server-only steps `request_head` (the request bytes as received) and `tls_info` (the SNI).
import net from 'node:net';
import tls from 'node:tls';
import { makeTestPki } from './pki.js';
import type { LuaRet, Step, StepRecord } from './peers/lua-api.js';
import { acceptWebSocket, type ServerOptions } from 'resty-websocket/server';
import { runTsStep, type StepTarget } from './ts-steps.js';

export interface TsScriptedServer {
  /** ws://127.0.0.1:port or wss://... */
  url: string;
  /** Resolves with the step records once the steps have run. */
  records: Promise<StepRecord[]>;
  /** Whether a client connection reached the handshake (the steps run on that connection). */
  readonly connected: boolean;
  /** Resolves once the scenario's connection has closed (the server's side is gone). */
  readonly finished: Promise<void>;
  close(): Promise<void>;
}

/** The request head in `bytes` (up to, not including, the empty line), as nginx's raw_header minus the blank line. */
export function requestHeadOf(bytes: Buffer): Buffer | null {
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== 0x0a) continue;
    // an empty line: LF LF or LF CR LF
    if (bytes[i + 1] === 0x0a) return trimEol(bytes.subarray(0, i + 1));
    if (bytes[i + 1] === 0x0d && bytes[i + 2] === 0x0a) return trimEol(bytes.subarray(0, i + 1));
  }
  return null;
}

function trimEol(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && (b[end - 1] === 0x0a || b[end - 1] === 0x0d)) end--;
  return Buffer.from(b.subarray(0, end));
}

export interface TsScriptedServerOptions {
  opts: Record<string, unknown>;
  steps: Step[];
  /** wss with the lab CA's server certificate (true), with the self-signed one no one trusts ('self-signed', cs.t 25), or ws (false). */
  tls: boolean | 'self-signed';
  requireClientCert: boolean;
  /** Wraps our server object before the steps run (the session diff's tests plant divergences with it). */
  wrap?: (ws: StepTarget) => StepTarget;
}

/** Where the scenario's step records go: resolved as soon as the steps have run, before the socket closes. */
interface RecordsSink {
  resolve(r: StepRecord[]): void;
  reject(e: Error): void;
}

/** Every byte `stream` receives, up to 64 KiB, for request_head (acceptWebSocket reads the head itself). */
function teeReceived(stream: net.Socket): { head: () => LuaRet; stop: () => void } {
  const seen: Buffer[] = [];
  let seenLen = 0;
  const tee = (d: Buffer): void => {
    seen.push(d);
    seenLen += d.length;
    if (seenLen > 64 * 1024) stream.off('data', tee);
  };
  stream.on('data', tee);
  return { head: () => requestHeadOf(Buffer.concat(seen)), stop: () => stream.off('data', tee) };
}

/** The handshake with the scenario's options, then its steps, on the scenario's connection. */
async function runScenario(stream: net.Socket, opts: TsScriptedServerOptions, sink: RecordsSink): Promise<void> {
  const received = teeReceived(stream);
  const sni = (): LuaRet => {
    const name = (stream as tls.TLSSocket).servername;
    return typeof name === 'string' && name ? Buffer.from(name, 'latin1') : null;
  };
  const out: StepRecord[] = [];
  // The scenario's server options as the Lua server gets them (odd types on purpose): not checked here.
  const r = await acceptWebSocket(stream, opts.opts as ServerOptions);
  received.stop();
  if (r.server === null) {
    // No request head, or one nginx itself refuses: nginx never runs the location, nothing to record.
    if (r.request !== null) out.push({ op: 'new', ret: [null, Buffer.from(r.err, 'latin1')] });
    stream.destroySoon?.();
    stream.end();
    sink.resolve(out);
    return;
  }
  const ws = r.server;
  // Step arguments are Lua-like values, odd types included on purpose (the Lua server gets the
  // same ones), so the server goes through the loosely typed StepTarget, not its own types.
  const target = opts.wrap ? opts.wrap(ws as unknown as StepTarget) : (ws as unknown as StepTarget);
  out.push({ op: 'new', ret: [true, null] });
  try {
    for (const step of opts.steps) {
      if (step.op === 'request_head') out.push({ op: step.op, ret: [received.head()], state: { fatal: ws.fatal, closed: ws.closed } });
      else if (step.op === 'tls_info') out.push({ op: step.op, ret: [sni()], state: { fatal: ws.fatal, closed: ws.closed } });
      else out.push(await runTsStep(target, step));
    }
    sink.resolve(out);
  } catch (e) {
    sink.reject(e as Error);
  } finally {
    await ws.socket?.close();
  }
}

/** A plain or TLS listener (as `opts.tls` asks) on a free port of 127.0.0.1; `secure`: it speaks TLS. */
async function listenScripted(opts: TsScriptedServerOptions, onConnection: (stream: net.Socket) => void): Promise<{ server: net.Server; port: number; secure: boolean }> {
  const pki = opts.tls ? makeTestPki() : null;
  const pair = opts.tls === 'self-signed' ? { cert: pki!.selfSignedCert, key: pki!.selfSignedKey } : pki ? { cert: pki.serverCert, key: pki.serverKey } : null;
  const server = pair
    ? tls.createServer({ ...pair, ca: pki!.caCert, requestCert: opts.requireClientCert, rejectUnauthorized: opts.requireClientCert }, onConnection)
    : net.createServer(onConnection);
  server.on('tlsClientError', () => {});
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(0, '127.0.0.1', () => res());
  });
  return { server, port: (server.address() as net.AddressInfo).port, secure: pki !== null };
}

export async function startTsScriptedServer(opts: TsScriptedServerOptions): Promise<TsScriptedServer> {
  let resolve!: (r: StepRecord[]) => void;
  let reject!: (e: Error) => void;
  const records = new Promise<StepRecord[]>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  records.catch(() => {});
  let endResolve!: () => void;
  const finished = new Promise<void>((r) => (endResolve = r));
  let handled = false;
  const sockets = new Set<net.Socket>();
  const onConnection = (stream: net.Socket): void => {
    sockets.add(stream);
    stream.on('error', () => {});
    if (handled) {
      stream.on('close', () => sockets.delete(stream));
      return; // only the scenario's connection runs the steps
    }
    handled = true;
    stream.on('close', () => {
      sockets.delete(stream);
      endResolve();
    });
    runScenario(stream, opts, { resolve, reject }).catch((e) => {
      reject(e as Error);
      stream.destroy();
    });
  };
  const listening = await listenScripted(opts, onConnection);
  const { server } = listening;
  return {
    url: `${listening.secure ? 'wss' : 'ws'}://127.0.0.1:${listening.port}`,
    records,
    get connected() {
      return handled;
    },
    finished,
    close: () =>
      new Promise<void>((res) => {
        for (const s of sockets) s.destroy();
        server.close(() => res());
      }),
  };
}
