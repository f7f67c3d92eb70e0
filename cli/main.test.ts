import { describe, expect, it, vi } from 'vitest';
import { main, usage } from './main.js';

describe('wslab', () => {
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
    fuzz: [['--nope'], ['--target', 'nope'], ['--jobs', '0'], ['--time', 'ten'], ['--execs', '1e']],
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
});
