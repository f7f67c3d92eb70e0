// The benchmark children run as plain JavaScript, the way the package ships (tsc output), not
// through tsx: tsx compiles with esbuild's keepNames, which calls defineProperty('name') on every
// named closure a program creates at run time. That costs our TypeScript (and not ws, which is
// JavaScript) CPU per call and ~290 bytes per closure: five such closures per NodeCosocket alone
// (its bound event handlers), measured with a heap snapshot of 2000 connections.
//
// Run compiled (dist/: bin/wslab.mjs's default, and the only way an installed lab runs), this
// module's tsc build already holds the children beside it, and the impl/*.js they import
// (dist/impl/, emitted by the same build from the same relative imports): they are used as they
// are, so children and parent always come from one build, and nothing needs TypeScript at run time.
//
// Run from source (tsx, vitest), impl/*.ts and the child modules are transpiled (no type check:
// `npm run typecheck` does that) into node_modules/.cache/wslab-bench/<hash of the sources>/,
// reused while the sources are the same. Inside node_modules, so `ws` and `bufferutil` resolve as
// they do for the sources. Either way a child imports the implementation as ../impl/<module>.js.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as TypeScript from 'typescript';
import { ROOT_DIR } from '../lab/paths.js';
import { BENCH_DIR } from './common.js';

/** Whether this module is the tsc output in dist/bench/ (else its TypeScript source in bench/). */
const COMPILED = fileURLToPath(import.meta.url).endsWith('.js');

/** The child modules (and what they import from bench/). */
const BENCH_FILES = ['common.ts', 'echo-server.ts', 'loadgen.ts', 'conns-loadgen.ts', 'codec-child.ts', 'client-child.ts', 'deflate-child.ts'];
/** The lab modules the bench files import, and theirs in turn (followed, so a new import cannot be missed). */
function labFiles(texts: readonly string[]): Array<{ rel: string; text: string }> {
  const found = new Map<string, string>();
  const follow = (text: string, fromLab: boolean): void => {
    for (const m of text.matchAll(/from '(\.\.\/lab\/|\.\/)([\w-]+)\.js'/g)) {
      if (m[1] === './' && !fromLab) continue; // bench/ siblings are listed in BENCH_FILES
      const file = `${m[2]}.ts`;
      if (found.has(file)) continue;
      const t = readFileSync(join(ROOT_DIR, 'lab', file), 'utf8');
      found.set(file, t);
      follow(t, true);
    }
  };
  for (const t of texts) follow(t, false);
  return [...found].sort().map(([f, text]) => ({ rel: `lab/${f}`, text }));
}

function sources(): Array<{ rel: string; text: string }> {
  const implDir = join(ROOT_DIR, 'impl');
  const impl = readdirSync(implDir)
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.d.ts'))
    .sort()
    .map((f) => ({ rel: `impl/${f}`, text: readFileSync(join(implDir, f), 'utf8') }));
  const bench = BENCH_FILES.map((f) => ({ rel: `bench/${f}`, text: readFileSync(join(BENCH_DIR, f), 'utf8') }));
  return [...impl, ...bench, ...labFiles(bench.map((b) => b.text))];
}

let built: string | null = null;

/** The folder holding bench/*.js and impl/*.js: dist/ when compiled, else the sources' transpiled copy (rebuilt when they change). */
export function benchBuildDir(): string {
  if (built !== null) return built;
  if (COMPILED) {
    built = dirname(BENCH_DIR);
    return built;
  }
  // a devDependency, absent from an installed lab: loaded only when there are sources to transpile
  const ts = createRequire(import.meta.url)('typescript') as typeof TypeScript;
  const files = sources();
  const hash = createHash('sha256');
  hash.update(ts.version);
  for (const f of files) hash.update(`${f.rel}\0${f.text}\0`);
  const cacheRoot = join(ROOT_DIR, 'node_modules', '.cache', 'wslab-bench');
  const dir = join(cacheRoot, hash.digest('hex').slice(0, 16));
  if (!existsSync(join(dir, 'package.json'))) {
    mkdirSync(cacheRoot, { recursive: true });
    const tmp = mkdtempSync(join(cacheRoot, 'build-'));
    for (const f of files) {
      const out = ts.transpileModule(f.text, {
        fileName: f.rel,
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
      });
      mkdirSync(join(tmp, f.rel, '..'), { recursive: true });
      writeFileSync(join(tmp, f.rel.replace(/\.ts$/, '.js')), out.outputText);
    }
    // written last: its presence marks a complete build
    writeFileSync(join(tmp, 'package.json'), '{ "type": "module" }\n');
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true }); // another run built the same sources first
    }
    // builds of other sources older than an hour are dropped (a run still using one is long over)
    for (const d of readdirSync(cacheRoot)) {
      const path = join(cacheRoot, d);
      if (path !== dir && Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    }
  }
  built = dir;
  return dir;
}
