// Clean interrupts: SIGINT to the `wslab` node process alone (no terminal sending it to the whole
// group) stops every child it started within 5 s, removes its temp prefixes, frees the peer's ports
// and leaves the report on disk valid with finished: false, ok: false, interrupted: true.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../lab/paths.js';
import { nativeUnavailable } from '../lab/peers/native/index.js';

const why = nativeUnavailable();
const ROOT_VERSION = (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string }).version;

/** Every descendant of `pid` (children, their children, ...), from ps. */
function descendants(pid: number): Array<{ pid: number; args: string }> {
  const ps = spawnSync('ps', ['-eo', 'pid=,ppid=,args='], { encoding: 'utf8' }).stdout;
  const rows = ps.split('\n').map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)).filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const out: Array<{ pid: number; args: string }> = [];
  const walk = (p: number): void => {
    for (const r of rows.filter((x) => x.ppid === p)) {
      out.push({ pid: r.pid, args: r.args });
      walk(r.pid);
    }
  };
  walk(pid);
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

async function waitFor<T>(what: string, fn: () => T | null | undefined, ms: number): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Setup {
  name: string;
  args: (out: string) => string[];
  /** True once the run is under way with the peer up. */
  ready: (out: string, stderr: string) => boolean;
  signal: NodeJS.Signals;
  /** Signal the whole process group (a terminal's Ctrl-C) instead of the node process alone. */
  group: boolean;
  /** The report file and what it must say afterwards. */
  report: (out: string) => string;
}

const readJson = (f: string): Record<string, unknown> | null => {
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as Record<string, unknown>;
  } catch {
    return null;
  }
};

const SETUPS: Setup[] = [
  {
    name: 'wslab lab, SIGINT to the node process alone',
    args: (out) => ['lab', '--skip', 'fuzz,diff,deviations', '--out', out],
    ready: (out, stderr) => (readJson(join(out, 'index.json'))?.sections as Record<string, { status: string }> | undefined)?.interop?.status === 'running' && /peer native, /.test(stderr),
    signal: 'SIGINT', group: false, report: (out) => join(out, 'index.json'),
  },
  {
    name: 'wslab conformance, SIGTERM to the process group',
    args: (out) => ['conformance', '--agents', 'lua-server,lua-client', '--cases', '7.*,1.*', '--out', out],
    ready: (out) => Object.keys((readJson(join(out, 'servers', 'index.json')) ?? {}) as object).length > 0,
    signal: 'SIGTERM', group: true, report: (out) => join(out, 'run.json'),
  },
];

describe.skipIf(why !== null)('interrupting a wslab command', () => {
  it.each(SETUPS)('$name: no process of the run left, no port listening, temp prefix gone, report interrupted', async (setup) => {
    const out = mkdtempSync(join(tmpdir(), 'wslab-int-'));
    const child = spawn(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), ...setup.args(out)], {
      cwd: ROOT_DIR, stdio: ['ignore', 'ignore', 'pipe'], detached: true, // its own group, like a shell job
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: string | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    try {
      await waitFor('the run with its peer', () => (setup.ready(out, stderr) ? true : null), 60_000);
      const before = descendants(child.pid!);
      const nginx = before.filter((p) => /nginx/.test(p.args));
      expect(nginx.length).toBeGreaterThan(0);
      const prefix = /-p (\S+)/.exec(nginx[0]!.args)?.[1];
      expect(prefix && existsSync(prefix)).toBe(true);
      const ports = [...readFileSync(join(prefix!, 'nginx.conf'), 'utf8').matchAll(/listen\s+127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      expect(ports.length).toBeGreaterThan(0);

      const t0 = Date.now();
      process.kill(setup.group ? -child.pid! : child.pid!, setup.signal);
      const how = await exited;
      expect(Date.now() - t0).toBeLessThan(5000);
      expect(how.code).toBe(setup.signal === 'SIGINT' ? 130 : 143);
      // Within the 5 s: tsx's esbuild service exits on its own when its parent's pipe closes.
      await waitFor('every process of the run to end', () => (before.every((p) => !alive(p.pid)) ? true : null), Math.max(0, 5000 - (Date.now() - t0))).catch(() => {});
      for (const p of before) expect(alive(p.pid), `${p.pid} ${p.args}`).toBe(false);
      for (const port of ports) expect(await portOpen(port), `port ${port}`).toBe(false);
      expect(existsSync(prefix!)).toBe(false);
      expect(readJson(setup.report(out))).toMatchObject({ finished: false, ok: false, interrupted: true });
      if (setup.args(out)[0] === 'lab') {
        const sections = readJson(setup.report(out))!.sections as Record<string, { status: string }>;
        expect(Object.values(sections).some((x) => x.status === 'running')).toBe(false);
      }
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});

/** The wslab-* folders in `dir` (the TMPDIR a run was given). */
const wslabTemps = (dir: string): string[] => readdirSync(dir).filter((f) => f.startsWith('wslab-'));

describe.skipIf(why !== null)('a wslab run leaves no temporary folder and holds its report alone', () => {
  // Each run gets a TMPDIR of its own: what the run leaves there is its alone, whatever else runs on
  // the machine. The native peer makes the lab's PKI (private keys) and an nginx prefix there.
  const fresh = (): { tmp: string; out: string } => ({ tmp: mkdtempSync(join(tmpdir(), 'wslab-test-tmp-')), out: mkdtempSync(join(tmpdir(), 'wslab-test-out-')) });
  const wslab = (args: string[], tmp: string) => spawn(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), ...args], {
    cwd: ROOT_DIR, env: { ...process.env, TMPDIR: tmp }, stdio: ['ignore', 'ignore', 'pipe'], detached: true,
  });

  it('a run that ends normally: its PKI and nginx prefix are gone, the report names the lab version, no lock is left', async () => {
    const { tmp, out } = fresh();
    try {
      const child = wslab(['interop', '--scenarios', 'sanity-02-text', '--directions', 'lua-lua,ts-lua', '--out', out], tmp);
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const seen = new Set<string>();
      const watch = setInterval(() => wslabTemps(tmp).forEach((f) => seen.add(f.replace(/-[^-]*$/, ''))), 20);
      const [code] = (await once(child, 'exit')) as [number | null];
      clearInterval(watch);
      expect(code, stderr).toBe(0);
      // The run did make them (the PKI is made at the peer's start, before its first answer).
      expect([...seen].sort()).toEqual(['wslab-nginx', 'wslab-pki']);
      expect(wslabTemps(tmp)).toEqual([]);
      expect(readJson(join(out, 'interop.json'))).toMatchObject({ wslabVersion: ROOT_VERSION, ok: true, finished: true });
      expect(readdirSync(out).filter((f) => f.endsWith('.lock'))).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it('a second run on the same report stops at once with one line (exit 1); Ctrl-C on the first: exit 130, no temp folder, no lock', async () => {
    const { tmp, out } = fresh();
    const tmp2 = mkdtempSync(join(tmpdir(), 'wslab-test-tmp-'));
    const first = wslab(['interop', '--directions', 'lua-lua', '--retries', '0', '--out', out], tmp);
    let stderr = '';
    first.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(first, 'exit') as Promise<[number | null, string | null]>;
    try {
      await waitFor('the first run under way', () => (/\[1\/\d+\]/.test(stderr) ? true : null), 60_000);
      expect(wslabTemps(tmp).some((f) => f.startsWith('wslab-pki-'))).toBe(true);
      expect(readFileSync(join(out, '.interop.lock'), 'utf8').trim()).toBe(String(first.pid));

      const second = spawnSync(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), 'interop', '--directions', 'lua-lua', '--out', out], {
        cwd: ROOT_DIR, env: { ...process.env, TMPDIR: tmp2 }, encoding: 'utf8', timeout: 30_000,
      });
      expect(second.status).toBe(1);
      expect(second.stderr.trim().split('\n')).toEqual([
        `wslab interop: ${join(out, 'interop.json')} is in use by another wslab run (pid ${first.pid}); wait for it, stop it, or pass --out to write elsewhere`,
      ]);
      // It stopped before starting a peer: nothing of its own in its TMPDIR.
      expect(wslabTemps(tmp2)).toEqual([]);

      process.kill(first.pid!, 'SIGINT');
      const [code] = await exited;
      expect(code).toBe(130);
      expect(wslabTemps(tmp)).toEqual([]);
      expect(existsSync(join(out, '.interop.lock'))).toBe(false);
      expect(readJson(join(out, 'interop.json'))).toMatchObject({ wslabVersion: ROOT_VERSION, finished: false, ok: false, interrupted: true });
    } finally {
      try {
        process.kill(-first.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
      for (const d of [tmp, tmp2, out]) rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);
});
