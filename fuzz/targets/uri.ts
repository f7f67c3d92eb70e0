// jsfuzz target: the client's URI parser, compat (the original's two regexes) and strictUri.
// Input: byte 0 bit 0 picks strict, the rest is the URI (latin1, so every byte is one character).
// Oracle: a result or exactly "bad websocket uri"; a compat result must rebuild the URI it came
// from (scheme://addr[:port]path) and a strict one must be RFC 6455 §3 shaped.
// impl by path, not by package name: tsconfig.fuzz.json compiles these impl sources to CommonJS with the target, the only form jsfuzz loads.
import { BAD_URI, parseUri, type ParseUriResult } from '../../impl/uri.js';
import { check, isInteger } from './oracle.js';

export function fuzz(buf: Buffer): void {
  if (buf.length < 1) return;
  const strict = (buf[0]! & 1) === 1;
  const text = buf.subarray(1).toString('latin1');
  const r: ParseUriResult = parseUri(text, { strictUri: strict });
  check(r !== null && typeof r === 'object', 'result shape', r);
  if (r.uri === null) {
    check(r.err === BAD_URI, 'unknown error', r.err);
    return;
  }
  check(r.err === null, 'result with both uri and err', r);
  const u = r.uri;
  check(u.scheme === 'ws' || u.scheme === 'wss', 'bad scheme', u);
  check(typeof u.path === 'string' && u.path.length > 0, 'empty path', u);
  check(u.addr.length > 0, 'empty addr', u);
  const defaultPort = u.scheme === 'wss' ? 443 : 80;
  if (!strict) {
    check(text.startsWith(`${u.scheme}://`), 'compat: scheme not matched case-sensitively', { text, u });
    check(u.unix === text.includes('unix:'), 'compat: unix form iff "unix:" occurs', { text, u });
    check(!u.path.includes('\n'), 'compat: path crosses a newline', u);
    if (u.unix) {
      check(u.hostHeader === 'unix_sock', 'compat: unix Host header', u);
      check(text.startsWith(`${u.scheme}://${u.addr}:`), 'compat: unix address not a prefix', { text, u });
      return;
    }
    check(!/[:/]/.test(u.addr), 'compat: host contains ":" or "/"', u);
    check(/^\d+$/.test(u.portText), 'compat: port text not digits', u);
    check(u.explicitPort || u.portText === String(defaultPort), 'compat: default port', u);
    check(u.port === Number(u.portText), 'compat: port number differs from its text', u);
    check(u.hostHeader === `${u.addr}:${u.portText}`, 'compat: Host header', u);
    const rebuilt = `${u.scheme}://${u.addr}${u.explicitPort ? ':' + u.portText : ''}`;
    const rest = text.slice(rebuilt.length).split('\n')[0]!;
    check(text.startsWith(rebuilt), 'compat: does not rebuild the URI prefix', { text, rebuilt });
    check(u.path === (rest === '' ? '/' : rest), 'compat: path is not the rest of the line', { text, u });
    return;
  }
  check(text.slice(0, u.scheme.length + 3).toLowerCase() === `${u.scheme}://`, 'strict: scheme', { text, u });
  check(u.path.startsWith('/'), 'strict: path must start with "/"', u);
  check(!u.path.includes('#'), 'strict: fragment kept', u);
  check(!/[\s\x00-\x1f\x7f]/.test(u.path + u.addr), 'strict: whitespace or control characters', u);
  if (u.unix) return;
  check(!u.addr.includes('@'), 'strict: userinfo accepted', u);
  check(isInteger(u.port, 0, 65535), 'strict: port out of range', u);
  check(u.explicitPort || u.port === defaultPort, 'strict: default port', u);
  check(u.port === defaultPort ? !u.hostHeader.endsWith(`:${u.port}`) || u.addr.includes(':') : u.hostHeader.endsWith(`:${u.port}`), 'strict: Host header port', u);
}
