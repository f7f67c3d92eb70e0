// Interop, browser direction: a page in Debian's chromium talks to the real Lua server in nginx and
// to ours (compat and strict) through the scenarios in scenarios.ts, and what the browser observes
// (events, CloseEvent code/reason/wasClean, `protocol`) plus what the server's calls returned are
// compared between Lua and ours. Skipped, with the reason, where chromium is not installed.
import { browserUnavailable, launchBrowser, type LabBrowser } from '../../../lab/browser.js';
import { interrupted } from '../../../lab/children.js';
import { registerLuaServer, type LuaRet, type StepRecord } from '../../../lab/peers/lua-api.js';
import type { RunningPeer } from '../../../lab/peers/types.js';
import { startTsScriptedServer } from '../ts-server.js';
import { PAGE_RUNNER, type BrowserEvent, type BrowserPlan } from './page-script.js';
import { BROWSER_SCENARIOS, type BrowserScenario, type ServerProfile } from './scenarios.js';

export const BROWSER_SERVERS = ['lua', 'compat', 'strict'] as const;
export type BrowserServer = (typeof BROWSER_SERVERS)[number];

/** What one run shows: the browser's events, and the server's calls reduced to what is comparable. */
export interface BrowserObservation {
  browser: BrowserEvent[];
  /** Each server call: op, and its return values with byte strings shown as text or length. */
  server: Array<{ op: string; ret: unknown[] }>;
}

export interface BrowserDifference {
  what: 'browser' | 'server';
  lua: unknown;
  ours: unknown;
  explained?: string;
  specItem?: string;
}

export interface BrowserResult {
  scenario: string;
  server: BrowserServer;
  verdict: 'pass' | 'fail' | 'error';
  reason?: string;
  durationMs: number;
  observed?: BrowserObservation;
  /** Against the Lua server's run (empty for the Lua run itself). */
  differences: BrowserDifference[];
}

export interface BrowserInteropReport {
  /** Set when the browser direction did not run, with why (no chromium, no peer). */
  skipped?: string;
  chromium?: string;
  scenarios: Array<{ id: string; title: string; deviation?: BrowserScenario['deviation'] }>;
  results: BrowserResult[];
  summary: { pass: number; fail: number; error: number; explainedDifferences: number };
}

const RUN_TIMEOUT_MS = 15_000;

function showRet(v: LuaRet): unknown {
  if (Buffer.isBuffer(v)) return v.length > 64 ? { bytes: v.length, head: v.subarray(0, 16).toString('utf8') } : v.toString('utf8');
  return v;
}

/** Server records without what differs by design between runs (masks never show in returns). */
function serverView(records: readonly StepRecord[]): BrowserObservation['server'] {
  return records.map((r) => ({ op: r.op, ret: r.ret.map(showRet) }));
}

async function observe(browser: LabBrowser, plan: BrowserPlan): Promise<BrowserEvent[]> {
  const page = await browser.context.newPage();
  try {
    await page.setContent('<!doctype html><title>wslab browser interop</title>');
    return (await page.evaluate(`(${PAGE_RUNNER})(${JSON.stringify(plan)})`)) as BrowserEvent[];
  } finally {
    await page.close();
  }
}

async function runOne(browser: LabBrowser, peer: RunningPeer, s: BrowserScenario, server: BrowserServer): Promise<BrowserObservation> {
  const plan = (url: string): BrowserPlan => ({ ...s.browser, url, timeoutMs: RUN_TIMEOUT_MS });
  if (server === 'lua') {
    const reg = await registerLuaServer(peer, { opts: s.server.opts, steps: s.server.steps });
    const events = await observe(browser, plan(`${peer.wsUrl}${reg.path}`));
    return { browser: events, server: serverView((await reg.results(RUN_TIMEOUT_MS)).records) };
  }
  const srv = await startTsScriptedServer({ opts: { ...(s.server.opts ?? {}), strict: server === 'strict' }, steps: s.server.steps, tls: false, requireClientCert: false });
  try {
    const events = await observe(browser, plan(`${srv.url}/scripted`));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`our server's steps did not finish within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS)));
    const records = srv.connected ? await Promise.race([srv.records, late]).finally(() => clearTimeout(timer)) : [];
    return { browser: events, server: serverView(records) };
  } finally {
    await srv.close();
  }
}

function compare(s: BrowserScenario, server: ServerProfile, lua: BrowserObservation, ours: BrowserObservation): BrowserDifference[] {
  const out: BrowserDifference[] = [];
  for (const what of ['browser', 'server'] as const) {
    if (JSON.stringify(lua[what]) === JSON.stringify(ours[what])) continue;
    const d: BrowserDifference = { what, lua: lua[what], ours: ours[what] };
    if (s.deviation?.profile === server) Object.assign(d, { explained: s.deviation.why, specItem: s.deviation.specItem });
    out.push(d);
  }
  return out;
}

export interface RunBrowserInteropOptions {
  peer: RunningPeer;
  /** Scenario id filter (a predicate; default all). */
  select?: (id: string) => boolean;
  onResult?: (r: BrowserResult) => void;
}

/** One line for the CLI and the lab summary. */
export function browserSummaryLine(b: BrowserInteropReport): string {
  if (b.skipped) return `browser direction skipped: ${b.skipped}`;
  const s = b.summary;
  return `browser direction (Chromium ${b.chromium}): ${s.pass} pass, ${s.fail} fail, ${s.error} error; ${s.explainedDifferences} explained differences`;
}

export function summariseBrowser(results: readonly BrowserResult[]): BrowserInteropReport['summary'] {
  const s = { pass: 0, fail: 0, error: 0, explainedDifferences: 0 };
  for (const r of results) {
    s[r.verdict]++;
    s.explainedDifferences += r.differences.filter((d) => d.explained).length;
  }
  return s;
}

/** Runs every browser scenario against the Lua server, then ours (compat, strict), compared with Lua's. */
export async function runBrowserInterop(opts: RunBrowserInteropOptions): Promise<BrowserInteropReport> {
  const scenarios = BROWSER_SCENARIOS.filter((s) => opts.select?.(s.id) ?? true);
  const meta = scenarios.map((s) => ({ id: s.id, title: s.title, deviation: s.deviation }));
  const why = scenarios.length === 0 ? 'no browser scenario selected' : browserUnavailable();
  if (why) return { skipped: why, scenarios: meta, results: [], summary: summariseBrowser([]) };
  const browser = await launchBrowser();
  const results: BrowserResult[] = [];
  const emit = (r: BrowserResult): void => {
    results.push(r);
    opts.onResult?.(r);
  };
  try {
    for (const s of scenarios) {
      if (interrupted()) break; // Ctrl-C: what ran is reported, nothing more is started
      let lua: BrowserObservation | null = null;
      for (const server of BROWSER_SERVERS) {
        const started = Date.now();
        let observed: BrowserObservation;
        try {
          observed = await runOne(browser, opts.peer, s, server);
        } catch (e) {
          emit({ scenario: s.id, server, verdict: 'error', reason: (e as Error).message, durationMs: Date.now() - started, differences: [] });
          continue;
        }
        const failures: string[] = [];
        const gaveUp = observed.browser.find((e) => e.event === 'gave-up');
        if (gaveUp) failures.push(`the browser saw no close event within ${RUN_TIMEOUT_MS} ms`);
        let differences: BrowserDifference[] = [];
        if (server === 'lua') lua = observed;
        else if (lua === null) failures.push('no Lua run to compare with');
        else {
          differences = compare(s, server, lua, observed);
          const unexplained = differences.filter((d) => !d.explained);
          if (unexplained.length) failures.push(`the browser or the server observed something else than with the Lua server (${unexplained.map((d) => d.what).join(', ')})`);
          if (s.deviation?.profile === server && differences.length === 0) failures.push(`expected the documented deviation to show (${s.deviation.specItem}); ${server} behaved like the original`);
        }
        emit({ scenario: s.id, server, verdict: failures.length ? 'fail' : 'pass', reason: failures.join('; ') || undefined, durationMs: Date.now() - started, observed, differences });
      }
    }
  } finally {
    await browser.close();
  }
  return { chromium: browser.version, scenarios: meta, results, summary: summariseBrowser(results) };
}
