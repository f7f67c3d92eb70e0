// Every subcommand's --help shows its options from the spec its parser uses (renderOptions), so
// help and parser cannot drift: every option it parses is listed, and nothing else is. Every
// usage error about a value names the option and what it accepts.
import { describe, expect, it } from 'vitest';
import { parseCommandLine, renderOptions, UsageError, type OptionsSpec } from '../lab/args.js';
import * as lab from './lab.js';
import * as peer from '../lab/peers/cli.js';
import * as interop from '../conformance/interop/cli.js';
import * as conformance from '../conformance/cli.js';
import * as fuzz from '../fuzz/cli.js';
import * as service from '../fuzz/service/cli.js';
import * as diff from '../fuzz/diff/cli.js';
import * as mutate from '../fuzz/mutate/cli.js';
import * as bench from '../bench/cli.js';

/** Each command's help and the option blocks it shows, by title. */
const COMMANDS: Record<string, { help: string; blocks: Record<string, OptionsSpec> }> = {
  lab: { help: lab.help, blocks: { 'Options:': lab.options } },
  peer: { help: peer.help, blocks: { 'Options:': peer.options } },
  interop: { help: interop.help, blocks: { 'Options:': interop.options } },
  conformance: { help: conformance.help, blocks: { 'Options:': conformance.options } },
  fuzz: { help: fuzz.help, blocks: { 'Options:': fuzz.options, 'Service options:': service.serviceOptions } },
  diff: { help: diff.help, blocks: { 'Options:': diff.options } },
  mutate: { help: mutate.help, blocks: { 'Options:': mutate.options } },
  bench: { help: bench.help, blocks: { 'Options:': bench.options } },
};

/** The options a help text lists: lines that start with two spaces and the option. */
function listed(help: string): string[] {
  return [...help.matchAll(/^ {2}(?:-\w, )?--([\w-]+)/gm)].map((m) => m[1]!);
}

describe('wslab <command> --help', () => {
  for (const [name, { help, blocks }] of Object.entries(COMMANDS)) {
    it(`${name}: lists exactly the options it parses, each with its help`, () => {
      for (const [title, spec] of Object.entries(blocks)) {
        expect(help, `${name} ${title}`).toContain(`\n${renderOptions(spec, title)}\n`);
        for (const [opt, o] of Object.entries(spec)) expect(o.help?.trim(), `${name} --${opt}`).toBeTruthy();
      }
      const parsed = new Set(Object.values(blocks).flatMap((spec) => Object.keys(spec)));
      expect(new Set(listed(help))).toEqual(parsed);
    });
  }

  it('every value error names the option and what it accepts', () => {
    for (const [name, { blocks }] of Object.entries(COMMANDS)) {
      for (const spec of Object.values(blocks)) {
        for (const [opt, o] of Object.entries(spec)) {
          const bad = o.type === 'string' && o.choices ? 'not-a-choice' : o.type === 'list' && o.choices ? 'not-an-item' : o.type === 'number' || o.type === 'duration' ? 'ten' : null;
          if (bad === null) continue;
          let line = '';
          try {
            parseCommandLine(name, [`--${opt}`, bad], spec);
          } catch (e) {
            expect(e).toBeInstanceOf(UsageError);
            line = (e as UsageError).line;
          }
          const label = `wslab ${name} --${opt} ${bad}`;
          expect(line, label).toContain(`--${opt}`);
          expect(line, label).toContain(`"${bad}"`);
          if ((o.type === 'string' || o.type === 'list') && o.choices) for (const c of o.choices) expect(line, label).toContain(c);
          if (o.type === 'number') expect(line, label).toMatch(/takes a (whole )?number/);
          if (o.type === 'duration') expect(line, label).toContain('a duration like');
        }
      }
    }
  });
});

describe('renderOptions', () => {
  it('puts each option, its value name and its help in a column; long names get their own line', () => {
    const spec = {
      port: { type: 'number', help: 'plain port' },
      'lua-lib': { type: 'string', value: 'DIR', help: 'a library\nin either layout' },
      json: { type: 'flag', help: 'JSON' },
      'a-very-long-option-name': { type: 'duration', help: 'long' },
      only: { type: 'list', short: 'o', help: 'some' },
    } as const satisfies OptionsSpec;
    expect(renderOptions(spec, 'Options:')).toBe(
      [
        'Options:',
        '  --port N         plain port',
        '  --lua-lib DIR    a library',
        '                   in either layout',
        '  --json           JSON',
        '  --a-very-long-option-name D',
        '                   long',
        '  -o, --only LIST  some',
      ].join('\n'),
    );
  });
});
