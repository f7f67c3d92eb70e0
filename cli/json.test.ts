// `--json` on every command, run as a real `wslab` process: stdout must be exactly one JSON
// document and nothing else, whatever the runners and their children print (that goes to stderr).
// Each run is a short real one (a 1 s fuzz campaign, 50 diff cases, one conformance case, ...).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../lab/paths.js';
import { nativeUnavailable } from '../lab/peers/native/index.js';
import { oracleUnavailable } from '../lab/lua-oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'wslab-json-'));
// Its own peer record, so `peer start/status/stop` never touch a peer someone else started.
const env = { ...process.env, WSLAB_FROM_SOURCE: '1', WSLAB_PEER_STATE: join(dir, 'peer-state.json') };
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  code: number;
  doc: Record<string, unknown>;
  stderr: string;
}

/** Runs `wslab ...args` and parses its stdout as one JSON document on one line. */
function wslab(args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), ...args], { cwd: ROOT_DIR, env, maxBuffer: 64 << 20, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      if (code === -1) return reject(err);
      const label = `wslab ${args.join(' ')} (exit ${code}); stderr: ${stderr.slice(-500)}`;
      // A failed expectation in this callback must fail the test, not leave it waiting for its timeout.
      try {
        // One line, one document: no human line before or after it.
        expect(stdout.endsWith('\n'), `${label}; stdout: ${stdout.slice(0, 300)}`).toBe(true);
        expect(stdout.trimEnd().split('\n'), label).toHaveLength(1);
        let doc: unknown;
        expect(() => (doc = JSON.parse(stdout)), `${label}; stdout: ${stdout.slice(0, 300)}`).not.toThrow();
        expect(typeof doc === 'object' && doc !== null && !Array.isArray(doc), label).toBe(true);
        resolve({ code, doc: doc as Record<string, unknown>, stderr });
      } catch (e) {
        reject(e as Error);
      }
    });
  });
}

const noNative = nativeUnavailable();
const noOracle = oracleUnavailable();

describe('wslab <command> --json', { timeout: 60_000 }, () => {
  it('fuzz: the campaign summary on stdout, its table on stderr', async () => {
    const r = await wslab(['fuzz', '--target', 'uri', '--time', '1s', '--execs', '2000', '--json', '--report', join(dir, 'fuzz.json'), '--findings', join(dir, 'findings')]);
    expect(r.doc.targets).toEqual([expect.objectContaining({ target: 'uri' })]);
    expect(r.stderr).toContain('total: ');
  });

  it('fuzz --url (service mode): the report, also when the service cannot be reached', async () => {
    // Port 9 (discard) has no listener here: the campaign ends at once with an error, still a report.
    const r = await wslab(['fuzz', '--url', 'ws://127.0.0.1:9/', '--sessions', '2', '--time', '5s', '--quiet', '--json', '--out', join(dir, 'service')]);
    expect(r.code).toBe(1);
    expect(r.doc).toMatchObject({ kind: 'wslab-service-fuzz', ok: false, target: 'ws://127.0.0.1:9/' });
    expect(r.stderr).toContain('findings: 0');
  });

  it('fuzz --merge of a folder with no report: an error document, exit 1', async () => {
    const r = await wslab(['fuzz', '--merge', join(dir, 'no-such-shard'), '--out', join(dir, 'merged'), '--json']);
    expect(r.code).toBe(1);
    expect(r.doc).toMatchObject({ ok: false, exitCode: 1, error: expect.stringContaining('has no report.json') });
  });

  it.skipIf(noOracle)('diff: the frame diff report', async () => {
    const r = await wslab(['diff', '--cases', '50', '--no-corpus', '--seed', '1', '--quiet', '--json', '--report', join(dir, 'diff.json'), '--findings', join(dir, 'findings')]);
    expect(r.code).toBe(0);
    expect(r.doc).toMatchObject({ ok: true, frame: { cases: 50, seed: 1 }, handshake: null, session: null });
  });

  it.skipIf(noOracle)('mutate --list: the mutants', async () => {
    const r = await wslab(['mutate', '--list', '--files', 'server.lua', '--json']);
    expect(r.code).toBe(0);
    const mutants = r.doc.mutants as Array<{ id: string }>;
    expect(mutants.length).toBeGreaterThan(0);
    expect(mutants.every((m) => m.id.startsWith('server.lua:'))).toBe(true);
  });

  it('interop --list: the scenarios', async () => {
    const r = await wslab(['interop', '--list', '--json']);
    expect(r.code).toBe(0);
    expect((r.doc.scenarios as unknown[]).length).toBeGreaterThan(10);
  });

  it('conformance: one case, the summary', async () => {
    const r = await wslab(['conformance', '--agents', 'ours-server-strict', '--cases', '1.1.1', '--json', '--out', join(dir, 'conformance')]);
    expect(r.code).toBe(0);
    expect(r.doc).toMatchObject({ ok: true, summary: { 'ours-server-strict': expect.objectContaining({ cases: 1, pass: 1 }) } });
  });

  it('bench: the report, its tables on stderr', async () => {
    const r = await wslab(['bench', '--only', 'codec', '--quick', '--json', '--out', join(dir, 'bench.json')]);
    expect(r.doc).toMatchObject({ command: expect.stringContaining('wslab bench'), profile: expect.any(Object), targets: expect.any(Array) });
    expect(r.stderr).toContain('[bench] codec');
  });

  it.skipIf(noNative)('peer start, status, stop: the peer record', async () => {
    const start = await wslab(['peer', 'start', '--json']);
    try {
      expect(start.code, start.stderr).toBe(0);
      expect(start.doc).toMatchObject({ ok: true, backend: 'native', wsUrl: expect.stringMatching(/^ws:\/\//) });
      const status = await wslab(['peer', 'status', '--json']);
      expect(status.code).toBe(0);
      expect(status.doc).toMatchObject({ running: true, pid: start.doc.pid, wsUrl: start.doc.wsUrl });
    } finally {
      const stop = await wslab(['peer', 'stop', '--json']);
      expect(stop.doc).toMatchObject({ ok: true });
    }
    const none = await wslab(['peer', 'status', '--json']);
    expect(none.code).toBe(3);
    expect(none.doc).toEqual({ running: false });
  });

  it.skipIf(noNative)('lab with every part skipped: the summary', async () => {
    const r = await wslab(['lab', '--skip', 'interop,conformance,deviations,fuzz,diff,session', '--json', '--out', join(dir, 'lab')]);
    expect(r.code).toBe(0);
    expect(r.doc).toMatchObject({ ok: true, sections: { fuzz: { status: 'skipped' } } });
    expect(r.stderr).toContain('lab: all parts passed');
  });

  it('a usage error stays one line on stderr with nothing on stdout', async () => {
    const r = await new Promise<{ code: unknown; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), 'fuzz', '--json', '--jobs', '0'], { cwd: ROOT_DIR, env }, (err, stdout, stderr) => resolve({ code: err?.code, stdout, stderr }));
    });
    expect(r).toEqual({ code: 2, stdout: '', stderr: 'wslab fuzz: --jobs takes a whole number from 1, not "0" (see wslab fuzz --help)\n' });
  });
});
