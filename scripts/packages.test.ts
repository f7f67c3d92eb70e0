// The two packages as users get them: each is packed (`npm pack`) and installed from its tarball into
// an empty temp project, offline (npm's cache is warm from `npm ci`). The library must add nothing
// beyond itself, ship only built JS and declarations, run its README example and type-check under
// moduleResolution node16 and bundler; the lab's `wslab --help` must run without tsx.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../lab/paths.js';

const work = mkdtempSync(join(tmpdir(), 'wslab-packages-'));
const NPM_QUIET = ['--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--loglevel=error'];
let libTarball = '';
let libIntegrity = '';

function npm(args: string[], cwd: string): string {
  return execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

/** `npm pack` of one package (already built: npm test builds first) into `work`; the file list. */
function pack(workspace: string | null): { file: string; files: string[]; integrity: string } {
  const out = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', work, ...(workspace ? ['-w', workspace] : [])], ROOT_DIR);
  const [info] = JSON.parse(out.slice(out.indexOf('['))) as Array<{ filename: string; integrity: string; files: Array<{ path: string }> }>;
  return { file: join(work, info!.filename), files: info!.files.map((f) => f.path), integrity: info!.integrity };
}

function emptyProject(name: string): string {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module' }));
  return dir;
}

type LockEntry = { version?: string; integrity?: string; resolved?: string; dependencies?: Record<string, string>; optionalDependencies?: Record<string, string>; dev?: boolean; optional?: boolean; link?: boolean; [k: string]: unknown };

/**
 * A lockfile for a project that depends on the two tarballs: the lab's runtime dependency closure
 * copied from our package-lock.json (same versions and integrity, so `npm ci --offline` takes every
 * tarball from npm's cache, which `npm ci` filled; a plain `npm install --offline` would need the
 * registry's package documents, which the cache does not hold). Optional dependencies are left out.
 */
function labLockfile(libFile: string, labFile: string, libIntegrity: string, labIntegrity: string): { pkg: object; lock: object } {
  const root = JSON.parse(readFileSync(join(ROOT_DIR, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const labPkg = JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; bin: Record<string, string> };
  const libPkg = JSON.parse(readFileSync(join(ROOT_DIR, 'impl', 'package.json'), 'utf8')) as { name: string; version: string };
  const packages: Record<string, LockEntry> = {};
  const find = (from: string, name: string): string => {
    for (let base = from; ; ) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (root.packages[candidate] && !root.packages[candidate]!.link) return candidate;
      if (!base) throw new Error(`package-lock.json has no ${name} for ${from || 'the root'}`);
      const cut = base.lastIndexOf('/node_modules/');
      base = cut < 0 ? '' : base.slice(0, cut);
    }
  };
  const visit = (from: string, deps: Record<string, string> = {}): void => {
    for (const name of Object.keys(deps)) {
      if (name === libPkg.name) continue;
      const at = find(from, name);
      if (packages[at]) continue;
      const { dev: _d, optional: _o, devOptional: _do, peer: _p, ...entry } = root.packages[at]!;
      packages[at] = entry;
      visit(at, entry.dependencies);
    }
  };
  visit('', labPkg.dependencies);
  const deps = { [libPkg.name]: `file:${libFile}`, [labPkg.name]: `file:${labFile}` };
  const pkg = { name: 'uses-lab', version: '1.0.0', private: true, type: 'module', dependencies: deps };
  const lock = {
    name: 'uses-lab', version: '1.0.0', lockfileVersion: 3, requires: true,
    packages: {
      '': { name: 'uses-lab', version: '1.0.0', dependencies: deps },
      [`node_modules/${libPkg.name}`]: { version: libPkg.version, resolved: `file:${libFile}`, integrity: libIntegrity },
      [`node_modules/${labPkg.name}`]: { version: labPkg.version, resolved: `file:${labFile}`, integrity: labIntegrity, dependencies: labPkg.dependencies, bin: labPkg.bin },
      ...packages,
    },
  };
  return { pkg, lock };
}

/** Every package under node_modules (scoped ones as @scope/name). */
function installedPackages(dir: string): string[] {
  const nm = join(dir, 'node_modules');
  if (!existsSync(nm)) return [];
  return readdirSync(nm)
    .filter((n) => !n.startsWith('.'))
    .flatMap((n) => (n.startsWith('@') ? readdirSync(join(nm, n)).map((m) => `${n}/${m}`) : [n]))
    .sort();
}

beforeAll(() => {
  // Standalone runs (not through npm test) may not have built yet.
  if (!existsSync(join(ROOT_DIR, 'impl', 'dist', 'index.js')) || !existsSync(join(ROOT_DIR, 'dist', 'cli', 'main.js'))) npm(['run', 'build'], ROOT_DIR);
}, 180_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the resty-websocket package', () => {
  let project = '';

  it('packs only its built JS, declarations, README, CHANGELOG and package.json', () => {
    const { file, files, integrity } = pack('resty-websocket');
    libTarball = file;
    libIntegrity = integrity;
    expect(files).toContain('dist/index.js');
    expect(files).toContain('dist/index.d.ts');
    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'CHANGELOG.md', 'dist/protocol.js', 'dist/server.js', 'dist/client.js']));
    const unexpected = files.filter((f) => !/^(package\.json|README\.md|CHANGELOG\.md|dist\/[\w-]+\.(js|d\.ts))$/.test(f));
    expect(unexpected).toEqual([]);
    expect(files.some((f) => /test/.test(f))).toBe(false);
  });

  it('has publint- and @arethetypeswrong/cli-clean exports (ESM only, by choice: see impl/README.md)', () => {
    const unpacked = join(work, 'lib-unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', libTarball, '-C', unpacked]);
    const bin = (name: string): string => join(ROOT_DIR, 'node_modules', '.bin', name);
    const publint = spawnSync(bin('publint'), [join(unpacked, 'package'), '--pack', 'false', '--strict'], { encoding: 'utf8', timeout: 60_000 });
    expect(publint.stdout).toContain('All good!');
    expect(publint.status).toBe(0);
    // esm-only: a require() of the package resolves to ESM, which Node 20.19+/22.12+ load (require(esm)).
    const attw = spawnSync(bin('attw'), [libTarball, '--profile', 'esm-only', '--include-entrypoints', './protocol', './server', './client', './permessage-deflate', '--format', 'ascii'], { encoding: 'utf8', timeout: 60_000 });
    expect(attw.stdout).toContain('node16 (from ESM): 🟢 (ESM)');
    expect(attw.status, attw.stdout).toBe(0);
  }, 120_000);

  it('installs offline into an empty project adding no package beyond itself, and runs no build', () => {
    project = emptyProject('uses-lib');
    npm(['install', ...NPM_QUIET.filter((f) => f !== '--ignore-scripts'), libTarball], project);
    expect(installedPackages(project)).toEqual(['resty-websocket']);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'resty-websocket', 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(pkg.dependencies).toBeUndefined();
    expect(pkg.scripts).not.toHaveProperty('install');
    expect(pkg.scripts).not.toHaveProperty('postinstall');
    expect(pkg.scripts).not.toHaveProperty('prepare');
    expect(pkg.peerDependenciesMeta).toEqual({ bufferutil: { optional: true } });
  }, 120_000);

  it("runs the README's example against the installed package", () => {
    expect(project, 'the install test ran first').not.toBe('');
    const readme = readFileSync(join(ROOT_DIR, 'impl', 'README.md'), 'utf8');
    const example = /## Example[\s\S]*?```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toContain("from 'resty-websocket'");
    writeFileSync(join(project, 'example.mjs'), example!);
    const r = spawnSync(process.execPath, ['example.mjs'], { cwd: project, encoding: 'utf8', timeout: 30_000 });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('hello text null null');
    expect(r.status).toBe(0);
  });

  it('loads with require() (require(esm)) and with import, every documented subpath', () => {
    const script = `
      const a = require('resty-websocket');
      const p = require('resty-websocket/protocol');
      import('resty-websocket/client').then((c) => console.log(a._VERSION, p._VERSION, typeof a.createServer, typeof p.FrameDecoder, typeof c.newClient));`;
    const r = spawnSync(process.execPath, ['--no-warnings', '-e', script], { cwd: project, encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout.trim()).toBe('0.12 0.12 function function function');
  });

  it('exports only its documented entry points (impl/README.md "Entry points")', () => {
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules', 'resty-websocket', 'package.json'), 'utf8')) as { exports: Record<string, unknown> };
    expect(Object.keys(pkg.exports)).toEqual(['.', './protocol', './server', './client', './permessage-deflate', './package.json']);
    const script = `
      for (const p of ['resty-websocket/permessage-deflate', 'resty-websocket/package.json', 'resty-websocket/socket', 'resty-websocket/dist/socket.js']) {
        try { require.resolve(p); console.log(p, 'ok'); } catch (e) { console.log(p, e.code); }
      }`;
    const r = spawnSync(process.execPath, ['-e', script], { cwd: project, encoding: 'utf8', timeout: 30_000 });
    expect(r.stdout.trim().split('\n')).toEqual([
      'resty-websocket/permessage-deflate ok',
      'resty-websocket/package.json ok',
      'resty-websocket/socket ERR_PACKAGE_PATH_NOT_EXPORTED',
      'resty-websocket/dist/socket.js ERR_PACKAGE_PATH_NOT_EXPORTED',
    ]);
  });

  for (const [label, module, resolution] of [
    ['node16', 'node16', 'node16'],
    ['bundler', 'esnext', 'bundler'],
  ] as const) {
    it(`resolves its types under moduleResolution ${label}`, () => {
      expect(project, 'the install test ran first').not.toBe('');
      const dir = join(project, `types-${label}`);
      mkdirSync(dir);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: { module, moduleResolution: resolution, target: 'ES2022', strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(ROOT_DIR, 'node_modules', '@types')] },
          files: ['use.mts'],
        }),
      );
      writeFileSync(
        join(dir, 'use.mts'),
        [
          "import { createServer, newClient, STRICT, type RecvResult } from 'resty-websocket';",
          "import { FrameDecoder, buildFrame } from 'resty-websocket/protocol';",
          "import { newServer } from 'resty-websocket/server';",
          "import type { ClientOptions } from 'resty-websocket/client';",
          'const opts: ClientOptions = { timeout: 1000 };',
          'const client = newClient(opts);',
          'const next: Promise<RecvResult> = client.recvFrame();',
          'const built: ReturnType<typeof buildFrame> = buildFrame(true, 0x1, 2, Buffer.from("hi"), true);',
          'const frame: Buffer | null = built.frame;',
          // With real types this is an error; were the package typed `any`, the directive would be unused (an error too).
          '// @ts-expect-error timeout is a number',
          "newClient({ timeout: 'soon' });",
          "void client.connect('ws://127.0.0.1:1/', { ssl_verify: true, headers: ['X-A: 1'], host: 'h', key: 'k', server_name: 'h', protocols: ['chat'] });",
          '// @ts-expect-error headers is an array of lines',
          "void client.connect('ws://127.0.0.1:1/', { headers: 'X-A: 1' });",
          'export { createServer, newServer, FrameDecoder, STRICT, next, frame };',
        ].join('\n'),
      );
      const tsc = join(ROOT_DIR, 'node_modules', 'typescript', 'bin', 'tsc');
      const r = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8', timeout: 60_000 });
      expect(`${r.stdout}${r.stderr}`.trim()).toBe('');
      expect(r.status).toBe(0);
    }, 60_000);
  }
});

describe('the resty-websocket-lab package', () => {
  it('installs offline from its tarball (with the library tarball) and runs wslab --help without tsx', () => {
    const { file, files, integrity } = pack(null);
    expect(files).toContain('dist/cli/main.js');
    expect(files).toContain('bin/wslab.mjs');
    expect(files).toContain('CHANGELOG.md');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(files.filter((f) => /\.test\.js$/.test(f))).toEqual([]);
    const project = join(work, 'uses-lab');
    mkdirSync(project);
    const { pkg, lock } = labLockfile(libTarball, file, libIntegrity, integrity);
    writeFileSync(join(project, 'package.json'), JSON.stringify(pkg, null, 2));
    writeFileSync(join(project, 'package-lock.json'), JSON.stringify(lock, null, 2));
    // --omit=optional: testcontainers (the container peer) is optional and irrelevant to --help.
    npm(['ci', ...NPM_QUIET, '--omit=optional'], project);
    const installed = installedPackages(project);
    expect(installed).toContain('resty-websocket-lab');
    expect(installed).toContain('resty-websocket');
    expect(installed).not.toContain('tsx');
    expect(installed).not.toContain('typescript');
    const bin = join(project, 'node_modules', '.bin', 'wslab');
    const started = Date.now();
    const help = spawnSync(bin, ['--help'], { cwd: project, encoding: 'utf8', timeout: 30_000 });
    const ms = Date.now() - started;
    expect(help.stderr).toBe('');
    expect(help.stdout).toMatch(/^Usage: wslab <command>/);
    expect(help.status).toBe(0);
    expect(ms).toBeLessThan(5000); // loose: a loaded CI machine; the benchmark is in the README
    const sub = spawnSync(bin, ['interop', '--help'], { cwd: project, encoding: 'utf8', timeout: 30_000 });
    expect(sub.stdout).toContain('Usage: wslab interop');
    const bad = spawnSync(bin, ['lab', '--skip', 'nope'], { cwd: project, encoding: 'utf8', timeout: 30_000 });
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toEqual(['wslab lab: --skip: unknown "nope" (one of interop, conformance, deviations, fuzz, diff, session) (see wslab lab --help)']);
    // The installed lab reads both versions from the installed packages, not from a checkout.
    const version = spawnSync(bin, ['--version'], { cwd: project, encoding: 'utf8', timeout: 30_000 });
    const ver = (f: string): string => (JSON.parse(readFileSync(f, 'utf8')) as { version: string }).version;
    expect(version.stdout).toBe(`wslab ${ver(join(ROOT_DIR, 'package.json'))} (resty-websocket ${ver(join(ROOT_DIR, 'impl', 'package.json'))})\n`);
    expect(version.status).toBe(0);
  }, 120_000);
});

describe('both packages', () => {
  it('say where their source, issues and home page are, and carry keywords', () => {
    for (const [file, directory] of [[join(ROOT_DIR, 'package.json'), undefined], [join(ROOT_DIR, 'impl', 'package.json'), 'impl']] as const) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
      expect(pkg.repository, file).toEqual({ type: 'git', url: 'git+https://github.com/resty-websocket-lab/resty-websocket-lab.git', ...(directory ? { directory } : {}) });
      expect((pkg.bugs as { url: string }).url, file).toBe('https://github.com/resty-websocket-lab/resty-websocket-lab/issues');
      expect(pkg.homepage, file).toMatch(/^https:\/\/github\.com\/resty-websocket-lab\/resty-websocket-lab\b.*#readme$/);
      expect((pkg.keywords as string[]).length, file).toBeGreaterThan(3);
    }
  });
});
