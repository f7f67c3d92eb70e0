// The HTTP-edge probe: the HTTP-edge table (README "Security and limits") replayed against our createServer, ws 8.23 (Node's HTTP
// server in front) and the lab's nginx + the original library, side by side, on 127.0.0.1 only.
// Every row is bounded in connections, bytes and time; servers run as child processes so their
// RSS can be read from /proc. Prints a Markdown table (README "Security and limits").
//
//   npx tsx bench/edge-probe.ts [--slow N] [--slow-time S] [--body-mib N] [--no-nginx] [--json FILE]
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { parseArgs } from 'node:util';
import { nativeUnavailable, startNativePeer } from '../lab/peers/native/index.js';
import { benchBuildDir } from './build.js';
import { spawnBenchChild, type ChildHandle } from './common.js';

export const HELP = `Usage: npx tsx bench/edge-probe.ts [options]

Replays the HTTP-edge table (README "Security and limits") against our server, ws and nginx + the original library
(all on 127.0.0.1) and prints it as Markdown.

Options:
  --slow N        connections trickling the request head at 1 byte/s (default 1000)
  --slow-time S   how long to watch them, seconds (default 70: nginx closes at 60)
  --body-mib N    MiB sent after "Content-Length: 1000000000000" (default 256)
  --no-nginx      leave out the nginx column
  --json FILE     also write the measurements as JSON
  -h, --help      this text

Example:
  npx tsx bench/edge-probe.ts --slow 1000 --slow-time 70`;

interface Target {
  name: string;
  port: number;
  path: string;
  pid: number;
  stop(): Promise<void>;
}

const UPGRADE = ['Host: 127.0.0.1', 'Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Version: 13'];
const request = (path: string, ...extra: string[]): string => [`GET ${path} HTTP/1.1`, ...UPGRADE, ...extra].join('\r\n') + '\r\n\r\n';

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

/** The status line (or what came back) for one request on a fresh connection. */
function answer(port: number, bytes: Buffer, timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = Buffer.alloc(0);
    let done = false;
    const finish = (why: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = got.toString('latin1');
      const line = text.split('\r\n')[0] ?? '';
      const title = /<title>([^<]*)<\/title>/.exec(text)?.[1];
      resolve(line ? `${line.replace(/^HTTP\/1\.1 /, '')}${title && !line.includes(title) ? ` ("${title}")` : ''}` : `no response (${why})`);
    };
    const timer = setTimeout(() => finish(`open after ${timeoutMs / 1000} s`), timeoutMs);
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d: Buffer) => {
      got = Buffer.concat([got, d]);
      if (got.includes('\r\n\r\n')) finish('answered');
    });
    sock.on('close', () => finish('closed'));
    sock.on('error', () => finish('reset'));
  });
}

interface SlowResult { closedAt: { min: number; max: number } | null; closed: number; open: number; rssGrowthMiB: number; answered: number }

/** N connections sending the head one byte per second; when does the server close them? */
async function slowloris(t: Target, n: number, watchMs: number): Promise<SlowResult> {
  const head = Buffer.from(request(t.path), 'latin1');
  const rss0 = rssMiB(t.pid);
  let rssMax = rss0;
  const closedAt: number[] = [];
  let answered = 0;
  const start = Date.now();
  const socks: net.Socket[] = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(t.port, '127.0.0.1');
    let sent = 0;
    const tick = setInterval(() => {
      // One byte a second, never the blank line that ends the head.
      if (sent < head.length - 4 && !s.destroyed) s.write(head.subarray(sent, ++sent));
    }, 1000);
    s.on('data', () => answered++);
    s.on('close', () => {
      clearInterval(tick);
      closedAt.push(Date.now() - start);
    });
    s.on('error', () => {});
    socks.push(s);
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 10));
  }
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(t.pid))), 500);
  while (Date.now() - start < watchMs && closedAt.length < n) await new Promise((r) => setTimeout(r, 250));
  clearInterval(sampler);
  const open = n - closedAt.length;
  for (const s of socks) s.destroy();
  closedAt.sort((a, b) => a - b);
  return { closedAt: closedAt.length ? { min: closedAt[0]!, max: closedAt[closedAt.length - 1]! } : null, closed: n - open, open, rssGrowthMiB: rssMax - rss0, answered };
}

interface BodyResult { status: string; afterMs: number | null; sentMiB: number; rssGrowthMiB: number }

/** An upgrade request announcing a 1 TB body, then up to `mib` MiB of it. */
async function hugeBody(t: Target, mib: number): Promise<BodyResult> {
  const rss0 = rssMiB(t.pid);
  let rssMax = rss0;
  const sampler = setInterval(() => (rssMax = Math.max(rssMax, rssMiB(t.pid))), 200);
  const r = await new Promise<{ status: string; afterMs: number | null; sent: number }>((resolve) => {
    const sock = net.connect(t.port, '127.0.0.1');
    const chunk = Buffer.alloc(1 << 20, 0x61);
    const start = Date.now();
    let sent = 0;
    let status = '';
    let afterMs: number | null = null;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(bound);
      sock.destroy();
      resolve({ status: status || 'no response', afterMs, sent });
    };
    const bound = setTimeout(finish, 30_000);
    const pump = (): void => {
      while (!done && sent < mib && sock.write(chunk)) sent++;
      if (sent >= mib) setTimeout(finish, 1000);
    };
    sock.on('connect', () => {
      sock.write(request(t.path, 'Content-Length: 1000000000000'));
      pump();
    });
    sock.on('drain', pump);
    sock.on('data', (d: Buffer) => {
      if (!status) {
        status = d.toString('latin1').split('\r\n')[0]!.replace(/^HTTP\/1\.1 /, '');
        afterMs = Date.now() - start;
      }
    });
    sock.on('close', finish);
    sock.on('error', finish);
  });
  clearInterval(sampler);
  return { status: r.status, afterMs: r.afterMs, sentMiB: r.sent, rssGrowthMiB: rssMax - rss0 };
}

async function startChild(kind: 'ours' | 'ws', lifetimeMs: number): Promise<Target> {
  const child: ChildHandle = spawnBenchChild(benchBuildDir(), 'echo-server.ts', [kind, String(lifetimeMs)], {}, lifetimeMs + 5000);
  const info = (await child.firstJson) as { port: number; pid: number };
  return { name: kind === 'ours' ? 'ours' : 'ws 8.23', port: info.port, path: '/', pid: info.pid, stop: async () => {
    child.kill();
    await child.exited;
  } };
}

export async function main(argv: string[]): Promise<number> {
  let values: { slow?: string; 'slow-time'?: string; 'body-mib'?: string; 'no-nginx'?: boolean; json?: string; help?: boolean };
  try {
    ({ values } = parseArgs({ args: argv, options: {
      slow: { type: 'string', default: '1000' }, 'slow-time': { type: 'string', default: '70' }, 'body-mib': { type: 'string', default: '256' },
      'no-nginx': { type: 'boolean', default: false }, json: { type: 'string' }, help: { type: 'boolean', short: 'h', default: false },
    }, strict: true }));
  } catch (e) {
    console.error(`edge-probe: ${(e as Error).message}`);
    return 2;
  }
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const slow = Number(values.slow);
  const slowMs = Number(values['slow-time']) * 1000;
  const bodyMib = Number(values['body-mib']);
  if (![slow, slowMs, bodyMib].every((n) => Number.isInteger(n) && n >= 0) || slow > 5000 || slowMs > 180_000 || bodyMib > 1024) {
    console.error('edge-probe: --slow 0..5000, --slow-time 0..180 s, --body-mib 0..1024 (integers)');
    return 2;
  }
  const lifetime = slowMs + 120_000;
  const targets: Target[] = [await startChild('ours', lifetime), await startChild('ws', lifetime)];
  const why = values['no-nginx'] ? 'left out (--no-nginx)' : nativeUnavailable();
  if (!why) {
    const peer = await startNativePeer({});
    targets.unshift({ name: 'nginx + Lua', port: Number(new URL(peer.httpUrl).port), path: '/diff-handshake', pid: peer.pid, stop: () => peer.stop() });
  } else console.error(`edge-probe: nginx column: ${why}`);
  const rows: Array<[string, ...string[]]> = [];
  const json: Record<string, unknown> = {};
  try {
    const fixed: Array<[string, (path: string) => Buffer]> = [
      ['10k `a:` header lines', (p) => Buffer.from(request(p, ...Array.from({ length: 10_000 }, () => 'a:')))],
      ['1000 `X-H-i: v` header lines', (p) => Buffer.from(request(p, ...Array.from({ length: 1000 }, (_, i) => `X-H-${i}: v`)))],
      ['one 9000-byte header line', (p) => Buffer.from(request(p, 'X: ' + 'a'.repeat(8997)))],
      ['request head over 33 KiB', (p) => Buffer.from(request(p, ...Array.from({ length: 40 }, () => 'X-Big: ' + 'b'.repeat(900))))],
      ['space in a header name', (p) => Buffer.from(request(p, 'X Y: 1'))],
      ['obs-fold line', (p) => Buffer.from(request(p, ' folded'))],
      ['Host `127..0.1`', (p) => Buffer.from(request(p).replace('Host: 127.0.0.1', 'Host: 127..0.1'))],
    ];
    for (const [name, build] of fixed) {
      const answers = await Promise.all(targets.map((t) => answer(t.port, build(t.path))));
      rows.push([name, ...answers]);
      json[name] = Object.fromEntries(targets.map((t, i) => [t.name, answers[i]]));
    }
    if (bodyMib > 0) {
      const results = await Promise.all(targets.map((t) => hugeBody(t, bodyMib)));
      rows.push([`\`Content-Length: 1000000000000\`, then ${bodyMib} MiB`, ...results.map((r) => `${r.status}${r.afterMs !== null ? ` after ${r.afterMs} ms` : ''}; ${r.sentMiB} MiB taken; RSS +${r.rssGrowthMiB.toFixed(0)} MiB`)]);
      json.body = Object.fromEntries(targets.map((t, i) => [t.name, results[i]]));
    }
    if (slow > 0) {
      const results = await Promise.all(targets.map((t) => slowloris(t, slow, slowMs)));
      rows.push([`${slow} connections trickling the head at 1 byte/s (watched ${slowMs / 1000} s)`, ...results.map((r) =>
        `${r.closed} closed${r.closedAt ? ` at ${(r.closedAt.min / 1000).toFixed(1)}-${(r.closedAt.max / 1000).toFixed(1)} s` : ''}, ${r.open} open; ${r.answered ? `${r.answered} answered; ` : 'no response; '}RSS +${r.rssGrowthMiB.toFixed(0)} MiB`)]);
      json.slowloris = Object.fromEntries(targets.map((t, i) => [t.name, results[i]]));
    }
  } finally {
    for (const t of targets) await t.stop();
  }
  const header = ['probe', ...targets.map((t) => t.name)];
  const md = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
  console.log(md);
  if (values.json) writeFileSync(values.json, JSON.stringify({ measuredAt: new Date().toISOString(), rows: json }, null, 2) + '\n');
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exit(await main(process.argv.slice(2)));
