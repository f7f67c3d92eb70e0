import { describe, expect, it } from 'vitest';
import { fc, test } from '@fast-check/vitest';
import { BAD_URI, parseUri } from './uri.js';

const compat = { strictUri: false };
const strict = { strictUri: true };

function ok(uri: unknown, checks = compat) {
  const r = parseUri(uri, checks);
  if (r.err !== null) throw new Error(`expected ${String(uri)} to parse, got ${r.err}`);
  return r.uri;
}

describe('parseUri compat (the original regexes, docs/behaviour.md §5 step 2)', () => {
  it('ws and wss with default ports 80 and 443, Host always with the port', () => {
    expect(ok('ws://127.0.0.1/chat')).toMatchObject({ scheme: 'ws', addr: '127.0.0.1', port: 80, path: '/chat', hostHeader: '127.0.0.1:80', unix: false });
    expect(ok('wss://example.com')).toMatchObject({ scheme: 'wss', port: 443, path: '/', hostHeader: 'example.com:443' });
    expect(ok('ws://h:8080/x?y=1')).toMatchObject({ port: 8080, portText: '8080', path: '/x?y=1', hostHeader: 'h:8080' });
  });

  it('the scheme is case-sensitive; other schemes, no host and nil are "bad websocket uri"', () => {
    for (const u of ['WS://h/', 'Ws://h/', 'http://h/', 'ws:///p', 'ws:/h/', 'ws//h', '', ' ws://h/', undefined, null, 12, {}]) {
      expect(parseUri(u, compat)).toEqual({ uri: null, err: BAD_URI });
    }
    expect(BAD_URI).toBe('bad websocket uri');
  });

  it('a non-numeric port becomes part of the path, with port 80', () => {
    expect(ok('ws://h:abc/')).toMatchObject({ addr: 'h', port: 80, path: ':abc/', hostHeader: 'h:80' });
    expect(ok('ws://h:/x')).toMatchObject({ port: 80, path: ':/x' });
  });

  it('"?x=1" right after the port is the path (no leading "/")', () => {
    expect(ok('ws://h:1?x=1')).toMatchObject({ port: 1, path: '?x=1' });
  });

  it('"?" after the host is part of the host (ngx_lua later rejects it)', () => {
    expect(ok('ws://h?x=1')).toMatchObject({ addr: 'h?x=1', path: '/' });
  });

  it('the fragment is kept and sent', () => {
    expect(ok('ws://h:1/p#frag')).toMatchObject({ path: '/p#frag' });
  });

  it('the port text is kept verbatim for Host; the number is what connect uses', () => {
    expect(ok('ws://127.0.0.1:018090/')).toMatchObject({ port: 18090, portText: '018090', hostHeader: '127.0.0.1:018090' });
    expect(ok('ws://h:99999/')).toMatchObject({ port: 99999, portText: '99999' });
  });

  it('an empty path becomes "/"', () => {
    expect(ok('ws://h:1')).toMatchObject({ path: '/' });
  });

  it('IPv6 literals and userinfo are not understood (the connect step reports them)', () => {
    expect(ok('ws://[::1]:80/')).toMatchObject({ addr: '[', port: 80, path: '::1]:80/' });
    expect(ok('ws://user:pw@host/')).toMatchObject({ addr: 'user', port: 80, path: ':pw@host/' });
  });

  it('"." stops at a newline like PCRE; the host class does not', () => {
    expect(ok('ws://h/a\nb')).toMatchObject({ path: '/a' });
    expect(ok('ws://h\nx/a')).toMatchObject({ addr: 'h\nx' });
  });

  it('Unix sockets: "unix:" anywhere switches to the Unix form', () => {
    expect(ok('ws://unix:/tmp/x.sock:/chat')).toMatchObject({ unix: true, addr: 'unix:/tmp/x.sock', path: '/chat', hostHeader: 'unix_sock' });
    expect(ok('wss://unix:/tmp/x.sock:')).toMatchObject({ scheme: 'wss', unix: true, path: '/' });
    expect(parseUri('ws://unix:/x.sock', compat).err).toBe(BAD_URI);
    expect(parseUri('ws://host/unix:foo', compat).err).toBe(BAD_URI);
    expect(parseUri('ws://h:1/a?q=unix:1', compat).err).toBe(BAD_URI);
  });

  test.prop([fc.string()])('never throws and always says ok or "bad websocket uri"', (s) => {
    const r = parseUri(s, compat);
    if (r.err !== null) expect(r.err).toBe(BAD_URI);
    else expect(r.uri.path.length).toBeGreaterThan(0);
  });

  test.prop([fc.constantFrom('ws', 'wss'), fc.stringMatching(/^[a-z0-9.-]{1,20}$/), fc.integer({ min: 0, max: 65535 }), fc.stringMatching(/^(\/[a-z0-9]*)*$/)])(
    'well-formed URIs round-trip', (scheme, host, port, path) => {
      const u = ok(`${scheme}://${host}:${port}${path}`);
      expect(u).toMatchObject({ scheme, addr: host, port, path: path === '' ? '/' : path, hostHeader: `${host}:${port}` });
    });
});

describe('parseUri strict (strictUri, §7.11)', () => {
  it('case-insensitive scheme', () => {
    expect(ok('WS://h/', strict)).toMatchObject({ scheme: 'ws' });
    expect(ok('WsS://h/', strict)).toMatchObject({ scheme: 'wss', port: 443 });
  });

  it('IPv6 literals with and without a port', () => {
    expect(ok('ws://[::1]:8080/x', strict)).toMatchObject({ addr: '::1', port: 8080, hostHeader: '[::1]:8080', path: '/x' });
    expect(ok('ws://[2001:db8::1]/', strict)).toMatchObject({ addr: '2001:db8::1', port: 80, hostHeader: '[2001:db8::1]' });
    expect(parseUri('ws://[::1/', strict).err).toBe(BAD_URI);
    expect(parseUri('ws://[zz::1]/', strict).err).toBe(BAD_URI);
  });

  it('numeric ports only, in range', () => {
    expect(parseUri('ws://h:abc/', strict).err).toBe(BAD_URI);
    expect(parseUri('ws://h:99999/', strict).err).toBe(BAD_URI);
    expect(parseUri('ws://h:/', strict).err).toBe(BAD_URI);
    expect(ok('ws://h:018090/', strict)).toMatchObject({ port: 18090, hostHeader: 'h:18090' });
  });

  it('the path starts with "/", a bare query gets one, the fragment is dropped', () => {
    expect(ok('ws://h:1?x=1', strict)).toMatchObject({ path: '/?x=1' });
    expect(ok('ws://h/p?q#frag', strict)).toMatchObject({ path: '/p?q' });
    expect(ok('ws://h#frag', strict)).toMatchObject({ path: '/' });
  });

  it('Host carries the port only when it is not the default', () => {
    expect(ok('ws://h:80/', strict).hostHeader).toBe('h');
    expect(ok('wss://h:443/', strict).hostHeader).toBe('h');
    expect(ok('wss://h:80/', strict).hostHeader).toBe('h:80');
  });

  it('userinfo, control characters and other schemes are rejected', () => {
    for (const u of ['ws://user:pw@host/', 'ws://u@h/', 'http://h/', 'ws://h/a b', 'ws://h/a\nb', 'ws://', 'ws:///p']) {
      expect(parseUri(u, strict).err).toBe(BAD_URI);
    }
  });

  it('"unix:" switches only at the start of the authority', () => {
    expect(ok('ws://unix:/tmp/x.sock:/chat', strict)).toMatchObject({ unix: true, addr: 'unix:/tmp/x.sock', path: '/chat' });
    expect(ok('ws://host/unix:foo', strict)).toMatchObject({ unix: false, addr: 'host', path: '/unix:foo' });
  });

  test.prop([fc.string()])('never throws', (s) => {
    const r = parseUri(s, strict);
    if (r.err === null) expect(r.uri.path.startsWith('/')).toBe(true);
  });
});
