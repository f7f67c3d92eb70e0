// `wslab fuzz --url`: a campaign against a user's own WebSocket service. Each session is a
// generated upgrade request and raw client traffic (model.ts); after it the oracles run: the strict
// decoder (judge.ts), the liveness probe (probe.ts), the nginx error log and /proc samples
// (monitors.ts). A new finding is shrunk with fast-check, alone on the service (the other
// connections wait), to a minimal session that still shows the same finding, and saved as a
// replayable scenario with its evidence. The report (report.ts) lists findings by kind.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import fc from 'fast-check';
import { writeAtomic } from '../../lab/fs.js';
import { groupBytes, runRawClientAt, type RawTarget, type TimedRawClientResult } from '../../lab/session/raw-peers.js';
import { judgeSession, requestText, RESTY_DEVIATIONS, type Profile, type ProtocolViolation } from './judge.js';
import { inShard, serviceSessionArb, sessionAt, sessionId, sessionSeed, withHost, type ServiceSession } from './model.js';
import { ErrorLogFollower, logSignature, sampleResources, type ResourceSample } from './monitors.js';
import { probeBound, probeOnce, probeVerdict, type ProbeMode } from './probe.js';

export type FindingKind = 'down' | 'hung' | 'protocol' | 'server-log' | 'resources';
/** Every kind, the gravest first (the order findings of one session are shrunk in, and the report's). */
export const FINDING_KINDS: readonly FindingKind[] = ['down', 'hung', 'server-log', 'resources', 'protocol'];

export interface ServiceTarget {
  url: string;
  raw: RawTarget;
  /** The path and query sent in the request line. */
  path: string;
  /** The Host header: the URL's host[:port]. */
  host: string;
}

/** Parses a ws:// or wss:// URL into where to connect; an error is a value. */
export function parseServiceUrl(url: string, tlsOpts: { ca?: string; insecure?: boolean } = {}): ServiceTarget | { err: string } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { err: `not a URL: "${url}"` };
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return { err: `--url takes ws:// or wss://, not "${u.protocol}"` };
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : u.protocol === 'wss:' ? 443 : 80;
  return {
    url: u.toString(),
    raw: { host, port, ...(u.protocol === 'wss:' ? { tls: { ...(tlsOpts.ca ? { ca: tlsOpts.ca } : {}), insecure: !!tlsOpts.insecure } } : {}) },
    path: `${u.pathname || '/'}${u.search}`,
    host: u.host,
  };
}

export interface Finding {
  kind: FindingKind;
  /** Stable across sessions: kind, check and (server log) the normalised line. */
  signature: string;
  summary: string;
  evidence: Record<string, unknown>;
  /** Sessions that showed it in the campaign. */
  sightings: number;
  /** The session index that found it first. */
  index: number;
  /** The saved scenario (shrunk session, evidence, replay command). */
  file: string | null;
  shrinks: number;
  /** What ended the shrink early, when something did: its replay budget, its time cap. */
  shrinkStoppedBy?: 'runs' | 'time';
  /** Whether a replay of the session alone showed it again (false: saved as found, not shrunk). */
  reproduced: boolean;
  /** The shrunk session's size: frames sent and bytes. */
  size: { frames: number; bytes: number };
}

export interface ServiceReport {
  kind: 'wslab-service-fuzz';
  finished: boolean;
  ok: boolean;
  interrupted: boolean;
  target: string;
  profile: Profile;
  probe: ProbeMode;
  oracles: FindingKind[];
  seed: number;
  shard: { index: number; count: number };
  durationMs: number;
  sessions: number;
  sessionsPerSec: number;
  /** Order-independent digest of the sessions run (XOR of their ids): shards of one campaign XOR to the whole. */
  digest: string;
  /** index:id of every session run, when there are at most 20000. */
  sessionIds?: string[];
  bounds: { probeMs: number; closeWaitMs: number; baselineMs: number[] };
  findings: Finding[];
  /** Violations the profile expects (the original's deviations), counted once each with the spec item. */
  expected: Array<{ id: string; specItem: string; text: string; count: number; example: string }>;
  resources?: { pid: number; samples: Array<{ session: number; rssKiB: number; fds: number }> };
  /** Findings of a timing-dependent kind (protocol, down, hung) that a replay alone did not show again: not counted as findings, listed. */
  unconfirmed: Array<{ signature: string; summary: string; index: number }>;
  errors: string[];
  stoppedBecause?: string;
}

export interface ServiceFuzzOptions {
  target: ServiceTarget;
  seed: number;
  timeMs: number;
  maxSessions?: number;
  shard?: { index: number; count: number };
  profile: Profile;
  probe: ProbeMode;
  /** The probe's bound floor (the measured lag can only raise it). */
  probeTimeoutMs: number;
  errorLog?: string;
  pid?: number;
  /** Sessions per resource window, and the growth over one window that is a finding. */
  resourceWindow: number;
  maxRssGrowthKiB: number;
  maxFdGrowth: number;
  /** Sessions per second at most (0: no limit). */
  rate: number;
  connections: number;
  /** Replays one finding's shrink may spend (the budget that decides how far it shrinks). */
  shrinkRuns: number;
  /** A wall-clock cap on one finding's shrink (Infinity: none); hitting it is said in the finding. */
  shrinkBudgetMs: number;
  maxFindings: number;
  /** How long a down or hung service may take to answer again before the campaign stops. */
  recoverMs: number;
  outDir: string;
  /** The oracles that run (default: every kind; resources needs --pid, server-log --error-log). */
  oracles?: readonly FindingKind[];
  /** Stop the campaign once a finding of one of these kinds is saved (tests, a CI gate). */
  stopOnKinds?: readonly FindingKind[];
  signal?: AbortSignal;
  onProgress?: (p: { elapsedMs: number; sessions: number; sessionsPerSec: number; findings: number; expected: number; shrinking: boolean }) => void;
  /** Called with the report as it changes (the CLI writes it). */
  onReport?: (r: ServiceReport) => void;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** What the oracles saw in one session (a replay checks the one it shrinks for). */
interface Observed {
  findings: Array<Omit<Finding, 'sightings' | 'index' | 'file' | 'shrinks' | 'reproduced' | 'size'>>;
  expected: ProtocolViolation[];
  raw: TimedRawClientResult;
}

/** Frames and bytes a session sends (its size after shrinking). */
export function sessionSize(s: ServiceSession): { frames: number; bytes: number } {
  return { frames: s.traffic.reduce((n, g) => n + g.frames.length, 0), bytes: s.traffic.reduce((n, g) => n + groupBytes(g).length, 0) };
}

/** The shrunk session as bytes: the request head and each group as hex (the report shows these). */
export function sessionBytes(s: ServiceSession, t: ServiceTarget): { request: string; groups: Array<{ pauseMs: number; hex: string; chops?: number[] }>; end: string } {
  return {
    request: requestText(withHost(s.request, t.host), t.path),
    groups: s.traffic.map((g) => ({ pauseMs: g.pauseMs, hex: groupBytes(g).toString('hex'), ...(g.chops ? { chops: g.chops } : {}) })),
    end: s.end,
  };
}

function xorDigest(a: string, b: string): string {
  return (BigInt(`0x${a}`) ^ BigInt(`0x${b}`)).toString(16).padStart(12, '0');
}
export const EMPTY_DIGEST = '000000000000';
export { xorDigest };

export class ServiceCampaign {
  readonly report: ServiceReport;
  private readonly o: ServiceFuzzOptions;
  private readonly log: ErrorLogFollower | null;
  private probeMs = 0;
  private closeWaitMs = 0;
  private headWaitMs = 5000;
  private lagMs = 1;
  private shrinking = false;
  private inFlight = 0;
  private nextIndex = 0;
  private lastStart = 0;
  private dead: string | null = null;
  private readonly started = Date.now();
  private readonly expectedCounts = new Map<string, { count: number; example: string }>();
  private readonly bySignature = new Map<string, Finding>();
  private windowStart: { session: number; sample: ResourceSample } | null = null;
  /** Recent sessions with their times: a log line or a failed probe may be another running session's doing. */
  private recent: Array<{ index: number; start: number; end: number }> = [];
  private lastLogPoll = Date.now();
  private windowIndices: number[] = [];

  constructor(o: ServiceFuzzOptions) {
    this.o = o;
    this.log = o.errorLog ? new ErrorLogFollower(o.errorLog) : null;
    this.report = {
      kind: 'wslab-service-fuzz', finished: false, ok: false, interrupted: false, target: o.target.url, profile: o.profile, probe: o.probe, oracles: [...(o.oracles ?? FINDING_KINDS)],
      seed: o.seed, shard: o.shard ?? { index: 1, count: 1 }, durationMs: 0, sessions: 0, sessionsPerSec: 0, digest: EMPTY_DIGEST, sessionIds: [],
      bounds: { probeMs: 0, closeWaitMs: 0, baselineMs: [] }, findings: [], expected: [], unconfirmed: [], errors: [],
      ...(o.pid !== undefined ? { resources: { pid: o.pid, samples: [] } } : {}),
    };
  }

  private emit(): void {
    const r = this.report;
    r.durationMs = Date.now() - this.started;
    r.sessionsPerSec = Math.round((r.sessions / Math.max(1, r.durationMs / 1000)) * 10) / 10;
    r.expected = [...this.expectedCounts].map(([id, v]) => ({ id, specItem: RESTY_DEVIATIONS[id]?.specItem ?? '', text: RESTY_DEVIATIONS[id]?.text ?? '', count: v.count, example: v.example }));
    r.findings = [...this.bySignature.values()];
    this.o.onReport?.(r);
  }

  private progress(): void {
    const elapsedMs = Date.now() - this.started;
    this.o.onProgress?.({ elapsedMs, sessions: this.report.sessions, sessionsPerSec: Math.round((this.report.sessions / Math.max(1, elapsedMs / 1000)) * 10) / 10, findings: this.bySignature.size, expected: [...this.expectedCounts.values()].reduce((a, b) => a + b.count, 0), shrinking: this.shrinking });
  }

  /** Measures the lag (5 probes, or 5 TCP connects with --probe none) and derives every wait from it. */
  async calibrate(): Promise<string | null> {
    const t = this.o.target;
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      if (this.o.probe === 'none') {
        const t0 = Date.now();
        const err = await new Promise<string | null>((resolve) => {
          const s = net.connect({ host: t.raw.host, port: t.raw.port });
          s.once('connect', () => (s.destroy(), resolve(null)));
          s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
          setTimeout(() => (s.destroy(), resolve('no connection within 10 s')), 10_000).unref();
        });
        if (err) return `cannot connect to ${t.url}: ${err}`;
        times.push(Date.now() - t0);
      } else {
        const r = await probeOnce(t.raw, t.path, t.host, this.o.probe, 10_000);
        if (!r.ok) return `the service does not answer the ${this.o.probe} probe before the campaign (${r.what}): nothing to compare against`;
        times.push(r.ms);
      }
    }
    // The lag: the median round trip (the first connection of a run is often a cold outlier).
    this.lagMs = Math.max(1, [...times].sort((a, b) => a - b)[2]!);
    this.probeMs = probeBound(times, this.o.probeTimeoutMs);
    // How long a session waits for the service to close after our end, and for a response head.
    this.closeWaitMs = Math.min(5000, Math.max(300, 20 * this.lagMs));
    this.headWaitMs = Math.max(2000, 50 * this.lagMs);
    this.report.bounds = { probeMs: this.probeMs, closeWaitMs: this.closeWaitMs, baselineMs: times };
    return null;
  }

  /** Runs one session and every oracle (`only`: the one a shrink replays, so the others cost nothing). */
  async observe(s: ServiceSession, only?: FindingKind): Promise<Observed> {
    const t = this.o.target;
    const want = (k: FindingKind): boolean => (this.o.oracles ?? FINDING_KINDS).includes(k) && (!only || only === k);
    const findings: Observed['findings'] = [];
    const expected: ProtocolViolation[] = [];
    const raw = await runRawClientAt(t.raw, t.path, { ...s, request: withHost(s.request, t.host) }, this.closeWaitMs, this.headWaitMs);
    if (raw.connectError !== null && want('down')) {
      findings.push({ kind: 'down', signature: 'down', summary: `the session's connection failed: ${raw.connectError}`, evidence: { connectError: raw.connectError } });
    }
    if (want('protocol')) {
      for (const v of judgeSession(s, raw, this.o.profile)) {
        if (v.expectedBy) expected.push(v);
        else findings.push({ kind: 'protocol', signature: `protocol:${v.check}`, summary: v.summary, evidence: v.evidence });
      }
    }
    const logged = this.log !== null && want('server-log');
    // The probe is also what a log read waits for: the service has handled the session's bytes by the time it answers.
    if ((want('down') || want('hung') || logged) && this.o.probe !== 'none') {
      const p = await probeVerdict(t.raw, t.path, t.host, this.o.probe, this.probeMs);
      if (!p.ok && want(p.kind)) findings.push({ kind: p.kind, signature: p.kind, summary: `after the session, a fresh connection: ${p.what}`, evidence: { probe: p.what, boundMs: this.probeMs, ...(p.first && !p.first.ok ? { firstTry: p.first.what } : {}) } });
    } else if (logged) {
      // No probe to wait on: give the service its measured lag to write what it logs.
      await sleep(Math.min(1000, 5 * this.lagMs + 50));
    }
    if (logged) {
      this.lastLogPoll = Date.now();
      for (const line of this.log!.poll()) findings.push({ kind: 'server-log', signature: `server-log:${logSignature(line)}`, summary: logSignature(line), evidence: { line } });
    }
    return { findings, expected, raw };
  }

  private stopped(): boolean {
    const r = this.report;
    return (
      Date.now() - this.started >= this.o.timeMs ||
      !!this.o.signal?.aborted ||
      this.dead !== null ||
      this.bySignature.size >= this.o.maxFindings ||
      [...this.bySignature.values()].some((f) => this.o.stopOnKinds?.includes(f.kind)) ||
      (this.o.maxSessions !== undefined && this.nextIndex >= this.o.maxSessions)
    ) || r.finished;
  }

  /** The next session index of this shard (below --sessions), or null when the campaign is over. */
  private takeIndex(): number | null {
    const shard = this.report.shard;
    for (;;) {
      if (this.stopped()) return null;
      const i = this.nextIndex++;
      if (this.o.maxSessions !== undefined && i >= this.o.maxSessions) return null;
      if (inShard(i, shard)) return i;
    }
  }

  private async pace(): Promise<void> {
    while (this.shrinking) await sleep(20);
    if (this.o.rate > 0) {
      const gap = 1000 / this.o.rate;
      const at = Math.max(Date.now(), this.lastStart + gap);
      this.lastStart = at;
      if (at > Date.now()) await sleep(at - Date.now());
    }
  }

  private countSession(i: number, s: ServiceSession): void {
    const id = sessionId(s);
    this.report.sessions++;
    this.report.digest = xorDigest(this.report.digest, id);
    if (this.report.sessionIds) {
      if (this.report.sessionIds.length < 20_000) this.report.sessionIds.push(`${i}:${id}`);
      else delete this.report.sessionIds;
    }
  }

  private async worker(): Promise<void> {
    for (;;) {
      await this.pace();
      const i = this.takeIndex();
      if (i === null) return;
      const s = sessionAt(this.o.seed, i);
      // No await between this check and the count: a shrink that starts now waits for this session.
      while (this.shrinking) await sleep(20);
      this.inFlight++;
      const rec = { index: i, start: Date.now(), end: Number.POSITIVE_INFINITY };
      this.recent.push(rec);
      if (this.recent.length > 64) this.recent.shift();
      const windowFrom = Math.min(this.lastLogPoll, rec.start);
      let seen: Observed;
      try {
        seen = await this.observe(s);
        rec.end = Date.now();
      } catch (e) {
        this.report.errors.push(`session ${i}: ${(e as Error).message}`.slice(0, 300));
        continue;
      } finally {
        this.inFlight--;
      }
      this.countSession(i, s);
      for (const v of seen.expected) {
        const e = this.expectedCounts.get(v.expectedBy!) ?? { count: 0, example: `${v.check}: ${v.summary}` };
        e.count++;
        this.expectedCounts.set(v.expectedBy!, e);
      }
      const fresh: Observed['findings'] = [];
      for (const f of seen.findings) {
        const known = this.bySignature.get(f.signature);
        if (known) known.sightings++;
        else if (!fresh.some((x) => x.signature === f.signature)) fresh.push(f);
      }
      if (seen.findings.some((f) => f.kind === 'down' || f.kind === 'hung') && !(await this.recovered())) {
        this.dead = `the service did not answer a probe within ${Math.round(this.o.recoverMs / 1000)} s after session ${i}`;
      }
      // The gravest first: a protocol verdict in a session that also hung the service is often its consequence.
      fresh.sort((a, b) => FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind));
      for (const f of fresh) {
        if ([...this.bySignature.values()].some((x) => this.o.stopOnKinds?.includes(x.kind))) break;
        // A protocol verdict is this connection's; a log line or a failed probe may come from any
        // session that ran meanwhile (--connections): each is replayed alone, this one first.
        const others = f.kind === 'protocol' ? [] : this.recent.filter((x) => x.index !== i && x.end >= windowFrom - this.closeWaitMs && x.start <= Date.now()).map((x) => x.index).slice(-8);
        await this.exclusive(() => this.shrinkAndSave(f, [i, ...others]));
      }
      this.windowIndices.push(i);
      if (this.o.pid !== undefined && (this.o.oracles ?? FINDING_KINDS).includes('resources') && this.report.sessions % this.o.resourceWindow === 0) await this.resourceWindow();
      this.progress();
      this.emit();
    }
  }

  /** Runs `fn` with the service to itself: new sessions wait, running ones finish first. */
  private async exclusive(fn: () => Promise<void>): Promise<void> {
    while (this.shrinking) await sleep(20);
    this.shrinking = true;
    try {
      while (this.inFlight > 0) await sleep(10);
      await fn();
      // What the replays made the service log belongs to them, not to the next session.
      this.log?.poll();
    } finally {
      this.shrinking = false;
    }
  }

  /** After down or hung: probes until the service answers again, within --recover-time. */
  private async recovered(): Promise<boolean> {
    if (this.o.probe === 'none') return true;
    const until = Date.now() + this.o.recoverMs;
    while (Date.now() < until && !this.o.signal?.aborted) {
      const r = await probeOnce(this.o.target.raw, this.o.target.path, this.o.target.host, this.o.probe, this.probeMs);
      if (r.ok) return true;
      await sleep(250);
    }
    return false;
  }

  /** Replays `s` (alone on the service) and says whether the finding `signature` shows again. */
  private async reproduces(s: ServiceSession, f: Pick<Finding, 'kind' | 'signature'>): Promise<Observed['findings'][number] | null> {
    if (f.kind === 'resources') return this.resourceReplay(s);
    this.log?.poll(); // lines of earlier sessions are not this replay's
    const seen = await this.observe(s, f.kind);
    const hit = seen.findings.find((x) => x.signature === f.signature) ?? null;
    if (seen.findings.some((x) => x.kind === 'down' || x.kind === 'hung') && !(await this.recovered())) this.dead = 'the service did not recover while a finding was shrunk';
    return hit;
  }

  /**
   * Shrinks the session that showed `f` with fast-check, from the same seed (its first value is that
   * session), keeping only candidates that show the same signature, within --shrink-time. With
   * several candidate sessions (whichever ran meanwhile), the first that shows it alone is shrunk.
   */
  private async shrinkAndSave(f: Observed['findings'][number], candidates: number[]): Promise<void> {
    const known = this.bySignature.get(f.signature);
    if (known) {
      known.sightings++; // another connection found it while this one waited
      return;
    }
    // Replays are counted, so how far a finding shrinks does not move with machine load; the time
    // cap is a user's bound on the whole, and the finding says when it was the one that stopped.
    const until = Date.now() + this.o.shrinkBudgetMs;
    let runs = 0;
    let stoppedBy: Finding['shrinkStoppedBy'];
    const spent = (): boolean => {
      if (runs >= this.o.shrinkRuns) stoppedBy = 'runs';
      else if (Date.now() > until) stoppedBy = 'time';
      return stoppedBy !== undefined || this.dead !== null || !!this.o.signal?.aborted;
    };
    let best: Observed['findings'][number] | null = null;
    let out: fc.RunDetails<[ServiceSession]> | null = null;
    let index = candidates[0]!;
    for (const c of candidates) {
      if (spent()) break;
      index = c;
      out = await fc.check(
        fc.asyncProperty(serviceSessionArb, async (s) => {
          if (spent()) return true;
          runs++;
          const hit = await this.reproduces(s, f);
          if (hit) best = hit;
          return hit === null;
        }),
        { seed: sessionSeed(this.o.seed, c), numRuns: 1 },
      );
      if (out.failed) break;
    }
    const reproduced = !!out?.failed && !!out.counterexample;
    if (!reproduced) index = candidates[0]!;
    // A protocol, down or hung verdict that a replay alone does not give again was timing: listed, not a finding.
    if (!reproduced && (f.kind === 'protocol' || f.kind === 'down' || f.kind === 'hung') && !this.o.signal?.aborted) {
      if (!this.report.unconfirmed.some((u) => u.signature === f.signature)) this.report.unconfirmed.push({ signature: f.signature, summary: f.summary, index });
      return;
    }
    const session = reproduced ? out!.counterexample![0] : sessionAt(this.o.seed, index);
    const shown = (best ?? f) as Observed['findings'][number];
    const finding: Finding = {
      kind: f.kind, signature: f.signature, summary: shown.summary, evidence: shown.evidence,
      sightings: 1, index, file: null, shrinks: out?.numShrinks ?? 0, reproduced, size: sessionSize(session),
      ...(reproduced && stoppedBy ? { shrinkStoppedBy: stoppedBy } : {}),
    };
    finding.file = this.save(finding, session);
    this.bySignature.set(f.signature, finding);
    this.emit();
  }

  private save(f: Finding, s: ServiceSession): string {
    const dir = join(this.o.outDir, 'findings');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${f.kind}-${createHash('sha256').update(f.signature).digest('hex').slice(0, 12)}.json`);
    const scenario: ServiceScenario = {
      kind: 'wslab-service-finding',
      foundAt: new Date().toISOString(),
      target: this.o.target.url,
      profile: this.o.profile,
      seed: this.o.seed,
      index: f.index,
      finding: { kind: f.kind, signature: f.signature, summary: f.summary, evidence: f.evidence, shrinks: f.shrinks, reproduced: f.reproduced },
      ...(f.kind === 'resources' ? { resources: { repeat: this.resourceRepeat(), window: this.o.resourceWindow, maxRssGrowthKiB: this.o.maxRssGrowthKiB, maxFdGrowth: this.o.maxFdGrowth } } : {}),
      replay: `wslab fuzz --url ${this.o.target.url} --replay ${file}`,
      session: s,
      bytes: sessionBytes(s, this.o.target),
    };
    writeAtomic(file, `${JSON.stringify(scenario, null, 2)}\n`);
    return file;
  }

  // ---- resources -------------------------------------------------------------------------------

  private sample(): ResourceSample | null {
    if (this.o.pid === undefined) return null;
    const r = sampleResources(this.o.pid);
    if ('err' in r) {
      if (!this.report.errors.includes(r.err)) this.report.errors.push(r.err);
      return null;
    }
    return r;
  }

  /** How often a resource replay repeats one session: up to the window, at most 20. */
  private resourceRepeat(): number {
    return Math.min(20, this.o.resourceWindow);
  }

  /** One window's end: growth past a bound is a finding, then the session behind it is looked for and shrunk. */
  private async resourceWindow(): Promise<void> {
    const now = this.sample();
    if (!now) return;
    this.report.resources?.samples.push({ session: this.report.sessions, rssKiB: now.rssKiB, fds: now.fds });
    const start = this.windowStart;
    const indices = this.windowIndices;
    this.windowStart = { session: this.report.sessions, sample: now };
    this.windowIndices = [];
    if (!start || this.bySignature.has('resources')) return;
    const rss = now.rssKiB - start.sample.rssKiB;
    const fds = now.fds - start.sample.fds;
    if (rss <= this.o.maxRssGrowthKiB && fds <= this.o.maxFdGrowth) return;
    const f = {
      kind: 'resources' as const, signature: 'resources',
      summary: `over ${indices.length} sessions RSS grew by ${rss} KiB (bound ${this.o.maxRssGrowthKiB}) and descriptors by ${fds} (bound ${this.o.maxFdGrowth})`,
      evidence: { window: indices.length, rssKiB: [start.sample.rssKiB, now.rssKiB], fds: [start.sample.fds, now.fds], pids: now.pids },
    };
    await this.exclusive(async () => {
      // Which session of the window grows it? Each is repeated alone; the first that does is shrunk.
      const until = Date.now() + this.o.shrinkBudgetMs;
      for (const i of indices.slice(0, 12)) {
        if (Date.now() > until || this.o.signal?.aborted) break;
        if (await this.resourceReplay(sessionAt(this.o.seed, i))) return this.shrinkAndSave(f, [i]);
      }
      const finding: Finding = { ...f, sightings: 1, index: indices[0] ?? 0, file: null, shrinks: 0, reproduced: false, size: sessionSize(sessionAt(this.o.seed, indices[0] ?? 0)) };
      finding.file = this.save(finding, sessionAt(this.o.seed, finding.index));
      this.bySignature.set('resources', finding);
    });
    this.windowStart = { session: this.report.sessions, sample: this.sample() ?? now };
  }

  /** Repeats `s` alone and measures the growth; past the window's bound scaled to the repeats it is the finding. */
  private async resourceReplay(s: ServiceSession): Promise<Observed['findings'][number] | null> {
    const repeat = this.resourceRepeat();
    const before = this.sample();
    if (!before) return null;
    for (let k = 0; k < repeat; k++) await this.observe(s, 'resources');
    const after = this.sample();
    if (!after) return null;
    const rss = after.rssKiB - before.rssKiB;
    const fds = after.fds - before.fds;
    const rssBound = (this.o.maxRssGrowthKiB * repeat) / this.o.resourceWindow;
    const fdBound = (this.o.maxFdGrowth * repeat) / this.o.resourceWindow;
    if (rss <= rssBound && fds <= fdBound) return null;
    return {
      kind: 'resources', signature: 'resources',
      summary: `the session repeated ${repeat} times: RSS +${rss} KiB (bound ${Math.round(rssBound)}), descriptors +${fds} (bound ${fdBound.toFixed(1)})`,
      evidence: { repeat, rssKiB: [before.rssKiB, after.rssKiB], fds: [before.fds, after.fds], pids: after.pids },
    };
  }

  async run(): Promise<ServiceReport> {
    const err = await this.calibrate();
    if (err) {
      this.report.errors.push(err);
      return this.finish();
    }
    const first = this.sample();
    if (first) {
      this.windowStart = { session: 0, sample: first };
      this.report.resources?.samples.push({ session: 0, rssKiB: first.rssKiB, fds: first.fds });
    }
    this.emit();
    const ticker = setInterval(() => this.progress(), 1000);
    try {
      await Promise.all(Array.from({ length: Math.max(1, this.o.connections) }, () => this.worker()));
    } finally {
      clearInterval(ticker);
    }
    if (this.dead) this.report.stoppedBecause = this.dead;
    else if (this.bySignature.size >= this.o.maxFindings) this.report.stoppedBecause = `${this.o.maxFindings} distinct findings (--max-findings)`;
    return this.finish();
  }

  private finish(): ServiceReport {
    this.report.interrupted = !!this.o.signal?.aborted;
    this.report.finished = true;
    this.report.ok = this.bySignature.size === 0 && this.report.errors.length === 0 && this.report.sessions > 0;
    this.emit();
    return this.report;
  }

  /** Replays one saved scenario: every oracle once (a resources scenario: its repeats). */
  async replay(sc: ServiceScenario): Promise<{ err: string } | { findings: Observed['findings']; expected: ProtocolViolation[]; reproduced: boolean }> {
    const err = await this.calibrate();
    if (err) return { err };
    if (sc.finding.kind === 'resources') {
      const hit = await this.resourceReplay(sc.session);
      return { findings: hit ? [hit] : [], expected: [], reproduced: !!hit };
    }
    this.log?.poll();
    const seen = await this.observe(sc.session);
    return { findings: seen.findings, expected: seen.expected, reproduced: seen.findings.some((f) => f.signature === sc.finding.signature) };
  }
}

export interface ServiceScenario {
  kind: 'wslab-service-finding';
  foundAt: string;
  target: string;
  profile: Profile;
  seed: number;
  index: number;
  finding: { kind: FindingKind; signature: string; summary: string; evidence: Record<string, unknown>; shrinks: number; reproduced: boolean };
  resources?: { repeat: number; window: number; maxRssGrowthKiB: number; maxFdGrowth: number };
  replay: string;
  session: ServiceSession;
  bytes: ReturnType<typeof sessionBytes>;
}

export function readScenario(file: string): ServiceScenario | { err: string } {
  try {
    const j = JSON.parse(readFileSync(file, 'utf8')) as ServiceScenario;
    if (j.kind !== 'wslab-service-finding' || !j.session || j.session.kind !== 'wslab-service-session') return { err: `${file} is not a saved service finding (kind wslab-service-finding)` };
    return j;
  } catch (e) {
    return { err: `cannot read ${file}: ${(e as Error).message.split('\n')[0]}` };
  }
}
