// Compiles the fuzz targets (and the impl modules they import) to CommonJS in fuzz/build/, which is
// what jsfuzz 1.0.15 can load, and checks each compiled target loads and exports `fuzz`.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ROOT_DIR } from '../lab/paths.js';

// The checkout's fuzz/ (not this module's folder: compiled, that is dist/fuzz/, without the sources,
// tsconfig.fuzz.json or the build folder the campaigns load from).
export const FUZZ_DIR = join(ROOT_DIR, 'fuzz');
export const BUILD_DIR = join(FUZZ_DIR, 'build');
const require = createRequire(import.meta.url);

export function compiledTargetPath(name: string): string {
  return join(BUILD_DIR, 'fuzz', 'targets', `${name}.js`);
}

export interface BuildResult {
  ok: boolean;
  /** tsc's diagnostics (type errors elsewhere do not stop emission; a missing output does). */
  output: string;
}

const LOCK_DIR = join(BUILD_DIR, '.lock');

/** Test files run in parallel processes: one build at a time into the shared fuzz/build/. */
function withBuildLock<T>(fn: () => T): T {
  const sleeper = new Int32Array(new SharedArrayBuffer(4));
  const until = Date.now() + 300_000;
  for (;;) {
    try {
      mkdirSync(LOCK_DIR);
      break;
    } catch {
      try {
        if (Date.now() - statSync(LOCK_DIR).mtimeMs > 180_000) rmSync(LOCK_DIR, { recursive: true, force: true });
      } catch {
        // released meanwhile
      }
      if (Date.now() > until) throw new Error(`fuzz build lock ${LOCK_DIR} held for too long`);
      Atomics.wait(sleeper, 0, 0, 200);
    }
  }
  try {
    return fn();
  } finally {
    rmSync(LOCK_DIR, { recursive: true, force: true });
  }
}

/** Runs tsc -p fuzz/tsconfig.fuzz.json (incremental, so a second run is quick). */
export function buildTargets(): BuildResult {
  mkdirSync(BUILD_DIR, { recursive: true });
  return withBuildLock(compile);
}

function compile(): BuildResult {
  // The project is ESM; the compiled targets are CommonJS.
  writeFileSync(join(BUILD_DIR, 'package.json'), '{ "type": "commonjs" }\n');
  let tsc: string;
  try {
    tsc = require.resolve('typescript/bin/tsc');
  } catch {
    // An installed lab has neither TypeScript (a devDependency) nor the target sources.
    return { ok: false, output: 'the fuzz targets are compiled from their TypeScript sources with typescript: run wslab fuzz from a checkout of resty-websocket-lab after npm ci' };
  }
  const res = spawnSync(process.execPath, [tsc, '-p', join(FUZZ_DIR, 'tsconfig.fuzz.json')], {
    cwd: ROOT_DIR,
    encoding: 'utf8',
    timeout: 180_000,
  });
  const output = `${res.stdout ?? ''}${res.stderr ?? ''}`.trim();
  return { ok: res.error === undefined && existsSync(join(BUILD_DIR, 'fuzz', 'targets', 'oracle.js')), output };
}

export interface LoadCheck {
  ok: boolean;
  err?: string;
  /** Seed inputs replayed. */
  execs: number;
  /** The first seed that crashed the target (inputs are hex). */
  crash?: { inputHex: string; message: string; file: string };
}

// Runs in a child `node`: require the compiled target like jsfuzz's worker does, then replay seeds.
const LOAD_CHECK = `
const fs = require('fs'), path = require('path');
const [target, ...dirs] = process.argv.slice(1);
const out = (o) => process.stdout.write(JSON.stringify(o));
let mod;
try { mod = require(target); } catch (e) { out({ ok: false, err: 'target failed to load: ' + (e && e.stack || e), execs: 0 }); process.exit(0); }
if (typeof mod.fuzz !== 'function') { out({ ok: false, err: 'target exports no fuzz function', execs: 0 }); process.exit(0); }
let execs = 0;
for (const d of dirs) {
  if (!fs.existsSync(d)) continue;
  for (const f of fs.readdirSync(d).sort()) {
    const buf = fs.readFileSync(path.join(d, f));
    try { mod.fuzz(buf); execs++; }
    catch (e) { out({ ok: true, execs, crash: { inputHex: buf.toString('hex'), message: String(e && e.stack || e), file: path.join(d, f) } }); process.exit(0); }
  }
}
out({ ok: true, execs });
`;

/** Loads the compiled target in a fresh process and replays the seed folders through it. */
export function loadCheck(name: string, seedDirs: readonly string[], timeoutMs = 60_000): LoadCheck {
  const res = spawnSync(process.execPath, ['-e', LOAD_CHECK, compiledTargetPath(name), ...seedDirs], {
    cwd: ROOT_DIR,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (res.error) return { ok: false, err: `load check failed: ${res.error.message}`, execs: 0 };
  try {
    return JSON.parse(res.stdout) as LoadCheck;
  } catch {
    return { ok: false, err: `load check failed (exit ${res.status}): ${res.stderr.trim().slice(0, 2000)}`, execs: 0 };
  }
}
