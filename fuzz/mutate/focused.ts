// The `focused` mutation check: what the generated sessions reach only by chance, reached on purpose,
// against the library in nginx, and compared with what the unmodified library answers to the same
// calls (the baseline). Two parts, in one request to the peer's /client endpoint:
// - seeded keys: for each byte position of Sec-WebSocket-Key, a math.randomseed after which the
//   original draws 0xff there (rand(256) = 256, the draw a `rand(256) - 0` mutant turns into
//   string.char(256), a Lua error); the key each connect sends is captured by a raw server here, so
//   a changed draw shows as changed key bytes; and one wss connect (the SSL-support version gate);
// - module-table calls: every method called on the module table itself (a self new() did not make,
//   so no socket), which is what reaches the "not initialized" branches;
// - what a peer provokes only on purpose: a 65535- and a 65536-byte frame to a client made without
//   max_payload_len (the default's edge; the same to a server), a response head cut short, a wss connect whose client_cert
//   is not a parsed certificate (setclientcert's failure), a 16 MiB request head to a server that
//   never reads (the request's send times out), and ws:// and wss:// URIs without a port
//   (listeners on 127.0.0.1:80 and :443; where they cannot be bound those lines are left out of the
//   comparison and the run says why).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { acceptFor } from 'resty-websocket';
import { runLuaClient, type StepRecord, type Step } from '../../lab/peers/lua-api.js';
import { startPeer } from '../../lab/peers/index.js';
import { observeServerSession } from '../../lab/session/observe.js';
import type { ServerSession } from '../../lab/session/types.js';
import { encodeFrame } from '../../lab/wire.js';

/** One line per observed fact; the baseline's lines are the reference a mutant's are compared with. */
export interface FocusedRun {
  lines: string[];
  /** Why the default-port connects did not run (the port could not be bound); absent when they ran. */
  defaultPortsSkipped?: string;
}

/** The prefix of the lines the default-port connects give (compared only when both runs have them). */
const DEFAULT_PORT = '[default port] ';

/**
 * For each key byte position p (1..16), the smallest seed after which LuaJIT's p-th math.random(256)
 * is 256. Computed by the local luajit; the baseline checks that nginx's LuaJIT draws the same.
 */
export function keySeeds(): number[] | string {
  const script = 'local out = {} for p = 1, 16 do for s = 1, 100000 do math.randomseed(s) local v for i = 1, p do v = math.random(256) end if v == 256 then out[#out + 1] = s break end end end io.write(table.concat(out, ","))';
  const r = spawnSync('luajit', ['-e', script], { encoding: 'utf8' });
  const seeds = r.status === 0 ? r.stdout.trim().split(',').map(Number) : [];
  return seeds.length === 16 && seeds.every((s) => Number.isInteger(s) && s > 0) ? seeds : `luajit could not compute the key seeds: ${(r.stderr || r.stdout || String(r.error)).trim().slice(0, 200)}`;
}

function showValue(v: unknown): string {
  if (!Buffer.isBuffer(v)) return JSON.stringify(v);
  // A 64 KiB payload is compared by its length and digest, not printed; a head or an error string is.
  return v.length <= 256 ? JSON.stringify(v.toString('latin1')) : `<${v.length} bytes sha256:${createHash('sha256').update(v).digest('hex').slice(0, 16)}>`;
}

function show(r: StepRecord): string {
  const ret = r.ret.map(showValue).join(', ');
  return `${r.op}(${ret})${r.luaError !== undefined ? ` lua error: ${r.luaError}` : ''}${r.state ? ` fatal=${r.state.fatal} closed=${r.state.closed}` : ''}`;
}

const MODULE_CALLS: Array<{ module: 'client' | 'server'; call: Step }> = [
  { module: 'client', call: { op: 'connect', uri: 'ws://127.0.0.1:1/', opts: {} } },
  { module: 'client', call: { op: 'set_timeout', ms: 1000 } },
  { module: 'client', call: { op: 'recv_frame' } },
  { module: 'client', call: { op: 'send_text', payload: 'x' } },
  { module: 'client', call: { op: 'close' } },
  { module: 'client', call: { op: 'set_keepalive' } },
  { module: 'server', call: { op: 'set_timeout', ms: 1000 } },
  { module: 'server', call: { op: 'recv_frame' } },
  { module: 'server', call: { op: 'send_text', payload: 'x' } },
];

/**
 * Runs the focused calls against the library at `libRoot` (a lib/ with resty/websocket/) in a peer
 * of its own. Returns the observations, or an error string when the harness could not run them.
 */
export async function runFocused(libRoot: string, seeds: readonly number[]): Promise<FocusedRun | { error: string }> {
  const keys: string[] = [];
  const server = net.createServer((sock) => answerHandshake(sock, keys));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  // Accepts and never reads: a request larger than both kernel buffers cannot be sent.
  const held = new Set<net.Socket>();
  const silent = net.createServer({ pauseOnConnect: true }, (sock) => {
    held.add(sock);
    sock.on('error', () => {});
  });
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const silentPort = (silent.address() as net.AddressInfo).port;
  const wellKnown = await listenOnDefaultPorts(keys);
  let peer: Awaited<ReturnType<typeof startPeer>> | null = null;
  try {
    peer = await startPeer({ luaLib: libRoot, backend: 'native' });
    const steps = focusedSteps(seeds, port, silentPort);
    const portStepsFrom = steps.length;
    if (!('skipped' in wellKnown)) steps.push(...DEFAULT_PORT_STEPS);
    let records: StepRecord[];
    try {
      records = await runLuaClient(peer, { newOpts: { timeout: 5000 }, steps }, 60_000);
    } catch (e) {
      // The endpoint itself failed (a Lua error outside the steps' pcall): an observation too.
      records = [{ op: 'endpoint', ret: [], luaError: (e as Error).message.split('\n')[0]!.slice(0, 200) }];
    }
    // records[0] is the endpoint's own new(); records[i + 1] is steps[i].
    const lines = records.map((r, i) => (i > portStepsFrom && r.op !== 'endpoint' ? DEFAULT_PORT : '') + show(r));
    lines.push(...(await serverAtDefaultLimit(peer)));
    lines.push(...keys.map((k, i) => `key ${i + 1}: ${Buffer.from(k, 'base64').toString('hex')} (${k})`));
    return 'skipped' in wellKnown ? { lines, defaultPortsSkipped: wellKnown.skipped } : { lines };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]!.slice(0, 240) };
  } finally {
    await peer?.stop();
    await new Promise((r) => server.close(r));
    for (const x of held) x.destroy();
    await new Promise((r) => silent.close(r));
    if (!('skipped' in wellKnown)) for (const s of wellKnown.servers) await new Promise((r) => s.close(r));
  }
}

/** The steps on the ephemeral-port raw server: seeded keys, a wss connect, the module table, the provoked failures. */
function focusedSteps(seeds: readonly number[], port: number, silentPort: number): Step[] {
  const steps: Step[] = [];
  for (const seed of seeds) steps.push({ op: 'randomseed', seed }, { op: 'connect', uri: `ws://127.0.0.1:${port}/k`, opts: {} }, { op: 'close' });
  steps.push({ op: 'new', opts: { timeout: 5000 } }, { op: 'connect', uri: `wss://127.0.0.1:${port}/tls`, opts: { ssl_verify: false } });
  for (const m of MODULE_CALLS) steps.push({ op: 'on_module', module: m.module, call: m.call });
  // client.lua's default max_payload_len (65535): the first frame is at it, the second one past it.
  steps.push({ op: 'new', opts: { timeout: 5000 } }, { op: 'connect', uri: `ws://127.0.0.1:${port}/big`, opts: {} }, { op: 'recv_frame' }, { op: 'recv_frame' });
  // A response head the server cuts short: "failed to receive response header: closed".
  steps.push({ op: 'new', opts: { timeout: 5000 } }, { op: 'connect', uri: `ws://127.0.0.1:${port}/cut`, opts: {} });
  // setclientcert refuses what ngx.ssl did not parse: "failed to set TLS client certificate: bad cert arg: ...".
  steps.push({ op: 'new', opts: { timeout: 5000 } }, { op: 'connect', uri: `wss://127.0.0.1:${port}/cert`, opts: { ssl_verify: false, client_cert: 'not a parsed certificate', client_priv_key: 'not a parsed key' } });
  // The request's send fails: "failed to send the handshake request: timeout" (16 MiB, a peer that never reads).
  steps.push({ op: 'new', opts: { timeout: 300 } }, { op: 'connect', uri: `ws://127.0.0.1:${silentPort}/stuck`, opts: { headers: [{ fill: 'a', len: 16 << 20 }] } });
  return steps;
}

/**
 * server.lua's default max_payload_len (65535): a server made without the option reads a 65535-byte
 * frame and refuses the 65536-byte one after it. Lines prefixed "server: ".
 */
async function serverAtDefaultLimit(peer: Awaited<ReturnType<typeof startPeer>>): Promise<string[]> {
  const frame = (len: number) => ({ fin: true, rsv: 0, opcode: 2, mask: true, lenForm: 'min' as const, payload: { fill: 'a', len } });
  const session: ServerSession = {
    kind: 'wslab-session', role: 'server',
    request: { method: 'GET', version: '1.1', headers: [['Host', '127.0.0.1'], ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']] },
    opts: { timeout: 5000 },
    steps: [{ op: 'recv_frame' }, { op: 'recv_frame' }],
    traffic: [{ pauseMs: 0, frames: [frame(65535), frame(65536)] }],
    end: 'hold',
  };
  const observed = await observeServerSession('lua', session, peer);
  return observed.records.map((r) => `server: ${show(r)}`);
}

/** URIs without a port (client.lua: `port = ssl and 443 or 80`): to the listeners on 80 and 443. */
const DEFAULT_PORT_STEPS: Step[] = [
  { op: 'new', opts: { timeout: 5000 } }, { op: 'connect', uri: 'ws://127.0.0.1/p80', opts: {} }, { op: 'close' },
  { op: 'new', opts: { timeout: 5000 } }, { op: 'connect', uri: 'wss://127.0.0.1/p443', opts: { ssl_verify: false } },
];

/** An unmasked binary frame of `n` bytes of `fill`, as a server sends it. */
function binaryFrame(n: number, fill: number): Buffer {
  return encodeFrame({ fin: true, rsv: 0, opcode: 2, maskKey: null, payload: Buffer.alloc(n, fill) });
}

/**
 * The raw server's side: records each request's Sec-WebSocket-Key and answers 101, except /cut (the
 * head cut short, then FIN) and /big (two frames after the 101); a TLS ClientHello is dropped.
 */
function answerHandshake(sock: net.Socket, keys: string[]): void {
  let head = Buffer.alloc(0);
  sock.on('error', () => {});
  sock.on('data', (d) => {
    if (head.length === 0 && d[0] === 0x16) return void sock.destroy(); // a TLS ClientHello: no TLS here
    head = Buffer.concat([head, d]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0 || head.length > 65536) return;
    const request = head.subarray(0, end).toString('latin1');
    head = Buffer.from('-'); // later bytes (the close frame) are not a head
    const path = /^GET (\S*)/.exec(request)?.[1] ?? '';
    if (path === '/cut') return void sock.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n');
    const key = /\r\nSec-WebSocket-Key: ([^\r]*)/i.exec(request)?.[1] ?? '';
    if (path === '/k') keys.push(key);
    sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${acceptFor(key)}\r\n\r\n`);
    if (path === '/big') sock.write(Buffer.concat([binaryFrame(65535, 0x61), binaryFrame(65536, 0x62)]));
  });
}

/**
 * Listens on 127.0.0.1:80 and :443 with the same raw server. A port in use is tried again for up to
 * 10 s (the interop catalogue's default-port scenarios hold it for a moment); a port that cannot be
 * bound skips the default-port connects, with the reason.
 */
async function listenOnDefaultPorts(keys: string[]): Promise<{ servers: net.Server[] } | { skipped: string }> {
  const servers: net.Server[] = [];
  for (const port of [80, 443]) {
    let last = '';
    for (let attempt = 0; attempt < 40; attempt++) {
      const s = net.createServer((sock) => answerHandshake(sock, keys));
      const code = await new Promise<string | null>((r) => {
        s.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? e.message));
        s.listen(port, '127.0.0.1', () => r(null));
      });
      if (code === null) {
        servers.push(s);
        last = '';
        break;
      }
      last = code;
      if (code !== 'EADDRINUSE') break;
      await new Promise((r) => setTimeout(r, 250));
    }
    if (last) {
      for (const s of servers) await new Promise((r) => s.close(r));
      return { skipped: `127.0.0.1:${port} could not be bound (${last})` };
    }
  }
  return { servers };
}

/**
 * What the baseline must show for the focused check to reach what it is for: each seed's key has
 * 0xff at its byte, every module-table call returned (no Lua error). Null when it does.
 */
export function focusedReach(run: FocusedRun, seeds: readonly number[]): string | null {
  const keyLines = run.lines.filter((l) => l.startsWith('key '));
  if (keyLines.length !== seeds.length) return `${keyLines.length} keys captured for ${seeds.length} seeded connects`;
  for (let p = 0; p < seeds.length; p++) {
    const hex = /^key \d+: ([0-9a-f]*)/.exec(keyLines[p]!)?.[1] ?? '';
    if (hex.length !== 32 || hex.slice(p * 2, p * 2 + 2) !== 'ff') return `math.randomseed(${seeds[p]}) did not give 0xff at key byte ${p + 1} in nginx (key ${hex}): its LuaJIT draws differently from the local luajit's`;
  }
  const bad = run.lines.find((l) => /lua error/.test(l));
  return bad ? `a call raised on the unmodified library: ${bad}` : null;
}

/** The first line where a mutant's run differs from the baseline's, as "baseline => mutant", or null. */
export function firstDifference(baseline: FocusedRun, mutant: FocusedRun): string | null {
  // The default-port lines count only when both runs could bind the ports.
  const both = baseline.defaultPortsSkipped === undefined && mutant.defaultPortsSkipped === undefined;
  const a = both ? baseline.lines : baseline.lines.filter((l) => !l.startsWith(DEFAULT_PORT));
  const b = both ? mutant.lines : mutant.lines.filter((l) => !l.startsWith(DEFAULT_PORT));
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return `unmodified: ${a[i] ?? '(nothing)'}  =>  mutant: ${b[i] ?? '(nothing)'}`;
  }
  return null;
}
