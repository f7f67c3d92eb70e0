// report/index.html for `wslab lab`: every part's status and summary, charts drawn from the detailed
// reports beside it (conformance pass rates, fuzz coverage over time, differential outcomes, the
// session diff, mutation kill rates, bench ratios against their goals and the conns scaling table),
// the RFC deviations of the original as a table of reproducers, and links to the detailed reports.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LuaLibraryInfo } from '../lab/peers/types.js';
import { barChart, cards, esc, lineChart, page, ratioChart, table, type Bar, type Series } from '../lab/html.js';
import type { BenchReport } from '../bench/cli.js';
import type { FuzzReport } from '../fuzz/campaign.js';
import type { DiffReport } from '../fuzz/diff/runner.js';
import type { ConformanceIndex } from '../conformance/report/index.js';
import { countOutcomes, OUTCOMES } from '../conformance/report/outcomes.js';
import { passes } from '../conformance/index.js';

export interface SectionStatus {
  title: string;
  status: 'pass' | 'fail' | 'error' | 'skipped' | 'running' | 'info';
  summary: string;
  durationMs: number;
  link?: string;
  extraLinks?: Record<string, string>;
  data?: unknown;
}

export interface LabReport {
  generatedAt: string;
  durationMs: number;
  peer: { backend: string; lib: LuaLibraryInfo } | null;
  sections: Record<string, SectionStatus>;
  ok: boolean;
  finished: boolean;
  /** Set when SIGINT/SIGTERM stopped the run (finished and ok are false then). */
  interrupted?: boolean;
  /** What each part loaded of lua-resty-websocket (_VERSION, folder); differing copies are an error. */
  libraries?: Array<{ part: string; version: string; path: string }>;
  /** Every death of the peer during the run, restarted or not (cases it affected are in the parts' data). */
  peerRestarts?: Array<{ at: string; noticedBy: string; restarted: boolean; error?: string }>;
}


interface FrameRow {
  probe: { id: string; specItem: number; title: string; rfc: string; rfcRequires: string; hex: string; forceMasking: boolean };
  lua: unknown[] | null;
  compat: unknown[];
  strict: unknown[];
}
interface HandshakeRow {
  probe: { id: string; specItem: number; title: string; rfc: string; rfcRequires: string; input: string };
  observed: string;
  deviates: boolean;
}

const answers = (a: unknown[] | null): string =>
  a === null ? '(luajit unavailable)' : a.map((r) => {
    const x = r as { data: unknown; type: unknown; err: unknown };
    return `${JSON.stringify(x.data)}, ${JSON.stringify(x.type)}, ${JSON.stringify(x.err)}`;
  }).join('<br>');

function deviationsTable(data: { frame: FrameRow[]; handshake: HandshakeRow[] }): string {
  const frame = data.frame.map((f) => `<tr><td>§7.${f.probe.specItem}</td><td>${esc(f.probe.title)}</td><td>${esc(f.probe.rfc)}: ${esc(f.probe.rfcRequires)}</td>
<td><code>${esc(f.probe.hex)}</code><br><small>recv_frame(sock, ${f.probe.forceMasking ? 'force_masking=true (server)' : 'force_masking=false (client)'})</small></td>
<td><code>${answers(f.lua)}</code></td><td><code>${answers(f.strict)}</code></td></tr>`).join('\n');
  const hs = data.handshake.map((h) => `<tr><td>§7.${h.probe.specItem}</td><td>${esc(h.probe.title)}</td><td>${esc(h.probe.rfc)}: ${esc(h.probe.rfcRequires)}</td>
<td><pre>${esc(h.probe.input.trim())}</pre></td><td><pre>${esc(h.observed)}</pre></td><td>${h.deviates ? 'deviates' : 'conforms'}</td></tr>`).join('\n');
  return `<h3>Frame level (the original protocol.lua, run by luajit)</h3>
<table><tr><th>spec</th><th>deviation</th><th>RFC 6455 requires</th><th>bytes in</th><th>original: data, typ, err</th><th>our strict profile</th></tr>${frame}</table>
<h3>Handshakes (the original in nginx)</h3>
<table><tr><th>spec</th><th>deviation</th><th>RFC 6455 requires</th><th>input</th><th>original's answer</th><th></th></tr>${hs}</table>`;
}

/** The detailed reports the lab page draws from, read from the report folder when present. */
export interface LabFiles {
  fuzz?: FuzzReport;
  diff?: DiffReport;
  bench?: BenchReport;
  conformance?: { servers?: ConformanceIndex; clients?: ConformanceIndex };
  /** report/session.json (the session diff), shape in sessionBlock. */
  session?: unknown;
  /** report/mutate.json (mutation testing of protocol.lua), shape in mutateBlock. */
  mutate?: unknown;
}

function readJson(path: string): unknown {
  try {
    return existsSync(path) ? JSON.parse(readFileSync(path, 'utf8')) : undefined;
  } catch {
    return undefined; // a file being rewritten or cut by Ctrl-C: drawn next time
  }
}

export function loadLabFiles(outDir: string): LabFiles {
  return {
    fuzz: readJson(join(outDir, 'fuzz.json')) as FuzzReport | undefined,
    diff: readJson(join(outDir, 'diff.json')) as DiffReport | undefined,
    bench: readJson(join(outDir, 'bench.json')) as BenchReport | undefined,
    conformance: {
      servers: readJson(join(outDir, 'conformance', 'servers', 'index.json')) as ConformanceIndex | undefined,
      clients: readJson(join(outDir, 'conformance', 'clients', 'index.json')) as ConformanceIndex | undefined,
    },
    session: readJson(join(outDir, 'session.json')),
    mutate: readJson(join(outDir, 'mutate.json')),
  };
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const fmtN = (v: unknown, digits = 0): string => (num(v) === null ? '—' : num(v)!.toLocaleString('en', { maximumFractionDigits: digits }));

function fuzzBlock(f: FuzzReport): string {
  const series: Series[] = f.targets.map((t) => ({ name: t.target, points: (t.coverageTimeline ?? []).map(([ms, cov]) => [ms / 1000, cov] as const) }));
  const cov = lineChart({ title: 'Fuzz coverage over time, per target', series, xLabel: 'seconds', yLabel: 'coverage (jsfuzz)', xMax: f.timePerTargetMs / 1000, width: 720 });
  const speed = barChart({ title: 'Executions per second', bars: f.targets.map((t) => ({ label: t.target, value: t.execsPerSec, text: `${fmtN(t.execsPerSec)}/s${t.findings.length ? ` · ${t.findings.length} findings` : ''}`, color: t.findings.length || !t.ok ? '#cf222e' : undefined })), width: 560, labelWidth: 170 });
  return `<div class="charts">${cov}${speed}</div>`;
}

function diffBlock(d: DiffReport): string {
  const sorted = Object.entries(d.outcomes ?? {}).sort((a, b) => b[1] - a[1]);
  const TOP = 14;
  const outcomes = sorted.length > TOP + 1 ? [...sorted.slice(0, TOP), [`${sorted.length - TOP} other answers`, sorted.slice(TOP).reduce((n, [, v]) => n + v, 0)] as [string, number]] : sorted;
  const a = barChart({ title: `Differential cases by the original's answer (${fmtN(d.cases)} cases, seed ${d.seed})`, bars: outcomes.map(([k, v], i) => ({ label: k, value: v, color: i === TOP && sorted.length > TOP + 1 ? '#afb8c1' : undefined })), width: 640, labelWidth: 260 });
  const kinds = Object.entries(d.byKind ?? {}).map(([k, v]) => ({ label: k, value: v }));
  const b = barChart({ title: `Cases by kind · ${d.divergenceCount} divergences`, bars: [...kinds, { label: 'divergences', value: d.divergenceCount, color: d.divergenceCount ? '#cf222e' : '#2da44e' }], width: 440, labelWidth: 110 });
  return `<div class="charts">${a}${b}</div>`;
}

/** The conns suite's table (helper bench suite; read structurally so an older bench.json still renders). */
function connsBlock(conns: unknown): string {
  const c = conns as { size?: unknown; results?: unknown; ratios?: unknown; skipped?: unknown } | undefined;
  if (!c || !Array.isArray(c.results)) return '';
  const results = c.results as Array<Record<string, unknown>>;
  const counts = [...new Set(results.map((r) => num(r.conns)).filter((n): n is number => n !== null))].sort((a, b) => a - b);
  const targets = [...new Set(results.map((r) => String(r.target)))];
  const rows = counts.map((n) => {
    const cell = (t: string): string => {
      const r = results.find((x) => x.target === t && x.conns === n);
      if (!r) return '<span class="muted">—</span>';
      if (r.error) return `<span class="badge fail" title="${esc(r.error)}">error</span>`;
      return `${fmtN(r.msgsPerSec)} <small>msg/s · p99 ${fmtN(r.p99Ms, 1)} ms${num(r.rssPerConnKiB) !== null ? ` · ${fmtN(r.rssPerConnKiB, 1)} KiB/conn` : ''}</small>`;
    };
    const ratio = (Array.isArray(c.ratios) ? (c.ratios as Array<Record<string, unknown>>) : []).find((x) => x.conns === n) ?? {};
    const rx = (k: string): string => (num(ratio[k]) === null ? '—' : `${num(ratio[k])!.toFixed(2)}×`);
    return [`<b class="mono">${n}</b>`, ...targets.map(cell), rx('vsWs'), rx('vsNginx'), rx('vsTcp'), rx('rssVsWs')];
  });
  const skipped = Array.isArray(c.skipped) ? (c.skipped as Array<{ conns: unknown; reason: unknown }>).map((s) => `<li>${esc(s.conns)} connections: ${esc(s.reason)}</li>`).join('') : '';
  return `<h3>Connection scaling${num(c.size) !== null ? ` (${num(c.size)} B serial round trips)` : ''}</h3>${table(['connections', ...targets, 'ours/ws', 'ours/nginx', 'ours/tcp', 'RSS ours/ws'], rows)}${skipped ? `<ul class="note">${skipped}</ul>` : ''}`;
}

function benchBlock(b: BenchReport): string {
  const targets = b.targets ?? [];
  const chart = ratioChart({ title: 'Benchmark ratios against their goals', rows: targets.map((t) => ({ label: t.name, got: t.got, want: t.want })), width: 900, labelWidth: 330 });
  const rows = targets.map((t) => [esc(t.name), t.got === null ? '—' : `<span class="mono">${t.got.toFixed(2)}×</span>`, `<span class="mono">${t.want}×</span>`, t.ok ? '<span class="badge pass">met</span>' : '<span class="badge fail">missed</span>', `<small>${esc(t.detail)}</small>`]);
  const errors = Object.entries(b.errors ?? {}).map(([k, v]) => `<li><b>${esc(k)}</b>: ${esc(v)}</li>`).join('');
  const m = b.machine;
  return `<p class="sub"><code>${esc(b.command)}</code> · ${esc(b.startedAt)} · ${m ? `${m.cpus} × ${esc(m.cpuModel)}, node ${esc(m.node)}${m.loadavg ? `, load ${m.loadavg.map((x) => x.toFixed(1)).join(' ')}` : ''}` : ''}</p>
<div class="charts">${chart}</div>${table(['goal', 'measured', 'wanted', '', 'detail'], rows)}${errors ? `<ul class="note">${errors}</ul>` : ''}${connsBlock((b as unknown as Record<string, unknown>).conns)}`;
}

function conformanceBlock(c: NonNullable<LabFiles['conformance']>): string {
  const bars: Bar[] = [];
  for (const index of [c.servers, c.clients]) {
    for (const [agent, cases] of Object.entries(index ?? {}).sort()) {
      const entries = Object.values(cases);
      const counts = countOutcomes(entries);
      const pass = entries.filter(passes).length;
      const worst = OUTCOMES.filter((o) => o !== 'OK' && counts[o] > 0).map((o) => `${counts[o]} ${o}`).join(', ');
      bars.push({ label: `${agent}`, value: entries.length ? pass / entries.length : 0, text: `${pass}/${entries.length}${worst ? ` · ${worst}` : ''}`, color: pass === entries.length ? '#2da44e' : '#d4a72c' });
    }
  }
  return bars.length ? `<div class="charts">${barChart({ title: 'Conformance: share of cases passed, per agent', bars, max: 1, width: 900, labelWidth: 170 })}</div>` : '';
}

function mutateBlock(m: unknown): string {
  const r = m as { finished?: boolean; ok?: boolean; refused?: string; baseline?: { clean?: boolean; checks?: Array<{ check?: string; roles?: string; status?: string; line?: string }> }; lib?: { path?: string; version?: string }; budgetMs?: number; files?: Record<string, Record<string, unknown>>; mutants?: Array<Record<string, unknown>> } | undefined;
  if (!r || typeof r.files !== 'object' || r.files === null) return '';
  const files = Object.entries(r.files);
  const chart = barChart({
    title: 'Mutation testing: kill rate per file of the Lua library',
    bars: files.map(([f, x]) => ({ label: f, value: num(x.killRate) ?? 0, text: `${((num(x.killRate) ?? 0) * 100).toFixed(1)}% · ${fmtN(x.killed)} killed, ${fmtN(x.survived)} survived of ${fmtN(x.total)}`, color: (num(x.killRate) ?? 0) >= 0.8 ? '#2da44e' : '#d4a72c' })),
    max: 1, width: 900, labelWidth: 150,
  });
  const survivors = (r.mutants ?? []).filter((x) => x.status === 'survived').slice(0, 25).map((x) => [esc(`${x.file}:${x.line}`), esc(x.operator), `<code>${esc(x.before)}</code>`, `<code>${esc(x.after)}</code>`, `<small>${esc(x.reason ?? '')}</small>`]);
  return `<p class="sub">${esc(r.lib?.path ?? '')} ${esc(r.lib?.version ?? '')}${r.finished === false ? ' · <b>interrupted</b>' : ''}${num(r.budgetMs) !== null ? ` · budget ${(num(r.budgetMs)! / 1000).toFixed(0)} s` : ''}</p>
${r.baseline ? `<p class="sub">baseline (every check on the unmodified library first): ${r.baseline.clean ? 'clean' : `<b>${esc(r.refused ?? 'not clean')}</b>`} · ${(r.baseline.checks ?? []).map((c) => esc(`${c.check ?? ''}${c.roles ? ` (${c.roles})` : ''} ${c.status ?? ''}: ${c.line ?? ''}`)).join(' · ')}</p>` : ''}
<div class="charts">${chart}</div>${survivors.length ? `<h3>Surviving mutants (first ${survivors.length})</h3>${table(['where', 'operator', 'before', 'after', 'note'], survivors)}` : ''}`;
}

function sessionBlock(s: unknown): string {
  const r = s as { finished?: boolean; ok?: boolean; seed?: number; durationMs?: number; sessions?: { server?: number; client?: number }; sessionsPerSec?: number; divergences?: Array<{ role?: string; file?: string; summary?: string }>; explained?: Array<{ id?: string; specItem?: string | number; count?: number }> } | undefined;
  if (!r || typeof r.sessions !== 'object') return '';
  const div = r.divergences ?? [];
  return `${cards([
    ['server sessions', fmtN(r.sessions?.server), 'neutral'], ['client sessions', fmtN(r.sessions?.client), 'neutral'],
    ['sessions/s', fmtN(r.sessionsPerSec, 1), 'neutral'], ['divergences', div.length, div.length ? 'bad' : 'good'],
  ])}<p class="sub">seed ${esc(r.seed ?? '—')} · ${((num(r.durationMs) ?? 0) / 1000).toFixed(0)} s${r.finished === false ? ' · <b>interrupted</b>' : ''}</p>
${div.length ? table(['role', 'summary', 'reproducer'], div.slice(0, 30).map((d) => [esc(d.role ?? ''), esc(d.summary ?? ''), `<code>${esc(d.file ?? '')}</code>`])) : ''}
${(r.explained ?? []).length ? `<h3>Explained differences</h3>${table(['difference', 'spec item', 'times'], (r.explained ?? []).map((e) => [esc(e.id ?? ''), esc(e.specItem ?? ''), `<span class="mono">${fmtN(e.count)}</span>`]))}` : ''}`;
}

export function renderLabHtml(r: LabReport, files: LabFiles = {}): string {
  const rows = Object.entries(r.sections).map(([, s]) => {
    const links = [s.link ? `<a href="${esc(s.link)}">report</a>` : '', ...Object.entries(s.extraLinks ?? {}).map(([t, l]) => `<a href="${esc(l)}">${esc(t)}</a>`)].filter(Boolean).join(' · ');
    return [`<b>${esc(s.title)}</b>`, `<span class="badge ${STATUS_CLASS[s.status]}">${esc(s.status)}</span>`, `${esc(s.summary)}${links ? `<br>${links}` : ''}`, `<span class="mono">${(s.durationMs / 1000).toFixed(1)} s</span>`];
  });
  const dev = r.sections.deviations?.data as { frame: FrameRow[]; handshake: HandshakeRow[] } | undefined;
  const statusLine = r.interrupted ? 'interrupted: the parts that had not finished are marked' : r.ok ? 'all parts passed' : r.finished ? 'some parts failed' : 'running';
  const statuses = Object.values(r.sections);
  const count = (st: SectionStatus['status']): number => statuses.filter((s) => s.status === st).length;
  const blocks: string[] = [];
  if (files.conformance && (files.conformance.servers || files.conformance.clients)) blocks.push(`<h2>Conformance</h2>${conformanceBlock(files.conformance)}<p><a href="conformance/servers/index.html">server matrix</a> · <a href="conformance/clients/index.html">client matrix</a></p>`);
  if (files.fuzz?.targets) blocks.push(`<h2>Fuzzing</h2>${fuzzBlock(files.fuzz)}`);
  if (files.diff?.outcomes) blocks.push(`<h2>Differential fuzzing against protocol.lua</h2>${diffBlock(files.diff)}`);
  const session = sessionBlock(files.session);
  if (session) blocks.push(`<h2>Session diff</h2>${session}`);
  const mutate = mutateBlock(files.mutate);
  if (mutate) blocks.push(`<h2>Mutation testing</h2>${mutate}`);
  blocks.push(files.bench?.targets ? `<h2>Benchmarks <small>(latest <code>wslab bench</code>)</small></h2>${benchBlock(files.bench)}` : '<h2>Benchmarks</h2><p class="muted">No report/bench.json yet: run <code>npx wslab bench</code>.</p>');
  const body = `<h1>Lab report</h1>
<p class="sub">${esc(r.generatedAt)} · ${(r.durationMs / 1000).toFixed(0)} s · peer: ${r.peer ? `${esc(r.peer.backend)}, lua-resty-websocket ${esc(r.peer.lib.clientVersion)} (${esc(r.peer.lib.source)}), ngx_lua ${esc(r.peer.lib.ngxLuaVersion)}` : 'none'}</p>
<div class="banner ${r.ok ? 'pass' : r.finished || r.interrupted ? 'fail' : 'running'}">${esc(statusLine)}${r.finished || r.interrupted ? '' : ' — this page is rewritten as parts finish'}</div>
${r.peerRestarts?.length ? `<div class="banner error">The peer died during the run: <ul style="margin:0">${r.peerRestarts.map((x) => `<li>${esc(x.at)}, noticed by ${esc(x.noticedBy)}: ${x.restarted ? 'restarted' : `not restarted: ${esc(x.error ?? '')}`}</li>`).join('')}</ul></div>` : ''}
${cards([['parts passed', count('pass'), 'good'], ['failed', count('fail'), count('fail') ? 'bad' : 'good'], ['errors', count('error'), count('error') ? 'bad' : 'good'], ['skipped', count('skipped'), 'neutral'], ['running', count('running'), count('running') ? 'warn' : 'neutral']])}
${table(['part', 'status', 'result', 'time'], rows)}
${r.libraries?.length ? `<p class="note">lua-resty-websocket loaded: ${r.libraries.map((l) => `${esc(l.part)}: ${esc(l.version)} from <code>${esc(l.path)}</code>`).join(' · ')}</p>` : ''}
${blocks.join('\n')}
${dev ? `<h2>The original's RFC 6455 deviations, reproduced</h2><p class="note">Each row is a minimal input and what the real library returned for it; our compat profile returns the same, our strict profile fixes it.</p>${deviationsTable(dev)}` : ''}`;
  return page({ title: 'resty-websocket-lab report', body, nav: { 'lab report': 'index.html', interop: 'interop.html', 'server matrix': 'conformance/servers/index.html', 'client matrix': 'conformance/clients/index.html' } });
}

const STATUS_CLASS: Record<SectionStatus['status'], string> = { pass: 'pass', fail: 'fail', error: 'error', skipped: 'skip', running: 'running', info: 'info' };
