// `wslab fuzz --url URL`: the service mode of `wslab fuzz` (fuzz/cli.ts dispatches here when --url,
// or --merge without --minimise-corpus, is on the command line).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandLine, renderOptions, shownPath, UsageError, type OptionsSpec, type ParsedValues } from '../../lab/args.js';
import { onInterrupt } from '../../lab/children.js';
import { claimReport } from '../../lab/reports.js';
import { printJson } from '../../lab/output.js';
import { ROOT_DIR } from '../../lab/paths.js';
import { formatServiceReport, mergeServiceReports, reportDirs, writeServiceReport } from './report.js';
import { FINDING_KINDS, parseServiceUrl, readScenario, ServiceCampaign, type ServiceFuzzOptions, type ServiceTarget } from './runner.js';

/** `wslab fuzz`'s service-mode options: the parser's spec and the Service options block of its help. */
export const serviceOptions = {
  url: { type: 'string', value: 'URL', help: 'ws:// or wss:// target (required in service mode)' },
  ca: { type: 'string', value: 'FILE', help: 'wss: a CA certificate (PEM) to trust' },
  insecure: { type: 'flag', help: 'wss: accept any certificate' },
  time: { type: 'duration', default: '60s', help: 'wall time (default 60s)' },
  sessions: { type: 'number', integer: true, min: 1, max: 100_000_000, help: 'stop after N sessions of the campaign (a shard runs its share of them)' },
  seed: { type: 'number', integer: true, min: 0, max: 0xffffffff, help: 'campaign seed (default: random, printed)' },
  shard: { type: 'string', value: 'I/N', help: 'run shard I of N: sessions i with i mod N = I-1 (same --seed on every shard)' },
  profile: { type: 'string', choices: ['strict', 'resty'], default: 'strict', value: 'P', help: 'strict (default) or resty: the original lua-resty-websocket\'s documented\ndeviations (docs/behaviour.md §7) are counted as expected, not findings' },
  probe: { type: 'string', choices: ['ping', 'echo', 'none'], default: 'ping', value: 'M', help: 'ping (default), echo (a text message must come back) or none' },
  oracles: { type: 'list', choices: FINDING_KINDS, default: FINDING_KINDS, help: 'the finding kinds to look for (default all: down,hung,server-log,resources,protocol)' },
  'probe-timeout': { type: 'duration', default: '1000ms', defaultUnit: 'ms', help: 'the probe\'s bound floor (default 1000ms)' },
  'error-log': { type: 'string', value: 'FILE', help: 'follow this nginx error log' },
  pid: { type: 'number', integer: true, min: 1, value: 'PID', help: 'sample /proc/PID (RSS and fds, summed with its child processes: an nginx\nmaster with its workers)' },
  'resource-window': { type: 'number', integer: true, min: 2, default: 200, help: 'sessions per resource window (default 200)' },
  'max-rss-growth': { type: 'number', min: 0, default: 64, help: 'MiB of RSS growth per window that is a finding (default 64)' },
  'max-fd-growth': { type: 'number', integer: true, min: 0, default: 64, help: 'descriptor growth per window that is a finding (default 64)' },
  rate: { type: 'number', min: 0, default: 50, help: 'sessions per second at most (default 50; 0: no limit)' },
  connections: { type: 'number', integer: true, min: 1, max: 64, default: 1, help: 'sessions at a time (default 1, at most 64)' },
  'shrink-runs': { type: 'number', integer: true, min: 1, default: 100, help: 'replays one finding\'s shrink may spend (default 100)' },
  'shrink-time': { type: 'duration', default: '60s', help: 'a time cap on one finding\'s shrink (default 60s); a finding says when\nit stopped the shrink' },
  'max-findings': { type: 'number', integer: true, min: 1, default: 20, help: 'stop after N distinct findings (default 20)' },
  'recover-time': { type: 'duration', default: '30s', help: 'how long a down or hung service may take to answer again (default 30s)' },
  out: { type: 'string', default: join(ROOT_DIR, 'report', 'fuzz-service'), value: 'DIR', help: 'report folder (default report/fuzz-service)' },
  replay: { type: 'string', value: 'FILE', help: 'replay a saved finding against --url; exit 1 when it shows again' },
  merge: { type: 'repeat', value: 'DIR', help: '(without --minimise-corpus) merge these report folders into --out' },
  quiet: { type: 'flag', help: 'no progress lines' },
  json: { type: 'flag', help: 'print the report (OUT/report.json\'s object; for --replay, the replay\'s\nresult) as one JSON document on stdout; human lines go to stderr' },
} as const satisfies OptionsSpec;

export const serviceHelp = `Service mode: fuzz your own WebSocket service
  wslab fuzz --url ws://HOST:PORT/PATH [--time 60s | --sessions N] [--seed N] [options]
  wslab fuzz --url URL --replay FILE          replay one saved finding
  wslab fuzz --merge DIR [--merge DIR ...] [--out DIR]   merge shard reports

Each session sends a generated upgrade request (valid and near-valid) and raw client frames
(every opcode, RSV bits, unmasked frames, long and fragmented control frames, close codes, bad
UTF-8, fragments, cuts, split writes, pauses) and ends with FIN, RST or waiting. Findings:
  down        after a session a fresh connection is refused, reset or closed before its answer
  hung        ... or gets no 101 and pong (echo) within the bound (20x the measured lag, at least --probe-timeout)
  protocol    the service sends what RFC 6455 forbids (masked frames, RSV bits, bad close codes,
              bad UTF-8, data after its close, long or fragmented control frames, ...) or does not
              close with the right code after a protocol error the client committed
  server-log  --error-log: a new [error]/[crit]/[alert] line, aborted Lua thread, dead worker
  resources   --pid: RSS or open descriptors grow past the bound over --resource-window sessions
Every finding is shrunk (fast-check) to a minimal session and saved as a JSON scenario in
OUT/findings/; OUT/report.json and OUT/index.html list them by kind with the bytes.

${renderOptions(serviceOptions, 'Service options:')}

Examples:
  wslab fuzz --url ws://127.0.0.1:8080/echo --time 10m --seed 7
  wslab fuzz --url wss://staging.example/ws --ca ca.pem --sessions 5000 --rate 20 --shard 2/4 --seed 7
  wslab fuzz --url ws://127.0.0.1:8080/ws --profile resty --error-log /var/log/nginx/error.log --pid $(cat /run/nginx.pid)
  wslab fuzz --merge shard-1 --merge shard-2 --out merged`;

/** Whether argv asks for the service mode rather than the jsfuzz campaigns. */
export function isServiceMode(argv: readonly string[]): boolean {
  const has = (f: string): boolean => argv.some((a) => a === f || a.startsWith(`${f}=`));
  return has('--url') || has('--replay') || (has('--merge') && !has('--minimise-corpus'));
}

type ServiceValues = ParsedValues<typeof serviceOptions>;
/** Throws the UsageError of `wslab fuzz`. */
type Usage = (message: string) => never;

/** --merge: the shard reports merged into --out. */
function mergeReports(v: ServiceValues, usage: Usage): number {
  if (v.url || v.replay) usage('--merge takes report folders and --out only');
  const r = mergeServiceReports(reportDirs(v.merge), v.out);
  if ('err' in r) {
    console.error(`wslab fuzz: ${r.err}`);
    return 1;
  }
  console.log(formatServiceReport(r, shownPath(v.out)));
  if (v.json) printJson(r);
  return r.ok ? 0 : 1;
}

/** --shard I/N (default 1/1). */
function shardOf(v: ServiceValues, usage: Usage): { index: number; count: number } {
  if (v.shard === undefined) return { index: 1, count: 1 };
  const m = /^(\d+)\/(\d+)$/.exec(v.shard);
  if (!m || Number(m[1]) < 1 || Number(m[1]) > Number(m[2])) usage(`--shard takes I/N with 1 <= I <= N, not "${v.shard}"`);
  return { index: Number(m![1]), count: Number(m![2]) };
}

/** The target `url` (--url), with --ca's certificate or --insecure for wss. */
function targetOf(url: string, v: ServiceValues, usage: Usage): ServiceTarget {
  let ca: string | undefined;
  if (v.ca !== undefined) {
    try {
      ca = readFileSync(v.ca, 'utf8');
    } catch (e) {
      usage(`--ca ${v.ca}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const target = parseServiceUrl(url, { ca, insecure: v.insecure });
  if ('err' in target) return usage(target.err);
  if ((v.ca || v.insecure) && !target.raw.tls) usage('--ca and --insecure are for wss:// URLs');
  return target;
}

/** --replay `file`: one saved finding against the target; 1 when it (or another finding) shows. */
async function replayFinding(argv: string[], file: string, v: ServiceValues, opts: ServiceFuzzOptions): Promise<number> {
  const sc = readScenario(file);
  if ('err' in sc) {
    console.error(`wslab fuzz: ${sc.err}`);
    return 1;
  }
  console.error(`wslab fuzz: replaying ${shownPath(file)} (${sc.finding.kind}: ${sc.finding.summary}) against ${opts.target.url}`);
  const r = await new ServiceCampaign({ ...opts, profile: v.profile === 'strict' && argv.every((a) => !a.startsWith('--profile')) ? sc.profile : v.profile }).replay(sc);
  if ('err' in r) {
    console.error(`wslab fuzz: ${r.err}`);
    return 1;
  }
  for (const f of r.findings) console.log(`[${f.kind}] ${f.summary}`);
  for (const e of r.expected) console.log(`expected (${e.expectedBy}): ${e.summary}`);
  console.log(r.reproduced ? `reproduced: ${sc.finding.signature}` : `did not reproduce ${sc.finding.signature}${r.findings.length ? ' (other findings above)' : ''}`);
  if (v.json) printJson({ ok: r.findings.length === 0, signature: sc.finding.signature, ...r });
  return r.findings.length ? 1 : 0;
}

/** The campaign: says what it will send, writes the report as it goes (the interrupted one on Ctrl-C), prints it. */
async function runCampaign(v: ServiceValues, opts: ServiceFuzzOptions, shard: { index: number; count: number }, abort: AbortController): Promise<number> {
  const { target, seed } = opts;
  const where = `${target.raw.host}:${target.raw.port} ${target.path} over ${target.raw.tls ? 'wss (TLS)' : 'ws (plain TCP)'}`;
  const total = v.sessions !== undefined ? `up to ${v.sessions} sessions${shard.count > 1 ? ` (this shard: about ${Math.ceil(v.sessions / shard.count)})` : ''} within ${v.time / 1000} s` : `sessions for ${v.time / 1000} s`;
  console.error(
    `wslab fuzz: will send ${total} to ${where}: upgrade requests (valid and malformed) and hostile WebSocket frames (up to 64 KiB each, ~1 MiB per session), ` +
      `${v.rate > 0 ? `at most ${v.rate} sessions/s` : 'no rate limit'}, ${v.connections} at a time, plus a ${v.probe} probe after each; seed ${seed}, shard ${shard.index}/${shard.count}, profile ${v.profile}`,
  );
  claimReport(join(v.out, 'report.json'));
  const campaign = new ServiceCampaign({
    ...opts,
    // After an interrupt the report on disk is the interrupted one: the campaign's last steps must not replace it.
    onReport: (r) => {
      if (!abort.signal.aborted) writeServiceReport(v.out, r);
    },
    ...(v.quiet ? {} : { onProgress: progressPrinter() }),
  });
  const stopWriting = onInterrupt(() => {
    abort.abort();
    writeServiceReport(v.out, { ...campaign.report, finished: false, ok: false, interrupted: true });
  });
  const report = await campaign.run();
  stopWriting();
  if (process.stderr.isTTY && !v.quiet) process.stderr.write('\n');
  console.log(formatServiceReport(report, shownPath(v.out)));
  if (v.json) printJson(report);
  return report.ok ? 0 : 1;
}

export async function runService(argv: string[]): Promise<number> {
  const { values: v } = parseCommandLine('fuzz', argv, serviceOptions);
  const usage: Usage = (m) => {
    throw new UsageError('fuzz', `${m} (see wslab fuzz --help)`);
  };
  if (v.merge.length) return mergeReports(v, usage);
  if (!v.url) usage('--replay needs --url');
  const shard = shardOf(v, usage);
  const target = targetOf(v.url!, v, usage);
  const seed = v.seed ?? ((Date.now() ^ (Math.random() * 0x7fffffff)) >>> 0);
  const abort = new AbortController();
  const opts: ServiceFuzzOptions = {
    target, seed, timeMs: v.time, ...(v.sessions !== undefined ? { maxSessions: v.sessions } : {}), shard,
    profile: v.profile, probe: v.probe, probeTimeoutMs: v['probe-timeout'], oracles: v.oracles,
    ...(v['error-log'] ? { errorLog: v['error-log'] } : {}), ...(v.pid !== undefined ? { pid: v.pid } : {}),
    resourceWindow: v['resource-window'], maxRssGrowthKiB: Math.round(v['max-rss-growth'] * 1024), maxFdGrowth: v['max-fd-growth'],
    rate: v.rate, connections: v.connections, shrinkRuns: v['shrink-runs'], shrinkBudgetMs: v['shrink-time'], maxFindings: v['max-findings'], recoverMs: v['recover-time'],
    outDir: v.out, signal: abort.signal,
  };
  if (v.replay) return replayFinding(argv, v.replay, v, opts);
  return runCampaign(v, opts, shard, abort);
}

function progressPrinter(): (p: { elapsedMs: number; sessions: number; sessionsPerSec: number; findings: number; expected: number; shrinking: boolean }) => void {
  const tty = process.stderr.isTTY === true;
  let last = 0;
  return (p) => {
    const line = `${(p.elapsedMs / 1000).toFixed(0)}s sessions ${p.sessions} (${p.sessionsPerSec}/s) findings ${p.findings} expected ${p.expected}${p.shrinking ? ' shrinking…' : ''}`;
    if (tty) process.stderr.write(`\r${line.padEnd(90)}`);
    else if (Date.now() - last >= 15_000) {
      last = Date.now();
      console.error(line);
    }
  };
}
