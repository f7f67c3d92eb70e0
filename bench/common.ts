// Shared helpers for the benchmarks: statistics, number formatting and running a TypeScript
// module in a child process that reports one JSON line (so each measurement gets its own
// process, environment and JIT state).
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { availableParallelism } from 'node:os';
import { trackChild } from '../lab/children.js';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_DIR } from '../lab/paths.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an already sorted array. */
export function percentileSorted(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

export const MiB = 1024 * 1024;

export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return '-';
  if (x >= 1e6) return `${(x / 1e6).toFixed(2)}M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)}k`;
  return x.toFixed(1);
}

export function fmtRatio(x: number | null | undefined): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(2)}x`;
}

export function fmtSize(bytes: number): string {
  if (bytes >= MiB) return `${bytes / MiB} MiB`;
  if (bytes >= 1024) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}

/** An aligned text table: the first `leftCols` columns (text) left-aligned, the rest (numbers) right-aligned. */
export function table(header: readonly string[], rows: readonly (readonly string[])[], leftCols = 1): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((c, i) => (i < leftCols ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export interface ChildHandle {
  /** Resolves with the first JSON line the child prints on stdout. */
  firstJson: Promise<unknown>;
  /** Resolves when the child exits. */
  exited: Promise<number | null>;
  kill(): void;
  /** Writes `line` to the child's stdin; resolves with the next JSON line it prints after the first. */
  ask(line: string): Promise<unknown>;
}

/**
 * Which CPU the servers run on and which the clients driving them (load generators, client
 * children): a server and its load generator each on a CPU of its own, the same placement for
 * every server. Left to the scheduler, placement changes from round to round and moves a round's
 * ratio more than the servers do (conns, 100 connections: 0.86-0.96x over 5 rounds pinned,
 * 0.73-1.43x unpinned). Null (no pinning) on a single CPU or without `taskset`.
 */
export interface CpuPlacement {
  server: number;
  load: number;
}

let placement: CpuPlacement | null | undefined;

export function cpuPlacement(): CpuPlacement | null {
  if (placement !== undefined) return placement;
  const cpus = availableParallelism();
  const taskset = spawnSync('taskset', ['-p', String(process.pid)], { encoding: 'utf8' });
  placement = cpus >= 2 && taskset.status === 0 ? { server: cpus - 1, load: 0 } : null;
  return placement;
}

/**
 * Pins a running process, every thread of it, to `cpu` (nginx's workers, which the peer started);
 * returns how to give it all CPUs back, or null when it could not be pinned.
 */
export function pinProcess(pid: number, cpu: number): (() => void) | null {
  const all = `0-${availableParallelism() - 1}`;
  if (spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { stdio: 'ignore' }).status !== 0) return null;
  return () => void spawnSync('taskset', ['-a', '-p', '-c', all, String(pid)], { stdio: 'ignore' });
}

/** The worker processes of an nginx master (its children). */
export function nginxWorkers(masterPid: number): number[] {
  try {
    return readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Pins an nginx peer's workers to `cpu` for a suite; returns how to undo it (a no-op when nothing was pinned). */
export function pinNginx(masterPid: number | null, cpu: number | undefined): () => void {
  if (masterPid === null || cpu === undefined) return () => {};
  const undo = nginxWorkers(masterPid).map((pid) => pinProcess(pid, cpu));
  return () => {
    for (const u of undo) u?.();
  };
}

/**
 * Runs `node <build>/bench/<file>.js ...args` (bench/build.ts: plain JavaScript, as the package
 * ships, not tsx) with extra environment. The child must print its result as one JSON line on
 * stdout; anything else on stdout is ignored, stderr is passed through when WSLAB_BENCH_DEBUG is
 * set. `timeoutMs` bounds the child's life; `cpu` pins it to one CPU (cpuPlacement).
 */
export function spawnBenchChild(buildDir: string, file: string, args: readonly string[], env: Record<string, string | undefined>, timeoutMs: number, nodeArgs: readonly string[] = [], cpu?: number): ChildHandle {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
  const nodeCommand = [process.execPath, ...nodeArgs, join(buildDir, 'bench', file.replace(/\.ts$/, '.js')), ...args];
  // taskset execs node with its affinity set, so every thread node starts inherits it (cpuPlacement)
  const [command, ...argv] = cpu === undefined ? nodeCommand : ['taskset', '-c', String(cpu), ...nodeCommand];
  const child = spawn(command!, argv, {
    cwd: ROOT_DIR,
    env: childEnv,
    stdio: ['pipe', 'pipe', process.env.WSLAB_BENCH_DEBUG ? 'inherit' : 'pipe'],
  });
  trackChild(child, `bench ${file}`);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  timer.unref();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => {
    clearTimeout(timer);
    resolve(code);
  }));
  const firstJson = new Promise<unknown>((resolve, reject) => {
    let out = '';
    let done = false;
    child.stdout!.on('data', (d: Buffer) => {
      if (done) return;
      out += d.toString();
      let nl: number;
      while ((nl = out.indexOf('\n')) >= 0) {
        const line = out.slice(0, nl).trim();
        out = out.slice(nl + 1);
        if (line.startsWith('{')) {
          done = true;
          try {
            resolve(JSON.parse(line));
          } catch (e) {
            reject(e);
          }
          return;
        }
      }
    });
    void exited.then((code) => {
      if (!done) reject(new Error(`${file} exited with ${code} before reporting:\n${stderr}`));
    });
  });
  firstJson.catch(() => {});
  // JSON lines after the first, in order, for ask()
  const answers: Array<(v: unknown) => void> = [];
  let rest = '';
  let seenFirst = false;
  child.stdout!.on('data', (d: Buffer) => {
    rest += d.toString();
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl).trim();
      rest = rest.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      if (!seenFirst) {
        seenFirst = true;
        continue;
      }
      answers.shift()?.(JSON.parse(line));
    }
  });
  const ask = (line: string): Promise<unknown> =>
    new Promise((resolve, reject) => {
      answers.push(resolve);
      child.stdin!.write(line + '\n');
      void exited.then((code) => reject(new Error(`${file} exited with ${code} before answering ${line}`)));
    });
  return { firstJson, exited, kill: () => child.kill('SIGTERM'), ask };
}

/** Runs `fn` repeatedly until `minMs` have passed or `maxIters` calls; returns calls and seconds. */
export function timeLoop(fn: () => void, minMs: number, maxIters: number): { iters: number; seconds: number } {
  const start = process.hrtime.bigint();
  const limit = BigInt(Math.round(minMs * 1e6));
  let iters = 0;
  let elapsed = 0n;
  do {
    fn();
    iters++;
    elapsed = process.hrtime.bigint() - start;
  } while (elapsed < limit && iters < maxIters);
  return { iters, seconds: Number(elapsed) / 1e9 };
}

/** Node flags that write a CPU profile into `dir` (the largest .cpuprofile is the main thread). */
export function cpuProfArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/** Whether the module at `url` (its import.meta.url) is the process's entry point. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === resolve(process.argv[1]);
}

const CLK_TCK = 100; // Linux's USER_HZ for /proc/<pid>/stat

export function rssKiB(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** utime + stime of a process in µs. */
export function cpuUs(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1e6) / CLK_TCK;
  } catch {
    return null;
  }
}


/** Where a load generator connects: a WebSocket endpoint on 127.0.0.1. */
export interface UpgradeTarget {
  name: string;
  host: string;
  port: number;
  path: string;
}

function upgradeRequest(t: UpgradeTarget): string {
  return (
    `GET ${t.path} HTTP/1.1\r\nHost: ${t.host}:${t.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`
  );
}

/**
 * Opens a raw connection and completes a hand-written upgrade (the load generators do no
 * WebSocket client work beyond this). Resolves with the socket, paused, and any bytes that came
 * after the response head; rejects on a response other than 101, an error or `timeoutMs`.
 */
export function openUpgraded(t: UpgradeTarget, timeoutMs: number): Promise<{ sock: net.Socket; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: t.host, port: t.port, noDelay: true });
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`${t.name}: handshake timed out`));
    }, timeoutMs);
    let head = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      head = Buffer.concat([head, d]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('error', onError);
      sock.pause();
      if (!head.subarray(0, 12).toString('latin1').includes(' 101')) {
        sock.destroy();
        reject(new Error(`${t.name}: no 101: ${head.subarray(0, end).toString('latin1').split('\r\n')[0]}`));
        return;
      }
      resolve({ sock, rest: Buffer.from(head.subarray(end + 4)) });
    };
    const onError = (e: Error): void => {
      clearTimeout(timer);
      reject(new Error(`${t.name}: ${e.message}`));
    };
    sock.on('data', onData);
    sock.on('error', onError);
    sock.once('connect', () => sock.write(upgradeRequest(t)));
  });
}
