// The browser direction's part of interop.html: one row per scenario, one column per server
// (the Lua server in nginx, ours in compat and strict), each cell what Chromium observed, with
// differences from the Lua server's run shown and explained deviations referenced once in a legend.
import { badge, cards, esc, table } from '../../../lab/html.js';
import type { BrowserEvent } from './page-script.js';
import { BROWSER_SERVERS, type BrowserInteropReport } from './index.js';

function eventText(e: BrowserEvent): string {
  switch (e.event) {
    case 'open': return `open${e.protocol ? ` protocol=<b>${esc(e.protocol)}</b>` : ''}`;
    case 'message': return `${e.type} ${e.length.toLocaleString('en')} B${e.text !== undefined ? ` <span class="txt mono">${esc(e.text)}</span>` : ''}`;
    case 'error': return '<b>error</b>';
    case 'close': return `close <b>${e.code}</b>${e.reason ? ` <span class="txt mono">${esc(e.reason)}</span>` : ''} ${e.wasClean ? 'clean' : '<b>not clean</b>'}`;
    case 'gave-up': return `<b>no close event after ${e.afterMs} ms</b> (readyState ${e.readyState})`;
    case 'throw': return `<b>${esc(e.name)}</b> from ${esc(e.action)}: ${esc(e.message)}`;
  }
}

export function renderBrowserSection(b: BrowserInteropReport): string {
  if (b.skipped) return `<h2>Browser direction</h2><p class="banner running">Skipped: ${esc(b.skipped)}</p>`;
  const deviations = b.scenarios.filter((s) => s.deviation);
  const devIndex = new Map(deviations.map((s, i) => [s.id, i + 1]));
  const rows = b.scenarios.map((s) => {
    const cells = BROWSER_SERVERS.map((srv) => {
      const r = b.results.find((x) => x.scenario === s.id && x.server === srv);
      if (!r) return '<td class="none">–</td>';
      const events = (r.observed?.browser ?? []).map((e) => `<div class="diffline">${eventText(e)}</div>`).join('');
      const ref = r.differences.some((d) => d.explained) ? ` <a class="badge info" href="#browser-deviation-${devIndex.get(s.id)}">B${devIndex.get(s.id)}</a>` : '';
      const unexplained = r.differences.filter((d) => !d.explained).map((d) => `<div class="diffline"><b>${esc(d.what)} differs</b>: lua <code>${esc(JSON.stringify(d.lua)).slice(0, 400)}</code> ours <code>${esc(JSON.stringify(d.ours)).slice(0, 400)}</code></div>`).join('');
      return `<td class="${r.verdict}"><b>${esc(r.verdict)}</b> <small>${r.durationMs} ms</small>${ref}${r.reason ? `<div class="note">${esc(r.reason)}</div>` : ''}${events}${unexplained}</td>`;
    }).join('');
    const rs = b.results.filter((x) => x.scenario === s.id);
    const search = [s.id, s.title, ...rs.map((r) => `${r.server} ${r.verdict} ${r.reason ?? ''}`)].join(' ');
    return `<tr data-search="${esc(search)}" class="${rs.every((r) => r.verdict === 'pass') ? 'all-pass' : ''}"><th><div>${esc(s.id)}</div><small>${esc(s.title)}</small></th>${cells}</tr>`;
  });
  const sum = b.summary;
  const legendRows = deviations.map((s) => [`<span id="browser-deviation-${devIndex.get(s.id)}" class="badge info">B${devIndex.get(s.id)}</span>`, esc(s.id), `${badge(s.deviation!.profile, 'info')} ${esc(s.deviation!.why)}`, esc(s.deviation!.specItem)]);
  return `<h2>Browser direction <small>(Chromium ${esc(b.chromium ?? '')} as the client)</small></h2>
<p class="note">A page in headless Chromium talks to the Lua server in nginx and to ours, through what a browser can do. Compared with the Lua server's run: the browser's events (open and its protocol, messages, CloseEvent code, reason and wasClean) and what the server's calls returned.</p>
${cards([['pass', sum.pass, 'good'], ['fail', sum.fail, sum.fail ? 'bad' : 'good'], ['error', sum.error, sum.error ? 'bad' : 'good'], ['explained differences', sum.explainedDifferences, 'neutral']])}
${legendRows.length ? `<h3>Documented deviations the browser shows</h3>${table(['', 'scenario', 'profile and why', 'spec item'], legendRows)}` : ''}
<table class="data interop"><thead><tr><th>scenario</th><th>Lua server (nginx)</th><th>ours, compat</th><th>ours, strict</th></tr></thead><tbody>
${rows.join('\n')}</tbody></table>`;
}
