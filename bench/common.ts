// Shared helpers for the benchmarks: statistics, number formatting and running a TypeScript
// module in a child process that reports one JSON line (so each measurement gets its own
// process, environment and JIT state).
import { spawn } from 'node:child_process';
import { trackChild } from '../lab/children.js';
import { dirname, join } from 'node:path';
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
}

/**
 * Runs `node --import tsx <bench/file> ...args` with extra environment. The child must print its
 * result as one JSON line on stdout; anything else on stdout is ignored, stderr is passed through
 * when WSLAB_BENCH_DEBUG is set. `timeoutMs` bounds the child's life.
 */
export function spawnTsChild(file: string, args: readonly string[], env: Record<string, string | undefined>, timeoutMs: number, nodeArgs: readonly string[] = []): ChildHandle {
  const childEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) childEnv[k] = v;
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(BENCH_DIR, file), ...args], {
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
  return { firstJson, exited, kill: () => child.kill('SIGTERM') };
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

/** Node flags that write a CPU profile into `dir` (the largest .cpuprofile is the main thread; tsx's loader thread writes a small one). */
export function cpuProfArgs(dir: string | undefined): string[] {
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}
