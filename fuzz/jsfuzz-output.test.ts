import { describe, expect, it } from 'vitest';
import { parseCrashes, parseStatsLine } from './jsfuzz-output.js';

describe('jsfuzz output parsing', () => {
  it('reads NEW and PULSE stats lines', () => {
    expect(parseStatsLine('#1234 NEW     cov: 321 corp: 17 exec/s: 2100 rss: 80.5 MB')).toEqual({
      execs: 1234, kind: 'NEW', coverage: 321, corpus: 17, execsPerSec: 2100, rssMb: 80.5,
    });
    expect(parseStatsLine('#9 PULSE     cov: 1 corp: 2 exec/s: 3 rss: 4 MB')?.kind).toBe('PULSE');
    expect(parseStatsLine('#0 READ units: 56')).toBeNull();
  });

  it('collects an exception report with its message', () => {
    const out = [
      '#10 NEW     cov: 5 corp: 2 exec/s: 0 rss: 50 MB',
      '=================================================================',
      'FuzzCrash: close code out of range: -1536',
      '    at check (oracle.js:24:20)',
      'crash was written to crash-abc',
      'crash(hex)=8d00',
      'Worker exited',
    ].join('\n');
    expect(parseCrashes(out)).toEqual([
      { file: 'crash-abc', kind: 'exception', message: 'FuzzCrash: close code out of range: -1536\n    at check (oracle.js:24:20)' },
    ]);
  });

  it('tells timeouts and OOMs from exceptions', () => {
    const timeout = ['=================================================================', 'timeout reached. testcase took: 12000', 'Worker killed', 'crash was written to crash-t'].join('\n');
    expect(parseCrashes(timeout)[0]!.kind).toBe('timeout');
    const oom = ['MEMORY OOM: exceeded 1024 MB. Killing worker', 'Worker killed', 'crash was written to crash-o'].join('\n');
    expect(parseCrashes(oom)[0]).toMatchObject({ file: 'crash-o', kind: 'oom' });
  });
});
