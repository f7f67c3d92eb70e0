// Corpus merge and minimisation (like libFuzzer's -merge=1 or afl-cmin): the inputs of several corpus
// folders (the persistent corpus, one restored from a CI cache, another runner's) are replayed through
// the compiled target under V8's precise block coverage, smallest first, and an input is kept only when
// it executes code that no kept input executed. jsfuzz 1.0.15 has no merge of its own; CI jobs that
// fuzz one target each use this to keep their cached corpus from growing without bound.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROOT_DIR } from '../lab/paths.js';
import { buildTargets, BUILD_DIR, compiledTargetPath } from './build-targets.js';
import { findTarget } from './registry.js';

export interface CorpusMinimiseResult {
  target: string;
  /** Distinct inputs (by content) found in all the folders. */
  inputs: number;
  kept: number;
  /** Inputs that threw (findings, not corpus): left out. */
  crashed: number;
  /** Code blocks the kept inputs execute. */
  blocks: number;
  outDir: string;
  durationMs: number;
}

// Runs in a child `node` (CommonJS, like jsfuzz's worker): replays inputs smallest first and prints
// the kept ones. A block is the start offset of a V8 coverage range; an input executes it when the
// innermost range around that offset has a count above zero in the coverage taken after the input.
const MINIMISE_CHILD = `
const fs = require('fs'), path = require('path'), crypto = require('crypto'), inspector = require('inspector');
const [target, buildDir, ...dirs] = process.argv.slice(1);
const buildUrl = require('url').pathToFileURL(buildDir).href;
const session = new inspector.Session();
session.connect();
const post = (m, p) => new Promise((res, rej) => session.post(m, p || {}, (e, r) => (e ? rej(e) : res(r))));
(async () => {
  await post('Profiler.enable');
  await post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  const mod = require(target);
  await post('Profiler.takePreciseCoverage');
  const inputs = [], seen = new Set();
  for (const d of dirs) {
    if (!fs.existsSync(d)) continue;
    for (const f of fs.readdirSync(d).sort()) {
      const p = path.join(d, f);
      if (!fs.statSync(p).isFile()) continue;
      const buf = fs.readFileSync(p);
      const hash = crypto.createHash('sha256').update(buf).digest('hex');
      if (seen.has(hash)) continue;
      seen.add(hash);
      inputs.push({ file: p, size: buf.length, hash });
    }
  }
  inputs.sort((a, b) => a.size - b.size || (a.hash < b.hash ? -1 : 1));
  const probes = new Map(); // url -> Set of start offsets seen in any run
  const covered = new Set(); // "url:offset" executed by a kept input
  const kept = [];
  let crashed = 0;
  for (const input of inputs) {
    let threw = false;
    try {
      const r = mod.fuzz(fs.readFileSync(input.file));
      if (r && typeof r.then === 'function') await r;
    } catch { threw = true; }
    const { result } = await post('Profiler.takePreciseCoverage');
    if (threw) { crashed++; continue; }
    let gain = false;
    for (const script of result) {
      if (!script.url.startsWith(buildUrl)) continue;
      const ranges = script.functions.flatMap((f) => f.ranges);
      let known = probes.get(script.url);
      if (!known) probes.set(script.url, (known = new Set()));
      for (const r of ranges) known.add(r.startOffset);
      for (const at of known) {
        const key = script.url + ':' + at;
        if (covered.has(key)) continue;
        let inner = null;
        for (const r of ranges) if (r.startOffset <= at && at < r.endOffset && (!inner || r.endOffset - r.startOffset < inner.endOffset - inner.startOffset)) inner = r;
        if (inner && inner.count > 0) { covered.add(key); gain = true; }
      }
    }
    if (gain) kept.push(input);
  }
  process.stdout.write(JSON.stringify({ inputs: inputs.length, kept, crashed, blocks: covered.size }));
})().catch((e) => { process.stdout.write(JSON.stringify({ error: String((e && e.stack) || e) })); });
`;

/**
 * Merges the inputs of `dirs` and writes the minimised corpus to `outDir` (replacing it; files named
 * by the SHA-256 of their content, so merging the same inputs twice changes nothing).
 */
export function minimiseCorpus(target: string, dirs: readonly string[], outDir: string, timeoutMs = 600_000): CorpusMinimiseResult {
  const started = Date.now();
  if (!findTarget(target)) throw new Error(`unknown fuzz target "${target}"`);
  const build = buildTargets();
  if (!build.ok) throw new Error(`fuzz targets failed to build: ${build.output.slice(0, 2000)}`);
  const res = spawnSync(process.execPath, ['-e', MINIMISE_CHILD, compiledTargetPath(target), BUILD_DIR, ...dirs], {
    cwd: ROOT_DIR,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 * 1024 * 1024,
  });
  let parsed: { inputs: number; kept: Array<{ file: string; hash: string }>; crashed: number; blocks: number; error?: string };
  try {
    parsed = JSON.parse(res.stdout);
  } catch {
    throw new Error(`corpus minimisation of ${target} failed (exit ${res.status}${res.error ? `, ${res.error.message}` : ''}): ${res.stderr.trim().slice(0, 2000)}`);
  }
  if (parsed.error) throw new Error(`corpus minimisation of ${target} failed: ${parsed.error}`);
  // Write beside outDir, then swap, so an interrupted run never leaves a half corpus.
  const tmp = join(dirname(outDir), `.${target}-minimised-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  for (const k of parsed.kept) copyFileSync(k.file, join(tmp, k.hash));
  if (existsSync(outDir)) rmSync(outDir, { recursive: true, force: true });
  mkdirSync(dirname(outDir), { recursive: true });
  renameSync(tmp, outDir);
  return { target, inputs: parsed.inputs, kept: parsed.kept.length, crashed: parsed.crashed, blocks: parsed.blocks, outDir, durationMs: Date.now() - started };
}

/** SHA-256 file names of a folder's inputs (for tests and reports). */
export function corpusHashes(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .map((f) => createHash('sha256').update(readFileSync(join(dir, f))).digest('hex'))
    .sort();
}
