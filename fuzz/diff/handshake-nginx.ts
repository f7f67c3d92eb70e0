// The original server handshake (resty.websocket.server new()) hosted by the native nginx peer at
// /diff-handshake (fixtures/nginx/locations/diff.conf), probed with raw request bytes, plus a
// fast-check generator of valid and near-valid upgrade requests (docs/behaviour.md §4 step 4 variations).
import fc from 'fast-check';
import net from 'node:net';

/** What the original answered. `nginx` means nginx rejected the request before the library ran. */
export type LuaHandshakeAnswer =
  | { kind: 'ok'; accept: string | null; protocol: string | null }
  | { kind: 'err'; err: string }
  | { kind: 'nginx'; status: number }
  | { kind: 'none'; detail: string };

/** Sends one raw request on a fresh connection and reads until close (or `timeoutMs`). */
export function probeHandshake(port: number, request: Buffer, timeoutMs = 3000): Promise<LuaHandshakeAnswer> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(classify(Buffer.concat(chunks)));
    };
    const timer = setTimeout(finish, timeoutMs);
    sock.on('connect', () => sock.write(request));
    sock.on('data', (d: Buffer) => {
      chunks.push(d);
      if (responseComplete(Buffer.concat(chunks))) finish();
    });
    sock.on('close', finish);
    sock.on('error', finish);
  });
}

/**
 * Whether the whole answer is in: a 101 followed by the "WSLAB-OK" frame, or an error response
 * whose body is complete (Content-Length or the last chunk; nginx keeps the connection open).
 */
function responseComplete(raw: Buffer): boolean {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return false;
  if (raw.includes('WSLAB-OK')) return true;
  const head = raw.subarray(0, end).toString('latin1');
  if (/^HTTP\/1\.[01] 101/.test(head)) return false;
  const body = raw.subarray(end + 4);
  const len = /^content-length:\s*(\d+)/im.exec(head);
  if (len) return body.length >= Number(len[1]);
  if (/^transfer-encoding:\s*chunked/im.test(head)) return body.includes('0\r\n\r\n');
  return false;
}

export function classify(raw: Buffer): LuaHandshakeAnswer {
  const end = raw.indexOf('\r\n\r\n');
  // An HTTP/0.9-style request gets nginx's error page without a status line.
  const page = /<title>(\d{3}) /.exec(raw.subarray(0, 200).toString('latin1'));
  if (!raw.subarray(0, 5).equals(Buffer.from('HTTP/')) && page) return { kind: 'nginx', status: Number(page[1]) };
  if (end < 0) return { kind: 'none', detail: raw.subarray(0, 200).toString('latin1') };
  const head = raw.subarray(0, end).toString('latin1');
  const body = raw.subarray(end + 4);
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  const header = (name: string): string | null => {
    const m = new RegExp(`^${name}:[ \\t]*(.*?)[ \\t]*$`, 'im').exec(head);
    return m ? m[1]! : null;
  };
  if (status === 101 && body.includes('WSLAB-OK')) {
    return { kind: 'ok', accept: header('Sec-WebSocket-Accept'), protocol: header('Sec-WebSocket-Protocol') };
  }
  // The body may be chunked: find the marker line wherever it is.
  const text = body.toString('latin1');
  const at = text.indexOf('WSLAB-ERR ');
  if (status === 400 && at >= 0) return { kind: 'err', err: text.slice(at + 10).split('\n')[0]! };
  return { kind: 'nginx', status };
}

export interface RequestSpec {
  method: string;
  target: string;
  version: string;
  headers: Array<[string, string]>;
  body: string;
}

export function encodeRequest(r: RequestSpec): Buffer {
  const lines = [`${r.method} ${r.target} ${r.version}`, ...r.headers.map(([k, v]) => `${k}: ${v}`), '', ''];
  return Buffer.from(lines.join('\r\n') + r.body, 'latin1');
}

const casing = (name: string): fc.Arbitrary<string> => fc.constantFrom(name, name.toLowerCase(), name.toUpperCase());

/** Mostly the valid value, so requests often get as far as the later checks. */
function optionalHeader(name: string, values: fc.Arbitrary<string>, valid?: string): fc.Arbitrary<Array<[string, string]>> {
  return fc.oneof(
    ...(valid === undefined ? [] : [{ weight: 12, arbitrary: casing(name).map((k): Array<[string, string]> => [[k, valid]]) }]),
    { weight: 6, arbitrary: fc.tuple(casing(name), values).map(([k, v]): Array<[string, string]> => [[k, v]]) },
    { weight: 1, arbitrary: fc.constant<Array<[string, string]>>([]) },
    { weight: 1, arbitrary: fc.tuple(casing(name), values, values).map(([k, a, b]): Array<[string, string]> => [[k, a], [k, b]]) },
  );
}

const upgradeValues = fc.constantFrom('websocket', 'WebSocket', 'WEBSOCKET', 'websocket, h2c', 'h2c, websocket', 'foo', ' websocket ', '', 'websockets');
const connectionValues = fc.constantFrom('Upgrade', 'upgrade', 'keep-alive, Upgrade', 'xupgradex', 'close', 'keep-alive', 'Upgrade, close', 'UPGRADE', '');
const keyValues = fc.constantFrom('x3JJHMbDL1EzLkh9GBhXDw==', '05EiFj8mhoZ5F/oFE3Tyeg==', 'abc', '', 'dGhlIHNhbXBsZSBub25jZQ==', 'not base64!', 'AAAAAAAAAAAAAAAAAAAAAA==');
const versionValues = fc.constantFrom('13', ' 13 ', '8', '12', '13, 8', '', '013', '14');
const protocolValues = fc.constantFrom('chat', 'chat, superchat', 'xml,json', '', ' chat ', 'a b');

export const requestArb: fc.Arbitrary<RequestSpec> = fc
  .record({
    // No HEAD: nginx drops the body that carries the library's error text.
    method: fc.constantFrom('GET', 'GET', 'GET', 'POST', 'PUT', 'OPTIONS'),
    target: fc.constantFrom('/diff-handshake', '/diff-handshake?x=1'),
    version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0'),
    upgrade: optionalHeader('Upgrade', upgradeValues, 'websocket'),
    connection: optionalHeader('Connection', connectionValues, 'Upgrade'),
    key: optionalHeader('Sec-WebSocket-Key', keyValues, 'dGhlIHNhbXBsZSBub25jZQ=='),
    wsVersion: optionalHeader('Sec-WebSocket-Version', versionValues, '13'),
    protocol: fc.oneof({ weight: 2, arbitrary: fc.constant<Array<[string, string]>>([]) }, { weight: 1, arbitrary: optionalHeader('Sec-WebSocket-Protocol', protocolValues) }),
    origin: fc.oneof(fc.constant<Array<[string, string]>>([]), fc.constant<Array<[string, string]>>([['Origin', 'http://test.com']])),
    body: fc.constantFrom('', '', '', 'hello'),
    order: fc.nat(),
  })
  .map((r): RequestSpec => {
    const groups = [r.upgrade, r.connection, r.key, r.wsVersion, r.protocol, r.origin];
    // Rotate the header order: the library looks headers up by name, order must not matter.
    const k = r.order % groups.length;
    const headers: Array<[string, string]> = [['Host', '127.0.0.1'], ...[...groups.slice(k), ...groups.slice(0, k)].flat()];
    if (r.body) headers.push(['Content-Length', String(r.body.length)]);
    return { method: r.method, target: r.target, version: r.version, headers, body: r.body };
  });

type ByteEdit = { at: number; op: 'set' | 'insert' | 'delete'; b: number };

/** Interesting bytes for HTTP heads: separators, whitespace, case, NUL, obs-fold. */
const HEAD_BYTES = [0x20, 0x09, 0x0b, 0x0c, 0x0d, 0x0a, 0x3a, 0x2c, 0x5f, 0x2d, 0x00, 0x7f, 0x80, 0xff, 0x41, 0x61];

/** Requests from requestArb, sometimes with a few byte edits inside the head (parser edge cases). */
export const mutatedRequestArb: fc.Arbitrary<Buffer> = fc
  .tuple(
    requestArb,
    fc.oneof(
      { weight: 3, arbitrary: fc.constant<ByteEdit[]>([]) },
      {
        weight: 1,
        arbitrary: fc.array(
          fc.record({ at: fc.nat(), op: fc.constantFrom('set' as const, 'insert' as const, 'delete' as const), b: fc.constantFrom(...HEAD_BYTES) }),
          { minLength: 1, maxLength: 3 },
        ),
      },
    ),
  )
  .map(([spec, edits]) => {
    let buf = encodeRequest(spec);
    const headEnd = buf.indexOf('\r\n\r\n');
    for (const e of edits) {
      // Edit only the header lines: the request line routes to /diff-handshake, and the blank
      // line that ends the head must stay.
      const first = buf.indexOf('\r\n') + 2;
      const limit = buf.indexOf('\r\n\r\n');
      if (limit <= first) break;
      const at = first + (e.at % (limit - first));
      if (e.op === 'set') buf[at] = e.b;
      else if (e.op === 'insert') buf = Buffer.concat([buf.subarray(0, at), Buffer.from([e.b]), buf.subarray(at)]);
      else buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1)]);
    }
    return headEnd < 0 ? encodeRequest(spec) : buf;
  });
