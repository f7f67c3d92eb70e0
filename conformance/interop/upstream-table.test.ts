// The upstream-block list against the v0.12 test files and the scenario catalogue, and the doc
// generated from it against the committed docs/upstream-tests.md.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../../lab/paths.js';
import { SCENARIOS } from './scenarios/index.js';
import { DIRECTIONS } from './types.js';
import { parseTestBlocks, parseUpstreamCitation, UPSTREAM_BLOCKS, UPSTREAM_FILES } from './upstream-blocks.js';
import { renderUpstreamTable, UPSTREAM_DOC } from './upstream-table.js';
import { versionAtLeast } from '../../lab/peers/types.js';

/** The v0.12 release's test folder, beside the checkout (it is never copied into the project). */
const T_DIR = join(ROOT_DIR, '..', 'shared', 'upstream', 'lua-resty-websocket-0.12', 't');
const haveT = existsSync(T_DIR);

const key = (file: string, n: number): string => `${file} ${n}`;

describe.skipIf(!haveT)(`the v0.12 test files (${haveT ? T_DIR : `skipped: ${T_DIR} is absent`})`, () => {
  for (const file of UPSTREAM_FILES) {
    it(`lists every block of t/${file}, in order, with its title`, () => {
      const blocks = parseTestBlocks(readFileSync(join(T_DIR, file), 'utf8'));
      expect(blocks.length).toBeGreaterThan(0);
      const listed = UPSTREAM_BLOCKS.filter((b) => b.file === file).map((b) => ({ n: b.n, title: b.title }));
      expect(listed).toEqual(blocks);
    });
  }
});

describe('the upstream-block list', () => {
  it('gives each block scenarios or a reason, not both, and each block once', () => {
    const seen = new Set<string>();
    for (const b of UPSTREAM_BLOCKS) {
      expect(seen.has(key(b.file, b.n)), key(b.file, b.n)).toBe(false);
      seen.add(key(b.file, b.n));
      expect(!!b.scenarios?.length !== !!b.notObservable, `${key(b.file, b.n)}: scenarios or notObservable`).toBe(true);
    }
  });

  it('names scenarios that exist, cite the block and run in a Lua direction on v0.12', () => {
    for (const b of UPSTREAM_BLOCKS) {
      for (const id of b.scenarios ?? []) {
        const s = SCENARIOS.find((x) => x.id === id);
        expect(s, `${key(b.file, b.n)}: no scenario ${id}`).toBeDefined();
        expect(s!.upstream, `${id} cites nothing`).toBeDefined();
        expect(parseUpstreamCitation(s!.upstream!), `${id}'s upstream field`).toContainEqual({ file: b.file, n: b.n });
        expect((s!.directions ?? DIRECTIONS).some((d) => d !== 'ts-ts'), `${id} runs no Lua direction`).toBe(true);
        if (s!.needs) expect(versionAtLeast('0.12', s!.needs.version), `${id} needs ${s!.needs.version}`).toBe(true);
      }
    }
  });

  it('lists every citation a scenario makes (a scenario cannot cite a block the list does not name it under)', () => {
    for (const s of SCENARIOS) {
      if (!s.upstream) continue;
      for (const c of parseUpstreamCitation(s.upstream)) {
        const b = UPSTREAM_BLOCKS.find((x) => x.file === c.file && x.n === c.n);
        expect(b, `${s.id} cites ${key(c.file, c.n)}, which the list lacks`).toBeDefined();
        expect(b!.scenarios ?? [], `${key(c.file, c.n)} does not list ${s.id}`).toContain(s.id);
      }
    }
  });

  it('parses citations, and refuses what is not one', () => {
    expect(parseUpstreamCitation('cs.t 13')).toEqual([{ file: 'cs.t', n: 13 }]);
    expect(parseUpstreamCitation('cs.t 38, 39')).toEqual([{ file: 'cs.t', n: 38 }, { file: 'cs.t', n: 39 }]);
    expect(() => parseUpstreamCitation('cs.t')).toThrow(/not a citation/);
    expect(() => parseUpstreamCitation('TEST 3')).toThrow(/not a citation/);
  });

  it('docs/upstream-tests.md is the generated text (npx tsx conformance/interop/upstream-table.ts --write)', () => {
    expect(readFileSync(UPSTREAM_DOC, 'utf8')).toBe(renderUpstreamTable());
  });
});

describe('parseTestBlocks', () => {
  it('reads the number and title of each block, and nothing else', () => {
    const text = 'plan tests;\n__DATA__\n\n=== TEST 1: simple handshake\n--- config\n=== TEST 12: close frame (just status code)  \n--- request\nGET /t\n';
    expect(parseTestBlocks(text)).toEqual([{ n: 1, title: 'simple handshake' }, { n: 12, title: 'close frame (just status code)' }]);
  });
});
