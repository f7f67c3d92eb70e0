// The `focused` mutation check: what the generated sessions reach only by chance, reached on purpose,
// against the library in nginx, and compared with what the unmodified library answers to the same
// calls (the baseline). Two parts, in one request to the peer's /client endpoint:
// - seeded keys: for each byte position of Sec-WebSocket-Key, a math.randomseed after which the
//   original draws 0xff there (rand(256) = 256, the draw a `rand(256) - 0` mutant turns into
//   string.char(256), a Lua error); the key each connect sends is captured by a raw server here, so
//   a changed draw shows as changed key bytes; and one wss connect (the SSL-support version gate);
// - module-table calls: every method called on the module table itself (a self new() did not make,
//   so no socket), which is what reaches the "not initialized" branches.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as net from 'node:net';
import { runLuaClient, type StepRecord, type Step } from '../../lab/peers/lua-api.js';
import { startPeer } from '../../lab/peers/index.js';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** One line per observed fact; the baseline's lines are the reference a mutant's are compared with. */
export interface FocusedRun {
  lines: string[];
}

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

function show(r: StepRecord): string {
  const ret = r.ret.map((v) => (Buffer.isBuffer(v) ? JSON.stringify(v.toString('latin1')) : JSON.stringify(v))).join(', ');
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
  const server = net.createServer((sock) => {
    let head = Buffer.alloc(0);
    sock.on('error', () => {});
    sock.on('data', (d) => {
      if (head.length === 0 && d[0] === 0x16) return void sock.destroy(); // a TLS ClientHello: no TLS here
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0 || head.length > 65536) return;
      const key = /\r\nSec-WebSocket-Key: ([^\r]*)/i.exec(head.subarray(0, end).toString('latin1'))?.[1] ?? '';
      keys.push(key);
      const accept = createHash('sha1').update(key + GUID).digest('base64');
      sock.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
      head = Buffer.from('-'); // later bytes (the close frame) are not a head
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  let peer: Awaited<ReturnType<typeof startPeer>> | null = null;
  try {
    peer = await startPeer({ luaLib: libRoot, backend: 'native' });
    const steps: Step[] = [];
    for (const seed of seeds) steps.push({ op: 'randomseed', seed }, { op: 'connect', uri: `ws://127.0.0.1:${port}/k`, opts: {} }, { op: 'close' });
    steps.push({ op: 'new', opts: { timeout: 5000 } }, { op: 'connect', uri: `wss://127.0.0.1:${port}/tls`, opts: { ssl_verify: false } });
    for (const m of MODULE_CALLS) steps.push({ op: 'on_module', module: m.module, call: m.call });
    let records: StepRecord[];
    try {
      records = await runLuaClient(peer, { newOpts: { timeout: 5000 }, steps }, 60_000);
    } catch (e) {
      // The endpoint itself failed (a Lua error outside the steps' pcall): an observation too.
      records = [{ op: 'endpoint', ret: [], luaError: (e as Error).message.split('\n')[0]!.slice(0, 200) }];
    }
    const lines = records.map(show);
    lines.push(...keys.map((k, i) => `key ${i + 1}: ${Buffer.from(k, 'base64').toString('hex')} (${k})`));
    return { lines };
  } catch (e) {
    return { error: (e as Error).message.split('\n')[0]!.slice(0, 240) };
  } finally {
    await peer?.stop();
    await new Promise((r) => server.close(r));
  }
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
  const n = Math.max(baseline.lines.length, mutant.lines.length);
  for (let i = 0; i < n; i++) {
    if (baseline.lines[i] !== mutant.lines[i]) return `unmodified: ${baseline.lines[i] ?? '(nothing)'}  =>  mutant: ${mutant.lines[i] ?? '(nothing)'}`;
  }
  return null;
}
