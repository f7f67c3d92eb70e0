// The liveness probe of `wslab fuzz --url`: after a session, a fresh connection must complete the
// opening handshake and answer a ping with its pong (or echo a text message) within a bound. A
// refused connection, a reset, or a close before the answer is "down"; silence past the bound is
// "hung". The bound comes from the probes measured before the campaign (its lag), never a guess.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { acceptFor } from 'resty-websocket';
import type { RawTarget } from '../../lab/session/raw-peers.js';
import { encodeFrame } from '../../lab/wire.js';
import { decodeServerFrames } from './judge.js';

export type ProbeMode = 'ping' | 'echo' | 'none';

export type ProbeResult = { ok: true; ms: number } | { ok: false; kind: 'down' | 'hung'; what: string; ms: number };

/** One probe: handshake, then a ping (pong with the same payload) or a text (the same text back), then a clean close. */
export async function probeOnce(target: RawTarget, path: string, hostHeader: string, mode: Exclude<ProbeMode, 'none'>, boundMs: number): Promise<ProbeResult> {
  const t0 = Date.now();
  const key = randomBytes(16).toString('base64');
  const token = Buffer.from(`wslab-probe-${randomBytes(4).toString('hex')}`);
  return new Promise<ProbeResult>((resolve) => {
    let stage: 'connect' | 'handshake' | 'answer' = 'connect';
    let buf = Buffer.alloc(0);
    let headLen = -1;
    let settled = false;
    const sock: net.Socket = target.tls
      ? tls.connect({ host: target.host, port: target.port, ...(target.tls.ca ? { ca: target.tls.ca } : {}), rejectUnauthorized: !target.tls.insecure, ...(net.isIP(target.host) ? {} : { servername: target.tls.servername ?? target.host }) })
      : net.connect({ host: target.host, port: target.port });
    const done = (r: ProbeResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (r.ok) {
        // A clean close: the service must not log our leaving as an error.
        sock.end(encodeFrame({ fin: true, rsv: 0, opcode: 8, maskKey: randomBytes(4), payload: Buffer.from([0x03, 0xe8]) }));
        setTimeout(() => sock.destroy(), 200).unref();
      } else sock.destroy();
      resolve(r);
    };
    const fail = (kind: 'down' | 'hung', what: string): void => done({ ok: false, kind, what, ms: Date.now() - t0 });
    const timer = setTimeout(() => fail('hung', `no ${stage === 'connect' ? 'connection' : stage === 'handshake' ? '101 response' : mode === 'ping' ? 'pong' : 'echo'} within ${boundMs} ms`), boundMs);
    sock.once(target.tls ? 'secureConnect' : 'connect', () => {
      stage = 'handshake';
      sock.write(`GET ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    });
    sock.on('error', (e: NodeJS.ErrnoException) => fail('down', `${stage}: ${e.code ?? e.message}`));
    sock.on('close', () => fail('down', `the service closed the connection before the ${stage === 'answer' ? (mode === 'ping' ? 'pong' : 'echo') : '101 response'}`));
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (headLen < 0) {
        const i = buf.indexOf('\r\n\r\n');
        if (i < 0) return;
        headLen = i + 4;
        const head = buf.subarray(0, i).toString('latin1');
        const status = head.split('\r\n')[0] ?? '';
        if (!/^HTTP\/1\.1 101/.test(status)) return fail('down', `answered "${status.slice(0, 80)}" instead of 101`);
        if (!new RegExp(`\\r\\nsec-websocket-accept:[ \\t]*${acceptFor(key).replace(/[+/=]/g, '\\$&')}`, 'i').test(head)) return fail('down', 'a 101 without the right Sec-WebSocket-Accept');
        stage = 'answer';
        sock.write(encodeFrame({ fin: true, rsv: 0, opcode: mode === 'ping' ? 9 : 1, maskKey: randomBytes(4), payload: token }));
      }
      const { frames } = decodeServerFrames(buf.subarray(headLen));
      for (const f of frames) {
        if (f.opcode === (mode === 'ping' ? 0xa : 1) && f.payload.equals(token)) return done({ ok: true, ms: Date.now() - t0 });
        if (f.opcode === 8) return fail('down', `a close frame (${f.hex}) instead of the ${mode === 'ping' ? 'pong' : 'echo'}`);
      }
    });
  });
}

/**
 * The verdict after a session: a failed probe is tried once more (silence with twice the bound), so
 * one slow answer on a loaded machine is not a finding; the second result decides.
 */
export async function probeVerdict(target: RawTarget, path: string, hostHeader: string, mode: Exclude<ProbeMode, 'none'>, boundMs: number): Promise<ProbeResult & { first?: ProbeResult }> {
  const first = await probeOnce(target, path, hostHeader, mode, boundMs);
  if (first.ok) return first;
  const second = await probeOnce(target, path, hostHeader, mode, boundMs * 2);
  return second.ok ? second : { ...second, first };
}

/** The bound: at least `floorMs`, and 20 times the median baseline probe (the lag measured here; the first connection of a run is often a cold outlier). */
export function probeBound(baselineMs: number[], floorMs: number): number {
  const sorted = [...baselineMs].sort((a, b) => a - b);
  return Math.max(floorMs, 20 * Math.max(1, sorted[Math.floor(sorted.length / 2)] ?? 1));
}
