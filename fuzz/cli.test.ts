import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../lab/args.js';
import { parseDuration, run } from './cli.js';
import type { FuzzReport } from './campaign.js';

describe('wslab fuzz', () => {
  it('reads durations with and without units', () => {
    expect(parseDuration('90')).toBe(90_000);
    expect(parseDuration('90s')).toBe(90_000);
    expect(parseDuration('1500ms')).toBe(1500);
    expect(parseDuration('10m')).toBe(600_000);
    expect(() => parseDuration('ten')).toThrow(/bad duration/);
  });

  it('rejects an unknown target as a usage error (wslab exits 2 with one line)', async () => {
    await expect(run(['--target', 'no-such-target', '--time', '1s', '--quiet'])).rejects.toThrow(UsageError);
    await expect(run(['--target', 'no-such-target'])).rejects.toThrow('--target: unknown "no-such-target"');
  });

  it('runs a campaign and writes the summary report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wslab-fuzz-cli-'));
    const reportFile = join(dir, 'fuzz.json');
    const code = await run(['--target', 'uri', '--time', '3s', '--fresh', '--quiet', '--findings', join(dir, 'findings'), '--report', reportFile]);
    expect(code).toBe(0);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as FuzzReport;
    expect(report.targets.map((t) => t.target)).toEqual(['uri']);
    expect(report.targets[0]!.execs).toBeGreaterThan(0);
    expect(report.ok).toBe(true);
  }, 60_000);
});
