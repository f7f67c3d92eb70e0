// Autobahn-compatible reports: index.json (agent -> case -> behavior, behaviorClose, remoteCloseCode,
// duration, reportfile), one <agent>_case_<id>.json per case with the wire log, and an HTML matrix
// (agents × cases, colour-coded, each cell linking to its case report). Written as results arrive.
import { mkdirSync } from 'node:fs';
import { writeAtomic } from '../../lab/fs.js';
import { esc } from '../../lab/html.js';
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
    (this.index[r.agent] ??= {})[r.id] = { behavior: r.behavior, behaviorClose: r.behaviorClose, remoteCloseCode: r.remoteCloseCode, duration: r.duration, reportfile };
    this.results.push(r);
    this.flush(false);
  }

  /** Rewrites index.json and index.html; `finished` marks the run as complete. */
  flush(finished: boolean): void {
    writeAtomic(join(this.outDir, 'index.json'), JSON.stringify(this.index, null, 1));
    writeAtomic(join(this.outDir, 'index.html'), renderMatrix(this.index, this.title, finished, this.results, this.notes));
  }
}

const CLASS: Record<string, string> = { OK: 'ok', 'NON-STRICT': 'nonstrict', INFORMATIONAL: 'info', UNIMPLEMENTED: 'unimpl', FAILED: 'failed', 'WRONG CODE': 'failed', UNCLEAN: 'failed', 'FAILED BY CLIENT': 'failed' };

export function renderMatrix(index: ConformanceIndex, title: string, finished: boolean, results: readonly CaseResult[] = [], notes: readonly string[] = []): string {
  const agents = Object.keys(index).sort();
  const caseIds = [...new Set(agents.flatMap((a) => Object.keys(index[a]!)))].sort(compareCaseIds);
  const descriptions = new Map(results.map((r) => [r.id, `${r.rfc}: ${r.description.replace(/<[^>]+>/g, ' ')}`]));
  const totals = agents.map((a) => {
    const entries = Object.values(index[a]!);
    const pass = entries.filter((e) => ['OK', 'NON-STRICT', 'INFORMATIONAL'].includes(e.behavior) && ['OK', 'INFORMATIONAL'].includes(e.behaviorClose)).length;
    return `<th>${esc(a)}<br><small>${pass}/${entries.length} pass</small></th>`;
  });
  const rows = caseIds.map((id) => {
    const cells = agents.map((a) => {
      const e = index[a]![id];
      if (!e) return '<td class="none">–</td>';
      const close = e.behaviorClose !== 'OK' ? `<br><small>${esc(e.behaviorClose)}${e.remoteCloseCode !== null ? ` ${e.remoteCloseCode}` : ''}</small>` : '';
      return `<td class="${CLASS[e.behavior] ?? 'failed'} ${CLASS[e.behaviorClose] ?? 'failed'}-close"><a href="${esc(e.reportfile)}">${esc(e.behavior)}</a>${close}<br><small>${e.duration} ms</small></td>`;
    });
    return `<tr><th title="${esc(descriptions.get(id) ?? '')}">${esc(id)}</th>${cells.join('')}</tr>`;
  });
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font:13px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;text-align:left;vertical-align:top}
.ok{background:#c8f0c8}.nonstrict{background:#e8f5b0}.info{background:#cfe3ff}.unimpl{background:#ddd}.failed{background:#f6b3b3}
.failed-close small{color:#900;font-weight:bold}a{color:inherit}</style></head><body>
<h1>${esc(title)}</h1><p>Autobahn|Testsuite cases 1-7, 9, 10 ported to TypeScript. Each cell: behavior (click for the case report with its wire log), the close behavior when not OK, and the duration.${finished ? '' : ' <b>(run in progress or interrupted)</b>'}</p>
${notes.length ? `<ul>${notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : ''}
<table><tr><th>case</th>${totals.join('')}</tr>${rows.join('\n')}</table></body></html>`;
}
