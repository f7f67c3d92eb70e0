// report/interop.json and report/interop.html: scenario × direction × result, with every
// difference from the Lua library shown inline with both values. Rewritten after each result.
import { cards, esc, FILTER_SCRIPT, page, table } from '../../lab/html.js';
import { showRecord } from '../compare/index.js';
import type { LuaLibraryInfo } from '../../lab/peers/types.js';
import { DIRECTIONS, type DirectionResult, type Scenario } from './types.js';
import type { BrowserInteropReport } from './browser/index.js';
import { renderBrowserSection } from './browser/report.js';

export interface InteropSummary {
  pass: number;
  fail: number;
  skip: number;
  error: number;
  unexplainedDifferences: number;
  explainedDifferences: number;
  /** Passes whose first run failed (see DirectionResult.flaky). */
  flaky: number;
}

export interface InteropReport {
  generatedAt: string;
  peer: { backend: string; lib: LuaLibraryInfo };
  summary: InteropSummary;
  scenarios: Array<{ id: string; title: string; upstream?: string; needs?: Scenario['needs'] }>;
  results: Array<Omit<DirectionResult, 'records'> & { records?: unknown }>;
  /** The browser direction (Chromium as the client), when it was run. */
  browser?: BrowserInteropReport;
  finished: boolean;
  /** Run-level lines (peer deaths and restarts, runs made again after one, interrupted), shown above the table. */
  notes?: string[];
}

export function summarise(results: readonly DirectionResult[]): InteropSummary {
  const s: InteropSummary = { pass: 0, fail: 0, skip: 0, error: 0, unexplainedDifferences: 0, explainedDifferences: 0, flaky: 0 };
  for (const r of results) {
    s[r.verdict]++;
    if (r.flaky !== undefined) s.flaky++;
    for (const d of r.differences) {
      if (d.explained) s.explainedDifferences++;
      else s.unexplainedDifferences++;
    }
  }
  return s;
}

export function buildReport(
  scenarios: readonly Scenario[],
  results: readonly DirectionResult[],
  peer: { backend: string; lib: LuaLibraryInfo },
  finished: boolean,
): InteropReport {
  return {
    generatedAt: new Date().toISOString(),
    peer,
    summary: summarise(results),
    scenarios: scenarios.map((s) => ({ id: s.id, title: s.title, upstream: s.upstream, needs: s.needs })),
    results: results.map((r) => ({
      ...r,
      // Failures keep their records for diagnosis; passes only their verdict.
      records: r.verdict === 'fail' && r.records ? { client: r.records.client.map(showRecord), server: r.records.server.map(showRecord) } : undefined,
    })),
    finished,
  };
}


/**
 * Where the behaviour study (docs/behaviour.md, from the shared spec) documents an explained
 * difference: a difference may carry its own `specItem`; the library's older-version changes are
 * matched here by what they say.
 */
export function specItemOf(d: { explained?: string; specItem?: string }): string {
  if (d.specItem) return d.specItem;
  const text = d.explained ?? '';
  const own = /§\s?[\d.]+/.exec(text);
  if (own) return own[0];
  if (/third value from connect/.test(text)) return '§1 Versions (06c8886, v0.12: connect returns a third value)';
  if (/v0\.0?8|v0\.1\d/.test(text)) return '§1 Versions / §9 Debian 0.08';
  return '—';
}

interface LegendEntry { n: number; text: string; specItem: string; count: number; scenarios: Set<string> }

/** Explained differences, once each, numbered in order of first appearance. */
export function explainedLegend(results: ReadonlyArray<{ scenario: string; differences: ReadonlyArray<{ explained?: string; specItem?: string }> }>): Map<string, LegendEntry> {
  const legend = new Map<string, LegendEntry>();
  for (const r of results) {
    for (const d of r.differences) {
      if (!d.explained) continue;
      let e = legend.get(d.explained);
      if (!e) legend.set(d.explained, (e = { n: legend.size + 1, text: d.explained, specItem: specItemOf(d), count: 0, scenarios: new Set() }));
      e.count++;
      e.scenarios.add(r.scenario);
    }
  }
  return legend;
}

/** Sort rank: scenarios with a failure or error first, then flaky ones, then the rest in catalogue order. */
function rank(rs: ReadonlyArray<{ verdict: string; flaky?: string }>): number {
  if (rs.some((r) => r.verdict === 'fail' || r.verdict === 'error')) return 0;
  if (rs.some((r) => r.flaky !== undefined)) return 1;
  return 2;
}

export function renderHtml(report: InteropReport): string {
  const byKey = new Map(report.results.map((r) => [`${r.scenario}|${r.direction}`, r]));
  const legend = explainedLegend(report.results);
  const ordered = report.scenarios.map((s, i) => ({ s, i, rs: report.results.filter((r) => r.scenario === s.id) }))
    .sort((a, b) => rank(a.rs) - rank(b.rs) || a.i - b.i);
  const rows = ordered.map(({ s, rs }) => {
    const cells = DIRECTIONS.map((d) => {
      const r = byKey.get(`${s.id}|${d}`);
      if (!r) return '<td class="none">–</td>';
      const refs = [...new Set(r.differences.filter((x) => x.explained).map((x) => legend.get(x.explained!)!.n))]
        .map((n) => `<a class="badge info" href="#explained-${n}" title="${esc([...legend.values()][n - 1]!.text)}">E${n}</a>`).join(' ');
      const unexplained = r.differences.filter((x) => !x.explained).map((x) =>
        `<div class="diffline">${esc(x.side)} step ${x.step} <b>${esc(x.op)}</b>: lua <code>${esc(JSON.stringify(x.lua))}</code> ours <code>${esc(JSON.stringify(x.ours))}</code></div>`).join('');
      const flaky = r.flaky !== undefined ? `<div class="note">flaky: passed when run again; first run: ${esc(r.flaky)}</div>` : '';
      const why = r.reason && r.verdict !== 'pass' ? `<div class="note">${esc(r.reason)}</div>` : '';
      const verdict = r.flaky !== undefined ? 'pass (flaky)' : r.verdict;
      return `<td class="${r.verdict}${r.flaky !== undefined ? ' flaky' : ''}"><b>${esc(verdict)}</b> <small>${r.durationMs} ms</small>${refs ? ` ${refs}` : ''}${why}${flaky}${unexplained}</td>`;
    }).join('');
    const classes = [...new Set(rs.map((r) => (r.flaky !== undefined ? 'has-flaky' : `has-${r.verdict}`)))];
    const allPass = rs.length > 0 && rs.every((r) => r.verdict === 'pass' && r.flaky === undefined);
    const allSkip = rs.length > 0 && rs.every((r) => r.verdict === 'skip');
    const search = [s.id, s.title, s.upstream ?? '', ...rs.map((r) => `${r.direction} ${r.verdict} ${r.reason ?? ''} ${r.flaky ? 'flaky' : ''}`)].join(' ');
    return `<tr data-search="${esc(search)}" class="${classes.join(' ')}${allPass ? ' all-pass' : ''}${allSkip ? ' all-skip' : ''}"><th><div>${esc(s.id)}</div><small>${esc(s.title)}${s.upstream ? ` — ${esc(s.upstream)}` : ''}</small></th>${cells}</tr>`;
  }).join('\n');
  const sum = report.summary;
  const legendRows = [...legend.values()].map((e) => [`<span id="explained-${e.n}" class="badge info">E${e.n}</span>`, esc(e.text), esc(e.specItem), `<span class="mono">${e.count}</span>`, `<small>${esc([...e.scenarios].slice(0, 6).join(', '))}${e.scenarios.size > 6 ? ` … (+${e.scenarios.size - 6})` : ''}</small>`]);
  const body = `<h1>Interop: our implementation vs lua-resty-websocket</h1>
<p class="sub">Peer: ${esc(report.peer.backend)} — library ${esc(report.peer.lib.clientVersion)} (${esc(report.peer.lib.source)}), ngx_lua ${esc(report.peer.lib.ngxLuaVersion)}. Directions are client ↔ server; lua-lua is the reference the others are compared with.</p>
${report.finished ? '' : '<div class="banner running">Run in progress or interrupted: the table shows what finished.</div>'}
${report.notes?.length ? `<div class="banner notes"><ul style="margin:0">${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>` : ''}
${cards([
    ['pass', sum.pass, 'good'], ['fail', sum.fail, sum.fail ? 'bad' : 'good'], ['error', sum.error, sum.error ? 'bad' : 'good'],
    ['flaky (passed on retry)', sum.flaky, sum.flaky ? 'warn' : 'good'], ['skip', sum.skip, 'neutral'],
    ['unexplained differences', sum.unexplainedDifferences, sum.unexplainedDifferences ? 'bad' : 'good'],
    ['explained differences', `${sum.explainedDifferences} (${legend.size} kind${legend.size === 1 ? '' : 's'})`, 'neutral'],
  ])}
<h2>Explained differences</h2>
${legend.size ? `<p class="note">Known differences between the Lua library in use and our implementation, each listed once; the cells refer to them by number.</p>${table(['', 'difference', 'spec item', 'times', 'scenarios'], legendRows)}` : '<p class="muted">None in this run.</p>'}
<h2>Scenarios</h2>
<div class="toolbar"><input type="search" data-filter placeholder="filter: scenario, direction, verdict, reason…" aria-label="filter"><label><input type="checkbox" data-hide="all-pass"> hide all-pass rows</label><label><input type="checkbox" data-hide="all-skip"> hide all-skip rows</label><span class="muted" data-shown></span></div>
<p class="note">Scenarios with a failure or error come first, then flaky ones, then the rest in catalogue order.</p>
<table class="data interop"><thead><tr><th>scenario</th>${DIRECTIONS.map((d) => `<th>${d}</th>`).join('')}</tr></thead><tbody>
${rows}</tbody></table>
${report.browser ? renderBrowserSection(report.browser) : ''}`;
  return page({ title: 'wslab interop', body, nav: { 'lab report': 'index.html', interop: 'interop.html' }, script: FILTER_SCRIPT });
}
