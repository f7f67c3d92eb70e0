// resty.websocket.client v0.12 (docs/behaviour.md §5): `newClient(opts)` and the client object's
// connect / recv_frame / send_* / close / set_keepalive / set_timeout, with the original's checks
// in the original's order and its error strings. The `strict` option turns on RFC 6455 fixes, one
// named switch per deviation (impl/profile.ts, docs/behaviour.md §7).
//
// Usage (every result is a value shaped like the original's multiple returns):
//   const wb = newClient({ timeout: 5000 });                        // compat; { strict: true } for RFC 6455
//   const { ok, err, res } = await wb.connect('ws://127.0.0.1:8080/s', { protocols: ['chat'] });
//   await wb.sendText('hi');                                         // { bytes, err }
//   const { data, type, err: e } = await wb.recvFrame();             // err: null | 'again' | code | error text
//   wb.setKeepalive(10_000, 30) or await wb.close();                 // { ok, err }
//
// Deviations in both profiles (documented in the report): Sec-WebSocket-Key and masking keys come
// from a CSPRNG instead of the unseeded math.random (§7.10); `client_priv_key must be provided with
// client_cert` and the few other errors the original raises as Lua errors are returned as `err`.
import { ENDPOINT_ERRORS, WebSocketEndpoint } from './endpoint.js';
import { buildHandshakeRequest, checkStatusLine, generateKey, headersValue, MAX_RESPONSE_HEADER, offeredProtocols, originValue, protocolsValue, validateHandshakeResponse } from './handshake-client.js';
import { luaOr, luaTruthy } from './lua.js';
import { negotiateAsClient, offerAsClient, PerMessageDeflate, resolveDeflateOption, type PerMessageDeflateOption } from './permessage-deflate.js';
import { TcpSocket } from './tcp-socket.js';
import type { KeepalivePool } from './pool.js';
import { resolveProfile } from './profile.js';
import type { StrictOption } from './profile.js';
import type { Cosocket, OkResult, SendResult, SockRecv } from './types.js';
import { parseUri } from './uri.js';

export { _VERSION } from './protocol.js';

/** The client's default max_payload_len: 65535 in the code (the README says 65536). */
export const DEFAULT_MAX_PAYLOAD_LEN = 65535;

export const CLIENT_ERRORS = {
  fatal: ENDPOINT_ERRORS.fatal,
  closed: ENDPOINT_ERRORS.closed,
  notInitializedYet: ENDPOINT_ERRORS.notInitializedYet,
  /** connect, close and set_keepalive say it without "yet". */
  notInitialized: 'not initialized',
  badStatusCode: ENDPOINT_ERRORS.badStatusCode,
  /** strict validateSendOpcode. */
  badOpcode: ENDPOINT_ERRORS.badOpcode,
  /** strict rejectMaskedServerFrames (the mirror of the server's "frame unmasked"). */
  frameMasked: ENDPOINT_ERRORS.frameMasked,
  /** set_keepalive on a connection that negotiated permessage-deflate (its contexts cannot go to the pool). */
  deflateKeepalive: 'a permessage-deflate connection cannot be kept alive',
} as const;

export interface ClientOptions {
  /** Default 65535. A 0 is honoured (it is truthy in Lua). */
  max_payload_len?: number;
  /** Default max_payload_len. */
  max_recv_len?: number;
  /** Default max_payload_len. */
  max_send_len?: number;
  /** Send unmasked frames (the original's test hook; RFC 6455 requires masking). */
  send_unmasked?: boolean;
  /** Connect/send/read timeout in ms (sock:settimeout). */
  timeout?: number;
  /** Profile: absent/false = compat (v0.12 as it is), true = every RFC fix, or single switches. */
  strict?: StrictOption;
  /** Keepalive pool registry; default the per-process pool. */
  keepalivePool?: KeepalivePool;
  /** Host name resolution: 'system' (default) or false (an nginx without a `resolver`). */
  resolver?: 'system' | false;
  /** Extra trusted CA PEMs for ssl_verify (nginx's lua_ssl_trusted_certificate). */
  trustedCa?: string | Buffer | Array<string | Buffer>;
  /**
   * permessage-deflate (RFC 7692), beyond the original: true or settings (impl/permessage-deflate.ts).
   * Off by default; needs the strict profile (checkFragmentation), else connect() fails with
   * "permessage-deflate needs the strict profile (checkFragmentation)" before connecting.
   */
  permessageDeflate?: PerMessageDeflateOption;
}

export interface ConnectOptions {
  /**
   * Sec-WebSocket-Protocol: a string is sent verbatim; an array is joined with "," (no spaces).
   * At run time, as in Lua, numbers are concatenated too and other values fail the connect.
   */
  protocols?: string | readonly string[];
  /** The Origin header, verbatim. */
  origin?: string;
  /** Pool name instead of "host:port" (or the Unix socket address). At run time a number is accepted too, as in ngx_lua. */
  pool?: string;
  /** The most connections the pool keeps (ngx_lua's `pool_size`); the first connect of a pool fixes it. */
  pool_size?: number;
  /** With `pool_size`: how many connects may wait for a pool slot (ngx_lua's `backlog`); more fail at once. */
  backlog?: number;
  /** Verify the server certificate. At run time any value is read with Lua truthiness (`0` and `""` are true). */
  ssl_verify?: boolean;
  /** SNI; defaults to `host`, then the URI host. Any other type than a string fails: `SSL server_name must be a string`. */
  server_name?: string;
  /**
   * Extra header lines, without CRLF (sent as given, not escaped). An empty array sends a stray CRLF in
   * compat (strict `noStrayCrlf` drops it); a non-table value fails: `custom headers must be a table`.
   */
  headers?: readonly string[];
  /** The Host header (verbatim); also the SNI fallback. Any other type fails: `custom host header must be a string`. */
  host?: string;
  /** Sec-WebSocket-Key, verbatim (not validated). Any other type fails: `custom Sec-WebSocket-Key must be a string`. */
  key?: string;
  /** Client certificate (PEM) for mutual TLS; needs client_priv_key (`client_priv_key must be provided with client_cert`). */
  client_cert?: string | Buffer;
  /** The client certificate's private key (PEM). */
  client_priv_key?: string | Buffer;
}

/** connect's `ok, err, res`: res is the raw response header, or "connection reused". */
export type ConnectResult = { ok: 1; err: null; res: string } | { ok: null; err: string; res: null };

function connectFail(err: string): ConnectResult {
  return { ok: null, err, res: null };
}

/**
 * The client object: the endpoint core (impl/endpoint.ts) without force_masking, over an
 * ngx.socket.tcp()-like socket, with connect and the client's closing rules: every send_close
 * attempt sets `closed`, which blocks every send.
 */
export class WebSocketClient extends WebSocketEndpoint<TcpSocket> {
  private readonly deflateOption: PerMessageDeflateOption;

  constructor(opts: ClientOptions = {}) {
    const maxPayloadLen = luaOr(opts.max_payload_len, DEFAULT_MAX_PAYLOAD_LEN);
    super(new TcpSocket({ pool: opts.keepalivePool, resolver: opts.resolver, trustedCa: opts.trustedCa }), {
      maxRecvLen: luaOr(opts.max_recv_len, maxPayloadLen),
      maxSendLen: luaOr(opts.max_send_len, maxPayloadLen),
      masking: !luaTruthy(opts.send_unmasked),
      forceMasking: false,
      checks: resolveProfile(opts.strict),
    });
    if (luaTruthy(opts.timeout)) this.sock!.setTimeout(opts.timeout!);
    this.deflateOption = opts.permessageDeflate;
  }

  protected closedRefusesSend(): boolean {
    return true;
  }

  /** send_close: a failure sets fatal, and closed is set in every case. */
  protected closeAttempted(r: SendResult): void {
    if (r.err !== null) this.fatal = true;
    this.closed = true;
  }

  /** connect(uri, opts): docs/behaviour.md §5 steps 1-14, in order. */
  async connect(uri: string, opts: ConnectOptions = {}): Promise<ConnectResult> {
    const sock = this.sock;
    if (!sock) return connectFail(CLIENT_ERRORS.notInitialized);
    const checks = this.checks;
    if (checks.strictConnectionState) {
      this.fatal = false;
      this.closed = false;
    }
    this.validator = null;
    // A new connection negotiates afresh; the old one's contexts go.
    this.useDeflate(null);
    const deflate = resolveDeflateOption(this.deflateOption, checks, this.maxRecvLen);
    if (deflate.err !== null) return connectFail(deflate.err);

    const parsed = parseUri(uri, checks);
    if (parsed.err !== null) return connectFail(parsed.err);
    const u = parsed.uri;
    opts = opts ?? {};

    // Step 5: the options, in the original's order, all before connecting.
    const protos = protocolsValue(opts.protocols);
    if (protos.err !== null) return connectFail(protos.err);
    const origin = originValue(opts.origin);
    if (origin.err !== null) return connectFail(origin.err);
    const sockOpts = { pool: opts.pool, pool_size: opts.pool_size, backlog: opts.backlog };
    const clientCert = opts.client_cert;
    if (luaTruthy(clientCert) && !luaTruthy(opts.client_priv_key)) {
      // The original raises this (an assert); here it is returned.
      return connectFail('client_priv_key must be provided with client_cert');
    }
    const sslVerify = luaTruthy(opts.ssl_verify);
    const serverName = opts.server_name;
    if (serverName !== undefined && serverName !== null && typeof serverName !== 'string') {
      return connectFail('SSL server_name must be a string');
    }
    const headers = headersValue(opts.headers, checks.noStrayCrlf);
    if (headers.err !== null) return connectFail(headers.err);
    const host = opts.host;
    if (host !== undefined && host !== null && typeof host !== 'string') return connectFail('custom host header must be a string');
    const key = opts.key;
    if (key !== undefined && key !== null && typeof key !== 'string') return connectFail('custom Sec-WebSocket-Key must be a string');

    // Step 6: connect (pool lookup and backlog happen inside).
    const connected = await sock.connect(u.addr, u.unix ? null : u.port, sockOpts);
    if (connected.err !== null) return connectFail('failed to connect: ' + connected.err);

    // Step 7: a pooled connection is returned as it is, without any handshake.
    const reused = sock.getReusedTimes();
    if (reused.err !== null) return connectFail('failed to get reused times: ' + reused.err);
    if (reused.count > 0) return { ok: 1, err: null, res: 'connection reused' };

    const fail = async (err: string): Promise<ConnectResult> => {
      // compat leaves the socket as it is (the next connect closes it); strict closes it now.
      if (checks.strictConnectionState) await sock.close();
      return connectFail(err);
    };

    // Step 8: TLS.
    if (u.scheme === 'wss') {
      if (luaTruthy(clientCert)) {
        const set = sock.setClientCert(clientCert!, opts.client_priv_key!);
        if (set.err !== null) return fail('failed to set TLS client certificate: ' + set.err);
      }
      const sni = this.sniFor(serverName as string | undefined, host as string | undefined, u.addr);
      // strictSni sends no SNI for an IP literal, but the certificate must still match the address
      // (IP SANs count there; nginx's X509_check_host never matches an IP literal).
      const verifyName = checks.strictSni ? (sni ?? u.addr) : sni;
      const hostCheck = checks.strictSni ? 'rfc6125' : 'x509-check-host';
      const hs = await sock.sslHandshake({ serverName: sni, verify: sslVerify, verifyName, hostCheck });
      if (hs.err !== null) return fail('ssl handshake failed: ' + hs.err);
    }

    // Steps 9-11: the request.
    const wsKey = typeof key === 'string' ? key : generateKey();
    const hostHeader = typeof host === 'string' ? host : u.hostHeader;
    const req = buildHandshakeRequest({
      path: u.path, host: hostHeader, key: wsKey, protocols: opts.protocols, origin: opts.origin,
      headers: opts.headers, noStrayCrlf: checks.noStrayCrlf,
      extensions: deflate.settings ? offerAsClient(deflate.settings) : null,
    });
    if (req.err !== null) return fail(req.err);
    const sent = await sock.send(req.request);
    if (sent.err !== null) return fail('failed to send the handshake request: ' + sent.err);

    // Steps 12-14: the response header.
    const got = checks.limitResponseHeader ? await readHeaderLimited(sock, MAX_RESPONSE_HEADER) : await sock.receiveUntil('\r\n\r\n');
    if (got.data === null) return fail('failed to receive response header: ' + got.err);
    const header = got.data.toString('latin1');
    const bad = checkStatusLine(header);
    if (bad !== null) return fail(bad);
    if (checks.validateHandshakeResponse) {
      const invalid = validateHandshakeResponse(header, wsKey, offeredProtocols(opts.protocols), deflate.settings !== null);
      if (invalid !== null) return fail(invalid);
    }
    if (deflate.settings) {
      // RFC 7692 §5: a response the offer does not allow fails the connection.
      const agreed = negotiateAsClient(responseHeaderValues(header, 'sec-websocket-extensions'), deflate.settings);
      if (agreed.err !== null) return fail(agreed.err);
      if (agreed.params !== null) this.useDeflate(new PerMessageDeflate(agreed.params, deflate.settings, false));
    }
    return { ok: 1, err: null, res: header };
  }

  /**
   * compat: `server_name or host or addr`, sent even for IP literals and with a port when `host`
   * has one (§7.12). strictSni: the same choice, but without a port and never an IP literal.
   */
  private sniFor(serverName: string | undefined, host: string | undefined, addr: string): string | null {
    const chosen = serverName ?? host ?? addr;
    if (!this.checks.strictSni) return chosen;
    let name = chosen;
    const bracket = /^\[([^\]]*)\](?::\d*)?$/.exec(name);
    if (bracket) return null; // an IPv6 literal
    const colon = name.lastIndexOf(':');
    if (colon >= 0 && /^\d*$/.test(name.slice(colon + 1))) name = name.slice(0, colon);
    if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name) || name.includes(':') || name === '') return null;
    return name;
  }

  /**
   * close(): a fatal client answers "fatal error already happened" and leaves the socket open
   * (§7.15); otherwise an empty close frame is sent unless one was, then the socket is closed.
   * It does not wait for the server's close frame.
   */
  async close(): Promise<OkResult> {
    const sock = this.sock;
    if (this.fatal) {
      if (this.checks.strictConnectionState && sock) await sock.close();
      return { ok: null, err: CLIENT_ERRORS.fatal };
    }
    if (!sock) return { ok: null, err: CLIENT_ERRORS.notInitialized };
    if (!this.closed) {
      const r = await this.sendClose();
      if (r.err !== null) {
        this.releaseDeflate();
        if (this.checks.strictConnectionState) await sock.close();
        return { ok: null, err: 'failed to send close frame: ' + r.err };
      }
    }
    this.releaseDeflate();
    return sock.close();
  }

  /**
   * set_keepalive(max_idle_timeout, pool_size): the pool's answer verbatim (1, "closed",
   * "connection in dubious state"). compat sends no close frame and changes no state (§7.14);
   * strictConnectionState refuses fatal or closed connections and marks the object closed.
   */
  setKeepalive(maxIdleMs?: number | null, poolSize?: number | null): OkResult {
    const sock = this.sock;
    if (!sock) return { ok: null, err: CLIENT_ERRORS.notInitialized };
    if (this.permessageDeflate !== null) {
      // The peer keeps its compression contexts for this connection; a reuser would start without them.
      this.releaseDeflate();
      void sock.close();
      return { ok: null, err: CLIENT_ERRORS.deflateKeepalive };
    }
    if (this.checks.strictConnectionState) {
      if (this.fatal || this.closed) {
        void sock.close();
        return { ok: null, err: this.fatal ? CLIENT_ERRORS.fatal : CLIENT_ERRORS.closed };
      }
      const r = sock.setKeepalive(maxIdleMs, poolSize);
      if (r.ok === 1) this.closed = true;
      return r;
    }
    return sock.setKeepalive(maxIdleMs, poolSize);
  }
}

/** The values of a response header (name lower-case) among the lines of the header block, in order. */
function responseHeaderValues(header: string, name: string): string[] {
  const values: string[] = [];
  for (const line of header.split('\r\n').slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name) values.push(line.slice(colon + 1).trim());
  }
  return values;
}

/** strict limitResponseHeader: reads up to CRLFCRLF, failing once `limit` bytes have no end. */
async function readHeaderLimited(sock: Cosocket, limit: number): Promise<SockRecv> {
  const bytes: number[] = [];
  for (;;) {
    const r = await sock.receive(1);
    if (r.data === null) return r;
    bytes.push(r.data[0]!);
    const n = bytes.length;
    if (n >= 4 && bytes[n - 4] === 13 && bytes[n - 3] === 10 && bytes[n - 2] === 13 && bytes[n - 1] === 10) {
      return { data: Buffer.from(bytes.slice(0, n - 4)), err: null };
    }
    if (n >= limit) return { data: null, err: 'too large', partial: Buffer.alloc(0) };
  }
}

/** new(opts): the original only fails when ngx.socket.tcp() does, which cannot happen here. */
export function newClient(opts: ClientOptions = {}): WebSocketClient {
  return new WebSocketClient(opts);
}
