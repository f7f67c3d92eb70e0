// The differential comparator: our implementation's step records against the Lua library's for
// the same steps, call by call. Differences that are known and explained (a newer library version,
// a socket error whose wording depends on timing) are kept but marked, never hidden.
import { versionAtLeast } from '../../lab/peers/types.js';
import type { LuaRet, StepRecord } from '../../lab/peers/lua-api.js';

export interface RecordDifference {
  step: number;
  op: string;
  lua: unknown;
  ours: unknown;
  explained?: string;
}

/** A printable form of a return value (bytes as text when printable, else hex; long ones summarised). */
export function showValue(v: LuaRet | undefined): unknown {
  if (v === undefined || v === null) return null;
  if (Buffer.isBuffer(v)) {
    const s = v.toString('latin1');
    const printable = /^[\x20-\x7e\r\n\t]*$/.test(s) ? v.toString('utf8') : Buffer.from(v).toString('utf8');
    if (v.length > 96) return `<${v.length} bytes: ${JSON.stringify(printable.slice(0, 40))}...>`;
    return /^[\x20-\x7e\r\n\t]*$/.test(s) ? s : { hex: v.toString('hex') };
  }
  return v;
}

export function showRecord(r: StepRecord | undefined): unknown {
  if (!r) return null;
  return { ret: r.ret.map(showValue), ...(r.state ? { state: r.state } : {}), ...(r.luaError ? { luaError: r.luaError } : {}) };
}

// Socket errors whose wording depends on who closed first: the TCP stack decides between a FIN
// ("closed"), an RST ("connection reset by peer") and a failed write ("broken pipe").
const SOCKET_ERROR_VARIANTS = /: (closed|connection reset by peer|broken pipe)$/;

function normaliseValue(op: string, i: number, v: LuaRet | undefined): unknown {
  if (v === undefined || v === null) return null;
  if (Buffer.isBuffer(v)) {
    let s = v.toString('latin1');
    // connect's raw response header carries the server's Date/Server lines: keep the status line.
    if (op === 'connect' && i === 2 && s.startsWith('HTTP/')) s = s.split('\r\n')[0]!;
    if (SOCKET_ERROR_VARIANTS.test(s)) s = s.replace(SOCKET_ERROR_VARIANTS, ': <socket closed>');
    if (s === 'closed' || s === 'connection reset by peer' || s === 'broken pipe') s = '<socket closed>';
    return s.length > 200 ? `${s.length}:${hash(s)}` : s;
  }
  return v;
}

function hash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h.toString(16);
}

function normalise(r: StepRecord): string {
  return JSON.stringify({ op: r.op, ret: r.ret.map((v, i) => normaliseValue(r.op, i, v)), state: r.state ?? null, luaError: r.luaError ?? null });
}

/** Why a difference is expected for the Lua library version in use, or null. */
export function explainDifference(lua: StepRecord | undefined, ours: StepRecord | undefined, libVersion: string): string | null {
  if (!lua || !ours || lua.op !== ours.op) return null;
  if (!versionAtLeast(libVersion, '0.12') && lua.op === 'connect') {
    const l = lua.ret;
    const o = ours.ret;
    if (l[0] === o[0] && (l[1] ?? null) === null && (o[1] ?? null) === null && (l[2] ?? null) === null && o[2] !== null) {
      return `lua-resty-websocket ${libVersion} returns no third value from connect (added in v0.12, 06c8886)`;
    }
  }
  return null;
}

/** Compares two record lists; every difference comes with both values. */
export function compareRecords(lua: StepRecord[], ours: StepRecord[], libVersion: string): RecordDifference[] {
  const out: RecordDifference[] = [];
  const n = Math.max(lua.length, ours.length);
  for (let i = 0; i < n; i++) {
    const l = lua[i];
    const o = ours[i];
    if (l && o && normalise(l) === normalise(o)) continue;
    const diff: RecordDifference = { step: i, op: (l ?? o)!.op, lua: showRecord(l), ours: showRecord(o) };
    const why = explainDifference(l, o, libVersion);
    if (why) diff.explained = why;
    out.push(diff);
  }
  return out;
}
