import { describe, expect, it } from 'vitest';
import { buildReport, explainedLegend, renderHtml } from './report.js';
import type { DirectionResult, Scenario } from './types.js';

const scenario = (id: string): Scenario => ({ id, title: `title of ${id}`, server: { steps: [] }, client: { steps: [] } });
const why = 'lua-resty-websocket 0.08 returns no third value from connect (added in v0.12, 06c8886)';
const lib = { clientVersion: '0.08', serverVersion: '0.08', protocolVersion: '0.08', source: 'test', ngxLuaVersion: 10023 } as never;

describe('interop report', () => {
  const results: DirectionResult[] = [];
  for (const id of ['a-pass', 'b-fail', 'c-flaky']) {
    for (const direction of ['lua-lua', 'ts-lua'] as const) {
      results.push({
        scenario: id, direction, durationMs: 5,
        verdict: id === 'b-fail' && direction === 'ts-lua' ? 'fail' : 'pass',
        reason: id === 'b-fail' && direction === 'ts-lua' ? '1 unexplained difference(s) from the Lua library' : undefined,
        flaky: id === 'c-flaky' && direction === 'ts-lua' ? 'closed' : undefined,
        differences: direction === 'ts-lua' ? [{ side: 'client', step: 1, op: 'connect', lua: [1], ours: [1, 'x'], explained: why }, ...(id === 'b-fail' ? [{ side: 'client' as const, step: 2, op: 'recv_frame', lua: ['a'], ours: ['b'] }] : [])] : [],
      });
    }
  }
  const report = buildReport(['a-pass', 'b-fail', 'c-flaky'].map(scenario), results, { backend: 'native', lib }, true);
  const html = renderHtml(report);

  it('lists each explained difference once, with its spec item and count', () => {
    const legend = explainedLegend(report.results);
    expect(legend.size).toBe(1);
    expect([...legend.values()][0]).toMatchObject({ n: 1, count: 3, specItem: expect.stringContaining('§1') });
    expect(html.split(why).length - 1).toBe(1 + 3); // the legend row, plus a tooltip per referring cell
    expect(html).toContain('href="#explained-1"');
    expect(html).not.toContain(`<i>(${why})</i>`); // not repeated inside the cells any more
  });
  it('puts failures first, then flaky ones, then the rest', () => {
    const order = ['b-fail', 'c-flaky', 'a-pass'].map((id) => html.indexOf(`<div>${id}</div>`));
    expect(order[0]).toBeLessThan(order[1]!);
    expect(order[1]).toBeLessThan(order[2]!);
  });
  it('shows unexplained differences inline, and has a working filter', () => {
    expect(html).toContain('recv_frame</b>: lua <code>[&quot;a&quot;]</code> ours <code>[&quot;b&quot;]</code>');
    expect(html).toContain('input type="search" data-filter');
    expect(html).toContain('data-hide="all-pass"');
    expect(html).toMatch(/<tr data-search="a-pass [^"]*" class="has-pass all-pass">/);
  });
});
