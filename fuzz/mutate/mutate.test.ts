// The mutation operators on a Lua text of our own; the baseline: a copy of the real library with a
// planted change is refused (its own frame diff diverges, so no kill could be evidence), and a
// planted mutant of the real protocol.lua (opcode 0x1's type name moved to opcode 0) is killed by
// the frame diff only after the unmodified copy ran the same cases clean.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { oracleUnavailable } from '../../lab/lua-oracle.js';
import { IN_CI } from '../test-env.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { firstDifference, focusedReach } from './focused.js';
import { mutantsOf } from './operators.js';
import { locateLibrary, mutateOk, runMutate, spread } from './runner.js';

const LUA = [
  'local ok, new_tab = pcall(require, "table.new")',
  'if not ok then',
  '    new_tab = function (narr, nrec) return {} end',
  'end',
  'local _M = new_tab(0, 3)',
  '_M._VERSION = "0.1"',
  'function _M.check(self, len, max)',
  '    if len > max then return nil, "too big" end',
  '    if len == 0 then return nil, "empty" end',
  '    max = max or 65535',
  '    if not self.sock then',
  '        self.fatal = true',
  '        return nil, "not initialized"',
  '    end',
  '    local req = "GET / HTTP/1.1\\r\\nUpgrade: websocket\\r\\n"',
  '    ngx.header["Upgrade"] = "websocket"',
  '    return band(len, 0x7f)',
  'end',
].join('\n');

describe('mutation operators', () => {
  const ms = mutantsOf('x.lua', LUA);
  const of = (op: string) => ms.filter((m) => m.operator === op);

  it('produces every operator, one change each, with before/after lines', () => {
    expect(of('flip-comparison').map((m) => m.after)).toEqual(expect.arrayContaining(['if len <= max then return nil, "too big" end', 'if len ~= 0 then return nil, "empty" end']));
    expect(of('off-by-one').map((m) => m.after)).toContain('if len == 1 then return nil, "empty" end');
    expect(of('default').map((m) => m.after)).toContain('max = max or 65534');
    expect(of('constant').map((m) => m.after)).toContain('return band(len, 126)');
    expect(of('drop-check').map((m) => m.after)).toEqual(expect.arrayContaining(['if false then return nil, "too big" end', 'if false then']));
    expect(of('swap-checks')).toHaveLength(1);
    expect(of('swap-checks')[0]!.source.split('\n').slice(7, 9)).toEqual(['    if len == 0 then return nil, "empty" end', '    if len > max then return nil, "too big" end']);
    expect(of('error-string').map((m) => m.after)).toEqual(expect.arrayContaining(['if len > max then return nil, "too big!" end', 'return nil, "not initialized!"']));
    expect(mutantsOf('y.lua', 'return nil, nil, "bad RSV1"').map((m) => m.after)).toContain('return nil, nil, "bad RSV1!"');
    // a string with escaped quotes stays one string (the mutant must still compile)
    expect(mutantsOf('y.lua', 'return nil, "bad \\"upgrade\\" request header: " .. v').filter((m) => m.operator === 'error-string').map((m) => m.after))
      .toEqual(['return nil, "bad \\"upgrade\\" request header: !" .. v']);
    expect(of('drop-flag').map((m) => m.after)).toEqual(['-- (dropped) self.fatal = true']);
    expect(of('drop-header').map((m) => m.after)).toEqual(['local req = "GET / HTTP/1.1\\r\\nX-Dropped-Upgrade: websocket\\r\\n"', '-- (dropped) ngx.header["Upgrade"] = "websocket"']);
    for (const m of ms) {
      const changed = m.source.split('\n').filter((l, i) => l !== LUA.split('\n')[i]);
      expect(changed.length, m.id).toBeLessThanOrEqual(2);
    }
  });

  it('marks what no peer can observe as equivalent, with the reason', () => {
    const eq = ms.filter((m) => m.equivalent);
    expect(eq.map((m) => m.line).sort((a, b) => a - b)).toEqual([2, 5, 5]);
    // a method called on the module table reaches the "not initialized" branch (the focused check does)
    expect(ms.filter((m) => m.line === 11 || m.line === 13).length).toBeGreaterThan(0);
    expect(eq.find((m) => m.line === 2)!.equivalent).toMatch(/table\.new fallback/);
    expect(eq.find((m) => m.line === 5)!.equivalent).toMatch(/pre-sizing/);
    expect(ms.filter((m) => m.line === 8).every((m) => !m.equivalent)).toBe(true);
  });

  it('marks mutants of an empty-bodied if equivalent unless they change its type() guard', () => {
    const src = ['function _M.send_close(self, code)', '    if type(code) ~= "number" or code > 0x7fff then', '    end', '    return code', 'end'].join('\n');
    const line2 = mutantsOf('s.lua', src).filter((m) => m.line === 2 && m.operator !== 'drop-check');
    const guard = line2.find((m) => m.after.startsWith('if type(code) == "number"'))!;
    const bound = line2.filter((m) => m !== guard);
    expect(guard.equivalent).toBeUndefined();
    expect(bound.map((m) => m.after).sort()).toEqual(['if type(code) ~= "number" or code <= 0x7fff then', 'if type(code) ~= "number" or code > 32768 then']);
    for (const m of bound) expect(m.equivalent).toMatch(/empty body/);
    // the same condition with a body that returns is not equivalent
    const withBody = mutantsOf('s.lua', src.replace('    end', '        return nil, "bad status code"\n    end')).filter((m) => m.line === 2);
    expect(withBody.length).toBeGreaterThanOrEqual(3);
    expect(withBody.every((m) => !m.equivalent)).toBe(true);
  });

  it('marks the send_headers and flush failure branches of server:new() as ones no peer can reach, with the reason', () => {
    const src = ['    local ok, err = ngx.send_headers()', '    if not ok then', '        return nil, "failed to send response header: " .. (err or "unknonw")', '    end', '    if not ok then', '        return nil, "failed to flush response header: " .. (err or "unknown")', '    end'].join('\n');
    const ms2 = mutantsOf('s.lua', src);
    for (const m of ms2.filter((x) => x.line === 2 || x.line === 3)) expect(m.equivalent, m.id).toMatch(/output filters/);
    for (const m of ms2.filter((x) => x.line === 5 || x.line === 6)) expect(m.equivalent, m.id).toMatch(/ngx\.flush/);
    // an `if not ok then` before another branch is not
    expect(mutantsOf('s.lua', 'if not ok then\n    return nil, "failed to connect: " .. err\nend').every((m) => !m.equivalent)).toBe(true);
  });

  it('an off-by-one past a bit mask on a masked value, and the URI regex failure branch, are equivalent', () => {
    const src = ['local opcode = band(fst, 0x0f)', 'if opcode >= 0xb and opcode <= 0xf then', '    return nil, nil, "reserved control frames"', 'end',
      'local m, err = re_match(uri, [[^(wss?)://(.*)]], "jo")', 'if not m then', '    if err then', '        return nil, "failed to match the uri: " .. err', '    end', '    return nil, "bad websocket uri"', 'end'].join('\n');
    const ms3 = mutantsOf('p.lua', src);
    const line2 = ms3.filter((m) => m.line === 2 && m.operator === 'off-by-one');
    expect(line2.find((m) => m.after.endsWith('opcode <= 16 then'))!.equivalent).toMatch(/never above 15/);
    expect(line2.find((m) => m.after.includes('opcode >= 12'))!.equivalent).toBeUndefined();
    for (const m of ms3.filter((x) => x.line === 7 || x.line === 8)) expect(m.equivalent, m.id).toMatch(/PCRE/);
    for (const m of ms3.filter((x) => x.line === 6 || x.line === 10)) expect(m.equivalent, m.id).toBeUndefined();
  });

  it('keeps equivalence only where the reason holds: not the key draws, not the SSL gate\'s direction, not a "not initialized" branch', () => {
    const src = [
      'local ssl_support = true',
      'if not ngx.config',
      '    or ngx.config.ngx_lua_version < 9011',
      'then',
      '    ssl_support = false',
      'end',
      'function _M.new(self, opts)',
      '    local sock, err = tcp()',
      '    if not sock then',
      '        return nil, err',
      '    end',
      'end',
      'function _M.recv_frame(self)',
      '    local sock = self.sock',
      '    if not sock then',
      '        return nil, nil, "not initialized yet"',
      '    end',
      'end',
      '    local bytes = char(rand(256) - 1, rand(256) - 1)',
    ].join('\n');
    const all = mutantsOf('c.lua', src);
    const at = (line: number) => all.filter((m) => m.line === line);
    // flipped, the version gate turns SSL support off; one past its bound, it tests the same
    expect(at(3).find((m) => m.operator === 'flip-comparison')!.equivalent).toBeUndefined();
    expect(at(3).find((m) => m.operator === 'off-by-one')!.equivalent).toMatch(/both false/);
    // ngx.socket.tcp() never returns nil; a method's own socket can be missing (the module table)
    expect(at(9).map((m) => m.equivalent)).toEqual([expect.stringMatching(/never nil/)]);
    expect([...at(15), ...at(16)].every((m) => !m.equivalent)).toBe(true);
    // rand(256) - 0 can make string.char(256) raise; rand(255) changes the seeded key
    expect(at(19).length).toBe(4);
    expect(at(19).every((m) => !m.equivalent)).toBe(true);
  });

  it('a start index 1 -> 0 is equivalent only where Lua clamps it back (string.byte with an end, plain string.find)', () => {
    const src = ['local fst, snd = byte(data, 1, 2)', 'local x = byte(data, 1)', 'if not str_find(str_lower(val), "upgrade", 1, true) then return nil, "bad" end', 'local m = sub(data, 3)'].join('\n');
    const c = mutantsOf('p.lua', src).filter((m) => m.operator === 'constant');
    const at = (line: number, after: string) => c.find((m) => m.line === line && m.after.includes(after))!;
    expect(at(1, 'byte(data, 0, 2)').equivalent).toMatch(/clamp/);
    expect(at(1, 'byte(data, 1, 1)').equivalent).toBeUndefined();
    // without an end, byte(data, 0) returns nothing: not equivalent
    expect(at(2, 'byte(data, 0)').equivalent).toBeUndefined();
    expect(at(3, '"upgrade", 0, true').equivalent).toMatch(/clamp init/);
    expect(at(4, 'sub(data, 2)').equivalent).toBeUndefined();
    // what the reasons say, checked on the local luajit
    const r = spawnSync('luajit', ['-e', 'print(string.byte("ab", 0, 2)); print(string.find("xab", "a", 0, true)); print(select("#", string.byte("ab", 0)))'], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.split('\n').slice(0, 3)).toEqual(['97\t98', '2\t2', '0']);
  });

  it('compares focused observations line by line with the unmodified library\'s, and needs the seeds to reach 0xff at each key byte', () => {
    const base = { lines: ['connect(1)', 'key 1: ff00 (x)'] };
    expect(firstDifference(base, { lines: [...base.lines] })).toBeNull();
    expect(firstDifference(base, { lines: ['connect() lua error: bad argument #1 to \'char\''] })).toBe("unmodified: connect(1)  =>  mutant: connect() lua error: bad argument #1 to 'char'");
    expect(firstDifference(base, { lines: ['connect(1)'] })).toBe('unmodified: key 1: ff00 (x)  =>  mutant: (nothing)');
    // the default-port lines count only when both runs could bind 80 and 443
    const withPorts = { lines: [...base.lines, '[default port] connect(1)'] };
    expect(firstDifference(withPorts, { lines: [...base.lines, '[default port] connect(null, "failed to connect: connection refused")'] })).toMatch(/^unmodified: \[default port\] connect\(1\)/);
    expect(firstDifference(withPorts, { lines: [...base.lines], defaultPortsSkipped: '127.0.0.1:80 could not be bound (EADDRINUSE)' })).toBeNull();
    const key = (p: number) => `key ${p + 1}: ${Array.from({ length: 16 }, (_, i) => (i === p ? 'ff' : '00')).join('')} (k)`;
    const seeds = Array.from({ length: 16 }, (_, i) => i + 1);
    expect(focusedReach({ lines: seeds.map((_, p) => key(p)) }, seeds)).toBeNull();
    expect(focusedReach({ lines: seeds.map((_, p) => key(p === 3 ? 4 : p)) }, seeds)).toMatch(/did not give 0xff at key byte 4/);
    expect(focusedReach({ lines: [...seeds.map((_, p) => key(p)), 'recv_frame() lua error: x'] }, seeds)).toMatch(/raised on the unmodified library/);
  });

  it('passes only on evidence: some mutant killed or survived, every rate at 90%, not interrupted', () => {
    const file = (killed: number, survived: number, other = 0) => ({ total: killed + survived + other, killed, survived, equivalent: other, didNotLoad: 0, killRate: killed + survived ? killed / (killed + survived) : null });
    expect(mutateOk({ interrupted: false, files: { 'a.lua': file(9, 1), 'b.lua': file(0, 0, 3) } })).toBe(true);
    expect(mutateOk({ interrupted: false, files: { 'a.lua': file(8, 2) } })).toBe(false);
    // nothing compared: every mutant equivalent or did not load
    expect(mutateOk({ interrupted: false, files: { 'a.lua': file(0, 0, 5) } })).toBe(false);
    expect(mutateOk({ interrupted: true, files: { 'a.lua': file(10, 0) } })).toBe(false);
  });

  it('spreads a budget over files and operators', () => {
    const picked = spread(ms.filter((m) => !m.equivalent), 6);
    expect(picked).toHaveLength(6);
    expect(new Set(picked.map((m) => m.operator)).size).toBeGreaterThanOrEqual(5);
  });
});

const why = oracleUnavailable();
describe.skipIf(why !== null && !IN_CI)(`a planted mutant of the real protocol.lua${why ? ` (${why})` : ''}`, () => {
  it('is killed by the frame diff and reported with the mutation as a one-line before/after', async () => {
    const lib = locateLibrary(process.env.RESTY_WEBSOCKET_LIB);
    const planted = mutantsOf('protocol.lua', readFileSync(join(lib.dir, 'protocol.lua'), 'utf8')).find((m) => m.operator === 'constant' && m.before === '[0x1] = "text",');
    expect(planted).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), 'wslab-mutate-test-'));
    const report = await runMutate({ budgetMs: 120_000, files: ['protocol.lua'], checks: ['diff'], diffCases: 1000, only: [planted!.id], reportFile: join(dir, 'mutate.json') });
    rmSync(dir, { recursive: true, force: true });
    // the kill counts because the unmodified copy ran the same 1000 cases without a divergence
    expect(report.baseline).toMatchObject({ clean: true, checks: [{ check: 'diff', status: 'clean', line: expect.stringMatching(/^1000 frame cases, seed 1, 0 divergences/) }] });
    expect(report.refused).toBeUndefined();
    expect(report.mutants).toHaveLength(1);
    expect(report.mutants[0]).toMatchObject({ id: planted!.id, status: 'killed', killedBy: 'diff', after: '[0] = "text",', reason: expect.stringMatching(/^frame diff, 1000 cases, seed 1: /) });
    expect(report.files['protocol.lua']).toMatchObject({ total: 1, killed: 1, survived: 0, killRate: 1 });
    // The original was never touched.
    expect(readFileSync(join(lib.dir, 'protocol.lua'), 'utf8')).toContain('[0x1] = "text",');
  }, 150_000);

  it('refuses a library whose unmodified run already fails a check: exit 1, one line naming the check and its first failure, no mutant run, the baseline in the report', () => {
    const lib = locateLibrary(process.env.RESTY_WEBSOCKET_LIB);
    // A copy with a planted change: to the mutation run it is "the unmodified library", and the
    // frame diff (our implementation against it) diverges there.
    const dir = mkdtempSync(join(tmpdir(), 'wslab-mutate-refuse-'));
    try {
      const copy = join(dir, 'lib', lib.namespace, 'websocket');
      mkdirSync(copy, { recursive: true });
      cpSync(lib.dir, copy, { recursive: true });
      const text = readFileSync(join(copy, 'protocol.lua'), 'utf8');
      expect(text).toContain('[0x1] = "text",');
      writeFileSync(join(copy, 'protocol.lua'), text.replace('[0x1] = "text",', '[0x1] = "txt",'));
      const report = join(dir, 'mutate.json');
      const r = spawnSync(process.execPath, [join(ROOT_DIR, 'bin', 'wslab.mjs'), 'mutate', '--lua-lib', join(dir, 'lib'), '--files', 'protocol.lua', '--checks', 'diff', '--diff-cases', '1000', '--max-mutants', '3', '--report', report], { encoding: 'utf8', env: { ...process.env, WSLAB_PEER: 'native' }, timeout: 120_000 });
      expect(r.status, r.stderr).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.startsWith('wslab mutate:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/^wslab mutate: the diff check fails on the unmodified library, so its kills would not be evidence: frame diff, 1000 cases, seed 1: .*txt/);
      const j = JSON.parse(readFileSync(report, 'utf8')) as { ok: boolean; refused: string; baseline: { clean: boolean; checks: Array<{ check: string; status: string }> }; mutants: unknown[]; files: Record<string, { killed: number; killRate: number | null }> };
      expect(j).toMatchObject({ ok: false, baseline: { clean: false, checks: [{ check: 'diff', status: 'failed' }] }, mutants: [] });
      // no kill was counted against it
      expect(j.files['protocol.lua']).toMatchObject({ killed: 0, killRate: null });
      // the temporary mutant folder is gone
      expect(readFileSync(join(copy, 'protocol.lua'), 'utf8')).toContain('[0x1] = "txt",');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
