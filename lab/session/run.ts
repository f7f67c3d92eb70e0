// Runs one session against the real library in nginx and against ours, with the same raw peer,
// and compares what each did: every call's return values, the head the peer received, the frames
// on the wire (masking keys normalised) and whether the library closed TCP.
import { randomBytes } from 'node:crypto';
import { registerLuaServer, runLuaClient, type Step, type StepRecord } from '../peers/lua-api.js';
import type { RunningPeer } from '../peers/types.js';
import { compareRecords, normaliseRequestHead, normaliseResponseHead, showRecord, type NormaliseOptions } from '../compare.js';
import { startTsScriptedServer } from '../ts-server.js';
import { runTsStep, type StepTarget } from '../ts-steps.js';
import { newClient } from 'resty-websocket/client';
import { freePort } from '../ports.js';
import { closeWaitMs, runRawClient, startRawServer } from './raw-peers.js';
import { explainFirstDivergence, type FirstDivergence, type KnownDifference } from './known.js';
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
  const wait = closeWaitMs(timeoutOf(s.opts), s.steps.length);
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
    const conns = await raw.done(s.end === 'hold' ? 300 : 200);
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

export interface SessionComparison {
  /** The first divergence, or null when both sides did the same. */
  first: FirstDivergence | null;
  /** The declared difference that explains `first`, if any. */
  explained: KnownDifference | null;
  /** Record-level explained differences (not divergences: state unchanged), by reason. */
  recordExplained: string[];
}

/**
 * The keys the session chose. Our raw client's key is fixed by a server session; a client connect
 * draws its own key at random unless it passes a string `key` (client.lua gives each connect its own).
 */
function chosenKeys(s: Session): NormaliseOptions['chosenKeys'] {
  if (s.role === 'server') return 'all';
  return s.steps.flatMap((x) => (x.op === 'connect' && typeof x.opts?.key === 'string' ? [x.opts.key] : []));
}

export function normalisedHead(s: Session, head: string | null): string | null {
  if (head === null) return null;
  const o = { chosenKeys: chosenKeys(s) };
  return s.role === 'server' ? normaliseResponseHead(head, o) : normaliseRequestHead(head, o);
}

export function compareObservations(s: Session, lua: SessionObservation, ours: SessionObservation, libVersion: string): SessionComparison {
  const recordExplained: string[] = [];
  const diffs = compareRecords(lua.records, ours.records, libVersion, { chosenKeys: chosenKeys(s) });
  /** A difference that changes no state is counted under its record-level reason; any other one diverges. */
  const diverges = (fd: FirstDivergence): boolean => {
    const known = explainFirstDivergence(fd, s, libVersion, 'record');
    if (known) recordExplained.push(known.id);
    return known === null;
  };
  let first: FirstDivergence | null = null;
  for (const d of diffs) {
    if (d.explained) {
      recordExplained.push(d.explained);
      continue;
    }
    const fd: FirstDivergence = { channel: 'records', step: d.step, op: d.op, lua: d.lua, ours: d.ours, luaRecord: lua.records[d.step], oursRecord: ours.records[d.step] };
    if (diverges(fd)) {
      first = fd;
      break;
    }
  }
  // A reset drops what the peer's kernel had not handed over yet: the side that saw less must have
  // seen a prefix of what the other saw (lab/session/types.ts SessionObservation.reset).
  const reset = !!(lua.reset || ours.reset);
  let luaHead = normalisedHead(s, lua.head);
  let oursHead = normalisedHead(s, ours.head);
  let luaWire: unknown = lua.wire;
  let oursWire: unknown = ours.wire;
  if (reset) {
    if (luaHead === null || oursHead === null) luaHead = oursHead = null;
    const [short, long] = lua.wire.frames.length <= ours.wire.frames.length ? [lua.wire, ours.wire] : [ours.wire, lua.wire];
    if (JSON.stringify(long.frames.slice(0, short.frames.length)) === JSON.stringify(short.frames)) luaWire = oursWire = 'prefix (reset)';
  }
  const channels: Array<[FirstDivergence['channel'], unknown, unknown]> = [
    ['head', luaHead, oursHead],
    ['wire', luaWire, oursWire],
    ['tcp', lua.libraryClosed ? 'library closed TCP' : 'TCP left open', ours.libraryClosed ? 'library closed TCP' : 'TCP left open'],
    ['connections', { connections: lua.connections ?? null, later: (lua.laterHeads ?? []).map((h) => normalisedHead(s, h)) }, { connections: ours.connections ?? null, later: (ours.laterHeads ?? []).map((h) => normalisedHead(s, h)) }],
  ];
  if (!first) {
    for (const [channel, l, o] of channels) {
      if (JSON.stringify(l) === JSON.stringify(o)) continue;
      const d: FirstDivergence = { channel, lua: l, ours: o };
      if (diverges(d)) {
        first = d;
        break;
      }
    }
  }
  return { first, explained: first ? explainFirstDivergence(first, s, libVersion) : null, recordExplained };
}

/** A one-line description of a divergence. */
export function describeDivergence(d: FirstDivergence): string {
  const show = (v: unknown): string => JSON.stringify(v).slice(0, 160);
  if (d.channel === 'records') return `step ${d.step} (${d.op}): lua ${show(d.luaRecord ? showRecord(d.luaRecord) : null)} vs ours ${show(d.oursRecord ? showRecord(d.oursRecord) : null)}`;
  return `${d.channel}: lua ${show(d.lua)} vs ours ${show(d.ours)}`;
}
