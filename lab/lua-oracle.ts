// The original protocol.lua in a long-lived `luajit` process (fixtures/lua/diff/driver.lua), asked
// over a pipe one line per request. Requests are pipelined: many can be in flight, answers come
// back in order.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from './paths.js';
import { resolveLuaLib } from './lua-lib.js';
import { trackChild } from './children.js';

export const DRIVER_PATH = join(ROOT_DIR, 'fixtures', 'lua', 'diff', 'driver.lua');
/** Where scripts/setup-peers.sh extracts Debian's lua-nginx-websocket 0.08 (protocol.lua is unchanged up to v0.13). */
export const DEBIAN_PROTOCOL_PATH = join(ROOT_DIR, '.cache', 'lua-nginx-websocket', 'usr', 'share', 'lua', '5.1', 'nginx', 'websocket', 'protocol.lua');

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
  return null;
}

/** In CI, installs what the oracle needs (fuzz/diff/setup-lua.sh) when it is missing. */
export function ensureOracle(): string | null {
  const why = oracleUnavailable();
  if (why === null || process.env.CI !== 'true' || process.env.RESTY_WEBSOCKET_LIB) return why;
  const res = spawnSync('bash', [join(ROOT_DIR, 'fuzz', 'diff', 'setup-lua.sh')], { encoding: 'utf8', timeout: 900_000 });
  return res.status === 0 ? oracleUnavailable() : `${why}; setup-lua.sh failed: ${(res.stderr ?? '').trim().slice(-1000)}`;
}

export class LuaOracle {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly waiting: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> = [];
  private partial = '';
  private failure: Error | null = null;
  readonly protocolPath: string;

  constructor(protocolPath = protocolLuaPath()) {
    const why = oracleUnavailable(protocolPath);
    if (why) throw new Error(why);
    this.protocolPath = protocolPath;
    this.proc = spawn(luajitPath()!, [DRIVER_PATH, protocolPath], { stdio: ['pipe', 'pipe', 'pipe'] });
    trackChild(this.proc, 'luajit');
    this.proc.stdout.setEncoding('utf8');
    this.proc.stdout.on('data', (d: string) => this.onData(d));
    let stderr = '';
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-4000);
    });
    this.proc.on('close', (code, signal) => this.fail(new Error(`luajit driver exited (code ${code}, signal ${signal}): ${stderr.trim()}`)));
    this.proc.on('error', (e) => this.fail(e));
    this.proc.stdin.on('error', (e) => this.fail(e));
  }

  private onData(d: string): void {
    const lines = (this.partial + d).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) this.waiting.shift()?.resolve(line);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const w of this.waiting.splice(0)) w.reject(this.failure);
  }

  /** Sends one request line; resolves with its answer line. */
  ask(request: string): Promise<string> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.proc.stdin.write(request + '\n');
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
