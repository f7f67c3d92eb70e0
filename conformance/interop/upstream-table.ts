// Writes docs/upstream-tests.md from upstream-blocks.ts: per file, every block of the v0.12 suite
// with its scenarios or why it is not observable. `npx tsx conformance/interop/upstream-table.ts`
// prints the text, `--write` writes the doc, `--check` exits 1 when the doc differs.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomic } from '../../lab/fs.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { SCENARIOS } from './scenarios/index.js';
import { UPSTREAM_BLOCKS, UPSTREAM_FILES, type UpstreamBlock } from './upstream-blocks.js';

export const UPSTREAM_DOC = join(ROOT_DIR, 'docs', 'upstream-tests.md');

/** A table cell: pipes escaped, so a title or reason cannot split the row. */
function cell(s: string): string {
  return s.replace(/\|/g, '\\|');
}

function needsOf(id: string): string {
  const s = SCENARIOS.find((x) => x.id === id);
  return s?.needs ? ` (v${s.needs.version}+)` : '';
}

function row(b: UpstreamBlock): string {
  const what = b.scenarios ? b.scenarios.map((id) => `\`${id}\`${needsOf(id)}`).join('<br>') : `not observable: ${b.notObservable ?? ''}`;
  return `| ${b.n} | ${cell(b.title)} | ${cell(what)} | ${cell(b.gap ?? '')} |`;
}

export function renderUpstreamTable(): string {
  const out: string[] = [
    '# The upstream test suite, block by block',
    '',
    'This file is generated from `conformance/interop/upstream-blocks.ts`; regenerate it with',
    '`npx tsx conformance/interop/upstream-table.ts --write` (`--check` tells whether it is current).',
    '`conformance/interop/upstream-table.test.ts` checks the list against the `.t` files and the scenario catalogue.',
    '',
    "Every `=== TEST N` block of lua-resty-websocket v0.12's t/sanity.t, t/cs.t, t/limits.t and t/count.t,",
    'with the interop scenarios that run it (`wslab interop --scenarios ID`; each cites the block in its',
    '`upstream` field) or the reason no WebSocket peer can observe it. A scenario marked with a version',
    '(v0.12+) needs that library version or a newer one: on an older one (Debian\'s 0.08) its Lua',
    'directions are skipped. "Not reproduced" names what of the block\'s expectation the scenarios',
    'leave out, and why.',
    '',
    '| File | Blocks | Covered by scenarios | Not observable |',
    '| --- | --- | --- | --- |',
  ];
  for (const f of UPSTREAM_FILES) {
    const blocks = UPSTREAM_BLOCKS.filter((b) => b.file === f);
    out.push(`| t/${f} | ${blocks.length} | ${blocks.filter((b) => b.scenarios).length} | ${blocks.filter((b) => !b.scenarios).length} |`);
  }
  for (const f of UPSTREAM_FILES) {
    out.push('', `## t/${f}`, '', '| # | Title | Scenarios | Not reproduced |', '| --- | --- | --- | --- |');
    for (const b of UPSTREAM_BLOCKS.filter((x) => x.file === f)) out.push(row(b));
  }
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && /upstream-table\.[tj]s$/.test(process.argv[1])) {
  const text = renderUpstreamTable();
  if (process.argv.includes('--write')) {
    writeAtomic(UPSTREAM_DOC, text);
    console.log(`wrote ${UPSTREAM_DOC}`);
  } else if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(UPSTREAM_DOC, 'utf8');
    } catch {}
    if (current !== text) {
      console.error(`${UPSTREAM_DOC} is not current: run npx tsx conformance/interop/upstream-table.ts --write`);
      process.exitCode = 1;
    }
  } else process.stdout.write(text);
}
