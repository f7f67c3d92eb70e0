// One temporary folder per test run: every test's (and every child's) os.tmpdir() is inside it, and
// it goes when the run ends, so tests that make PKIs, nginx prefixes and work folders leave nothing
// in /tmp whatever they forget to remove, and however a worker ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  // Each project runs the global set-up: the first one's folder serves them all.
  if (/wslab-test-run-/.test(tmpdir())) return () => {};
  const dir = mkdtempSync(join(tmpdir(), 'wslab-test-run-'));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
    rmSync(dir, { recursive: true, force: true });
  };
}
