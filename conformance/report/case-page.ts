// One HTML page per case and agent, in Autobahn's per-case layout: description and expectation,
// outcome with expected and observed events, closing behaviour, the opening handshake, frame and
// octet statistics, and the wire log with every payload as hex and as the text it decodes to.
import { badge, esc, hexGroups, keyValues, page, payloadHtml, table } from '../../lab/html.js';
import type { CaseResult, WireLogEntry } from '../runner/types.js';
import { OUTCOME_CLASS, worseOutcome, type Outcome } from './outcomes.js';
import { SECTION_TITLES, sectionKeys } from './sections.js';

const OPCODES: Record<number, string> = { 0: 'CONTINUATION', 1: 'TEXT', 2: 'BINARY', 8: 'CLOSE', 9: 'PING', 10: 'PONG' };
const opName = (op: number): string => OPCODES[op] ?? `RESERVED ${op}`;

/** Case descriptions are ours (the catalogue) and carry Autobahn's <b>/<br>; nothing else passes. */
export function caseText(html: string): string {
  return esc(html).replace(/&lt;(\/?b|br ?\/?)&gt;/g, '<$1>');
}

/**
 * The runner logs payloads as latin1 strings (one char per byte) and hex, both cut at a limit with
 * " ..." or " ...(N bytes)" appended. Returns the bytes and whether they were cut.
 */
export function loggedBytes(s: string, hex = false): { bytes: Buffer; truncated: boolean; total?: number } {
  const m = /^([\s\S]*?) \.\.\.(?:\((\d+) bytes\))?$/.exec(s);
  const body = m ? m[1]! : s;
  return { bytes: Buffer.from(body, hex ? 'hex' : 'latin1'), truncated: !!m, total: m?.[2] ? Number(m[2]) : undefined };
}

function payload(s: string, hex = false, opcode?: number): string {
  const b = loggedBytes(s, hex);
  if (opcode === 8 && b.bytes.length >= 2) {
    // A close frame's payload: the code, then the reason as UTF-8.
    const reason = b.bytes.subarray(2);
    return `<small>${b.bytes.length} bytes</small> <span class="hex mono">${esc(hexGroups(b.bytes))}</span><br>code <b class="mono">${b.bytes.readUInt16BE(0)}</b>${reason.length ? ` reason ${payloadHtml(reason, { truncated: b.truncated }).replace(/^.*?<br>/, '')}` : ''}`;
  }
  const size = b.total ?? (b.truncated ? `≥${b.bytes.length}` : b.bytes.length);
  return `<small>${size} bytes</small> ${payloadHtml(b.bytes, { truncated: b.truncated, text: !hex })}`;
}

/** Events as recorded (received/expected): ['message', payload, binary] | ['ping'|'pong', payload] | ['timeout', tag]. */
function eventHtml(e: unknown): string {
  const x = e as unknown[];
  if (!Array.isArray(x)) return esc(JSON.stringify(e));
  const [kind, data, isBinary] = x;
  if (kind === 'message' && typeof data === 'string') return `<b>${isBinary ? 'binary' : 'text'} message</b> ${payload(data)}`;
  if ((kind === 'ping' || kind === 'pong') && typeof data === 'string') return `<b>${kind}</b> ${payload(data)}`;
  if (kind === 'timeout') return `<b>timeout</b> <span class="mono">${esc(String(data))}</span>`;
  return `<span class="mono">${esc(JSON.stringify(x))}</span>`;
}

function eventsList(events: readonly unknown[]): string {
  return events.length ? `<ol>${events.map((e) => `<li>${eventHtml(e)}</li>`).join('')}</ol>` : '<p class="muted">(no events)</p>';
}

function wireRow(e: WireLogEntry, i: number): string[] {
  const n = `<span class="muted">${i + 1}</span>`;
  switch (e[0]) {
    case 'RO': return [n, '<td class="dir in">RX octets', payload(e[1], true)];
    case 'TO': return [n, '<td class="dir out">TX octets', `${payload(e[1], true)}${e[2] ? ' <small>sync</small>' : ''}`];
    case 'RF': return [n, '<td class="dir in">RX frame', `<b>${opName(e[2])}</b> <small>fin=${e[3]} rsv=${e[4]} masked=${e[5]}${e[6] ? ` mask=${esc(e[6])}` : ''}</small><br>${payload(e[1], false, e[2])}`];
    case 'TF': return [n, '<td class="dir out">TX frame', `<b>${opName(e[2])}</b> <small>fin=${e[3]} rsv=${e[4]}${e[5] ? ` mask=${esc(e[5])}` : ''}${e[6] !== null ? ` payload_len=${e[6]}` : ''}${e[7] !== null ? ` chopsize=${e[7]}` : ''}${e[8] ? ' sync' : ''}</small><br>${payload(e[1], false, e[2])}`];
    case 'CT': return [n, '<td class="dir">timer', `continue in ${e[1]} s${e[2] ? ` (${esc(e[2])})` : ''}`];
    case 'CTE': return [n, '<td class="dir">timer', `continuing${e[1] ? ` (${esc(e[1])})` : ''}`];
    case 'KL': return [n, '<td class="dir">timer', `kill after ${e[1]} s`];
    case 'KLE': return [n, '<td class="dir">timer', 'killing the connection'];
    case 'TI': return [n, '<td class="dir">timer', `close after ${e[1]} s`];
    case 'TIE': return [n, '<td class="dir">timer', 'closing'];
    case 'WLM': return [n, '<td class="dir">log', e[1] ? 'wire log resumed' : 'wire log paused (bulk data follows)'];
  }
}

/** The per-case file's name: the JSON's, as .html. */
export function casePageName(reportfile: string): string {
  return reportfile.replace(/\.json$/, '.html');
}

function statsTable(title: string, stats: Record<number, number>, label: (k: number) => string): string {
  const rows = Object.entries(stats).sort((a, b) => Number(a[0]) - Number(b[0])).map(([k, v]) => [esc(label(Number(k))), `<span class="mono">${v}</span>`]);
  return rows.length ? `<div><h3>${esc(title)}</h3>${table(['', 'count'], rows)}</div>` : '';
}

export function renderCasePage(r: CaseResult, reportfile: string, matrixTitle: string): string {
  const outcome: Outcome = worseOutcome(r);
  const [major, minor] = sectionKeys(r.id);
  const crumbs = [SECTION_TITLES[major], minor !== major ? SECTION_TITLES[minor] : undefined].filter(Boolean).join(' › ');
  const close = (code: number | null, reason: string | null): string => (code === null ? '<span class="muted">none</span>' : `<span class="mono">${code}</span>${reason ? ` <span class="txt mono">${esc(reason)}</span>` : ''}`);
  const yesNo = (v: boolean): string => (v ? 'yes' : 'no');
  const expected = Object.entries(r.expected);
  const wire = r.wirelog.map(wireRow);
  const body = `
<p class="sub"><a href="index.html">${esc(matrixTitle)}</a> › section ${esc(major)} ${esc(crumbs)}</p>
<h1>Case ${esc(r.id)} <small>· ${esc(r.agent)}</small></h1>
<p>${badge(r.behavior, OUTCOME_CLASS[r.behavior as Outcome] ?? 'failed')} behavior &nbsp; ${badge(r.behaviorClose, OUTCOME_CLASS[r.behaviorClose as Outcome] ?? 'failed')} close behavior &nbsp; <span class="muted">counted as</span> ${badge(outcome, OUTCOME_CLASS[outcome])} &nbsp; <span class="muted">${r.duration} ms · ${esc(r.rfc)}</span></p>
${r.error !== undefined ? `<div class="banner error">The case could not run: ${esc(r.error)}</div>` : ''}
${r.rerun ? `<div class="banner running">Run a second time (${esc(r.rerun.reason)}); the first run gave ${esc(r.rerun.first)}.</div>` : ''}
<h2>Case description</h2><p>${caseText(r.description)}</p>
<h2>Case expectation</h2><p>${caseText(r.expectation)}</p>
<h2>Case outcome</h2><p>${esc(r.result)}</p>
<div style="display:flex;gap:28px;flex-wrap:wrap">
<div><h3>Expected</h3>${expected.length ? expected.map(([k, ev]) => `<p><b>${esc(k)}</b></p>${eventsList(ev)}`).join('') : '<p class="muted">(any)</p>'}</div>
<div><h3>Observed</h3>${eventsList(r.received)}</div></div>
<h2>Case closing behavior</h2><p>${esc(r.resultClose)}</p>
${keyValues([
    ['duration', `${r.duration} ms${r.reportTime ? ' (timed case)' : ''}`],
    ['expected close', `${r.expectedClose.closedByMe ? 'we close' : 'the testee fails the connection'}, code ${r.expectedClose.closeCode.join(' or ')}, ${r.expectedClose.requireClean ? 'clean close required' : 'unclean close accepted'}`],
    ['closed by me', yesNo(r.closedByMe)], ['failed by me', yesNo(r.failedByMe)], ['dropped by me', yesNo(r.droppedByMe)],
    ['was clean', `${yesNo(r.wasClean)}${r.wasNotCleanReason ? ` — ${esc(r.wasNotCleanReason)}` : ''}`],
    ['local close', close(r.localCloseCode, r.localCloseReason)], ['remote close', close(r.remoteCloseCode, r.remoteCloseReason)],
    ...(r.timeout ? [['deciding timeout', `${esc(r.timeout.timer)}: waited ${r.timeout.waitedMs} ms (Autobahn's ${r.timeout.autobahnMs} ms), fired ${r.timeout.lateMs} ms late, testee quiet for ${r.timeout.quietMs === null ? 'the whole case' : `${r.timeout.quietMs} ms`}${r.timeout.closeCall ? ' — a close call' : ''}`] as const] : []),
  ])}
<h2>Opening handshake</h2>
<div style="display:flex;gap:20px;flex-wrap:wrap"><div style="flex:1;min-width:380px"><h3>Request</h3><pre class="txt" style="padding:8px">${esc(r.httpRequest || '(none)')}</pre></div>
<div style="flex:1;min-width:380px"><h3>Response</h3><pre class="txt" style="padding:8px">${esc(r.httpResponse || '(none)')}</pre></div></div>
<h2>Statistics</h2><div style="display:flex;gap:28px;flex-wrap:wrap">
${statsTable('Frames received', r.rxFrameStats, opName)}${statsTable('Frames sent', r.txFrameStats, opName)}
${statsTable('Octets received (chunk size)', r.rxOctetStats, String)}${statsTable('Octets sent (chunk size)', r.txOctetStats, String)}</div>
<h2>Wire log</h2>
${wire.length ? `<table class="wire data"><thead><tr><th>#</th><th>what</th><th>details</th></tr></thead><tbody>${wire.map(([n, what, d]) => `<tr><td>${n}</td>${what}</td><td>${d}</td></tr>`).join('\n')}</tbody></table>` : '<p class="muted">(not recorded)</p>'}
<p><a href="${esc(reportfile)}">raw case JSON</a></p>`;
  return page({ title: `Case ${r.id} · ${r.agent}`, body, nav: { 'lab report': '../../index.html', matrix: 'index.html' } });
}
