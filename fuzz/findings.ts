// Saved findings: fuzz/findings/<target>/<id>.bin (the minimised input) + <id>.json (what failed,
// the original input, when). fuzz/findings.test.ts replays every one of them as a regression case.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../lab/paths.js';

// The checkout's fuzz/findings, also when this module runs compiled from dist/ (npm start).
export const FINDINGS_DIR = join(ROOT_DIR, 'fuzz', 'findings');

export interface FindingMeta {
  target: string;
  /** exception | timeout | oom | killed | divergence */
  kind: string;
  /** The failing property or error (first line), used to group duplicates. */
  signature: string;
  message: string;
  inputHex: string;
  originalHex: string;
  foundAt: string;
  source: 'jsfuzz' | 'diff' | 'preflight';
  /** Extra data (the diff saves both sides' outputs here). */
  detail?: unknown;
}

export interface SavedFinding {
  id: string;
  binPath: string;
  jsonPath: string;
  meta: FindingMeta;
  duplicate: boolean;
}

export function findingId(target: string, signature: string, input: Buffer): string {
  return createHash('sha256').update(target).update('\0').update(signature).update('\0').update(input).digest('hex').slice(0, 16);
}

/** Saves a finding unless the same (target, signature, input) is already saved. */
export function saveFinding(dir: string, meta: FindingMeta, input: Buffer): SavedFinding {
  const targetDir = join(dir, meta.target);
  mkdirSync(targetDir, { recursive: true });
  const id = findingId(meta.target, meta.signature, input);
  const binPath = join(targetDir, `${id}.bin`);
  const jsonPath = join(targetDir, `${id}.json`);
  const duplicate = existsSync(jsonPath);
  if (!duplicate) {
    writeFileSync(binPath, input);
    writeFileSync(jsonPath, JSON.stringify(meta, null, 2) + '\n');
  }
  return { id, binPath, jsonPath, meta, duplicate };
}

export interface LoadedFinding {
  id: string;
  target: string;
  input: Buffer;
  meta: FindingMeta;
}

/** Every finding under `dir` (default fuzz/findings), grouped by target folder. */
export function loadFindings(dir = FINDINGS_DIR): LoadedFinding[] {
  if (!existsSync(dir)) return [];
  const out: LoadedFinding[] = [];
  for (const target of readdirSync(dir, { withFileTypes: true })) {
    // session/ holds whole-session scenarios (fuzz/session), replayed by their own test.
    if (!target.isDirectory() || target.name === 'session') continue;
    for (const f of readdirSync(join(dir, target.name))) {
      if (!f.endsWith('.json')) continue;
      const id = f.slice(0, -5);
      const meta = JSON.parse(readFileSync(join(dir, target.name, f), 'utf8')) as FindingMeta;
      const binPath = join(dir, target.name, `${id}.bin`);
      const input = existsSync(binPath) ? readFileSync(binPath) : Buffer.from(meta.inputHex, 'hex');
      out.push({ id, target: target.name, input, meta });
    }
  }
  return out;
}

/** The part of an error that identifies its cause: a FuzzCrash's property, else name + first line. */
export function errorSignature(e: unknown): string {
  if (e instanceof Error) {
    const first = (e.message.split('\n')[0] ?? '').trim();
    if (e.name === 'FuzzCrash') return first.split(':')[0]!.trim();
    return `${e.name}: ${first}`.slice(0, 200);
  }
  return `thrown ${typeof e}: ${String(e)}`.slice(0, 200);
}
