import { describe, expect, it } from 'vitest';
import type { BenchReport } from '../bench/cli.js';
import type { FuzzReport } from '../fuzz/campaign.js';
import type { DiffReport } from '../fuzz/diff/runner.js';
import { renderLabHtml, type LabReport } from './lab-report.js';

const lab: LabReport = { generatedAt: '2026-12-01T22:00:00Z', durationMs: 140_000, peer: null, ok: false, finished: true, sections: { fuzz: { title: 'Fuzzing', status: 'pass', summary: 'ok', durationMs: 1000 } } };
const target = (name: string, timeline: Array<[number, number]>) => ({ target: name, ok: true, durationMs: 10_000, execs: 1000, execsPerSec: 100, corpusStart: 1, corpusEnd: 2, coverageAfterSeeds: 10, coverageEnd: 20, coverageGrowth: 10, coverageTimeline: timeline, jsfuzzRuns: 1, findings: [] });
const fuzz: FuzzReport = { startedAt: '', durationMs: 20_000, timePerTargetMs: 10_000, jobs: 2, targets: [target('frame-compat', [[0, 10], [5000, 20]]), target('utf8', [[0, 3]])], totals: { execs: 2000, execsPerSec: 200, findings: 0, newFindings: 0 }, ok: true };
const diff: DiffReport = { startedAt: '', durationMs: 1, seed: 7, luaProtocol: 'p', luaVersion: '0.08', cases: 500, casesPerSec: 50, byKind: { recv: 400, build: 50, send: 40, corpus: 10 }, outcomes: { text: 300, 'nil: frame too long': 200 }, divergenceCount: 0, divergences: [], ok: true };
const bench = { command: 'wslab bench --quick', startedAt: '', durationMs: 1, machine: { cpus: 2, cpuModel: 'x', memMiB: 1, platform: 'linux', release: '', arch: 'x64', node: 'v20' }, profile: {} as never, errors: {}, targets: [{ name: 'echo server vs ws, pipelined', want: 1.2, got: 2.1, ok: true, detail: 'geomean' }, { name: 'decoder vs ws, small frames [js]', want: 1.5, got: 1.1, ok: false, detail: 'worst' }] } as BenchReport;

describe('lab report', () => {
  it('draws the bench ratios from bench.json targets (no raw JSON fallback)', () => {
    const html = renderLabHtml(lab, { bench });
    expect(html).toContain('Benchmark ratios against their goals');
    expect(html).toContain('2.10× / 1.2× ✓');
    expect(html).toContain('1.10× / 1.5× ✗');
    expect(html).not.toContain('&quot;targets&quot;');
  });
  it('draws fuzz coverage over time per target and the differential outcomes', () => {
    const html = renderLabHtml(lab, { fuzz, diff });
    expect(html).toContain('Fuzz coverage over time, per target');
    expect(html.match(/<path d="M/g)).toHaveLength(2);
    expect(html).toContain('nil: frame too long');
    expect(html).toContain('seed 7');
  });
  it('renders the conns table, the mutation kill rate and the session diff when present', () => {
    const conns = { size: 64, results: [{ target: 'ours', conns: 100, msgsPerSec: 5000, p99Ms: 2.5, rssPerConnKiB: 3.2 }, { target: 'ws', conns: 100, msgsPerSec: 4000, p99Ms: 3 }], ratios: [{ conns: 100, vsWs: 1.25, vsNginx: null, vsTcp: 0.5, rssVsWs: 0.8 }], skipped: [{ conns: 5000, reason: 'RLIMIT_NOFILE' }] };
    const mutate = { finished: true, ok: true, lib: { path: 'lib', version: '0.08' }, budgetMs: 60_000, files: { 'protocol.lua': { total: 10, killed: 8, survived: 1, equivalent: 1, didNotLoad: 0, killRate: 0.8 } }, mutants: [{ id: 'm1', file: 'protocol.lua', line: 12, operator: 'relational', before: '<', after: '<=', status: 'survived' }] };
    const session = { finished: true, ok: true, seed: 3, durationMs: 5000, sessions: { server: 40, client: 40 }, sessionsPerSec: 16, divergences: [], explained: [{ id: 'connect-third-value', specItem: '§1', count: 40 }] };
    const html = renderLabHtml(lab, { bench: { ...bench, conns } as unknown as BenchReport, mutate, session });
    expect(html).toContain('Connection scaling (64 B serial round trips)');
    expect(html).toContain('1.25×');
    expect(html).toContain('RLIMIT_NOFILE');
    expect(html).toContain('80.0% · 8 killed, 1 survived of 10');
    expect(html).toContain('<code>&lt;=</code>');
    expect(html).toContain('connect-third-value');
  });
  it('says where a report is missing instead of drawing nothing', () => {
    expect(renderLabHtml(lab, {})).toContain('No report/bench.json yet');
  });
});
