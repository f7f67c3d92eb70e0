// One library choice for every part: --lua-lib (or RESTY_WEBSOCKET_LIB) in either layout reaches
// the peer, the Lua conformance agents, interop, the frame deviations, diff and the lab, and each
// names the folder and _VERSION it actually loaded. Upstream's copy cannot be downloaded here, so
// the upstream layout is a folder this test builds: Debian's files under upstream's names, with a
// _VERSION of their own so a loaded copy is told from the default one.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseLuaLib, DEBIAN_LUA_ROOT, differentCopies, libraryLoadError, resolveLuaLib } from './lua-lib.js';
import { LuaOracle, oracleUnavailable, protocolLuaPath } from './lua-oracle.js';
import { nativeUnavailable } from './peers/native/index.js';
import { startPeer } from './peers/index.js';
import { ROOT_DIR } from './paths.js';

/** Debian's lua-nginx-websocket files as upstream's lib/resty/websocket/*.lua, with `_VERSION = version`. */
export function buildUpstreamLayout(root: string, version: string): string {
  const dir = join(root, 'resty', 'websocket');
  mkdirSync(dir, { recursive: true });
  for (const m of ['protocol', 'client', 'server']) {
    const src = readFileSync(join(DEBIAN_LUA_ROOT, 'nginx', 'websocket', `${m}.lua`), 'utf8')
      .replaceAll('nginx.websocket.', 'resty.websocket.')
      .replace(/_VERSION = '[^']*'/, `_VERSION = '${version}'`);
    writeFileSync(join(dir, `${m}.lua`), src);
  }
  return dir;
}

const haveDebian = resolveLuaLib({ luaLib: DEBIAN_LUA_ROOT }).err === null;

describe.skipIf(!haveDebian)('library folders', () => {
  it('accepts the upstream layout, a checkout root holding lib/, and the Debian layout', () => {
    const tmp = mkdtempSync(join(tmpdir(), 'wslab-lib-'));
    const upstream = buildUpstreamLayout(join(tmp, 'checkout', 'lib'), '0.97');
    const a = resolveLuaLib({ luaLib: join(tmp, 'checkout', 'lib') });
    expect(a.lib).toMatchObject({ layout: 'upstream', dir: upstream, protocolPath: join(upstream, 'protocol.lua'), debian: false });
    expect(a.lib!.luaPath[0]).toBe(join(tmp, 'checkout', 'lib', '?.lua'));
    expect(resolveLuaLib({ luaLib: join(tmp, 'checkout') }).lib).toMatchObject({ layout: 'upstream', dir: upstream });
    const debianCopy = join(tmp, 'debian');
    cpSync(DEBIAN_LUA_ROOT, debianCopy, { recursive: true });
    const d = resolveLuaLib({ luaLib: debianCopy });
    expect(d.lib).toMatchObject({ layout: 'debian', dir: join(debianCopy, 'nginx', 'websocket') });
    // The Debian layout is loaded through our resty.websocket shim.
    expect(d.lib!.luaPath.some((p) => p.includes(join('fixtures', 'lua', 'shim')))).toBe(true);
    expect(resolveLuaLib({ luaLib: tmp }).err).toMatch(/is not a lua-resty-websocket lib\/ folder/);
  });

  it('two parts that loaded different copies is an error', () => {
    expect(differentCopies([{ part: 'peer', version: '0.08', path: '/a' }, { part: 'diff', version: '0.08', path: '/a' }])).toBeNull();
    expect(differentCopies([{ part: 'peer', version: '0.12', path: '/b' }, { part: 'diff', version: '0.08', path: '/a' }])).toMatch(/different copies .*peer 0\.12 from \/b; diff 0\.08 from \/a/);
  });
});

describe.skipIf(!haveDebian || nativeUnavailable() !== null || oracleUnavailable() !== null)('--lua-lib reaches every part', () => {
  const saved = process.env.RESTY_WEBSOCKET_LIB;
  let root = '';
  let dir = '';
  beforeAll(() => {
    root = join(mkdtempSync(join(tmpdir(), 'wslab-lib-')), 'lib');
    dir = buildUpstreamLayout(root, '0.97');
    expect(chooseLuaLib(root)).toBeNull();
    expect(process.env.RESTY_WEBSOCKET_LIB).toBe(root);
  });
  afterAll(() => {
    if (saved === undefined) delete process.env.RESTY_WEBSOCKET_LIB;
    else process.env.RESTY_WEBSOCKET_LIB = saved;
  });

  it('the peer and the conformance Lua agents', async () => {
    const peer = await startPeer({ backend: 'native' });
    try {
      expect(peer.lib).toMatchObject({ clientVersion: '0.97', serverVersion: '0.97', protocolVersion: '0.97', path: dir });
      const { runConformance } = await import('../conformance/index.js');
      const r = await runConformance({ agents: ['lua-server', 'lua-client'], cases: '1.1.1', peer, outDir: mkdtempSync(join(tmpdir(), 'wslab-c-')) });
      expect(r.lib).toMatchObject({ version: '0.97', path: dir });
      expect(r.results.map((x) => x.error)).toEqual([undefined, undefined]);
    } finally {
      await peer.stop();
    }
  }, 60_000);

  it('interop (a peer of its own)', async () => {
    const { runInterop } = await import('../conformance/interop/index.js');
    const report = await runInterop({ backend: 'native', scenarios: 'sanity-*', directions: ['lua-lua'], outDir: mkdtempSync(join(tmpdir(), 'wslab-i-')) });
    expect(report.luaLib).toMatchObject({ version: '0.97', path: dir });
    expect(report.summary.pass).toBeGreaterThan(0);
  }, 60_000);

  it('the oracle: frame deviations and diff', async () => {
    expect(protocolLuaPath()).toBe(join(dir, 'protocol.lua'));
    const oracle = new LuaOracle();
    try {
      expect(await oracle.version()).toBe('0.97');
    } finally {
      await oracle.close();
    }
    const { runFrameProbes } = await import('../conformance/deviations/frame-probes.js');
    let seen: { version: string; path: string } | null = null;
    await runFrameProbes(undefined, (l) => (seen = l));
    expect(seen).toEqual({ version: '0.97', path: join(dir, 'protocol.lua') });
    const { runDiff } = await import('../fuzz/diff/runner.js');
    const d = await runDiff({ maxCases: 50, timeMs: 30_000, useCorpus: false });
    expect(d).toMatchObject({ luaVersion: '0.97', luaProtocol: join(dir, 'protocol.lua') });
  }, 60_000);

  it('wslab lab --lua-lib: every part names the same copy', () => {
    const out = mkdtempSync(join(tmpdir(), 'wslab-lab-'));
    const env = { ...process.env };
    delete env.RESTY_WEBSOCKET_LIB;
    // Not the session diff: against Debian's code relabelled 0.97, the v0.12 differences it declares
    // for older copies do not apply, and its findings would be saved into this checkout's fuzz/findings.
    const r = spawnSync(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), 'lab', '--lua-lib', root, '--skip', 'interop,conformance,fuzz,session', '--diff-time', '2s', '--backend', 'native', '--out', out], { cwd: ROOT_DIR, env, encoding: 'utf8', timeout: 120_000 });
    const report = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { libraries: Array<{ part: string; version: string; path: string }>; peer: { lib: { clientVersion: string } }; sections: Record<string, { status: string; summary: string }> };
    expect(report.peer.lib.clientVersion, r.stderr).toBe('0.97');
    expect(report.libraries.map((l) => l.part).sort()).toEqual(['deviations (protocol.lua under luajit)', 'diff (protocol.lua under luajit)', 'peer']);
    for (const l of report.libraries) expect(l, l.part).toMatchObject({ version: '0.97', path: dir });
    expect(report.sections.deviations!.status, report.sections.deviations!.summary).toBe('pass');
    expect(report.sections.diff!.status, report.sections.diff!.summary).toBe('pass');
  }, 150_000);
});

/** `wslab ARGS` from source, without this process's library choice; its exit code and output. */
function wslab(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, WSLAB_FROM_SOURCE: '1' };
  delete env.RESTY_WEBSOCKET_LIB;
  const r = spawnSync(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), ...args], { cwd: ROOT_DIR, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.skipIf(!haveDebian || nativeUnavailable() !== null || oracleUnavailable() !== null)('a library that does not load', () => {
  let root = '';
  let clientLua = '';
  let raisesRoot = '';
  let serverLua = '';
  beforeAll(() => {
    const tmp = mkdtempSync(join(tmpdir(), 'wslab-broken-lib-'));
    root = join(tmp, 'syntax', 'lib');
    clientLua = join(buildUpstreamLayout(root, '0.97'), 'client.lua');
    // line 3 becomes a syntax error; the rest of the file is untouched
    const lines = readFileSync(clientLua, 'utf8').split('\n');
    lines.splice(2, 0, 'local broken = = 1');
    writeFileSync(clientLua, lines.join('\n'));
    raisesRoot = join(tmp, 'raises', 'lib');
    serverLua = join(buildUpstreamLayout(raisesRoot, '0.97'), 'server.lua');
    writeFileSync(serverLua, `error("this copy raises while it loads")\n${readFileSync(serverLua, 'utf8')}`);
  });

  it('luajit names the file and the line; a copy that compiles says nothing', () => {
    const lib = resolveLuaLib({ luaLib: root }).lib!;
    expect(libraryLoadError(lib)).toMatch(new RegExp(`^lua-resty-websocket does not load: ${clientLua.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:3: .*near '='$`));
    expect(libraryLoadError(resolveLuaLib({ luaLib: raisesRoot }).lib!)).toBeNull();
    expect(libraryLoadError(resolveLuaLib({ luaLib: DEBIAN_LUA_ROOT }).lib!)).toBeNull();
  });

  it('wslab peer start exits 1 with that one line and starts nothing', () => {
    const expected = libraryLoadError(resolveLuaLib({ luaLib: root }).lib!);
    const r = wslab(['peer', 'start', '--lua-lib', root]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toBe(`wslab peer start: ${expected}\n`);
    expect(r.stdout).toBe('');
  }, 60_000);

  it('a module that compiles but raises while it loads: peer start names it from nginx', () => {
    const r = wslab(['peer', 'start', '--lua-lib', raisesRoot]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toBe(`wslab peer start: lua-resty-websocket does not load in nginx: resty.websocket.server: ${serverLua}:1: this copy raises while it loads\n`);
  }, 60_000);

  it('interop, conformance with a Lua agent, diff, the session diff and lab exit 1 the same way, before they start', () => {
    const expected = libraryLoadError(resolveLuaLib({ luaLib: root }).lib!);
    const out = mkdtempSync(join(tmpdir(), 'wslab-broken-out-'));
    const parts: Array<[string, string[]]> = [
      ['interop', ['interop', '--lua-lib', root, '--out', join(out, 'interop')]],
      ['conformance', ['conformance', '--agents', 'lua-server', '--lua-lib', root, '--out', join(out, 'conformance')]],
      ['diff', ['diff', '--lua-lib', root, '--time', '2s', '--report', join(out, 'diff', 'diff.json')]],
      ['diff', ['diff', '--lua-lib', root, '--session', '2s', '--report', join(out, 'session', 'diff.json')]],
      ['lab', ['lab', '--lua-lib', root, '--out', join(out, 'lab')]],
    ];
    for (const [name, args] of parts) {
      const r = wslab(args);
      expect(r.status, `${args.join(' ')}: ${r.stdout}${r.stderr}`).toBe(1);
      expect(r.stderr, args.join(' ')).toBe(`wslab ${name}: ${expected}\n`);
      expect(r.stdout, args.join(' ')).toBe('');
    }
    // nothing ran, so no part wrote a report
    expect(readdirSync(out)).toEqual([]);
  }, 120_000);
});
