// What every running peer is, whichever backend started it or recorded it: nginx answering on
// 127.0.0.1 at its three ports (plain, TLS, self-signed TLS), a /health endpoint, an error log.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { LuaLibraryInfo, PeerAddress, RunningPeer } from './types.js';

export async function httpGet(url: string, timeoutMs = 2000): Promise<{ status: number; body: string } | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    return { status: res.status, body: await res.text() };
  } catch {
    return null;
  }
}

/** The last `maxBytes` of a file ("" when it cannot be read): an error log can be large. */
export function fileTail(file: string, maxBytes: number): string {
  try {
    const size = statSync(file).size;
    const start = Math.max(0, size - maxBytes);
    const fd = openSync(file, 'r');
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    closeSync(fd);
    return buf.toString('utf8');
  } catch {
    return '';
  }
}

export interface PeerPorts {
  port: number;
  tlsPort: number;
  tlsSelfSignedPort: number;
}

/** The addresses of a peer listening on 127.0.0.1 at `ports`. */
export function localPeerAddress(ports: PeerPorts, caPem: string, lib: LuaLibraryInfo): PeerAddress {
  return {
    httpUrl: `http://127.0.0.1:${ports.port}`,
    wsUrl: `ws://127.0.0.1:${ports.port}`,
    wssUrl: `wss://127.0.0.1:${ports.tlsPort}`,
    wssSelfSignedUrl: `wss://127.0.0.1:${ports.tlsSelfSignedPort}`,
    caPem,
    lib,
  };
}

/** A RunningPeer's address and health check; each backend adds how it reads its log and stops. */
export abstract class NginxPeer implements RunningPeer {
  abstract readonly backend: 'native' | 'container';
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly wssUrl: string;
  readonly wssSelfSignedUrl: string;
  readonly caPem: string;
  readonly lib: LuaLibraryInfo;

  constructor(address: PeerAddress) {
    this.httpUrl = address.httpUrl;
    this.wsUrl = address.wsUrl;
    this.wssUrl = address.wssUrl;
    this.wssSelfSignedUrl = address.wssSelfSignedUrl;
    this.caPem = address.caPem;
    this.lib = address.lib;
  }

  async alive(timeoutMs = 1000): Promise<boolean> {
    return (await httpGet(`${this.httpUrl}/health`, timeoutMs))?.status === 200;
  }

  abstract errorLog(maxBytes?: number): Promise<string>;
  abstract stop(): Promise<void>;
}
