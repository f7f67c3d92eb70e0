// Runs interop scenarios in four directions against one peer and compares each of our runs with
// the Lua-Lua reference run. Results are handed out as they arrive (the report is written from
// them), and a peer that dies marks what it could not run and the run goes on.
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { makeTestPki } from '../../lab/pki.js';
import { registerLuaServer, runLuaClient, type Step, type StepRecord } from '../../lab/peers/lua-api.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { needsLibVersion } from '../../lab/peers/index.js';
import { PeerSupervisor } from '../../lab/peers/supervisor.js';
import { compareRecords } from '../compare/index.js';
import { newClient } from 'resty-websocket/client';
import { runTsStep, type StepTarget } from '../../lab/ts-steps.js';
import { startTsScriptedServer } from '../../lab/ts-server.js';
import { CannotRunHere, DIRECTIONS, type Direction, type DirectionResult, type Scenario, type ScenarioRecords } from './types.js';

const RUN_TIMEOUT_MS = 30_000;

interface ClientPlan {
  uri: string;
  connectOpts: Record<string, unknown>;
  newOpts: Record<string, unknown>;
  steps: Step[];
}

/**
 * The options of one connect step: the scenario's, the step's own over them, a pool name of the
 * run's own, and TLS material.
 */
function connectOptsFor(s: Scenario, runId: string, forLua: boolean, stepOpts: Record<string, unknown> = {}): Record<string, unknown> {
  const opts: Record<string, unknown> = { ...(s.client.connectOpts ?? {}), ...stepOpts };
  // Pools outlive a run (nginx's worker, our process): a run-private name keeps runs apart (and
  // two names of one scenario stay two pools).
  opts.pool = `${String(opts.pool ?? 'wslab')}-${runId}`;
  if (s.clientCert) {
    const pki = makeTestPki();
    if (forLua) Object.assign(opts, { client_cert_pem: pki.clientCert, client_priv_key_pem: pki.clientKey });
    else Object.assign(opts, { client_cert: pki.clientCert, client_priv_key: pki.clientKey });
  }
  return opts;
}

/** A connect step's URI: "" the scenario's server, "@N" the N-th of its moreServers. */
function targetUri(uri: string, main: string, more: readonly string[]): string {
  if (uri === '') return main;
  const n = /^@(\d+)$/.exec(uri);
  if (n === null) return uri;
  const found = more[Number(n[1]) - 1];
  if (found === undefined) throw new Error(`connect to ${uri}: the scenario has ${more.length} more server(s)`);
  return found;
}

function clientPlan(s: Scenario, uri: string, runId: string, forLua: boolean, more: readonly string[] = []): ClientPlan {
  const connectOpts = connectOptsFor(s, runId, forLua);
  const steps: Step[] = [{ op: 'connect', uri, opts: connectOpts }];
  for (const step of s.client.steps) {
    if (step.op === 'connect') steps.push({ op: 'connect', uri: targetUri(step.uri, uri, more), opts: connectOptsFor(s, runId, forLua, step.opts) });
    else if (step.op === 'new') steps.push({ op: 'new', opts: { ...(s.client.newOpts ?? {}), ...(step.opts ?? {}) } });
    else steps.push(step);
  }
  return { uri, connectOpts, newOpts: s.client.newOpts ?? {}, steps };
}

async function runTsClient(plan: ClientPlan): Promise<StepRecord[]> {
  const pki = makeTestPki();
  const make = (opts: Record<string, unknown>): ReturnType<typeof newClient> => newClient({ ...(opts as object), trustedCa: pki.caCert });
  let client = make(plan.newOpts);
  const opened = [client];
  const records: StepRecord[] = [{ op: 'new', ret: [true, null] }];
  const connect = async (obj: StepTarget, step: Extract<Step, { op: 'connect' }>) => {
    const r = await obj.connect!(step.uri, step.opts);
    return [r.ok, r.err === null ? null : Buffer.from(r.err, 'latin1'), r.res === null ? null : Buffer.from(r.res, 'latin1')];
  };
  for (const step of plan.steps) {
    if (step.op === 'new') {
      client = make(step.opts ?? {});
      opened.push(client);
      records.push({ op: 'new', ret: [true, null] });
      continue;
    }
    // A scenario's step arguments are Lua-like values, odd types included on purpose (the Lua client
    // gets the same ones), so the client goes through the loosely typed StepTarget, not its own types.
    records.push(await runTsStep(client as unknown as StepTarget, step, connect));
  }
  // Like the end of the nginx request that runs the Lua client: its sockets are closed, pooled ones stay pooled.
  for (const c of opened) await c.socket?.close();
  return records;
}

/**
 * Whether every connect of the client failed before its request went out: a TCP connect or TLS
 * handshake error (nothing was written on the connection then).
 */
export function sentNoRequest(client: StepRecord[]): boolean {
  const connects = client.filter((r) => r.op === 'connect');
  return connects.length > 0 && connects.every((r) => r.ret[0] === null && Buffer.isBuffer(r.ret[1]) && /^(failed to connect|ssl handshake failed): /.test(r.ret[1].toString('latin1')));
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

interface ScriptedServer {
  url: string;
  /**
   * Its records once the client ran (`client`: the client's records, to know whether any request went
   * out). `ifReached`: a server no request reached has none, without waiting (the client has run, so
   * any request that reached it has been received).
   */
  records: (client: StepRecord[], ifReached?: boolean) => Promise<StepRecord[]>;
  stop: () => Promise<void>;
}

/** One scripted server of the direction's kind: the Lua library in nginx, or ours. */
async function startScriptedServer(peer: RunningPeer, s: Scenario, spec: { opts?: Record<string, unknown>; steps: Step[] }, lua: boolean): Promise<ScriptedServer> {
  if (lua) {
    const reg = await registerLuaServer(peer, { opts: spec.opts, steps: spec.steps });
    return {
      url: `${s.tls === 'self-signed' ? peer.wssSelfSignedUrl : s.tls ? peer.wssUrl : peer.wsUrl}${reg.path}`,
      records: async (client, ifReached) => {
        // A client that never sent a request leaves the Lua server nothing to record: when no request
        // ever claimed the script, its results are empty, without waiting for a run that cannot come.
        if (ifReached || sentNoRequest(client)) {
          const now = await reg.results(0);
          if (now.done) return now.records; // a finished run's results are handed out once
          if (!now.claimed) return [];
        }
        return (await reg.results(15_000)).records;
      },
      stop: async () => {},
    };
  }
  const srv = await startTsScriptedServer({ opts: spec.opts ?? {}, steps: spec.steps, tls: s.tls ?? false, requireClientCert: !!s.clientCert });
  return {
    url: `${srv.url}/scripted`,
    records: async () => {
      // A client that never got through the handshake leaves the server with nothing to record,
      // as the Lua server's results are empty then too.
      for (let i = 0; i < 50 && !srv.connected; i++) await new Promise((r) => setTimeout(r, 10));
      return srv.connected ? withTimeout(srv.records, 15_000, 'our server') : [];
    },
    stop: srv.close,
  };
}

/**
 * Listens on 127.0.0.1:`port` and pipes every connection to `target` (host:port), so a URI without a
 * port reaches the scenario's server. Throws CannotRunHere when the port cannot be bound.
 */
async function startForwarder(port: number, target: URL): Promise<{ stop: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect({ host: target.hostname, port: Number(target.port) });
    for (const x of [inbound, outbound]) {
      sockets.add(x);
      x.on('close', () => sockets.delete(x));
      x.on('error', () => {
        inbound.destroy();
        outbound.destroy();
      });
    }
    inbound.pipe(outbound);
    outbound.pipe(inbound);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(new CannotRunHere(e.code === 'EADDRINUSE' ? `127.0.0.1:${port} is in use by another process, so a URI without a port cannot reach this run's server` : `cannot listen on 127.0.0.1:${port} (${e.code ?? e.message}): a URI without a port needs that port`)),
    );
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        for (const x of sockets) x.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Runs one scenario in one direction; throws on infrastructure failure (CannotRunHere: the direction cannot run on this machine). */
export async function runDirection(peer: RunningPeer, s: Scenario, direction: Direction): Promise<ScenarioRecords> {
  const runId = `${s.id}-${direction}-${randomBytes(4).toString('hex')}`;
  const luaServer = direction === 'lua-lua' || direction === 'ts-lua';
  const luaClient = direction === 'lua-lua' || direction === 'lua-ts';
  const started: Array<{ stop: () => Promise<void> }> = [];
  try {
    const main = await startScriptedServer(peer, s, s.server, luaServer);
    started.push(main);
    const more: ScriptedServer[] = [];
    for (const spec of s.moreServers ?? []) {
      const srv = await startScriptedServer(peer, s, spec, luaServer);
      started.push(srv);
      more.push(srv);
    }
    let serverUrl = main.url;
    if (s.defaultPort) {
      const at = new URL(main.url.replace(/^ws/, 'http'));
      const port = s.tls ? 443 : 80;
      started.push(await startForwarder(port, at));
      serverUrl = `${s.tls ? 'wss' : 'ws'}://127.0.0.1${at.pathname}${at.search}`;
    }
    const plan = clientPlan(s, serverUrl, runId, luaClient, more.map((m) => m.url));
    const client = luaClient
      ? await runLuaClient(peer, { newOpts: plan.newOpts, steps: plan.steps }, RUN_TIMEOUT_MS)
      : await runTsClient(plan);
    const server = await main.records(client);
    const records: ScenarioRecords = { client, server };
    if (more.length > 0) records.more = await Promise.all(more.map((m) => m.records(client, true)));
    return records;
  } finally {
    for (const x of started.reverse()) await x.stop();
  }
}

export interface InteropOptions {
  peer: RunningPeer;
  scenarios: readonly Scenario[];
  directions?: readonly Direction[];
  /** Called with every result as it arrives. */
  onResult?: (r: DirectionResult) => void;
  /**
   * Health-checks the peer and restarts it (once) when it died; absent: a supervisor that cannot
   * restart (the peer's death marks the remaining Lua runs as errors).
   */
  supervisor?: PeerSupervisor;
  /**
   * A run that fails or errors is run again this many times (default 1); a repeat that passes is
   * reported as a pass with `flaky` set to the first reason. A failure that comes back stays one.
   */
  retries?: number;
}

function runsLua(d: Direction): boolean {
  return d !== 'ts-ts';
}

/**
 * One run of a scenario in one direction, judged: the scenario's check, then our records against
 * the reference (lua-lua). `result` is null for a reference run that was not asked for.
 */
async function attempt(
  peer: RunningPeer, s: Scenario, d: Direction, reference: ScenarioRecords | null, wanted: boolean, libVersion: string,
): Promise<{ records: ScenarioRecords | null; result: DirectionResult | null }> {
  const base = { scenario: s.id, direction: d, differences: [] as DirectionResult['differences'], durationMs: 0 };
  let records: ScenarioRecords;
  try {
    records = await withTimeout(runDirection(peer, s, d), RUN_TIMEOUT_MS + 20_000, `${s.id} ${d}`);
  } catch (e) {
    if (e instanceof CannotRunHere) return { records: null, result: { ...base, verdict: 'skip', reason: e.message } };
    const log = runsLua(d) ? (await peer.errorLog(2000)).trim().split('\n').slice(-3).join('\n') : '';
    return { records: null, result: wanted ? { ...base, verdict: 'error', reason: `${(e as Error).message}${log ? `\nnginx: ${log}` : ''}` } : null };
  }
  if (!wanted) return { records, result: null };
  const failures: string[] = [];
  try {
    s.check?.(records, d);
  } catch (e) {
    failures.push(`check: ${(e as Error).message.split('\n')[0]}`);
  }
  const differences: DirectionResult['differences'] = [];
  const ref = d === 'lua-lua' ? null : reference;
  const key = s.client.connectOpts?.key;
  const norm = { chosenKeys: typeof key === 'string' ? [key] : [] };
  if (ref) {
    // Our side(s) against the Lua library playing the same role with the same peer.
    if (d === 'ts-lua' || d === 'ts-ts') differences.push(...compareRecords(ref.client, records.client, libVersion, norm).map((x) => ({ side: 'client' as const, ...x })));
    if (d === 'lua-ts' || d === 'ts-ts') {
      differences.push(...compareRecords(ref.server, records.server, libVersion, norm).map((x) => ({ side: 'server' as const, ...x })));
      // The more servers of the scenario, each against the Lua server in the same place.
      (ref.more ?? []).forEach((theirs, i) => differences.push(...compareRecords(theirs, records.more?.[i] ?? [], libVersion, norm).map((x) => ({ side: 'server' as const, ...x }))));
    }
  }
  const unexplained = differences.filter((x) => !x.explained);
  if (unexplained.length > 0) failures.push(`${unexplained.length} unexplained difference(s) from the Lua library`);
  return { records, result: { ...base, verdict: failures.length ? 'fail' : 'pass', reason: failures.join('; ') || undefined, records, differences } };
}

/**
 * Runs every scenario in every direction; the lua-lua run of a scenario is the reference for the
 * other three. A direction with nothing to compare against (its reference errored) is an error, not
 * a pass. The peer is checked before every run that needs it and after every run that errored; a
 * run during which it died is run again after the restart (and marked `affectedByPeerDeath`), not
 * counted as a retry.
 */
export async function runScenarios(opts: InteropOptions): Promise<DirectionResult[]> {
  const supervisor = opts.supervisor ?? new PeerSupervisor(opts.peer, null);
  const results: DirectionResult[] = [];
  const emit = (r: DirectionResult): void => {
    results.push(r);
    opts.onResult?.(r);
  };
  const libVersion = supervisor.current.lib.clientVersion;

  for (const s of opts.scenarios) {
    const dirs = (opts.directions ?? DIRECTIONS).filter((d) => !s.directions || s.directions.includes(d));
    const skip = s.needs ? needsLibVersion(supervisor.current, s.needs.version, s.needs.what) : null;
    let reference: ScenarioRecords | null = null;
    let referenceWhy = 'the lua-lua reference run was not made';
    let cannotRun: string | null = null;
    // The reference first (run even when not asked for), so the other directions can be compared with it.
    const ordered: Direction[] = ['lua-lua', ...dirs.filter((d) => d !== 'lua-lua')];
    for (const d of ordered) {
      const started = Date.now();
      const base = { scenario: s.id, direction: d, differences: [] as DirectionResult['differences'] };
      const wanted = dirs.includes(d);
      // The reference could not run on this machine (a port it needs): neither can the others.
      if (cannotRun !== null) {
        if (wanted) emit({ ...base, verdict: 'skip', reason: cannotRun, durationMs: 0 });
        continue;
      }
      if (skip && runsLua(d)) {
        if (wanted) emit({ ...base, verdict: 'skip', reason: skip, durationMs: 0 });
        if (d === 'lua-lua') referenceWhy = `the lua-lua reference was skipped (${skip})`;
        continue;
      }
      if (runsLua(d) && (await supervisor.check(`before ${s.id} ${d}`)) === 'dead') {
        referenceWhy = `the peer is dead: ${supervisor.dead}`;
        if (wanted) emit({ ...base, verdict: 'error', reason: supervisor.dead!, durationMs: 0 });
        continue;
      }
      // Nothing to compare our side with: no verdict. A scenario whose reference needs a newer
      // library still checks ts-ts against its own check (our v0.12 behaviour), when it has one.
      if (d !== 'lua-lua' && reference === null && !(skip && !runsLua(d) && s.check)) {
        if (wanted) emit({ ...base, verdict: 'error', reason: `no reference: ${referenceWhy}${skip && !s.check ? ' and the scenario has no check of its own' : ''}`, durationMs: 0 });
        continue;
      }
      let affected = false;
      const once = async (): Promise<Awaited<ReturnType<typeof attempt>>> => {
        let out = await attempt(supervisor.current, s, d, reference, wanted, libVersion);
        // A Lua run that errored because the peer died: restart it and run again (not a retry).
        if (runsLua(d) && out.records === null && (await supervisor.check(`after ${s.id} ${d}`)) === 'restarted') {
          affected = true;
          out = await attempt(supervisor.current, s, d, reference, wanted, libVersion);
        }
        return out;
      };
      let outcome = await once();
      const first = outcome.result;
      for (let left = opts.retries ?? 1; left > 0 && outcome.result !== null && outcome.result.verdict !== 'pass' && outcome.result.verdict !== 'skip'; left--) {
        if (supervisor.dead) break;
        outcome = await once();
      }
      if (d === 'lua-lua') {
        if (outcome.records) reference = outcome.records;
        else if (outcome.result?.verdict === 'skip') cannotRun = outcome.result.reason ?? 'skipped';
        else referenceWhy = `the lua-lua reference run errored: ${(outcome.result?.reason ?? 'no records').split('\n')[0]}`;
      }
      if (outcome.result === null) continue;
      const flaky = first !== null && first !== outcome.result && outcome.result.verdict === 'pass' ? { flaky: first.reason ?? first.verdict } : {};
      emit({ ...outcome.result, ...flaky, ...(affected ? { affectedByPeerDeath: true as const } : {}), durationMs: Date.now() - started });
    }
  }
  return results;
}
