// The CI workflow stays in step with the project: the Node lines it tests are the ones `engines`
// names, the fuzz matrix lists every real fuzz target, and the token can only read.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TARGETS } from '../fuzz/registry.js';
import { ROOT_DIR } from '../lab/paths.js';

const workflow = readFileSync(join(ROOT_DIR, '.github', 'workflows', 'ci.yml'), 'utf8');
const list = (key: string): string[] => {
  const m = new RegExp(`^\\s+${key}: \\[([^\\]]*)\\]`, 'm').exec(workflow);
  return m ? m[1]!.split(',').map((s) => s.trim()) : [];
};

describe('.github/workflows/ci.yml', () => {
  it('tests every Node line engines allows, and only reads the repository', () => {
    expect(list('node')).toEqual(['20', '22', '24']);
    const engines = (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const lib = (JSON.parse(readFileSync(join(ROOT_DIR, 'impl', 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    expect(engines).toBe('^20.19.0 || ^22.12.0 || >=24.0.0');
    expect(lib).toBe(engines);
    expect(workflow).toMatch(/^permissions:\n {2}contents: read$/m);
    expect(workflow).not.toMatch(/contents: write|write-all/);
    expect(workflow).toContain('run: npm run typecheck');
    expect(workflow).toContain('run: npm run lint');
    expect(workflow).toMatch(/run: .*npm test$/m);
  });

  it('runs the Lua-facing tests against upstream v0.12 and master as well', () => {
    expect(list('ref')).toEqual(['v0.12', 'master']);
    expect(workflow).toContain('repository: openresty/lua-resty-websocket');
    expect(workflow).toMatch(/WSLAB_UPSTREAM_LIB=.*npm test -- --project upstream$/m);
  });

  it('fuzzes every target, with the corpus cached, merged and minimised', () => {
    expect(list('target').sort()).toEqual(TARGETS.map((t) => t.name).sort());
    expect(workflow).toContain('uses: actions/cache/restore@v4');
    expect(workflow).toContain('uses: actions/cache/save@v4');
    expect(workflow).toContain('--minimise-corpus');
  });
});

describe('.github/workflows/fuzz-service.yml', () => {
  const fuzzService = readFileSync(join(ROOT_DIR, '.github', 'workflows', 'fuzz-service.yml'), 'utf8');
  it('splits one campaign over its shard matrix, merges the shards, and only reads the repository', () => {
    const shards = /^\s+shard: \[([^\]]*)\]/m.exec(fuzzService)?.[1]?.split(',').map((s) => Number(s.trim()));
    const count = Number(/^\s+SHARDS: (\d+)$/m.exec(fuzzService)?.[1]);
    expect(shards).toEqual(Array.from({ length: count }, (_, i) => i + 1));
    expect(fuzzService).toMatch(/npx wslab fuzz --url "\$SERVICE_URL" .*--seed "\$SEED"/);
    expect(fuzzService).toContain(['--shard $', '{{ matrix.shard }}/$SHARDS'].join(''));
    expect(fuzzService).toContain('npx wslab fuzz --merge shards --out fuzz-merged');
    expect(fuzzService).toMatch(/^permissions:\n {2}contents: read$/m);
    expect(fuzzService).not.toMatch(/contents: write|write-all/);
    // The service it fuzzes listens inside the job, on 127.0.0.1.
    expect(fuzzService).toMatch(/^\s+SERVICE_URL: ws:\/\/127\.0\.0\.1:\d+\//m);
  });
});
