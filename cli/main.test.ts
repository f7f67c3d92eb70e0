import { spawnSync } from 'node:child_process';
import { describe, expect, it, vi } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../lab/paths.js';
import { EXIT_CODES, main, usage } from './main.js';

const versionOf = (file: string): string => (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;

describe('wslab', () => {
  it('a reader that stops early (`wslab interop --list | head -1`) ends the output, not the command: exit 0, no stack trace', () => {
    const piped = spawnSync('bash', ['-c', `node ${join(ROOT_DIR, 'bin', 'wslab.mjs')} interop --list | head -1 >/dev/null; echo "\${PIPESTATUS[0]}"`], { encoding: 'utf8', env: { ...process.env, WSLAB_FROM_SOURCE: '1' } });
    expect(piped.stdout.trim()).toBe('0');
    expect(piped.stderr).not.toMatch(/EPIPE|Error/);
  }, 60_000);

  it('lists every capability in its usage', () => {
    for (const name of ['lab', 'peer', 'interop', 'conformance', 'fuzz', 'diff', 'bench']) expect(usage()).toMatch(new RegExp(`^  ${name} `, 'm'));
  });

  it('gives every subcommand a --help with examples', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    try {
      for (const name of ['lab', 'peer', 'interop', 'conformance', 'fuzz', 'diff', 'bench']) {
        out.length = 0;
        expect(await main([name, '--help'])).toBe(0);
        expect(out.join('\n'), name).toContain(`wslab ${name}`);
        expect(out.join('\n'), name).toMatch(/Examples?:/);
      }
    } finally {
      spy.mockRestore();
    }
  });

  it('--version and -V print the lab version and the resty-websocket version on one line, exit 0', async () => {
    const out: string[] = [];
    const spy = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(s));
    try {
      for (const flag of ['--version', '-V']) {
        out.length = 0;
        expect(await main([flag])).toBe(0);
        expect(out).toEqual([`wslab ${versionOf(join(ROOT_DIR, 'package.json'))} (resty-websocket ${versionOf(join(ROOT_DIR, 'impl', 'package.json'))})`]);
      }
    } finally {
      spy.mockRestore();
    }
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['--version', 'now'])).toBe(2);
      expect(err).toHaveBeenCalledTimes(1);
    } finally {
      err.mockRestore();
    }
  });

  it('--help shows the one exit-code table', () => {
    expect(EXIT_CODES.map(([code]) => code)).toEqual([0, 1, 2, 130]);
    for (const [code, text] of EXIT_CODES) expect(usage()).toContain(`${String(code).padStart(3)}  ${text}`);
    expect(usage()).toMatch(/^ {7}wslab --version$/m);
    const readme = readFileSync(join(ROOT_DIR, 'README.md'), 'utf8');
    for (const [code, text] of EXIT_CODES) expect(readme).toContain(`| ${code} | ${text} |`);
  });

  it('refuses an unknown command with exit code 2', async () => {
    const spy = vi.spyOn(console, 'error').mockImplementation(() => {});
    try {
      expect(await main(['nope'])).toBe(2);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('wslab <command> with a bad command line', () => {
  // Each: exit code 2, exactly one line on stderr naming the command, nothing on stdout, no stack.
  const BAD: Record<string, string[][]> = {
    lab: [['--nope'], ['--skip', 'fuzz,nope'], ['--backend', 'x'], ['--fuzz-time', 'ten'], ['--out'], ['extra']],
    peer: [['--nope'], ['frobnicate'], [], ['start', '--port', '99999'], ['start', '--backend', 'x'], ['start', 'now']],
    interop: [['--nope'], ['--directions', 'ts-lua,up-down'], ['--retries', '-1'], ['--backend', 'x'], ['--list=yes']],
    conformance: [['--nope'], ['--mode', 'foo'], ['--agents', 'ws-server,nope'], ['--url', 'noequals'], ['--concurrency', '0'], ['--time-scale', 'fast']],
    fuzz: [['--nope'], ['--target', 'nope'], ['--jobs', '0'], ['--jobs', '-1'], ['--time', 'ten'], ['--execs', '1e']],
    diff: [['--nope'], ['--cases', 'x'], ['--seed', '1.5'], ['--handshake', 'ten'], ['--time']],
    bench: [['--nope'], ['--only', 'codec,nope'], ['--out']],
  };
  for (const [cmd, lines] of Object.entries(BAD)) {
    it(`wslab ${cmd}: exit 2 and one line`, async () => {
      const err: string[] = [];
      const out: string[] = [];
      const e = vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(String(s)));
      const o = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(String(s)));
      const w = vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => (err.push(String(s)), true));
      try {
        for (const args of lines) {
          err.length = 0;
          out.length = 0;
          const label = `wslab ${[cmd, ...args].join(' ')}`;
          expect(await main([cmd, ...args]), label).toBe(2);
          expect(err, label).toHaveLength(1);
          expect(err[0]!.split('\n'), label).toHaveLength(1);
          expect(err[0], label).toMatch(new RegExp(`^wslab ${cmd}: `));
          expect(err[0], label).not.toMatch(/\n\s+at /);
          expect(out, label).toEqual([]);
        }
      } finally {
        e.mockRestore();
        o.mockRestore();
        w.mockRestore();
      }
    });
  }

  it('a negative count names its option and what it takes', async () => {
    const err: string[] = [];
    const e = vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(String(s)));
    try {
      expect(await main(['fuzz', '--jobs', '-1'])).toBe(2);
      expect(await main(['interop', '--retries', '-1'])).toBe(2);
    } finally {
      e.mockRestore();
    }
    expect(err).toEqual([
      'wslab fuzz: --jobs takes a whole number from 1, not "-1" (see wslab fuzz --help)',
      'wslab interop: --retries takes a whole number from 0, not "-1" (see wslab interop --help)',
    ]);
  });
});
