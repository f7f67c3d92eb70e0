import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT_DIR } from './paths.js';
import { claimReport, lockFileOf, releaseReport, ReportInUseError, writeJsonReport, WSLAB_VERSION } from './reports.js';

const dirs: string[] = [];
const freshDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'reports-test-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('writeJsonReport', () => {
  it('writes the report with the lab version first and holds the report until released', () => {
    const file = join(freshDir(), 'nested', 'interop.json');
    writeJsonReport(file, { ok: true, summary: { pass: 1 } });
    const text = readFileSync(file, 'utf8');
    expect(Object.keys(JSON.parse(text))).toEqual(['wslabVersion', 'ok', 'summary']);
    expect(JSON.parse(text).wslabVersion).toBe(JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')).version);
    expect(WSLAB_VERSION).toMatch(/^\d+\.\d+\.\d+/);
    expect(lockFileOf(file)).toBe(join(file, '..', '.interop.lock'));
    expect(readFileSync(lockFileOf(file), 'utf8').trim()).toBe(String(process.pid));
    releaseReport(file);
    expect(existsSync(lockFileOf(file))).toBe(false);
  });
});

describe('claimReport', () => {
  it('refuses a report whose lock names a live process, naming the report and the pid', async () => {
    const file = join(freshDir(), 'fuzz.json');
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      writeFileSync(lockFileOf(file), `${other.pid}\n`);
      expect(() => claimReport(file)).toThrow(ReportInUseError);
      expect(() => writeJsonReport(file, { ok: true })).toThrow(`is in use by another wslab run (pid ${other.pid}); wait for it, stop it, or pass --out to write elsewhere`);
      // diff and mutate move their report with --report, and say so
      expect(() => claimReport(file, '--report')).toThrow(/or pass --report to write elsewhere$/);
      expect(existsSync(file)).toBe(false);
      expect(readFileSync(lockFileOf(file), 'utf8').trim()).toBe(String(other.pid));
    } finally {
      other.kill('SIGKILL');
      await once(other, 'exit');
    }
    // Its process gone, the lock is stale: taken over.
    claimReport(file);
    expect(readFileSync(lockFileOf(file), 'utf8').trim()).toBe(String(process.pid));
    releaseReport(file);
  });

  it('a process releases its locks when it exits', () => {
    const dir = freshDir();
    const mod = pathToFileURL(join(ROOT_DIR, 'lab', 'reports.ts')).href;
    const script = `const m = await import(${JSON.stringify(mod)}); const fs = await import('node:fs');
      m.writeJsonReport(${JSON.stringify(join(dir, 'a.json'))}, { ok: true }); m.claimReport(${JSON.stringify(join(dir, 'b.json'))});
      console.log(fs.readdirSync(${JSON.stringify(dir)}).filter((f) => f.endsWith('.lock')).sort().join(','));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT_DIR, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('.a.lock,.b.lock');
    expect(existsSync(join(dir, '.a.lock'))).toBe(false);
    expect(existsSync(join(dir, '.b.lock'))).toBe(false);
    expect(JSON.parse(readFileSync(join(dir, 'a.json'), 'utf8'))).toEqual({ wslabVersion: WSLAB_VERSION, ok: true });
  });
});
