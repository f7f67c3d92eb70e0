// Smoke test: every benchmark runs end to end with tiny counts (real child processes, real
// sockets, the real nginx + Lua peer, real jsfuzz) and reports well-formed numbers. No timing
// thresholds: the targets are checked for shape only.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../lab/args.js';
import { help, runBench, run, SUITES, type BenchProfile, type BenchReport } from './cli.js';
import { CODEC_SIZES } from './codec.js';
import { runEchoBench } from './echo.js';
import { hotFunctions, mainProfileIn } from './profile.js';

const TINY: BenchProfile = {
  codec: { rounds: 1, roundMs: 2, passBytes: 16 * 1024 },
  echo: { timeMs: 60, rounds: 2, warmupMs: 0, maxMsgs: 300, conns: [1, 3], sizes: [16, 16 * 1024] },
  conns: { timeMs: 60, rounds: 2, warmupMs: 30, maxMsgs: 400, counts: [1, 20] },
  heap: { conns: 20, rounds: 1 },
  client: { rounds: 1, roundMs: 40, maxMsgs: 50 },
  deflate: { rounds: 1, roundMs: 60, maxMsgs: 100, conns: [1, 3] },
  fuzz: { timeMs: 800, target: 'frame-compat' },
  session: { rounds: 1, roundMs: 1500 },
};

const dir = mkdtempSync(join(tmpdir(), 'wslab-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const positive = (x: number): void => {
  expect(Number.isFinite(x)).toBe(true);
  expect(x).toBeGreaterThan(0);
};

describe('wslab bench', () => {
  it('rejects unknown suites and options as usage errors (wslab exits 2 with one line), and documents itself', async () => {
    await expect(run(['--only', 'codec,nope'])).rejects.toThrow('--only: unknown "nope" (one of codec, echo, conns, heap, client, deflate, fuzz, session)');
    await expect(run(['--bogus'])).rejects.toThrow(UsageError);
    expect(help).toContain('--only');
    expect(help).toContain('--quick');
  });

  it('runs every suite with tiny counts and writes a well-formed report', async () => {
    const out = join(dir, 'bench.json');
    const report = await runBench({ suites: SUITES, profile: TINY, out, print: false, command: 'test' });
    expect(report.errors).toEqual({});
    const onDisk = JSON.parse(readFileSync(out, 'utf8')) as BenchReport;
    expect(onDisk.command).toBe('test');
    expect(onDisk.machine.node).toBe(process.version);
    expect(onDisk.machine.cpus).toBeGreaterThan(0);

    // codec: both masking variants, every size x masked x op, ours and ws measured
    expect(report.codec!.map((v) => v.variant)).toEqual(['bufferutil', 'js']);
    expect(report.codec![0]!.nativeMask).toBe(true);
    expect(report.codec![1]!.nativeMask).toBe(false);
    for (const v of report.codec!) {
      expect(v.cells).toHaveLength(CODEC_SIZES.length * 2 * 2);
      for (const c of v.cells) {
        positive(c.ours.framesPerSec);
        positive(c.ws.framesPerSec);
        expect(c.ratio).toBeCloseTo(c.ratios[0]!, 10);
        expect(c.ours.mibPerSec).toBeCloseTo((c.ours.framesPerSec * c.size) / 1048576, 6);
      }
      expect(v.unmask.map((u) => u.size)).toEqual(CODEC_SIZES.filter((s) => s >= 125));
      for (const u of v.unmask) {
        positive(u.maskInPlace);
        positive(u.maskInPlaceJs);
        positive(u.bufferCopy);
      }
    }

    // session: both roles ran sessions against nginx
    expect(report.session!.roles.map((r) => r.role)).toEqual(['server', 'client']);
    for (const r of report.session!.roles) {
      positive(r.median);
      expect(r.stallReruns).toBeGreaterThanOrEqual(0);
    }

    // echo: 4 servers x (2 conns x 2 sizes x serial/pipelined), every echo accounted for
    const echo = report.echo!;
    expect(echo.results).toHaveLength(4 * 8);
    for (const r of echo.results) {
      expect(r.error).toBeUndefined();
      expect(r.msgs).toBeGreaterThanOrEqual(r.conns * r.depth);
      // two rounds each: their rates kept, the messages of both counted
      expect(r.perRound).toHaveLength(2);
      expect(r.msgs).toBeLessThanOrEqual(2 * TINY.echo.maxMsgs);
      positive(r.msgsPerSec);
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
    }
    expect(new Set(echo.results.map((r) => r.target))).toEqual(new Set(['ours', 'ws', 'nginx+lua', 'tcp']));
    for (const c of echo.ratios) {
      expect(c.vsWsRounds).toHaveLength(2);
      positive(c.vsWs!);
      positive(c.vsNginx!);
      positive(c.vsTcp!);
    }

    // conns: 5 servers x 2 counts, each with its RSS and CPU read from /proc
    const conns = report.conns!;
    expect(conns.skipped).toEqual([]);
    expect(conns.results.map((r) => `${r.conns} ${r.target}`).sort()).toEqual(['1 nginx+lua', '1 ours', '1 tcp', '1 tcp-pull', '1 ws', '20 nginx+lua', '20 ours', '20 tcp', '20 tcp-pull', '20 ws']);
    for (const r of conns.results) {
      expect(r.error).toBeUndefined();
      expect(r.msgs).toBeGreaterThanOrEqual(r.conns);
      // paired rounds are capped one by one, a target alone over all of them
      expect(r.msgs).toBeLessThanOrEqual(TINY.conns.maxMsgs * TINY.conns.rounds!);
      positive(r.msgsPerSec);
      expect(r.p99Ms).toBeGreaterThanOrEqual(r.p50Ms);
      positive(r.rssBaseKiB!);
      positive(r.rssLoadedKiB!);
      expect(r.rssPerConnKiB).toBeCloseTo((r.rssLoadedKiB! - r.rssBaseKiB!) / r.conns, 6);
      expect(r.serverCpuUsPerMsg).not.toBeNull();
      positive(r.loadgenCpuUsPerMsg);
    }
    // heap: ours, ws and the raw net echo, one round each, a number of bytes per idle connection
    expect(report.heap!.results.map((r) => r.kind)).toEqual(['ours', 'ws', 'tcp']);
    for (const r of report.heap!.results) {
      expect(r.error).toBeUndefined();
      expect(r.perRound).toHaveLength(1);
      expect(Number.isFinite(r.bytesPerConn)).toBe(true);
    }
    // ours and ws ran in 2 paired rounds each: per-round rates, their ratios, the CPU ratio
    for (const r of conns.results.filter((x) => x.target === 'ours' || x.target === 'ws')) {
      expect(r.perRound).toHaveLength(2);
      for (const round of r.perRound!) positive(round.msgsPerSec);
    }
    for (const c of conns.ratios) {
      expect(c.vsWsRounds).toHaveLength(2);
      expect(c.vsWs).toBeCloseTo((c.vsWsRounds[0]! + c.vsWsRounds[1]!) / 2, 9);
      positive(c.cpuVsWs!);
      positive(c.vsWs!);
      positive(c.vsNginx!);
      positive(c.vsTcp!);
    }

    // client
    positive(report.client!.ours.msgsPerSec);
    positive(report.client!.ws.msgsPerSec);
    positive(report.client!.ratio);

    // deflate: both servers negotiated permessage-deflate with the same answer, every echo checked by length
    const deflate = report.deflate!;
    expect(deflate.extensions.ours).toMatch(/^permessage-deflate/);
    expect(deflate.extensions.ours).toBe(deflate.extensions.ws);
    expect(deflate.cells.map((c) => c.conns)).toEqual([1, 3]);
    for (const c of deflate.cells) {
      positive(c.ratio);
      for (const name of ['ours', 'ws']) positive(c.results[name]!.medianMsgsPerSec);
    }

    // fuzz
    expect(report.fuzz!.targets.map((t) => t.target)).toEqual(['frame-compat']);
    expect(report.fuzz!.targets[0]!.ok).toBe(true);
    positive(report.fuzz!.targets[0]!.execs);
    expect(report.fuzz!.diff.ok).toBe(true);
    positive(report.fuzz!.diff.casesPerSec);
    positive(report.fuzz!.diff.nodeCpuUsPerCase!);
    expect(report.fuzz!.diff.luaCpuUsPerCase).toBeGreaterThanOrEqual(0);

    // targets: one row per check, each with a ratio and a verdict that agrees with it
    const names = report.targets.map((t) => t.name);
    expect(names).toContain('echo server vs ws, pipelined');
    expect(names).toContain('echo server vs nginx + Lua, pipelined');
    expect(names.filter((n) => n.startsWith('decoder vs ws, small frames'))).toHaveLength(2);
    // unmasking has a goal for the default (bufferutil) only, none for the pure-JS loop
    expect(names.filter((n) => n.startsWith('unmask'))).toEqual(['unmask vs Buffer.copy [bufferutil]']);
    expect(names).toContain('echo server vs ws, 16 KiB pipelined');
    expect(names).toContain('server vs ws, 1 conn(s), serial 64 B');
    expect(names).toContain('server vs ws, 20 conn(s), serial 64 B');
    expect(names).toContain('client vs ws client');
    expect(names).toContain('compressed echo vs ws, 3 conn(s), serial 16 KiB');
    expect(names).toContain('differential fuzzing');
    // the RSS row exists for counts >= 100 only (below, one connection's share is noise)
    expect(names.some((n) => n.startsWith('RSS per connection'))).toBe(false);
    for (const t of report.targets) {
      positive(t.got!);
      expect(t.ok).toBe(t.bound === 'max' ? t.got! <= t.want : t.got! >= t.want);
    }
  }, 90_000);

  it('--cpu-prof: profiles the echo server children and names their hot functions', async () => {
    const profDir = join(dir, 'prof');
    const r = await runEchoBench({ timeMs: 150, warmupMs: 0, maxMsgs: 2000, conns: [4], sizes: [16 * 1024], pipelineDepth: 8, peer: null, cpuProfDir: profDir });
    expect(r.results.map((x) => x.target)).toEqual(['ours', 'ws', 'tcp', 'ours', 'ws', 'tcp']);
    for (const kind of ['ours', 'ws']) {
      const file = mainProfileIn(join(profDir, kind));
      expect(file).not.toBeNull();
      const hot = hotFunctions(file!, 10);
      expect(hot.length).toBeGreaterThan(0);
      expect(hot.every((h) => h.share > 0 && h.share <= 1 && h.name !== '(idle)')).toBe(true);
      const shares = hot.map((h) => h.share);
      expect(shares).toEqual([...shares].sort((a, b) => b - a));
    }
    // the ws server's profile must show ws's own code somewhere in its busy samples
    const wsHot = hotFunctions(mainProfileIn(join(profDir, 'ws'))!, 1000);
    expect(wsHot.some((h) => h.where.includes('node_modules/ws/'))).toBe(true);
  }, 60_000);
});
