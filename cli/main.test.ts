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
