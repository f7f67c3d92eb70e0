// The harness side of our Lua endpoints (fixtures/lua/wslab): run steps on the real library as a
// server (/script + /scripted + /results) or as a client (/client), and read back every return
// value in the same shape our implementation's results are recorded in.
import type { RunningPeer } from './types.js';

/** A payload as the Lua side builds it. */
export type PayloadSpec = null | string | number | boolean | { hex: string } | { fill: string; len: number };

export type Step =
  | { op: 'recv_frame' }
  | { op: 'send_text' | 'send_binary' | 'send_ping' | 'send_pong' | 'send_continue'; payload?: PayloadSpec }
  | { op: 'send_close'; code?: number | string | null; msg?: PayloadSpec }
  | { op: 'send_frame'; fin: boolean; opcode: number; payload?: PayloadSpec }
  | { op: 'set_timeout'; ms: number }
  | { op: 'sleep'; ms: number }
  | { op: 'close' }
  | { op: 'set_keepalive'; timeout?: number; size?: number }
  | { op: 'connect'; uri: string; opts?: Record<string, unknown> }
  | { op: 'new'; opts?: Record<string, unknown> }
  | { op: 'randomseed'; seed: number }
  /** Client endpoint only: a method called on the module table itself (no socket: the "not initialized" branches). */
  | { op: 'on_module'; module: 'client' | 'server'; call: Step }
  /** Server only: the request head as received (request line + headers, no final blank line). */
  | { op: 'request_head' }
  /** Server only: the TLS server name (SNI) the client sent, or nil. */
  | { op: 'tls_info' };

/** One returned Lua value: strings are bytes. */
export type LuaRet = null | boolean | number | Buffer | { other: string };

export interface StepRecord {
  op: string;
  ret: LuaRet[];
  state?: { fatal: boolean; closed: boolean };
  /** A Lua error raised inside the library (pcall caught it). */
  luaError?: string;
}

type Wire = { op: string; ret?: unknown; state?: { fatal: boolean; closed: boolean }; lua_error?: string; error?: string };

function toWirePayload(p: PayloadSpec | undefined): unknown {
  if (p === undefined || p === null) return null;
  if (typeof p === 'string') return { s: Buffer.from(p, 'utf8').toString('base64') };
  if (typeof p === 'number' || typeof p === 'boolean') return p;
  if ('hex' in p) return { s: Buffer.from(p.hex, 'hex').toString('base64') };
  return { fill: p.fill, len: p.len };
}

export function toWireStep(step: Step): Record<string, unknown> {
  const out: Record<string, unknown> = { ...step };
  if ('payload' in step) out.payload = toWirePayload(step.payload);
  if ('msg' in step) out.msg = toWirePayload(step.msg);
  if (step.op === 'on_module') out.call = toWireStep(step.call);
  return out;
}

function decodeValue(v: unknown): LuaRet {
  if (v === null || typeof v === 'boolean' || typeof v === 'number') return v;
  if (typeof v === 'object' && v !== null && 's' in v) return Buffer.from((v as { s: string }).s, 'base64');
  if (typeof v === 'object' && v !== null && 'other' in v) return v as { other: string };
  return null;
}

function decodeRecords(wire: Wire[]): StepRecord[] {
  return wire.map((w) => {
    if (w.error) throw new Error(`Lua endpoint: ${w.error}`);
    // Debian's lua-cjson encodes an empty table as {}: read it as an empty list.
    const ret = Array.isArray(w.ret) ? w.ret.map(decodeValue) : [];
    const rec: StepRecord = { op: w.op, ret };
    if (w.state) rec.state = { fatal: !!w.state.fatal, closed: !!w.state.closed };
    if (w.lua_error !== undefined) rec.luaError = w.lua_error;
    return rec;
  });
}

async function postJson(url: string, body: unknown, timeoutMs: number): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text);
}

/** Runs a resty.websocket.client inside nginx with these steps; returns every call's results. */
export async function runLuaClient(
  peer: RunningPeer,
  script: { newOpts?: Record<string, unknown>; steps: Step[] },
  timeoutMs = 30_000,
): Promise<StepRecord[]> {
  const body = { new_opts: script.newOpts ?? {}, steps: script.steps.map(toWireStep) };
  const res = (await postJson(`${peer.httpUrl}/client`, body, timeoutMs)) as { results: Wire[] };
  return decodeRecords(res.results);
}

/**
 * Registers server steps; the returned path (/scripted?id=...) is where a client must connect for
 * the Lua server to run them. `results()` waits for the run to finish; `claimed` is false while no
 * request has reached /scripted for the script.
 */
export async function registerLuaServer(
  peer: RunningPeer,
  script: { opts?: Record<string, unknown>; steps: Step[]; lingerMs?: number; prelude?: 'send_headers' },
): Promise<{ path: string; results: (waitMs?: number) => Promise<{ done: boolean; claimed: boolean; records: StepRecord[] }> }> {
  const body = { opts: script.opts ?? {}, steps: script.steps.map(toWireStep), linger_ms: script.lingerMs ?? null, prelude: script.prelude ?? null };
  const { id } = (await postJson(`${peer.httpUrl}/script`, body, 10_000)) as { id: string };
  return {
    path: `/scripted?id=${id}`,
    results: async (waitMs = 10_000) => {
      const res = await fetch(`${peer.httpUrl}/results?id=${id}&wait=${waitMs}`, { signal: AbortSignal.timeout(waitMs + 5000) });
      const j = JSON.parse(await res.text()) as { results?: Wire[]; done?: boolean; claimed?: boolean; error?: string };
      return { done: !!j.done, claimed: j.claimed !== false, records: decodeRecords(j.results ?? []) };
    },
  };
}
