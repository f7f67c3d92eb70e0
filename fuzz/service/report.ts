// The report of `wslab fuzz --url`: JSON (report.json) and a self-contained HTML page (index.html)
// in the lab's report style (lab/html), findings grouped by kind with the shrunk session's bytes;
// a one-screen text summary; and the merge of several shards' reports (`wslab fuzz --merge`).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeAtomic } from '../../lab/fs.js';
import { hexGroups } from '../../lab/html/bytes.js';
import { esc } from '../../lab/html/esc.js';
import { page } from '../../lab/html/page.js';
import { badge, cards, keyValues, section, table } from '../../lab/html/parts.js';
import { writeJsonReport } from '../../lab/reports.js';
import { EMPTY_DIGEST, FINDING_KINDS, xorDigest, type Finding, type FindingKind, type ServiceReport, type ServiceScenario } from './runner.js';

export const KIND_TEXT: Record<FindingKind, string> = {
  down: 'down: after a session a fresh connection was refused, reset or closed before its answer',
  hung: 'hung: after a session a fresh connection got no 101, pong or echo within the bound',
  protocol: 'protocol: the service sent what RFC 6455 forbids, or did not fail the connection after our protocol error',
  'server-log': 'server log: a new [error]/[crit]/[alert] line, an aborted Lua thread or a dead worker during the session',
  resources: 'resources: RSS or open descriptors grew past the bound over a window of sessions',
};

export function writeServiceReport(outDir: string, r: ServiceReport): void {
  mkdirSync(outDir, { recursive: true });
  writeJsonReport(join(outDir, 'report.json'), r);
  writeAtomic(join(outDir, 'index.html'), renderServiceHtml(r, outDir));
}

/** Said when a budget, not fast-check, ended the shrink: a smaller session may exist. */
function stopNote(f: Finding): string {
  if (f.shrinkStoppedBy === 'runs') return ', stopped at --shrink-runs';
  if (f.shrinkStoppedBy === 'time') return ', stopped at --shrink-time';
  return '';
}

function scenarioOf(f: Finding): ServiceScenario | null {
  if (!f.file) return null;
  try {
    return JSON.parse(readFileSync(f.file, 'utf8')) as ServiceScenario;
  } catch {
    return null;
  }
}

function bytesHtml(sc: ServiceScenario | null): string {
  if (!sc) return '<span class="muted">(no saved scenario)</span>';
  const groups = sc.bytes.groups.map((g, i) => `<div><small>group ${i}${g.pauseMs ? `, after ${g.pauseMs} ms` : ', with the request'}${g.chops ? `, split at ${g.chops.join(', ')}` : ''}</small><br><span class="hex mono">${esc(hexGroups(Buffer.from(g.hex, 'hex'), 256))}</span></div>`);
  return `<pre class="mono">${esc(sc.bytes.request.replace(/\r\n/g, '↵\n'))}</pre>${groups.join('')}<div><small>then: ${esc(sc.bytes.end)}</small></div>`;
}

export function renderServiceHtml(r: ServiceReport, outDir: string): string {
  const state = r.interrupted ? 'error' : !r.finished ? 'running' : r.ok ? 'pass' : 'fail';
  const banner = r.interrupted
    ? 'interrupted: the findings so far are below'
    : !r.finished
      ? 'running'
      : r.findings.length
        ? `${r.findings.length} finding(s)`
        : r.errors.length
          ? `no findings, ${r.errors.length} error(s)`
          : 'no findings';
  const byKind = FINDING_KINDS.map((k) => {
    const fs = r.findings.filter((f) => f.kind === k);
    if (!fs.length) return '';
    const rows = fs.map((f) => {
      const sc = scenarioOf(f);
      return [
        `<code>${esc(f.signature)}</code><br>${esc(f.summary)}`,
        `${f.sightings}`,
        `${f.reproduced ? badge(`shrunk (${f.shrinks} steps${stopNote(f)})`, 'pass') : badge('not reproduced alone', 'flaky')}<br><small>${f.size.frames} frames, ${f.size.bytes} bytes; session #${f.index}</small>`,
        bytesHtml(sc),
        `<pre class="mono">${esc(JSON.stringify(f.evidence, null, 1).slice(0, 2000))}</pre>`,
        f.file ? `<code>${esc(basename(f.file))}</code><br><small>${esc(sc?.replay ?? '')}</small>` : '',
      ];
    });
    return section(`${esc(k)} ${badge(String(fs.length), 'fail')} <small>${esc(KIND_TEXT[k])}</small>`, table(['finding', 'seen', 'shrunk', 'shrunk session (bytes)', 'evidence', 'scenario'], rows), true);
  }).join('');
  const expected = r.expected.length
    ? section(`expected under --profile ${esc(r.profile)} ${badge(String(r.expected.reduce((a, e) => a + e.count, 0)), 'skip')}`, table(['deviation', 'spec item', 'what', 'sessions', 'example'], r.expected.map((e) => [`<code>${esc(e.id)}</code>`, esc(e.specItem), esc(e.text), String(e.count), esc(e.example)])), false)
    : '';
  const res = r.resources?.samples.length
    ? section('resources (pid ' + esc(r.resources.pid) + ')', table(['after session', 'RSS KiB', 'descriptors'], r.resources.samples.slice(-50).map((x) => [String(x.session), String(x.rssKiB), String(x.fds)])), false)
    : '';
  const body = `<h1>Service fuzzing: ${esc(r.target)}</h1>
<p class="sub">wslab fuzz --url: generated upgrade requests and raw client traffic, judged by a strict RFC 6455 decoder, a ${esc(r.probe)} probe${r.resources ? ', /proc samples' : ''}; findings shrunk with fast-check and saved as replayable scenarios in ${esc(join(outDir, 'findings'))}.</p>
<div class="banner ${state}">${esc(banner)}${r.stoppedBecause ? ` (stopped: ${esc(r.stoppedBecause)})` : ''}</div>
${cards([
  ['sessions', r.sessions],
  ['sessions/s', r.sessionsPerSec],
  ['findings', r.findings.length, r.findings.length ? 'bad' : 'good'],
  ['expected (profile)', r.expected.reduce((a, e) => a + e.count, 0)],
  ['seconds', Math.round(r.durationMs / 1000)],
])}
${keyValues([
  ['target', `<code>${esc(r.target)}</code>`],
  ['seed / shard', `${r.seed} / ${r.shard.index} of ${r.shard.count}`],
  ['profile / oracles', `${esc(r.profile)} / ${esc((r.oracles ?? FINDING_KINDS).join(', '))}`],
  ['bounds', `probe ${r.bounds.probeMs} ms, close wait ${r.bounds.closeWaitMs} ms (baseline ${r.bounds.baselineMs.join(', ')} ms)`],
  ['session digest', `<code>${esc(r.digest)}</code>`],
])}
<h2>Findings by kind</h2>
${byKind || '<p class="muted">none</p>'}
${expected}${res}
${r.unconfirmed?.length ? section(`unconfirmed ${badge(String(r.unconfirmed.length), 'flaky')} <small>seen once, not again when replayed alone (timing): not findings</small>`, table(['signature', 'summary', 'session'], r.unconfirmed.map((u) => [`<code>${esc(u.signature)}</code>`, esc(u.summary), String(u.index)]))) : ''}
${r.errors.length ? `<h2>Errors</h2><ul>${r.errors.map((e) => `<li>${esc(e)}</li>`).join('')}</ul>` : ''}`;
  return page({ title: `wslab fuzz --url ${r.target}`, body });
}

export function formatServiceReport(r: ServiceReport, outDir: string): string {
  const lines = [
    `${r.target}: ${r.sessions} sessions in ${(r.durationMs / 1000).toFixed(1)}s (${r.sessionsPerSec}/s), seed ${r.seed}, shard ${r.shard.index}/${r.shard.count}, profile ${r.profile}${r.interrupted ? ' (interrupted)' : ''}`,
    `findings: ${r.findings.length}`,
    ...r.findings.map((f) => `  [${f.kind}] ${f.summary}\n    ${f.reproduced ? `shrunk in ${f.shrinks} steps${stopNote(f)} to ${f.size.frames} frames, ${f.size.bytes} bytes` : 'did not show again alone: saved as found'}; seen ${f.sightings}x -> ${f.file ?? '(not saved)'}`),
    `expected under --profile ${r.profile}: ${r.expected.length ? r.expected.map((e) => `${e.id} x${e.count} [${e.specItem}]`).join('; ') : 'none'}`,
    ...(r.unconfirmed?.length ? [`unconfirmed (seen once, not again when replayed alone): ${r.unconfirmed.map((u) => u.signature).join(', ')}`] : []),
    ...(r.stoppedBecause ? [`stopped: ${r.stoppedBecause}`] : []),
    ...(r.errors.length ? [`errors: ${r.errors.length}`, ...r.errors.slice(0, 5).map((e) => `  ${e}`)] : []),
    `report: ${join(outDir, 'index.html')} (${join(outDir, 'report.json')})`,
  ];
  return lines.join('\n');
}

/**
 * Merges shard reports (each DIR holds a report.json and findings/): sessions and expected counts
 * add up, digests XOR, findings are deduplicated by signature (sightings add up; the smallest
 * shrunk session is kept) and their scenario files copied into `outDir/findings`.
 */
export function mergeServiceReports(dirs: string[], outDir: string): ServiceReport | { err: string } {
  const reports: Array<{ dir: string; r: ServiceReport }> = [];
  for (const dir of dirs) {
    const file = join(dir, 'report.json');
    if (!existsSync(file)) return { err: `${dir} has no report.json (a wslab fuzz --url output folder)` };
    const r = JSON.parse(readFileSync(file, 'utf8')) as ServiceReport;
    if (r.kind !== 'wslab-service-fuzz') return { err: `${file} is not a wslab fuzz --url report` };
    reports.push({ dir, r });
  }
  if (!reports.length) return { err: 'nothing to merge' };
  const first = reports[0]!.r;
  const other = reports.find((x) => x.r.target !== first.target || x.r.seed !== first.seed);
  if (other) return { err: `${other.dir} is another campaign (target ${other.r.target}, seed ${other.r.seed}; want ${first.target}, seed ${first.seed})` };
  mkdirSync(join(outDir, 'findings'), { recursive: true });
  const findings = new Map<string, Finding>();
  const expected = new Map<string, ServiceReport['expected'][number]>();
  for (const { dir, r } of reports) {
    for (const f of r.findings) {
      const local = f.file ? join(dir, 'findings', basename(f.file)) : null;
      const copy = local && existsSync(local) ? join(outDir, 'findings', basename(local)) : null;
      const known = findings.get(f.signature);
      if (!known || (f.reproduced && (!known.reproduced || f.size.bytes < known.size.bytes))) {
        if (copy && local) copyFileSync(local, copy);
        findings.set(f.signature, { ...f, file: copy, sightings: f.sightings + (known?.sightings ?? 0) });
      } else known.sightings += f.sightings;
    }
    for (const e of r.expected) {
      const k = expected.get(e.id);
      if (k) k.count += e.count;
      else expected.set(e.id, { ...e });
    }
  }
  const ids = reports.every((x) => x.r.sessionIds) ? reports.flatMap((x) => x.r.sessionIds!).sort((a, b) => Number(a.split(':')[0]) - Number(b.split(':')[0])) : undefined;
  const merged: ServiceReport = {
    ...first,
    finished: reports.every((x) => x.r.finished),
    interrupted: reports.some((x) => x.r.interrupted),
    shard: { index: 1, count: 1 },
    durationMs: Math.max(...reports.map((x) => x.r.durationMs)),
    sessions: reports.reduce((a, x) => a + x.r.sessions, 0),
    sessionsPerSec: Math.round(reports.reduce((a, x) => a + x.r.sessionsPerSec, 0) * 10) / 10,
    digest: reports.reduce((d, x) => xorDigest(d, x.r.digest), EMPTY_DIGEST),
    ...(ids ? { sessionIds: ids } : {}),
    findings: [...findings.values()],
    expected: [...expected.values()],
    unconfirmed: reports.flatMap((x) => x.r.unconfirmed ?? []),
    errors: reports.flatMap((x) => x.r.errors.map((e) => `${x.dir}: ${e}`)),
    stoppedBecause: reports.map((x) => x.r.stoppedBecause).filter(Boolean).join('; ') || undefined,
    merged: reports.map((x) => ({ dir: x.dir, shard: x.r.shard, sessions: x.r.sessions })),
  } as ServiceReport;
  if (!ids) delete merged.sessionIds;
  merged.ok = merged.findings.length === 0 && merged.errors.length === 0 && merged.sessions > 0 && !merged.interrupted;
  writeServiceReport(outDir, merged);
  return merged;
}

/** The shard reports under DIRs (a DIR may be one report folder or hold several, e.g. downloaded artifacts). */
export function reportDirs(dirs: string[]): string[] {
  return dirs.flatMap((d) => (existsSync(join(d, 'report.json')) ? [d] : existsSync(d) ? readdirSync(d).map((n) => join(d, n)).filter((x) => existsSync(join(x, 'report.json'))) : [d]));
}
