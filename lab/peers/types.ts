// The peer interface: a running nginx + the real lua-resty-websocket, however it was started
// (natively from Debian packages, or in a container). Interop, conformance, diff and bench
// only ever see this interface, so every suite runs against either backend unchanged.

export interface PeerStartOptions {
  /** A lua-resty-websocket `lib/` folder (resty/websocket/*.lua or Debian's nginx/websocket/*.lua). Default: RESTY_WEBSOCKET_LIB, else the Debian v0.08 copy via our shim. */
  luaLib?: string;
  /** Port for plain HTTP/ws; 0 or absent picks a free port on 127.0.0.1. */
  port?: number;
  /** Port for TLS/wss; 0 or absent picks a free port. */
  tlsPort?: number;
  /** Port for the TLS listener with a self-signed certificate (cs.t 25); 0 or absent picks a free port. */
  tlsSelfSignedPort?: number;
  /** PEM files for the TLS listener; absent: a self-signed CA + server cert are made at start. */
  tls?: { cert: string; key: string; ca?: string; clientCa?: string };
  /** Extra text for the nginx `http {}` block (tests use it for custom locations). */
  extraHttpConfig?: string;
}

/** The library version the peer actually loaded, read from the modules' `_VERSION`. */
export interface LuaLibraryInfo {
  protocolVersion: string;
  clientVersion: string;
  serverVersion: string;
  /** Where the Lua files came from, e.g. "debian lua-nginx-websocket 0.08-1 (shim)" or a path. */
  source: string;
  /** The folder on this machine holding the modules the peer loaded (protocol.lua, client.lua, server.lua). */
  path: string;
  /** ngx_lua's version number, e.g. 10023. */
  ngxLuaVersion: number;
}

/** Where a running peer answers and which library it loaded: the part of a RunningPeer that is data. */
export interface PeerAddress {
  /** http://127.0.0.1:<port> */
  readonly httpUrl: string;
  /** ws://127.0.0.1:<port> (append an endpoint path). */
  readonly wsUrl: string;
  /** wss://127.0.0.1:<tlsPort> */
  readonly wssUrl: string;
  /**
   * wss://127.0.0.1:<tlsSelfSignedPort>: a listener serving a self-signed certificate (trusted by
   * no one, the peer's own Lua client included) with only the /scripted endpoint (scripts are
   * registered on httpUrl).
   */
  readonly wssSelfSignedUrl: string;
  /** PEM of the CA that signed the peer's TLS certificate. */
  readonly caPem: string;
  readonly lib: LuaLibraryInfo;
}

export interface RunningPeer extends PeerAddress {
  readonly backend: 'native' | 'container';
  /** The nginx master's pid when nginx runs on this machine (native); absent for a container. */
  readonly pid?: number;
  /** True while nginx answers its health endpoint (within `timeoutMs`, default 1000). */
  alive(timeoutMs?: number): Promise<boolean>;
  /** The tail of nginx's error log (for reports when a case fails). */
  errorLog(maxBytes?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface PeerBackend {
  readonly name: 'native' | 'container';
  /** Whether this backend can start here; when not, `reason` says exactly what to install or do. */
  available(): Promise<{ ok: true } | { ok: false; reason: string }>;
  start(opts?: PeerStartOptions): Promise<RunningPeer>;
}

/** Compares dotted versions: returns true when `have` >= `need` ("0.08" < "0.12"). */
export function versionAtLeast(have: string, need: string): boolean {
  const a = have.split('.').map(Number);
  const b = need.split('.').map(Number);
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    if (x !== y) return x > y;
  }
  return true;
}
