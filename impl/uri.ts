// WebSocket URI parsing for the client (docs/behaviour.md §5 connect step 2). Pure: no I/O, no
// throwing, so it doubles as a fuzz target.
//
// compat reproduces the original's two PCRE regexes ("jo" flags: case-sensitive, `.` stops at
// "\n") and everything that follows from them: "unix:" anywhere switches to the Unix form, a
// non-numeric port becomes part of the path, the fragment is kept, the port text is kept verbatim
// for the Host header. Errors that the original only reports later, when ngx_lua connects (bad
// port number, IPv6 literals, userinfo), are left to the connect step, which sees the same host
// and port the original would hand to `sock:connect`.
//
// strictUri (§7.11) follows RFC 6455 §3: case-insensitive scheme, IPv6 literals in brackets,
// numeric ports in 0-65535 only, a path that starts with "/", no userinfo, fragment dropped.

/** The original's `bad websocket uri`. */
export const BAD_URI = 'bad websocket uri';

export interface WsUri {
  scheme: 'ws' | 'wss';
  /**
   * What the original hands to `sock:connect` as the address: the host text for TCP (for an IPv6
   * literal in strict mode: without the brackets), or "unix:<path>" for a Unix socket.
   */
  addr: string;
  /** True for the Unix-socket form (`ws://unix:/path.sock:/resource`). */
  unix: boolean;
  /**
   * The port as ngx_lua's connect converts it (`luaL_checkinteger` of the port text; may be out
   * of range, which the connect step reports as "bad port number"). 0 for Unix sockets.
   */
  port: number;
  /** The port exactly as the Host header shows it: the URI's digits verbatim, or the default. */
  portText: string;
  /** Whether the URI named a port. */
  explicitPort: boolean;
  /** The request target sent on the wire (never empty). */
  path: string;
  /** The Host header value the original would send (`opts.host` may still override it). */
  hostHeader: string;
}

export type ParseUriResult = { uri: WsUri; err: null } | { uri: null; err: string };

export interface UriChecks {
  strictUri: boolean;
}

// The original's patterns. PCRE's `.` does not match "\n" (the default newline convention), which
// JavaScript's `[^\n]` reproduces exactly; `[^:]`/`[^:/]` match anything else, newlines included.
const UNIX_RE = /^(wss?):\/\/(unix:[^:]+):([^\n]*)/;
const TCP_RE = /^(wss?):\/\/([^:/]+)(?::(\d+))?([^\n]*)/;

function defaultPort(scheme: 'ws' | 'wss'): number {
  return scheme === 'wss' ? 443 : 80;
}

/** ngx_lua's conversion of the port string: a decimal number (leading zeros ignored). */
function portNumber(text: string): number {
  return Number(text);
}

function fail(err: string = BAD_URI): ParseUriResult {
  return { uri: null, err };
}

function parseCompat(uri: string): ParseUriResult {
  if (uri.includes('unix:')) {
    const m = UNIX_RE.exec(uri);
    if (m === null) return fail();
    const scheme = m[1] as 'ws' | 'wss';
    const path = m[3] === '' ? '/' : m[3]!;
    // The original's Unix regex captures an empty port, which is truthy in Lua: no default port.
    return { uri: { scheme, addr: m[2]!, unix: true, port: 0, portText: '', explicitPort: false, path, hostHeader: 'unix_sock' }, err: null };
  }
  const m = TCP_RE.exec(uri);
  if (m === null) return fail();
  const scheme = m[1] as 'ws' | 'wss';
  const host = m[2]!;
  const explicitPort = m[3] !== undefined;
  const portText = explicitPort ? m[3]! : String(defaultPort(scheme));
  const path = m[4] === '' ? '/' : m[4]!;
  return {
    uri: { scheme, addr: host, unix: false, port: portNumber(portText), portText, explicitPort, path, hostHeader: `${host}:${portText}` },
    err: null,
  };
}

// RFC 3986 reg-name / IPv4 characters (no userinfo "@", no delimiters).
const REG_NAME_RE = /^[A-Za-z0-9\-._~!$&'()*+,;=%]+$/;
const IPV6_RE = /^\[([0-9A-Fa-f:.]+)\]$/;

function parseStrict(uri: string): ParseUriResult {
  const sm = /^(wss?):\/\//i.exec(uri);
  if (sm === null) return fail();
  const scheme = sm[1]!.toLowerCase() as 'ws' | 'wss';
  let rest = uri.slice(sm[0].length);
  // Fragments are not part of a WebSocket URI (RFC 6455 §3): drop them.
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  if (/[\s\x00-\x1f\x7f]/.test(rest)) return fail();

  // Unix sockets only when the authority itself starts with "unix:".
  if (rest.startsWith('unix:')) {
    const colon = rest.indexOf(':', 5);
    if (colon < 0) return fail();
    const addr = rest.slice(0, colon);
    if (addr.length <= 5) return fail();
    let path = rest.slice(colon + 1);
    if (path === '') path = '/';
    else if (path.startsWith('?')) path = '/' + path;
    if (!path.startsWith('/')) return fail();
    return { uri: { scheme, addr, unix: true, port: 0, portText: '', explicitPort: false, path, hostHeader: 'unix_sock' }, err: null };
  }

  const end = rest.search(/[/?]/);
  const authority = end < 0 ? rest : rest.slice(0, end);
  let path = end < 0 ? '/' : rest.slice(end);
  if (path.startsWith('?')) path = '/' + path;
  if (authority.includes('@')) return fail();

  let hostText: string;
  let addr: string;
  let portPart: string | null = null;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return fail();
    hostText = authority.slice(0, close + 1);
    const v6 = IPV6_RE.exec(hostText);
    if (v6 === null || !isIpv6(v6[1]!)) return fail();
    addr = v6[1]!;
    const after = authority.slice(close + 1);
    if (after !== '') {
      if (!after.startsWith(':')) return fail();
      portPart = after.slice(1);
    }
  } else {
    const colon = authority.indexOf(':');
    hostText = colon < 0 ? authority : authority.slice(0, colon);
    if (colon >= 0) portPart = authority.slice(colon + 1);
    if (!REG_NAME_RE.test(hostText)) return fail();
    addr = hostText;
  }
  if (hostText === '') return fail();
  let port = defaultPort(scheme);
  let explicitPort = false;
  if (portPart !== null) {
    if (!/^\d+$/.test(portPart)) return fail();
    port = Number(portPart);
    if (port > 65535) return fail();
    explicitPort = true;
  }
  // RFC 6455 §4.1: the port goes into Host only when it is not the scheme's default.
  const hostHeader = port === defaultPort(scheme) ? hostText : `${hostText}:${port}`;
  return { uri: { scheme, addr, unix: false, port, portText: String(port), explicitPort, path, hostHeader }, err: null };
}

const IPV4_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** A dotted-quad IPv4 literal, each part at most 255 (what ngx_parse_url and inet_pton take). */
export function isIpv4Literal(text: string): boolean {
  const m = IPV4_RE.exec(text);
  return m !== null && m.slice(1).every((o) => Number(o) <= 255);
}

function isIpv6(text: string): boolean {
  // Enough for a URI check: hex groups, at most one "::", optional trailing dotted IPv4.
  if (!/^[0-9A-Fa-f:.]+$/.test(text)) return false;
  const doubles = text.split('::').length - 1;
  if (doubles > 1) return false;
  let groups = text.split(':').filter((g) => g !== '');
  let count = 0;
  const last = groups[groups.length - 1];
  if (last !== undefined && last.includes('.')) {
    if (!isIpv4Literal(last)) return false;
    groups = groups.slice(0, -1);
    count += 2;
  }
  if (!groups.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g))) return false;
  count += groups.length;
  return doubles === 1 ? count < 8 : count === 8;
}

/** Parses a ws:// or wss:// URI like the original (compat) or like RFC 6455 (strictUri). */
export function parseUri(uri: unknown, checks: UriChecks = { strictUri: false }): ParseUriResult {
  // The original runs its regex on whatever it is given; nil and non-strings never match.
  let text: string;
  if (typeof uri === 'string') text = uri;
  else if (typeof uri === 'number') text = String(uri); // Lua coerces numbers; they never match either
  else return fail();
  return checks.strictUri ? parseStrict(text) : parseCompat(text);
}
