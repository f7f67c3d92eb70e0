// report/index.html for `wslab lab`: one page with every part's status and summary, the RFC
// deviations of the original as a table of reproducers, and links to the detailed reports.
import type { LuaLibraryInfo } from '../lab/peers/types.js';
import { esc } from '../lab/html.js';

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

function benchBlock(data: unknown): string {
  const d = data as { ratios?: Array<{ name: string; ratio: number; target?: number; met?: boolean }> } | undefined;
  if (d?.ratios && Array.isArray(d.ratios)) {
    return `<table><tr><th>comparison</th><th>ratio</th><th>target</th></tr>${d.ratios.map((r) => `<tr><td>${esc(r.name)}</td><td>${Number(r.ratio).toFixed(2)}×</td><td>${r.target !== undefined ? `${r.target}× ${r.met ? '✓' : '✗'}` : ''}</td></tr>`).join('')}</table>`;
  }
  return data ? `<pre>${esc(JSON.stringify(data, null, 1).slice(0, 4000))}</pre>` : '';
}

export function renderLabHtml(r: LabReport): string {
  const rows = Object.entries(r.sections).map(([, s]) => {
    const links = [s.link ? `<a href="${esc(s.link)}">report</a>` : '', ...Object.entries(s.extraLinks ?? {}).map(([t, l]) => `<a href="${esc(l)}">${esc(t)}</a>`)].filter(Boolean).join(' · ');
    return `<tr class="${s.status}"><th>${esc(s.title)}</th><td class="st">${esc(s.status)}</td><td>${esc(s.summary)}${links ? `<br>${links}` : ''}</td><td>${(s.durationMs / 1000).toFixed(1)} s</td></tr>`;
  }).join('\n');
  const dev = r.sections.deviations?.data as { frame: FrameRow[]; handshake: HandshakeRow[] } | undefined;
  const bench = r.sections.bench?.data;
  return `<!doctype html><html><head><meta charset="utf-8"><title>resty-websocket-lab report</title><style>
body{font:14px system-ui,sans-serif;margin:1.5em;max-width:90em}table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:4px 6px;vertical-align:top;text-align:left}
tr.pass .st{background:#c8f0c8}tr.fail .st,tr.error .st{background:#f6b3b3}tr.skipped .st,tr.info .st{background:#eee}tr.running .st{background:#fff3b0}
pre{margin:0;font-size:12px;white-space:pre-wrap}code{font-size:12px}</style></head><body>
<h1>resty-websocket-lab: ${r.ok ? 'all parts passed' : r.finished ? 'some parts failed' : 'running'}</h1>
<p>${esc(r.generatedAt)} · ${(r.durationMs / 1000).toFixed(0)} s · peer: ${r.peer ? `${esc(r.peer.backend)}, lua-resty-websocket ${esc(r.peer.lib.clientVersion)} (${esc(r.peer.lib.source)}), ngx_lua ${r.peer.lib.ngxLuaVersion}` : 'none'}${r.finished ? '' : ' · <b>in progress</b>'}</p>
<table><tr><th>part</th><th>status</th><th>result</th><th>time</th></tr>${rows}</table>
${dev ? `<h2>The original's RFC 6455 deviations, reproduced</h2><p>Each row is a minimal input and what the real library returned for it; our compat profile returns the same, our strict profile fixes it.</p>${deviationsTable(dev)}` : ''}
${bench ? `<h2>Benchmarks</h2>${benchBlock(bench)}` : ''}
</body></html>`;
}
