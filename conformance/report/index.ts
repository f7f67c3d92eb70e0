// Autobahn-compatible reports: index.json (agent -> case -> behavior, behaviorClose, remoteCloseCode,
// duration, reportfile), one <agent>_case_<id>.json per case with the wire log and its HTML page
// (case-page.ts), and index.html: per-agent counts of the eight outcomes and the matrix grouped by
// section, cells coloured by the worse of behavior/behaviorClose. Written as results arrive.
import { mkdirSync } from 'node:fs';
import { writeAtomic } from '../../lab/fs.js';
import { esc, legend, page, section, table } from '../../lab/html.js';
import { casePageName, renderCasePage } from './case-page.js';
import { countOutcomes, OUTCOME_CLASS, OUTCOMES, worseOutcome, type Outcome } from './outcomes.js';
import { SECTION_TITLES, sectionKeys } from './sections.js';
import { join } from 'node:path';
import { compareCaseIds } from '../cases/index.js';
import type { CaseResult } from '../runner/types.js';

export interface IndexEntry {
  behavior: string;
  behaviorClose: string;
  remoteCloseCode: number | null;
  duration: number;
  reportfile: string;
}
export type ConformanceIndex = Record<string, Record<string, IndexEntry>>;

/** Autobahn's cleanForFilename: lower case, [a-z0-9] kept, runs of others become "_". */
export function reportFileName(agent: string, caseId: string): string {
  const clean = agent.trim().toLowerCase().replace(/[^a-z0-9]+/g, ' ').trim().replace(/ +/g, '_');
  return `${clean}_case_${caseId.replace(/\./g, '_')}.json`;
}

const MATRIX_INTERVAL_MS = 2000;

export class ConformanceReport {
  readonly index: ConformanceIndex = {};
  private readonly results: CaseResult[] = [];
  /** Run-level lines shown above the matrix (errors, peer restarts, affected and re-run cases). */
  notes: string[] = [];

  constructor(readonly outDir: string, readonly title: string) {
    mkdirSync(outDir, { recursive: true });
  }

  add(r: CaseResult): void {
    const reportfile = reportFileName(r.agent, r.id);
    writeAtomic(join(this.outDir, reportfile), JSON.stringify(r, null, 1));
    writeAtomic(join(this.outDir, casePageName(reportfile)), renderCasePage(r, reportfile, this.title));
    (this.index[r.agent] ??= {})[r.id] = { behavior: r.behavior, behaviorClose: r.behaviorClose, remoteCloseCode: r.remoteCloseCode, duration: r.duration, reportfile };
    this.results.push(r);
    writeAtomic(join(this.outDir, 'index.json'), JSON.stringify(this.index, null, 1));
    // The matrix of a whole run takes ~50 ms to render: while cases arrive (hundreds a second), at
    // most once every 2 s, so the report costs no CPU the testees need; flush() writes the last one.
    if (Date.now() - this.matrixWrittenAt >= MATRIX_INTERVAL_MS) this.writeMatrix(false);
  }

  private matrixWrittenAt = -Infinity;

  private writeMatrix(finished: boolean): void {
    writeAtomic(join(this.outDir, 'index.html'), renderMatrix(this.index, this.title, finished, this.results, this.notes));
    this.matrixWrittenAt = Date.now();
  }

  /** Rewrites index.json and index.html; `finished` marks the run as complete. */
  flush(finished: boolean): void {
    writeAtomic(join(this.outDir, 'index.json'), JSON.stringify(this.index, null, 1));
    this.writeMatrix(finished);
  }
}

/** One agent's counts of the eight outcomes, and how many pass (uWebSockets' rule, see passes()). */
function agentSummary(entries: readonly IndexEntry[]): { counts: Record<Outcome, number>; pass: number } {
  const pass = entries.filter((e) => ['OK', 'NON-STRICT', 'INFORMATIONAL'].includes(e.behavior) && ['OK', 'INFORMATIONAL'].includes(e.behaviorClose)).length;
  return { counts: countOutcomes(entries), pass };
}

function cell(e: IndexEntry | undefined): string {
  if (!e) return '<td class="none">–</td>';
  const worst = worseOutcome(e);
  const close = e.behaviorClose !== 'OK' && e.behaviorClose !== e.behavior ? `<small>close: ${esc(e.behaviorClose)}${e.remoteCloseCode !== null ? ` ${e.remoteCloseCode}` : ''}</small>` : e.remoteCloseCode !== null ? `<small>${e.remoteCloseCode}</small>` : '';
  return `<td class="${OUTCOME_CLASS[worst]}" title="behavior ${esc(e.behavior)}, close ${esc(e.behaviorClose)}, ${e.duration} ms"><a href="${esc(casePageName(e.reportfile))}">${esc(e.behavior)}${close}<small>${e.duration} ms</small></a></td>`;
}

export function renderMatrix(index: ConformanceIndex, title: string, finished: boolean, results: readonly CaseResult[] = [], notes: readonly string[] = []): string {
  const agents = Object.keys(index).sort();
  const caseIds = [...new Set(agents.flatMap((a) => Object.keys(index[a]!)))].sort(compareCaseIds);
  const descriptions = new Map(results.map((r) => [r.id, r.description.replace(/<br ?\/?>/g, ' ').replace(/<[^>]+>/g, '').replace(/\s+/g, ' ').trim()]));
  const summaries = new Map(agents.map((a) => [a, agentSummary(Object.values(index[a]!))]));

  const countsRows = agents.map((a) => {
    const s = summaries.get(a)!;
    const total = Object.keys(index[a]!).length;
    return [`<b>${esc(a)}</b>`, ...OUTCOMES.map((o) => (s.counts[o] ? `<span class="badge ${OUTCOME_CLASS[o]}">${s.counts[o]}</span>` : '<span class="muted">0</span>')), `<b>${s.pass}</b>/${total}`];
  });
  const countsTable = table(['agent', ...OUTCOMES, 'pass'], countsRows, 'data counts');

  const groups = new Map<string, string[]>();
  for (const id of caseIds) {
    const [major] = sectionKeys(id);
    (groups.get(major) ?? groups.set(major, []).get(major)!).push(id);
  }
  const colgroup = `<colgroup><col style="width:300px">${agents.map(() => '<col style="width:128px">').join('')}</colgroup>`;
  const head = `<thead><tr><th>case</th>${agents.map((a) => `<th>${esc(a)}</th>`).join('')}</tr></thead>`;
  const sections = [...groups].map(([major, ids]) => {
    const perAgent = agents.map((a) => {
      const entries = ids.map((id) => index[a]![id]).filter((e): e is IndexEntry => !!e);
      const { counts, pass } = agentSummary(entries);
      const worstShown = OUTCOMES.filter((o) => counts[o] > 0 && o !== 'OK');
      const cls = entries.length === 0 ? 'none' : pass === entries.length ? 'ok' : 'failed';
      return { a, pass, n: entries.length, cls, worstShown };
    });
    const allPass = perAgent.every((p) => p.n === 0 || p.pass === p.n);
    const summary = `<span>${esc(major)} · ${esc(SECTION_TITLES[major] ?? '')}</span><small>${ids.length} case${ids.length === 1 ? '' : 's'}</small>`
      + perAgent.map((p) => `<span class="badge ${p.cls}" title="${esc(p.a)}: ${p.pass}/${p.n} pass${p.worstShown.length ? `; ${p.worstShown.join(', ')}` : ''}">${esc(p.a)} ${p.pass}/${p.n}</span>`).join('');
    let lastMinor = '';
    const rows: string[] = [];
    for (const id of ids) {
      const [, minor] = sectionKeys(id);
      if (minor !== major && minor !== lastMinor) rows.push(`<tr><th colspan="${agents.length + 1}" style="background:#f6f8fa">${esc(minor)} · ${esc(SECTION_TITLES[minor] ?? '')}</th></tr>`);
      lastMinor = minor;
      rows.push(`<tr><th>${esc(id)}<span class="d">${esc((descriptions.get(id) ?? '').slice(0, 110))}</span></th>${agents.map((a) => cell(index[a]![id])).join('')}</tr>`);
    }
    return section(summary, `<table class="matrix" style="table-layout:fixed">${colgroup}${head}<tbody>${rows.join('\n')}</tbody></table>`, !allPass, `data-section="${esc(major)}"`);
  }).join('\n');

  const body = `<h1>${esc(title)}</h1>
<p class="sub">Autobahn|Testsuite cases 1-7, 9, 10, 12, 13 ported to TypeScript · ${caseIds.length} cases × ${agents.length} agents${finished ? '' : ' · <b>run in progress or interrupted</b>'}</p>
${finished ? '' : '<div class="banner running">This run has not finished: the matrix shows the cases done so far.</div>'}
${notes.length ? `<div class="banner notes"><ul style="margin:0">${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul></div>` : ''}
<h2>Outcomes per agent</h2>
<p class="note">Each case counted once, by the worse of its behavior and its close behavior (a case that is OK but closes uncleanly counts as UNCLEAN). Pass: behavior OK, NON-STRICT or INFORMATIONAL and close OK or INFORMATIONAL.</p>
${countsTable}
<h2>Cases by section</h2>
${legend(OUTCOMES.map((o) => [o, OUTCOME_CLASS[o]] as const))}
<div class="toolbar"><button type="button" onclick="document.querySelectorAll('details.sec').forEach(d=>d.open=true)">expand all</button><button type="button" onclick="document.querySelectorAll('details.sec').forEach(d=>d.open=false)">collapse all</button><span class="muted">Sections where every agent passes start collapsed. A cell is coloured by the worse verdict; click it for the case page with its wire log.</span></div>
${sections}`;
  return page({ title, body, nav: { 'lab report': '../../index.html', servers: '../servers/index.html', clients: '../clients/index.html' } });
}
