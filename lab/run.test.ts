// The run layer: saves go through the report lock and land whole, derived fields are refreshed on
// every save, an interrupt leaves the report marked interrupted (and the command exits 130), and a
// run that judged nothing does not pass.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from './paths.js';
import { lockFileOf, releaseReport, WSLAB_VERSION } from './reports.js';
import { passedOnEvidence, Run } from './run.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'wslab-run-'));
interface Counted {
  finished: boolean;
  ok: boolean;
  interrupted: boolean;
  count: number;
  durationMs: number;
}

const read = (file: string): Record<string, unknown> => JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;

describe('Run', () => {
  it('claims its file at once and saves the refreshed report with the lab version', () => {
    const file = join(tmp(), 'r.json');
    const run = new Run<Counted>({ finished: false, ok: false, interrupted: false, count: 0, durationMs: -1 }, {
      file,
      refresh: (r, elapsedMs) => (r.durationMs = elapsedMs),
    });
    expect(existsSync(lockFileOf(file))).toBe(true);
    run.report.count = 3;
    run.save();
    const saved = read(file);
    expect(Object.keys(saved)[0]).toBe('wslabVersion');
    expect(saved).toMatchObject({ wslabVersion: WSLAB_VERSION, count: 3, finished: false });
    expect(saved.durationMs).toBeGreaterThanOrEqual(0);
    const end = run.finish((r, stopped) => {
      r.finished = true;
      r.ok = !stopped && r.count > 0;
    });
    expect(end.ok).toBe(true);
    expect(read(file)).toMatchObject({ finished: true, ok: true, interrupted: false });
    releaseReport(file);
  });

  it('writes its document and what goes beside it; without a file it writes nothing', () => {
    const dir = tmp();
    const file = join(dir, 'r.json');
    const html = join(dir, 'r.html');
    const run = new Run({ finished: false, items: ['a', 'b'] }, {
      file,
      indent: 1,
      document: (r) => ({ shown: r.items.length, finished: r.finished }),
      alsoWrite: (doc) => writeFileSync(html, `<p>${doc.shown}</p>`),
    });
    run.save();
    expect(read(file)).toEqual({ wslabVersion: WSLAB_VERSION, shown: 2, finished: false });
    expect(readFileSync(file, 'utf8')).toContain('\n "shown"');
    expect(readFileSync(html, 'utf8')).toBe('<p>2</p>');
    run.release();
    releaseReport(file);
    const quiet = new Run({ finished: false, n: 0 }, { refresh: (r) => r.n++ });
    quiet.save();
    expect(quiet.report.n).toBe(1);
    quiet.release();
  });

  it('says it is stopping once its signal is aborted, and finish sees it', () => {
    const abort = new AbortController();
    const run = new Run<{ finished: boolean; interrupted: boolean }>({ finished: false, interrupted: false }, { signal: abort.signal });
    expect(run.stopping()).toBe(false);
    abort.abort();
    expect(run.stopping()).toBe(true);
    const end = run.finish((r, stopped) => {
      r.interrupted = stopped;
      r.finished = true;
    });
    expect(end.interrupted).toBe(true);
  });

  it('on SIGINT saves the report marked interrupted, runs the command hook, and the command exits 130', () => {
    const dir = tmp();
    const file = join(dir, 'r.json');
    const script = join(dir, 'child.ts');
    writeFileSync(script, `
      import { installInterruptHandler } from ${JSON.stringify(join(ROOT_DIR, 'lab', 'children.ts'))};
      import { Run } from ${JSON.stringify(join(ROOT_DIR, 'lab', 'run.ts'))};
      installInterruptHandler('test');
      const run = new Run({ finished: false, ok: true, interrupted: false, part: 'running' }, {
        file: ${JSON.stringify(file)},
        onInterrupt: (r) => (r.part = 'stopped'),
      });
      run.save();
      setTimeout(() => process.kill(process.pid, 'SIGINT'), 50);
      setTimeout(() => {}, 10_000);
    `);
    const r = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: ROOT_DIR, encoding: 'utf8', timeout: 30_000 });
    expect(r.status, r.stderr).toBe(130);
    expect(read(file)).toMatchObject({ finished: false, ok: false, interrupted: true, part: 'stopped' });
    expect(existsSync(lockFileOf(file))).toBe(false);
  });
});

describe('passedOnEvidence', () => {
  it('needs something judged and nothing found', () => {
    expect(passedOnEvidence(0, 0)).toBe(false);
    expect(passedOnEvidence(5, 0)).toBe(true);
    expect(passedOnEvidence(5, 1)).toBe(false);
  });
});
