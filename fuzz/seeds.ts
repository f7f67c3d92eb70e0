// Writes the seed corpora to fixtures/fuzz/seeds/<target>/ (run: npx tsx fuzz/seeds.ts). Seeds are
// small valid and near-valid inputs built from the spec's cases, so a short campaign starts deep.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildFrame } from 'resty-websocket/protocol';
import { SEEDS_DIR } from './campaign.js';
import zlib from 'node:zlib';
import { encodeFrameInput } from './targets/frame-common.js';
import { encodeInflateInput } from './targets/inflate.js';

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

function frame(fin: boolean, opcode: number, payload: Buffer | string, masked: boolean): Buffer {
  const p = Buffer.from(payload);
  const built = buildFrame(fin, opcode, p.length, p, masked, KEY);
  if (built.frame === null) throw new Error(built.err);
  return built.frame;
}

function closePayload(code: number, reason: string): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return Buffer.concat([b, Buffer.from(reason)]);
}

/** Frame streams: every type, the length forms and their boundaries, and near-misses. */
export function frameStreams(masked: boolean, highCloseCode = true): Buffer[] {
  const long = (n: number): Buffer => Buffer.alloc(n, 0x61);
  const nonMinimal16 = Buffer.concat([Buffer.from([0x82, (masked ? 0x80 : 0) | 126, 0, 3]), masked ? KEY : Buffer.alloc(0), Buffer.from('abc')]);
  const nonMinimal64 = Buffer.concat([Buffer.from([0x82, (masked ? 0x80 : 0) | 127, 0, 0, 0, 0, 0, 0, 0, 3]), masked ? KEY : Buffer.alloc(0), Buffer.from('abc')]);
  const len64 = (hi: number[]): Buffer => Buffer.from([0x82, (masked ? 0x80 : 0) | 127, ...hi]);
  return [
    frame(true, 1, 'foo', masked),
    frame(true, 1, '', masked),
    frame(true, 2, Buffer.from([0, 1, 2, 0xff]), masked),
    Buffer.concat([frame(false, 1, 'fo', masked), frame(true, 9, 'hi', masked), frame(true, 0, 'o', masked)]),
    Buffer.concat([frame(true, 0, 'stray', masked), frame(false, 2, 'x', masked), frame(true, 1, 'y', masked)]),
    frame(true, 8, '', masked),
    frame(true, 8, closePayload(1000, 'yes, closed'), masked),
    frame(true, 8, closePayload(highCloseCode ? 0xfffe : 0x7ffe, ''), masked),
    frame(true, 8, Buffer.from([3]), masked),
    frame(true, 9, 'are you there? 你好', masked),
    frame(true, 10, '', masked),
    frame(false, 9, 'x', masked),
    frame(true, 9, long(126), masked),
    frame(true, 1, long(125), masked),
    frame(true, 1, long(126), masked),
    frame(true, 2, long(300), masked),
    nonMinimal16,
    nonMinimal64,
    len64([0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]),
    len64([0, 0, 0, 0, 0x80, 0, 0, 0]),
    len64([0x80, 0, 0, 0, 0, 0, 0, 0]),
    len64([0, 0, 0, 1, 0, 0, 0, 0]),
    Buffer.from([0xc1, 0x80]), // RSV1
    Buffer.from([0x83, 0x80]), // reserved data opcode
    Buffer.from([0x8b, 0x80]), // reserved control opcode
    Buffer.from([0x81, 0x03, 0x61]), // cut short
    Buffer.from([0x81, 0x7e, 0x00]),
    Buffer.concat([Buffer.from('\r\n'), frame(true, 1, 'after stray crlf', masked)]),
  ];
}

function httpRequests(): string[] {
  const base = (extra: string[], line = 'GET /chat HTTP/1.1'): string =>
    [line, 'Host: 127.0.0.1:8080', ...extra, '', ''].join('\r\n');
  const ws = ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==', 'Sec-WebSocket-Version: 13'];
  return [
    base([...ws, 'Sec-WebSocket-Protocol: chat, superchat', 'Origin: http://test.com']),
    base(['Upgrade: WebSocket', 'Connection: keep-alive, Upgrade', 'Sec-WebSocket-Key: 05EiFj8mhoZ5F/oFE3Tyeg==', 'Sec-WebSocket-Version: 13']),
    base(ws, 'POST /x?y=1 HTTP/1.1'),
    base(ws, 'GET / HTTP/1.0'),
    base(['Upgrade: websocket, h2c', 'Connection: xupgradex', 'Sec-WebSocket-Key: abc', 'Sec-WebSocket-Version:  13 ']),
    base(['Upgrade: websocket', 'Upgrade: h2c', 'Connection: Upgrade', 'Sec-WebSocket-Key:', 'Sec-WebSocket-Version: 8']),
    base(['upgrade: websocket', 'connection: upgrade', 'sec-websocket-version: 13']),
    base([...ws, 'Content-Length: 5']) + 'hello',
    'GET /chat HTTP/1.1\nHost: a\nUpgrade: websocket\n\n',
  ];
}

function httpResponses(): string[] {
  const ok = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=', 'Sec-WebSocket-Protocol: chat'];
  return [
    [...ok, '', ''].join('\r\n'),
    ['HTTP/1.1 404 Not Found', 'Content-Length: 0', '', ''].join('\r\n'),
    ['HTTP/1.0 101 Switching Protocols', 'Upgrade: websocket', '', ''].join('\r\n'),
    ['\r\n  HTTP/1.1   101 X', 'upgrade: WebSocket', 'connection: keep-alive, upgrade', 'sec-websocket-accept: bogus', '', ''].join('\r\n'),
    ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Accept: HSmrc0sMlYUkAGmm5OPpG2HaGWk=', '', ''].join('\r\n') + '\x81\x03foo',
    'blah',
    'HTTP/1.1 101\r\n\r\n',
  ];
}

function uris(): string[] {
  return [
    'ws://127.0.0.1:8080/chat',
    'wss://test.com/s?x=1#frag',
    'ws://h:abc/',
    'ws://h:1?x=1',
    'ws://unix:/tmp/x.sock:/chat',
    'ws://unix:/x.sock',
    'ws://host/unix:foo',
    'WS://h/',
    'http://h/',
    'ws:///p',
    'ws://[::1]:80/',
    'ws://user:pw@h/',
    'ws://h:018090',
    'ws://h:99999/',
    'wss://h',
  ];
}

function utf8Texts(): Buffer[] {
  return [
    Buffer.from('Hello-µ@ßöäüàá-UTF-8!!'),
    Buffer.from('κόσμε 你好 😀'),
    Buffer.from([0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5, 0xed, 0xa0, 0x80, 0x65, 0x64, 0x69, 0x74, 0x65, 0x64]),
    Buffer.from([0xf4, 0x90, 0x80, 0x80]),
    Buffer.from([0xf0, 0x9f, 0x98]),
    Buffer.from([0xc0, 0xaf]),
    Buffer.from([0xe0, 0x80, 0xaf]),
    Buffer.from([0xef, 0xbf, 0xbf, 0xf4, 0x8f, 0xbf, 0xbf]),
    Buffer.from([0x80]),
    Buffer.from([0xfe, 0xff]),
  ];
}

export const DICTIONARY_PATH = join(SEEDS_DIR, '..', 'dictionary.txt');

/** Reads an AFL/libFuzzer dictionary: name="value" lines with \xNN and \\ escapes. */
export function readDictionary(path = DICTIONARY_PATH): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const line of readFileSync(path, 'latin1').split('\n')) {
    const m = /^\s*([A-Za-z0-9_]+)\s*=\s*"(.*)"\s*$/.exec(line);
    if (!m) continue;
    const bytes: number[] = [];
    const v = m[2]!;
    for (let i = 0; i < v.length; i++) {
      if (v[i] === '\\' && v[i + 1] === 'x') {
        bytes.push(parseInt(v.slice(i + 2, i + 4), 16));
        i += 3;
      } else if (v[i] === '\\') {
        bytes.push(v.charCodeAt(++i));
      } else bytes.push(v.charCodeAt(i));
    }
    out.set(m[1]!, Buffer.from(bytes));
  }
  return out;
}

/** Seeds that carry every dictionary token, so the versifier learns them as words. */
function tokenSeeds(prefix: Buffer, base: Buffer, dict: Map<string, Buffer>): Buffer[] {
  const tokens = [...dict.values()];
  const crlf = Buffer.from('\r\n');
  return [
    Buffer.concat([prefix, base, ...tokens.flatMap((t) => [t, crlf])]),
    Buffer.concat([prefix, ...tokens.flatMap((t) => [t, Buffer.from(': '), t, crlf]), crlf]),
  ];
}

/** Client frame streams under permessage-deflate: compressed messages whole and fragmented, with and without context takeover, and near-misses. */
export function inflateStreams(): Buffer[] {
  const f = (fin: boolean, rsv1: boolean, opcode: number, payload: Buffer | string): Buffer => {
    const b = frame(fin, opcode, payload, true);
    if (rsv1) b[0]! |= 0x40;
    return b;
  };
  const one = (s: string | Buffer, bits = 15): Buffer => {
    const d = zlib.deflateRawSync(Buffer.from(s), { windowBits: Math.max(9, bits), finishFlush: zlib.constants.Z_SYNC_FLUSH });
    return d.subarray(0, d.length - 4);
  };
  const hello = one('Hello, Hello, Hello');
  const long = one(Buffer.alloc(5000, 'ab'));
  const text = one('héllo wörld 你好 '.repeat(20));
  return [
    f(true, true, 1, hello),
    f(true, true, 2, long),
    f(true, true, 1, text),
    f(true, true, 1, Buffer.alloc(0)),
    f(true, true, 1, Buffer.from([0x00])),
    Buffer.concat([f(false, true, 1, hello.subarray(0, 4)), f(false, false, 0, hello.subarray(4, 9)), f(true, false, 0, hello.subarray(9))]),
    Buffer.concat([f(false, true, 2, long.subarray(0, 3)), f(true, false, 9, 'ping'), f(true, false, 0, long.subarray(3))]),
    Buffer.concat([f(true, true, 1, hello), f(true, false, 1, 'plain'), f(true, true, 1, hello)]),
    Buffer.concat([f(true, true, 1, one('abcabc')), f(true, true, 1, one('abcabcabc'))]),
    f(true, true, 1, Buffer.from([0xff, 0xff, 0xff, 0xff])),
    f(true, true, 1, zlib.deflateRawSync(Buffer.from('final block'))),
    f(true, true, 1, one(Buffer.from([0xc3, 0x28, 0x41]))),
    Buffer.concat([f(false, true, 1, hello.subarray(0, 4)), f(true, true, 0, hello.subarray(4))]),
    f(true, true, 9, 'rsv1 ping'),
    f(true, true, 8, Buffer.from([0x03, 0xe8])),
    Buffer.concat([f(false, true, 1, hello), f(true, true, 1, hello)]),
    f(true, true, 0, hello),
    f(true, true, 2, one(Buffer.alloc(100000))),
    f(true, true, 2, one(Buffer.alloc(3000, 'x'), 8)),
    Buffer.concat([f(true, true, 2, hello), f(true, false, 8, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65]))]),
  ];
}

function writeSeeds(target: string, inputs: readonly Buffer[]): void {
  const dir = join(SEEDS_DIR, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const input of inputs) {
    writeFileSync(join(dir, createHash('sha256').update(input).digest('hex').slice(0, 16)), input);
  }
}

export function writeAllSeeds(): void {
  const frameSeeds = (highCloseCode: boolean): Buffer[] => [
    ...frameStreams(true, highCloseCode).map((s, i) => encodeFrameInput(5, true, (i % 8) + 1, i, s)),
    ...frameStreams(false, highCloseCode).map((s, i) => encodeFrameInput(i % 2 ? 7 : 2, false, i % 16, i * 7, s)),
  ];
  writeSeeds('frame-compat', frameSeeds(true));
  writeSeeds('frame-strict', frameSeeds(true));
  // The planted bug (negative close codes >= 0x8000) must be found by fuzzing, not handed over.
  writeSeeds('frame-planted', frameSeeds(false));
  const dict = readDictionary();
  const none = Buffer.alloc(0);
  const requests = httpRequests().map((s) => Buffer.from(s, 'latin1'));
  writeSeeds('handshake-server', [...requests, ...tokenSeeds(none, requests[0]!, dict)]);
  const responses = httpResponses().map((s) => Buffer.from(s, 'latin1'));
  writeSeeds('handshake-client', [
    ...responses.flatMap((r) => [0, 1, 2].map((o) => Buffer.concat([Buffer.from([o]), r]))),
    ...tokenSeeds(Buffer.from([1]), responses[0]!, dict),
  ]);
  const uriSeeds = uris().flatMap((u) => [Buffer.from('\x00' + u, 'latin1'), Buffer.from('\x01' + u, 'latin1')]);
  writeSeeds('uri', [...uriSeeds, ...tokenSeeds(Buffer.from([0]), Buffer.from('ws://h/'), dict), ...tokenSeeds(Buffer.from([1]), Buffer.from('ws://h/'), dict)]);
  // Parameters: window 15/12/9/8, with and without context takeover, each size limit, several chunkings.
  writeSeeds('inflate', inflateStreams().map((s, i) => encodeInflateInput({ windowIndex: i % 4 === 0 ? 0 : i % 4, noContextTakeover: i % 3 === 1, maxIndex: i % 5 === 4 ? 2 : i % 7 === 6 ? 3 : 0, chunkIndex: i % 8, seed: i * 13 }, s)));
  writeSeeds('utf8', utf8Texts().map((t, i) => Buffer.concat([Buffer.from([i % 16, i]), t])));
}

if (process.argv[1] && /seeds\.[tj]s$/.test(process.argv[1])) {
  writeAllSeeds();
  for (const d of readdirSync(SEEDS_DIR)) console.log(`${d}: ${readdirSync(join(SEEDS_DIR, d)).length} seeds`);
}
