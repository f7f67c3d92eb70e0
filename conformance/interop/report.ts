// report/interop.json and report/interop.html: scenario × direction × result, with every
// difference from the Lua library shown inline with both values. Rewritten after each result.
import { mkdirSync } from 'node:fs';
import { writeAtomic } from '../../lab/fs.js';
import { esc } from '../../lab/html.js';
import { dirname } from 'node:path';
import { showRecord } from '../compare/index.js';
import type { LuaLibraryInfo } from '../../lab/peers/types.js';
import { DIRECTIONS, type DirectionResult, type Scenario } from './types.js';

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


export function renderHtml(report: InteropReport): string {
  const byKey = new Map(report.results.map((r) => [`${r.scenario}|${r.direction}`, r]));
  const rows = report.scenarios.map((s) => {
    const cells = DIRECTIONS.map((d) => {
      const r = byKey.get(`${s.id}|${d}`);
      if (!r) return '<td class="none">–</td>';
      const diffs = r.differences.map((x) =>
        `<div class="diff${x.explained ? ' explained' : ''}">${esc(x.side)} step ${x.step} <b>${esc(x.op)}</b>: lua <code>${esc(JSON.stringify(x.lua))}</code> ours <code>${esc(JSON.stringify(x.ours))}</code>${x.explained ? ` <i>(${esc(x.explained)})</i>` : ''}</div>`).join('');
      const flaky = r.flaky !== undefined ? `<div class="why">flaky: passed when run again; first run: ${esc(r.flaky)}</div>` : '';
      return `<td class="${r.verdict}${r.flaky !== undefined ? ' flaky' : ''}" title="${esc(r.reason ?? '')}">${r.verdict}${r.reason && r.verdict !== 'pass' ? `<div class="why">${esc(r.reason)}</div>` : ''}${flaky}${diffs}</td>`;
    }).join('');
    return `<tr><th><div>${esc(s.id)}</div><small>${esc(s.title)}${s.upstream ? ` — ${esc(s.upstream)}` : ''}</small></th>${cells}</tr>`;
  }).join('\n');
  const sum = report.summary;
  return `<!doctype html><html><head><meta charset="utf-8"><title>wslab interop</title><style>
body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
th small{color:#555;font-weight:normal}.pass{background:#d9f2d9}.pass.flaky{background:#eef2c8}.fail{background:#f8d0d0}.skip{background:#eee;color:#666}.error{background:#fbe3b8}
.diff{font-size:12px;margin-top:3px}.diff.explained{color:#666}.why{font-size:12px;color:#444;max-width:28em}code{font-size:11px}</style></head><body>
<h1>Interop: our implementation vs lua-resty-websocket</h1>
<p>Peer: ${esc(report.peer.backend)} — library ${esc(report.peer.lib.clientVersion)} (${esc(report.peer.lib.source)}), ngx_lua ${report.peer.lib.ngxLuaVersion}.
Directions are client ↔ server; lua-lua is the reference the others are compared with.${report.finished ? '' : ' <b>(run in progress or interrupted)</b>'}</p>
<p>${sum.pass} pass${sum.flaky ? ` (${sum.flaky} flaky: failed once, passed when run again)` : ''}, ${sum.fail} fail, ${sum.skip} skip, ${sum.error} error; ${sum.unexplainedDifferences} unexplained and ${sum.explainedDifferences} explained differences.</p>
${report.notes?.length ? `<ul>${report.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<table><tr><th>scenario</th>${DIRECTIONS.map((d) => `<th>${d}</th>`).join('')}</tr>
${rows}</table></body></html>`;
}

/** Writes the JSON and HTML atomically (a reader never sees half a file). */
export function writeReport(report: InteropReport, jsonPath: string, htmlPath: string): void {
  mkdirSync(dirname(jsonPath), { recursive: true });
  for (const [path, text] of [[jsonPath, JSON.stringify(report, null, 2)], [htmlPath, renderHtml(report)]] as const) {
    writeAtomic(path, text);
  }
}
