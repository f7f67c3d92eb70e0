// The differential comparator: our implementation's step records against the Lua library's for
// the same steps, call by call. Differences that are known and explained (a newer library version,
// a socket error whose wording depends on timing) are kept but marked, never hidden.
import { acceptFor } from 'resty-websocket';
import { versionAtLeast } from './peers/types.js';
import type { LuaRet, StepRecord } from './peers/lua-api.js';

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

/**
 * What the comparator normalises, and nothing else (everything else in a head is compared byte for byte):
 * - in connect's raw response header: the `Date` and `Server` lines (nginx's own, environmental; our
 *   server sends neither) are dropped, and a Sec-WebSocket-Accept that follows from a random key
 *   becomes `<accept>`;
 * - in a request head (the `request_head` step): a random Sec-WebSocket-Key becomes `<key>`, the
 *   port of `Host: 127.0.0.1:<port>` becomes `<port>` (each server listens on a free port) and the
 *   run's routing query `/scripted?id=N` becomes `/scripted`;
 * - socket errors that depend on who closed first (see SOCKET_ERROR_VARIANTS).
 * Heads are split on CRLF only: a bare LF inside a head is part of the line it stands in, so a head
 * joined with bare LFs never compares equal to one joined with CRLFs.
 */
export interface NormaliseOptions {
  /**
   * The Sec-WebSocket-Key values the program chose itself (connect's `key` option), or 'all' when
   * every key was chosen (our raw client's, in server sessions). Any other key was drawn at random by
   * the client, per connect: it and the Accept that follows from it are not compared. Default: none.
   */
  chosenKeys?: readonly string[] | 'all';
}

/** A head's value after `name:`, to the end of its line (leading blanks dropped), or null. */
function headerValue(line: string, name: string): string | null {
  if (line.length <= name.length || line[name.length] !== ':' || line.slice(0, name.length).toLowerCase() !== name) return null;
  return line.slice(name.length + 1).replace(/^[ \t]*/, '');
}

function chosenAccepts(o: NormaliseOptions): readonly string[] | 'all' {
  return o.chosenKeys === 'all' ? 'all' : (o.chosenKeys ?? []).map((k) => acceptFor(k));
}

const isChosen = (v: string, chosen: readonly string[] | 'all'): boolean => chosen === 'all' || chosen.includes(v);

export function normaliseResponseHead(s: string, o: NormaliseOptions = {}): string {
  const accepts = chosenAccepts(o);
  return s
    .split('\r\n')
    .filter((line) => !/^(date|server):/i.test(line))
    .map((line) => {
      const accept = headerValue(line, 'sec-websocket-accept');
      return accept === null || isChosen(accept, accepts) ? line : `${line.slice(0, line.length - accept.length)}<accept>`;
    })
    .join('\r\n');
}

export function normaliseRequestHead(s: string, o: NormaliseOptions = {}): string {
  const keys = o.chosenKeys ?? [];
  return s
    .split('\r\n')
    .map((line, i) => {
      if (i === 0) return line.replace(/^(\S+ \/scripted)\?id=\d+/, '$1');
      const key = headerValue(line, 'sec-websocket-key');
      if (key !== null && !isChosen(key, keys)) return `${line.slice(0, line.length - key.length)}<key>`;
      return line.replace(/^(host:[ \t]*127\.0\.0\.1):\d+$/i, '$1:<port>');
    })
    .join('\r\n');
}

const BAD_STATUS = 'bad HTTP response status line: ';

function normaliseValue(op: string, i: number, v: LuaRet | undefined, o: NormaliseOptions): unknown {
  if (v === undefined || v === null) return null;
  if (Buffer.isBuffer(v)) {
    let s = v.toString('latin1');
    if (op === 'connect' && i === 2 && /^\s*HTTP\//.test(s)) s = normaliseResponseHead(s, o);
    // The refused header block is quoted in the error: the same normalisation.
    if (op === 'connect' && i === 1 && s.startsWith(BAD_STATUS)) s = BAD_STATUS + normaliseResponseHead(s.slice(BAD_STATUS.length), o);
    if (op === 'request_head' && i === 0) s = normaliseRequestHead(s, o);
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

function normalise(r: StepRecord, o: NormaliseOptions): string {
  return JSON.stringify({ op: r.op, ret: r.ret.map((v, i) => normaliseValue(r.op, i, v, o)), state: r.state ?? null, luaError: r.luaError ?? null });
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
export function compareRecords(lua: StepRecord[], ours: StepRecord[], libVersion: string, norm: NormaliseOptions = {}): RecordDifference[] {
  const opts = norm;
  const out: RecordDifference[] = [];
  const n = Math.max(lua.length, ours.length);
  for (let i = 0; i < n; i++) {
    const l = lua[i];
    const o = ours[i];
    if (l && o && normalise(l, opts) === normalise(o, opts)) continue;
    const diff: RecordDifference = { step: i, op: (l ?? o)!.op, lua: showRecord(l), ours: showRecord(o) };
    const why = explainDifference(l, o, libVersion);
    if (why) diff.explained = why;
    out.push(diff);
  }
  return out;
}
