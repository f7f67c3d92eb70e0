// The original protocol.lua in a long-lived `luajit` process (fixtures/lua/diff/driver.lua), asked
// over a pipe one line per request. Requests are pipelined: many can be in flight, answers come
// back in order.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from './paths.js';
import { DEBIAN_LUA_ROOT, libraryLoadError, resolveLuaLib } from './lua-lib.js';
import { trackChild } from './children.js';

export const DRIVER_PATH = join(ROOT_DIR, 'fixtures', 'lua', 'diff', 'driver.lua');
/** Where scripts/setup-peers.sh extracts Debian's lua-nginx-websocket 0.08 (protocol.lua is unchanged up to v0.13). */
export const DEBIAN_PROTOCOL_PATH = join(DEBIAN_LUA_ROOT, 'nginx', 'websocket', 'protocol.lua');

/**
 * The protocol.lua of the run's library (lab/lua-lib.ts: --lua-lib / RESTY_WEBSOCKET_LIB in either
 * layout, else Debian's copy). A RESTY_WEBSOCKET_LIB that is not a library folder yields a path that
 * does not exist, so oracleUnavailable names it.
 */
export function protocolLuaPath(): string {
  const r = resolveLuaLib();
  if (r.lib) return r.lib.protocolPath;
  const env = process.env.RESTY_WEBSOCKET_LIB;
  return env ? join(env, 'resty', 'websocket', 'protocol.lua') : DEBIAN_PROTOCOL_PATH;
}

export function luajitPath(): string | null {
  const res = spawnSync('sh', ['-c', 'command -v luajit'], { encoding: 'utf8' });
  const p = res.stdout.trim();
  return res.status === 0 && p ? p : null;
}

/** Why the oracle cannot run here, or null when it can. */
export function oracleUnavailable(protocolPath = protocolLuaPath()): string | null {
  if (!luajitPath()) return 'luajit is not installed (run bash fuzz/diff/setup-lua.sh)';
  if (!existsSync(protocolPath)) return `the original protocol.lua is missing at ${protocolPath} (run bash fuzz/diff/setup-lua.sh, or set RESTY_WEBSOCKET_LIB)`;
  const chosen = resolveLuaLib().lib;
  if (chosen !== null && chosen.protocolPath === protocolPath) return libraryLoadError(chosen);
  return null;
}

/** In CI, installs what the oracle needs (fuzz/diff/setup-lua.sh) when it is missing. */
export function ensureOracle(): string | null {
  const why = oracleUnavailable();
  if (why === null || process.env.CI !== 'true' || process.env.RESTY_WEBSOCKET_LIB) return why;
  const res = spawnSync('bash', [join(ROOT_DIR, 'fuzz', 'diff', 'setup-lua.sh')], { encoding: 'utf8', timeout: 900_000 });
  return res.status === 0 ? oracleUnavailable() : `${why}; setup-lua.sh failed: ${(res.stderr ?? '').trim().slice(-1000)}`;
}

/** Answers still owed, in request order: one line, or a batch of `want` lines. */
interface Waiter {
  want: number;
  lines: string[];
  resolve: (lines: string[]) => void;
  reject: (e: Error) => void;
}

export class LuaOracle {
  private readonly proc: ChildProcessWithoutNullStreams;
  private waiting: Array<Waiter | undefined> = [];
  private head = 0; // index of the first live waiter (compacted now and then, so no shift() per line)
  private partial: Buffer[] = [];
  private failure: Error | null = null;
  readonly protocolPath: string;

  constructor(protocolPath = protocolLuaPath()) {
    const why = oracleUnavailable(protocolPath);
    if (why) throw new Error(why);
    this.protocolPath = protocolPath;
    this.proc = spawn(luajitPath()!, [DRIVER_PATH, protocolPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    trackChild(this.proc, 'luajit');
    this.proc.stdout.on('data', (d: Buffer) => this.onData(d));
    let stderr = '';
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    this.proc.on('close', (code, signal) => this.fail(new Error(`luajit driver exited (code ${code}, signal ${signal}): ${stderr.trim()}`)));
    this.proc.on('error', (e) => this.fail(e));
    this.proc.stdin.on('error', (e) => this.fail(e));
  }

  // Scans each chunk once for line ends: answers of large payloads arrive in many chunks, and
  // splitting the accumulated text again on every chunk costs 11% of a differential run. A line
  // is decoded once it is whole, from its bytes, into one flat string: a line joined from string
  // pieces is a rope, and comparing a 2 MB rope with our answer took 17 ms where a flat one takes
  // a tenth of a millisecond. (The driver writes ASCII only: hex, numbers and names.)
  private onData(d: Buffer): void {
    let from = 0;
    for (let nl = d.indexOf(0x0a); nl >= 0; nl = d.indexOf(0x0a, from)) {
      const line = this.partial.length > 0 ? Buffer.concat([...this.partial, d.subarray(from, nl)]).toString('latin1') : d.toString('latin1', from, nl);
      this.partial = [];
      from = nl + 1;
      this.deliver(line);
    }
    if (from < d.length) this.partial.push(d.subarray(from));
  }

  private deliver(line: string): void {
    const w = this.waiting[this.head];
    if (w === undefined) return;
    w.lines.push(line);
    if (w.lines.length < w.want) return;
    this.waiting[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.waiting.length) {
      this.waiting = this.waiting.slice(this.head);
      this.head = 0;
    }
    w.resolve(w.lines);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const owed = this.waiting.slice(this.head);
    this.waiting = [];
    this.head = 0;
    for (const w of owed) w?.reject(this.failure);
  }

  /** Sends one request line; resolves with its answer line. */
  async ask(request: string): Promise<string> {
    return (await this.send([request], request + '\n'))[0]!;
  }

  /**
   * Sends many requests in one write as one batch ("N <count>" and the request lines); the driver
   * answers them all with one flush. Resolves with the answers in request order. The answers are
   * the same as from one ask() per request; a batch only saves the per-line round trips.
   */
  askMany(requests: readonly string[]): Promise<string[]> {
    if (requests.length === 0) return Promise.resolve([]);
    return this.send(requests, `N ${requests.length}\n${requests.join('\n')}\n`);
  }

  private send(requests: readonly string[], text: string): Promise<string[]> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ want: requests.length, lines: [], resolve, reject });
      this.proc.stdin.write(text);
    });
  }

  async version(): Promise<string> {
    return (await this.ask('V')).slice(2);
  }

  async close(): Promise<void> {
    if (this.failure) return;
    const exited = new Promise<void>((r) => this.proc.once('close', () => r()));
    this.proc.stdin.end('Q\n');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
