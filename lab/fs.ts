// File helpers shared by the lab's report writers.
import { renameSync, writeFileSync } from 'node:fs';

/**
 * Writes `text` to `path` through a temporary file and a rename, so a reader (or a run stopped by
 * Ctrl-C) never sees a half-written report.
 */
export function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}
