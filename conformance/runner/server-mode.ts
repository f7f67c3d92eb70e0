// Server mode (Autobahn's fuzzingclient): we connect to the server under test, once per case, and
// play the client side of the case.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { once } from 'node:events';
import type { Stream } from 'resty-websocket';
import { failedToStart, runCaseOnStream } from './run-case.js';
import type { CaseResult, ConformanceCase } from './types.js';
import { runTiming } from '../../lab/timing.js';
import { offerString, paramsFromResponse, type DeflateParams } from './deflate.js';

export interface ServerTarget {
  agent: string;
  /** ws:// or wss:// URL of an echo endpoint. */
  url: string;
  /** Extra trusted CA (PEM) for wss. */
  ca?: string;
  timeScale?: number;
}

/** Per-case hard limits (ms): the case's own, else 120 s for the 9.x cases (they may legitimately take long), 15 s. */
export function caseTimeoutFor(kase: ConformanceCase): number {
  if (kase.hardLimitSecs !== undefined) return kase.hardLimitSecs * 1000;
  return kase.id.startsWith('9.') ? 120_000 : 15_000;
}

async function connect(url: URL, ca?: string): Promise<Stream> {
  const port = Number(url.port || (url.protocol === 'wss:' ? 443 : 80));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const stream = url.protocol === 'wss:'
    ? tls.connect({ host, port, ca, rejectUnauthorized: !!ca, servername: net.isIP(host) ? undefined : host })
    : net.connect({ host, port });
  stream.setTimeout(10_000, () => stream.destroy(new StartTimeout('connect timeout')));
  await once(stream, url.protocol === 'wss:' ? 'secureConnect' : 'connect');
  stream.setTimeout(0);
  return stream;
}

/** Performs the opening handshake; returns the response head and any bytes after it. */
/** A wait for the testee that ran out (as opposed to a refusal): the case may be run once more. */
class StartTimeout extends Error {}

/** Autobahn's 5 s opening-handshake wait, scaled, plus the run's measured lag and RTT padding. */
function handshakeWaitMs(timeScale: number): number {
  return Math.round(5000 * timeScale + runTiming.paddingMs());
}

interface Handshake {
  request: string;
  response: string;
  rest: Buffer;
  deflate: DeflateParams | null;
}

/** The value of a response header (the first), or null. */
function responseHeader(response: string, name: string): string | null {
  const lower = name.toLowerCase();
  for (const line of response.split('\r\n').slice(1)) {
    const at = line.indexOf(':');
    if (at > 0 && line.slice(0, at).trim().toLowerCase() === lower) return line.slice(at + 1).trim();
  }
  return null;
}

/** `offers`: the case's permessage-deflate offers (12.x, 13.x), sent in Sec-WebSocket-Extensions. */
async function handshake(stream: Stream, url: URL, timeScale = 1, offers: readonly string[] = []): Promise<Handshake> {
  const key = randomBytes(16).toString('base64');
  const request = [
    `GET ${url.pathname || '/'}${url.search} HTTP/1.1`,
    `Host: ${url.host}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
    'User-Agent: resty-websocket-lab conformance',
    ...(offers.length ? [`Sec-WebSocket-Extensions: ${offers.join(', ')}`] : []),
    '', '',
  ].join('\r\n');
  const sentAt = performance.now();
  stream.write(request);
  let buf = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const waitMs = handshakeWaitMs(timeScale);
    const timer = setTimeout(() => done(new StartTimeout(`no handshake response within ${(waitMs / 1000).toFixed(1)} s`)), waitMs);
    const onData = (d: Buffer): void => {
      buf = Buffer.concat([buf, d]);
      const at = buf.indexOf('\r\n\r\n');
      if (at < 0) return;
      done(null, buf.subarray(0, at + 4).toString('latin1'), buf.subarray(at + 4));
    };
    const onEnd = (): void => done(new Error(`connection closed during the handshake${buf.length ? `: ${buf.toString('latin1').slice(0, 200)}` : ''}`));
    function done(err: Error | null, response = '', rest = Buffer.alloc(0)): void {
      clearTimeout(timer);
      stream.off('data', onData);
      stream.off('close', onEnd);
      stream.off('error', onEnd);
      if (err) reject(err);
      else if (!/^HTTP\/1\.1 101/.test(response)) reject(new Error(`handshake refused: ${response.split('\r\n')[0]}`));
      else {
        runTiming.noteRtt(performance.now() - sentAt);
        // An extension answered without an offer, or an illegal permessage-deflate response, fails
        // the handshake, as Autobahn's client fails it.
        let deflate: DeflateParams | null = null;
        try {
          const ext = responseHeader(response, 'sec-websocket-extensions');
          if (ext !== null && offers.length === 0) throw new Error(`server answered with extensions that were not offered: ${ext}`);
          deflate = paramsFromResponse(ext);
        } catch (e) {
          reject(new Error(`handshake refused by us: ${(e as Error).message}`));
          return;
        }
        resolve({ request, response, rest, deflate });
      }
    }
    stream.on('data', onData);
    stream.on('close', onEnd);
    stream.on('error', onEnd);
  });
}

export async function runCaseAgainstServer(target: ServerTarget, kase: ConformanceCase): Promise<CaseResult> {
  const url = new URL(target.url);
  let stream: Stream;
  try {
    stream = await connect(url, target.ca);
  } catch (e) {
    return failedToStart(kase, target.agent, `could not connect: ${(e as Error).message}`, '', '', e instanceof StartTimeout);
  }
  stream.on('error', () => {});
  let hs: Handshake;
  try {
    hs = await handshake(stream, url, target.timeScale ?? 1, kase.deflate?.offers.map(offerString) ?? []);
  } catch (e) {
    stream.destroy();
    return failedToStart(kase, target.agent, (e as Error).message, '', '', e instanceof StartTimeout);
  }
  stream.pause();
  const result = runCaseOnStream(stream, kase, {
    agent: target.agent, isServer: false, httpRequest: hs.request, httpResponse: hs.response, initial: hs.rest, caseTimeoutMs: caseTimeoutFor(kase) * (target.timeScale ?? 1), timeScale: target.timeScale,
    deflate: hs.deflate,
  });
  stream.resume();
  return result;
}

/**
 * Whether a server testee can be reached at all: connect, opening handshake, close. Null when it
 * can, else one line saying why not (run before its cases, so a dead URL is one clear error
 * instead of 301 case files that each say "could not connect").
 */
export async function probeServer(target: Pick<ServerTarget, 'url' | 'ca'>): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    return `not a URL: ${target.url}`;
  }
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') return `not a ws:// or wss:// URL: ${target.url}`;
  let stream: Stream;
  try {
    stream = await connect(url, target.ca);
  } catch (e) {
    return `cannot connect to ${target.url}: ${(e as Error).message}`;
  }
  stream.on('error', () => {});
  try {
    await handshake(stream, url);
    stream.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
    return null;
  } catch (e) {
    return `no WebSocket handshake with ${target.url}: ${(e as Error).message}`;
  } finally {
    setTimeout(() => stream.destroy(), 200).unref();
  }
}
