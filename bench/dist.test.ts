// The benchmarks as `npm run bench` runs them: compiled, from dist/ (bin/wslab.mjs's default once
// built), where bench/ holds only .js and the children must come from the build itself. Real
// processes, sockets and the nginx + Lua peer, tiny counts. bench.test.ts covers the sources (tsx,
// vitest) and the report's shape; this covers the build.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../lab/paths.js';
import type { BenchProfile, BenchReport } from './cli.js';

const DIST = join(ROOT_DIR, 'dist');
const NOT_BUILT = existsSync(join(DIST, 'cli', 'main.js')) ? null : 'dist/ is not built: run `npm run build` first (npm test builds before it runs vitest)';
// WSLAB_FROM_SOURCE=0: bin/wslab.mjs would otherwise run the sources through tsx whenever one of
// them is newer than the build, and this test would pass without touching dist/.
const ENV = { ...process.env, WSLAB_FROM_SOURCE: '0' };

const dir = mkdtempSync(join(tmpdir(), 'wslab-bench-dist-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wslab bench from the build (dist/)', () => {
  it("runs the README's command (`node bin/wslab.mjs bench`, what `npm run bench` runs after building): codec and client children, exit 0", (ctx) => {
    if (NOT_BUILT) ctx.skip(NOT_BUILT);
    const out = join(dir, 'cli.json');
    const r = spawnSync(process.execPath, ['bin/wslab.mjs', 'bench', '--only', 'codec,client', '--quick', '--out', out], { cwd: ROOT_DIR, env: ENV, encoding: 'utf8', timeout: 55_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const report = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
    expect(report.errors).toEqual({});
    expect(report.codec!.map((v) => v.variant)).toEqual(['bufferutil', 'js']);
    expect(report.client!.ours.msgsPerSec).toBeGreaterThan(0);
    expect(r.stdout).toContain('targets');
  }, 60_000);

  it('runs the echo, conns and deflate children (servers, load generators) from dist/ itself, not from a transpiled copy of the sources', (ctx) => {
    if (NOT_BUILT) ctx.skip(NOT_BUILT);
    const profile: Pick<BenchProfile, 'echo' | 'conns' | 'deflate'> = {
      echo: { timeMs: 60, warmupMs: 0, maxMsgs: 300, conns: [1], sizes: [16] },
      conns: { timeMs: 60, warmupMs: 30, maxMsgs: 400, counts: [1] },
      deflate: { rounds: 1, roundMs: 60, maxMsgs: 100, conns: [1] },
    };
    // plain node importing the compiled modules, as bin/wslab.mjs does (vitest would transform them)
    const script = `
      const { runBench } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'bench', 'cli.js')).href)});
      const { benchBuildDir } = await import(${JSON.stringify(pathToFileURL(join(DIST, 'bench', 'build.js')).href)});
      const report = await runBench({ suites: ['echo', 'conns', 'deflate'], profile: JSON.parse(process.argv[1]), out: null, print: false });
      console.log(JSON.stringify({ buildDir: benchBuildDir(), report }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify(profile)], { cwd: ROOT_DIR, env: ENV, encoding: 'utf8', timeout: 55_000 });
    expect(r.status, r.stderr).toBe(0);
    const { buildDir, report } = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as { buildDir: string; report: BenchReport };
    expect(buildDir).toBe(DIST);
    expect(report.errors).toEqual({});
    expect(report.echo!.results.map((x) => x.target).sort()).toEqual(['nginx+lua', 'nginx+lua', 'ours', 'ours', 'tcp', 'tcp', 'ws', 'ws']);
    expect(report.conns!.results.map((x) => x.target).sort()).toEqual(['nginx+lua', 'ours', 'tcp', 'tcp-pull', 'ws']);
    expect(report.deflate!.cells.map((c) => c.conns)).toEqual([1]);
    expect(report.deflate!.cells[0]!.results.ours!.medianMsgsPerSec).toBeGreaterThan(0);
    for (const x of [...report.echo!.results, ...report.conns!.results]) {
      expect(x.error).toBeUndefined();
      expect(x.msgsPerSec).toBeGreaterThan(0);
    }
  }, 60_000);
});
