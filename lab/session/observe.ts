// Runs one session on one side: the real library in nginx, or ours, against the same raw peer, and
// records what it did (an observation): every call's return values, the head the peer received, the
// frames on the wire and whether the library closed TCP. Comparing two observations is
// lab/session/compare.ts's (a pure function); lab/session/run.ts does both for one session.
import { randomBytes } from 'node:crypto';
import { newClient } from 'resty-websocket/client';
import { registerLuaServer, runLuaClient, type Step, type StepRecord } from '../peers/lua-api.js';
import type { RunningPeer } from '../peers/types.js';
import { freePort } from '../ports.js';
import { startTsScriptedServer } from '../ts-server.js';
import { runTsStep, type StepTarget } from '../ts-steps.js';
import { closeWaitMs, RST_SETTLE_MS, runRawClient, startRawServer } from './raw-peers.js';
import type { ClientSession, ServerSession, Session, SessionObservation } from './types.js';
import { decodeFrames } from '../wire.js';

export type Side = 'lua' | 'ours';

/** The library program a server session runs (ours: a model of the Lua library, or a planted variant in tests). */
export interface SessionTargets {
  /** Wraps our server object before the steps run (tests plant divergences with it). */
  wrapServer?: (ws: StepTarget) => StepTarget;
  /** Wraps our client object. */
  wrapClient?: (c: StepTarget) => StepTarget;
}

function portOf(url: string): number {
  return Number(new URL(url.replace(/^ws/, 'http')).port);
}

function timeoutOf(o: Record<string, unknown>): number {
  const t = Number(o.timeout);
  return Number.isFinite(t) && t > 0 ? t : 60_000;
}

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p, new Promise<T>((_, rej) => (timer = setTimeout(() => rej(new Error(`${what} did not finish within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export async function observeServerSession(side: Side, s: ServerSession, peer: RunningPeer | null, targets: SessionTargets = {}): Promise<SessionObservation> {
  const wait = closeWaitMs(timeoutOf(s.opts), s.steps);
  if (side === 'lua') {
    if (!peer) throw new Error('the Lua side needs a peer');
    const reg = await registerLuaServer(peer, { opts: s.opts, steps: s.steps, prelude: s.prelude });
    const raw = await runRawClient(portOf(peer.wsUrl), reg.path, s, wait);
    const res = await reg.results(wait + 5000);
    if (!res.done && res.records.length === 0) throw new Error(`the Lua server never ran the session (${reg.path}); nginx: ${(await peer.errorLog(600)).trim().split('\n').slice(-2).join(' | ')}`);
    return { records: res.records, head: raw.head, wire: decodeFrames(raw.after), libraryClosed: raw.libraryClosed, reset: raw.reset };
  }
  const steps = s.steps;
  const srv = await startTsScriptedServer({ opts: s.opts, steps, tls: false, requireClientCert: false, wrap: targets.wrapServer });
  try {
    const raw = await runRawClient(portOf(srv.url), '/scripted', s, wait);
    const records = srv.connected ? await withTimeout(srv.records, wait + 5000, 'our server') : [];
    return { records, head: raw.head, wire: decodeFrames(raw.after), libraryClosed: raw.libraryClosed, reset: raw.reset };
  } finally {
    await srv.close();
  }
}

/** The client program with the run's URI and a run-private pool name in every connect step. */
function clientSteps(s: ClientSession, port: number, runId: string): Step[] {
  const scheme = s.target === 'wss' ? 'wss' : s.target === 'bad-uri' ? 'http' : 'ws';
  const uri = `${scheme}://127.0.0.1:${port}${s.path}`;
  return s.steps.map((x) => (x.op === 'connect' ? { op: 'connect', uri, opts: { ...(x.opts ?? {}), pool: `${String(x.opts?.pool ?? 'session')}-${runId}` } } : x));
}

async function runOursClient(s: ClientSession, steps: Step[], targets: SessionTargets, trustedCa: string): Promise<StepRecord[]> {
  const make = (o: Record<string, unknown>): StepTarget => {
    // The trust store the Lua client has in nginx (lua_ssl_trusted_certificate): the peer's CA.
    // A generated session's options and step arguments are Lua-like values, odd types included on
    // purpose (the Lua client gets the same ones): they pass through the loosely typed StepTarget.
    const c = newClient({ ...(o as object), resolver: false, trustedCa }) as unknown as StepTarget;
    opened.push(c);
    return targets.wrapClient ? targets.wrapClient(c) : c;
  };
  const opened: StepTarget[] = [];
  let client = make(s.newOpts);
  const records: StepRecord[] = [{ op: 'new', ret: [true, null] }];
  const connect = async (obj: StepTarget, step: Extract<Step, { op: 'connect' }>) => {
    const r = await obj.connect!(step.uri, step.opts);
    return [r.ok, r.err === null ? null : Buffer.from(r.err, 'latin1'), r.res === null ? null : Buffer.from(r.res, 'latin1')];
  };
  try {
    for (const step of steps) {
      if (step.op === 'new') {
        client = make(step.opts ?? {});
        records.push({ op: 'new', ret: [true, null] });
        continue;
      }
      records.push(await runTsStep(client, step, connect));
    }
  } finally {
    // Like the end of the nginx request that runs the Lua client: its sockets close, pooled ones stay pooled.
    for (const c of opened) await (c as unknown as { socket?: { close(): Promise<unknown> } }).socket?.close();
  }
  return records;
}

export async function observeClientSession(side: Side, s: ClientSession, peer: RunningPeer | null, targets: SessionTargets = {}): Promise<SessionObservation> {
  const raw = await startRawServer(s);
  const runId = randomBytes(4).toString('hex');
  try {
    // refused: a port nothing listens on (it was free a moment ago)
    const steps = clientSteps(s, s.target === 'refused' ? await freePort() : raw.port, runId);
    const limit = 10_000 + timeoutOf(s.newOpts) * (steps.length + 2);
    let records: StepRecord[];
    if (side === 'lua') {
      if (!peer) throw new Error('the Lua side needs a peer');
      records = await runLuaClient(peer, { newOpts: s.newOpts, steps }, Math.min(limit, 60_000));
    } else {
      if (!peer && s.target === 'wss') throw new Error('a wss session needs the peer (its CA is the trust store)');
      records = await withTimeout(runOursClient(s, steps, targets, peer?.caPem ?? ''), limit, 'our client');
    }
    // The request that ran the program has answered: its sockets close now, within the run's lag (the time scale).
    const scale = (s.settleMs ?? RST_SETTLE_MS) / RST_SETTLE_MS;
    const conns = await raw.done((s.end === 'hold' ? 300 : 200) * scale);
    const first = conns[0];
    return {
      records,
      head: first?.head ?? null,
      wire: decodeFrames(first?.after ?? Buffer.alloc(0)),
      libraryClosed: first?.libraryClosed ?? false,
      reset: first?.reset ?? false,
      connections: conns.length,
      laterHeads: conns.slice(1).map((c) => c.head ?? ''),
    };
  } finally {
    raw.close();
  }
}

export function observeSession(side: Side, s: Session, peer: RunningPeer | null, targets: SessionTargets = {}): Promise<SessionObservation> {
  return s.role === 'server' ? observeServerSession(side, s, peer, targets) : observeClientSession(side, s, peer, targets);
}
