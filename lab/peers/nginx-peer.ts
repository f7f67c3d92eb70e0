// What every running peer is, whichever backend started it or recorded it: nginx answering on
// 127.0.0.1 at its three ports (plain, TLS, self-signed TLS), a /health endpoint, an error log.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { TestPki } from '../pki.js';
import { freePort } from '../ports.js';
import type { LuaLibraryInfo, PeerAddress, PeerStartOptions, RunningPeer } from './types.js';

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

/** The ports asked for, each free one on 127.0.0.1 where none (or 0) was. */
export async function peerPorts(opts: PeerStartOptions): Promise<PeerPorts> {
  const port = opts.port || (await freePort());
  const tlsPort = opts.tlsPort || (await freePort());
  const tlsSelfSignedPort = opts.tlsSelfSignedPort || (await freePort());
  return { port, tlsPort, tlsSelfSignedPort };
}

/** The PEM files of a peer's TLS listener: the ones asked for, else the lab PKI's server pair. */
export interface PeerCertificates {
  cert: string;
  key: string;
  /** The CA that signed `cert` (the certificate itself when none was given). */
  caPath: string;
}

export function peerCertificates(tls: PeerStartOptions['tls'], pki: TestPki): PeerCertificates {
  const certs = tls ?? { cert: pki.paths.serverCert, key: pki.paths.serverKey, ca: pki.paths.caCert };
  return { cert: certs.cert, key: certs.key, caPath: certs.ca ?? certs.cert };
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

/** What a backend adds to a peer's address: how it reads the error log and stops nginx. */
export interface PeerControl {
  readonly backend: RunningPeer['backend'];
  errorLog(maxBytes?: number): Promise<string>;
  stop(): Promise<void>;
  /** False once the backend has stopped nginx: alive() then answers without asking /health. */
  held?(): boolean;
}

/**
 * The RunningPeer at `address`, alive while nginx answers /health, with `extra` (what one backend
 * exposes besides, e.g. a pid) alongside.
 */
export function nginxPeer<Extra extends object>(address: PeerAddress, control: PeerControl, extra: Extra): RunningPeer & Extra {
  return {
    ...extra,
    ...address,
    backend: control.backend,
    async alive(timeoutMs = 1000): Promise<boolean> {
      if (control.held && !control.held()) return false;
      return (await httpGet(`${address.httpUrl}/health`, timeoutMs))?.status === 200;
    },
    errorLog: (maxBytes?: number) => control.errorLog(maxBytes),
    stop: () => control.stop(),
  };
}
