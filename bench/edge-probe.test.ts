import { describe, expect, it, vi } from 'vitest';
import { HELP, main } from './edge-probe.js';

describe('bench/edge-probe', () => {
  it('has --help and refuses bad or unbounded flags with exit 2', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['--help'])).toBe(0);
    expect(log).toHaveBeenCalledWith(HELP);
    expect(await main(['--slow', '99999'])).toBe(2);
    expect(await main(['--bogus'])).toBe(2);
    log.mockRestore();
    err.mockRestore();
  });

  it('prints the table for ours and ws (small and short)', async () => {
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((l: string) => void lines.push(l));
    const err = vi.spyOn(console, 'error').mockImplementation(() => {});
    expect(await main(['--slow', '3', '--slow-time', '1', '--body-mib', '2', '--no-nginx'])).toBe(0);
    log.mockRestore();
    err.mockRestore();
    const table = lines.join('\n');
    expect(table).toContain('| probe | ours | ws 8.23 |');
    expect(table).toMatch(/\| one 9000-byte header line \| 400 Bad Request \("400 Request Header Or Cookie Too Large"\) \|/);
    expect(table).toMatch(/then 2 MiB \| 413 Request Entity Too Large after \d+ ms/);
    expect(table).toMatch(/3 connections trickling .*\| 0 closed, 3 open/);
  }, 60_000);
});
