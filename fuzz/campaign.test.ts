// Short jsfuzz campaigns on every target (60 s each in CI, two at a time) must find nothing; the
// runner's guards must hold: a target that fails to load is a failure (jsfuzz itself exits 0), and
// the exec limit stops a campaign by itself.
import { mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCampaign } from './campaign.js';
import { TARGETS } from './registry.js';
import { FUZZ_TIME_MS, targetAvailable } from './test-env.js';

const targets = TARGETS.filter((t) => targetAvailable(t.name)).map((t) => t.name);
const rounds = Math.ceil(targets.length / 2);

describe('jsfuzz campaigns', () => {
  it(
    `every target runs ${FUZZ_TIME_MS / 1000}s with no finding (${targets.join(', ')})`,
    async () => {
      const findingsDir = mkdtempSync(join(tmpdir(), 'wslab-findings-'));
      const report = await runCampaign({ target: targets, timeMs: FUZZ_TIME_MS, jobs: 2, freshCorpus: true, findingsDir });
      for (const t of report.targets) {
        expect(t.error, t.target).toBeUndefined();
        expect(t.execs, t.target).toBeGreaterThan(t.corpusStart);
        expect(t.coverageEnd, t.target).toBeGreaterThan(0);
        // A finding here is a real bug: the message carries the minimised input to add as a regression.
        expect(t.findings, `${t.target}: ${JSON.stringify(t.findings)}`).toEqual([]);
      }
      expect(report.targets.map((t) => t.target).sort()).toEqual([...targets].sort());
      expect(readdirSync(findingsDir)).toEqual([]);
    },
    rounds * FUZZ_TIME_MS + 120_000,
  );

  it('reports a target that fails to load instead of passing with zero executions', async () => {
    const report = await runCampaign({ target: 'broken-load', timeMs: 20_000, freshCorpus: true, findingsDir: mkdtempSync(join(tmpdir(), 'wslab-findings-')) });
    const [t] = report.targets;
    expect(t!.ok).toBe(false);
    expect(t!.error).toMatch(/target failed to load: .*planted load failure/s);
    expect(t!.execs).toBe(0);
    expect(report.ok).toBe(false);
    // The load check fails before jsfuzz is started, so the time limit is not spent.
    expect(t!.jsfuzzRuns).toBe(0);
  }, 60_000);

  it('saves an input that hangs past the limit as a timeout finding', async () => {
    const findingsDir = mkdtempSync(join(tmpdir(), 'wslab-findings-'));
    const report = await runCampaign({ target: 'hang-planted', timeMs: 60_000, hangTimeoutSec: 1, maxFindings: 1, freshCorpus: true, findingsDir });
    const [t] = report.targets;
    expect(t!.error).toBeUndefined();
    expect(t!.findings).toHaveLength(1);
    expect(t!.findings[0]!.kind).toBe('timeout');
    expect(readdirSync(join(findingsDir, 'hang-planted')).sort()).toEqual([`${t!.findings[0]!.id}.bin`, `${t!.findings[0]!.id}.json`].sort());
    expect(t!.durationMs).toBeLessThan(60_000);
  }, 120_000);

  it('stops by itself at the exec limit', async () => {
    const report = await runCampaign({ target: 'frame-compat', timeMs: 600_000, maxExecs: 2000, freshCorpus: true, findingsDir: mkdtempSync(join(tmpdir(), 'wslab-findings-')) });
    const [t] = report.targets;
    expect(t!.error).toBeUndefined();
    expect(t!.execs).toBeGreaterThanOrEqual(2000);
    expect(t!.durationMs).toBeLessThan(600_000);
  }, 120_000);
});
