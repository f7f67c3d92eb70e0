// Corpus minimisation against the real compiled uri target (V8 block coverage in a child process).
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { corpusHashes, minimiseCorpus } from './corpus.js';

const dir = mkdtempSync(join(tmpdir(), 'wslab-corpus-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
// byte 0: bit 0 picks the strict parser; the rest is the URI
const input = (strict: boolean, uri: string): Buffer => Buffer.concat([Buffer.from([strict ? 1 : 0]), Buffer.from(uri, 'latin1')]);

function folder(name: string, inputs: Buffer[]): string {
  const d = join(dir, name);
  mkdirSync(d, { recursive: true });
  inputs.forEach((b, i) => writeFileSync(join(d, `in-${i}`), b));
  return d;
}

describe('minimiseCorpus', () => {
  it('merges folders, drops duplicates and inputs that add no coverage, keeps distinct behaviour, and is idempotent', () => {
    const same = [input(false, 'ws://a/x'), input(false, 'ws://b/y'), input(false, 'ws://c/z')]; // one path through the parser
    const bad = input(false, 'nope');
    const unix = input(false, 'ws://unix:/tmp/s.sock:/chat');
    const strict = input(true, 'wss://h.test/p');
    const a = folder('a', [...same, bad]);
    const b = folder('b', [same[0]!, unix, strict, bad]); // duplicates across folders
    const out = join(dir, 'out');
    const r = minimiseCorpus('uri', [a, b], out);
    expect(r.inputs).toBe(6);
    expect(r.crashed).toBe(0);
    const kept = new Set(corpusHashes(out));
    expect(kept.size).toBe(r.kept);
    expect(readdirSync(out).sort()).toEqual([...kept].sort()); // named by content
    for (const distinct of [bad, unix, strict]) expect(kept.has(sha(distinct)), distinct.toString('latin1')).toBe(true);
    expect(same.filter((s) => kept.has(sha(s))).length).toBe(1);
    expect(r.blocks).toBeGreaterThan(0);
    const again = minimiseCorpus('uri', [out], join(dir, 'out2'));
    expect(new Set(corpusHashes(join(dir, 'out2')))).toEqual(kept);
    expect(again.blocks).toBe(r.blocks);
  }, 180_000);
});
