// The planted bug (targets/planted-decoder.ts: FrameDecoder with the close code read as signed
// 16-bit) must be found and reported by BOTH fuzzers: the jsfuzz campaign through the oracle, and
// the differential run through the original protocol.lua's answer.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTargetFunction, runCampaign } from './campaign.js';
import { ensureOracle } from '../lab/lua-oracle.js';
import { runDiff } from './diff/runner.js';
import { loadFindings } from './findings.js';
import { PlantedBugDecoder } from './targets/planted-decoder.js';
import { IN_CI } from './test-env.js';

describe('planted bug: signed close status code', () => {
  it('the jsfuzz campaign finds it, minimises it and saves a replayable finding', async () => {
    const findingsDir = mkdtempSync(join(tmpdir(), 'wslab-planted-'));
    const report = await runCampaign({ target: 'frame-planted', timeMs: 90_000, maxFindings: 1, freshCorpus: true, findingsDir });
    const [t] = report.targets;
    expect(t!.error).toBeUndefined();
    expect(report.ok).toBe(false);
    expect(t!.findings.length).toBe(1);
    const f = t!.findings[0]!;
    expect(f.kind).toBe('exception');
    expect(f.signature).toBe('close code out of range');
    expect(f.inputHex.length / 2).toBeLessThanOrEqual(f.minimisedFrom);
    // The saved finding replays: it fails the planted target and passes the real decoder.
    const [saved] = loadFindings(findingsDir);
    expect(saved!.target).toBe('frame-planted');
    expect(existsSync(join(findingsDir, 'frame-planted', `${saved!.id}.bin`))).toBe(true);
    const planted = await loadTargetFunction('frame-planted');
    const compat = await loadTargetFunction('frame-compat');
    expect(() => planted(saved!.input)).toThrow(/close code out of range/);
    expect(() => compat(saved!.input)).not.toThrow();
  }, 150_000);

  const why = ensureOracle();
  it.skipIf(why !== null && !IN_CI)(`the differential run finds it against the original${why ? ` (${why})` : ''}`, async () => {
    const findingsDir = mkdtempSync(join(tmpdir(), 'wslab-planted-'));
    const report = await runDiff({
      decoder: (o) => new PlantedBugDecoder(o),
      timeMs: 60_000,
      maxCases: 20_000,
      useCorpus: false,
      maxDivergences: 1,
      findingsDir,
      seed: 1,
    });
    expect(report.ok).toBe(false);
    expect(report.divergenceCount).toBeGreaterThan(0);
    const d = report.divergences[0]!;
    expect(d.signature).toMatch(/^recv: lua data,close,number \/ ours data,close,number$/);
    const lua = d.lua as Array<{ type: string; err: unknown }>;
    const ours = d.ours as Array<{ type: string; err: unknown }>;
    const i = lua.findIndex((r, k) => r.err !== ours[k]!.err);
    expect(lua[i]!.type).toBe('close');
    expect(lua[i]!.err as number).toBeGreaterThanOrEqual(0x8000);
    expect(ours[i]!.err).toBe((lua[i]!.err as number) - 0x10000);
    const saved = JSON.parse(readFileSync(join(findingsDir, 'diff', `${d.id}.json`), 'utf8')) as { detail: { lua: string; ours: string } };
    expect(saved.detail.lua).not.toBe(saved.detail.ours);
  }, 120_000);
});
