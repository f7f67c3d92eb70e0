// Clean interrupts: SIGINT to the `wslab` node process alone (no terminal sending it to the whole
// group) stops every child it started within 5 s, removes its temp prefixes, frees the peer's ports
// and leaves the report on disk valid with finished: false, ok: false, interrupted: true.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../lab/paths.js';
import { nativeUnavailable } from '../lab/peers/native/index.js';

const why = nativeUnavailable();

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
    }
  }, 120_000);
});
