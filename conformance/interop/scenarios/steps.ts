// Short constructors for scenario steps and for the assertions of the upstream tests.
import assert from 'node:assert/strict';
import type { LuaRet, PayloadSpec, Step, StepRecord } from '../../../lab/peers/lua-api.js';

export const recv: Step = { op: 'recv_frame' };
export const text = (payload: PayloadSpec): Step => ({ op: 'send_text', payload });
export const binary = (payload: PayloadSpec): Step => ({ op: 'send_binary', payload });
export const ping = (payload?: PayloadSpec): Step => ({ op: 'send_ping', payload: payload ?? null });
export const pong = (payload?: PayloadSpec): Step => ({ op: 'send_pong', payload: payload ?? null });
export const close = (code?: number | string | null, msg?: PayloadSpec): Step => ({ op: 'send_close', code: code ?? null, msg: msg ?? null });
export const frame = (fin: boolean, opcode: number, payload: PayloadSpec): Step => ({ op: 'send_frame', fin, opcode, payload });
export const cont = (payload: PayloadSpec): Step => ({ op: 'send_continue', payload });
export const timeout = (ms: number): Step => ({ op: 'set_timeout', ms });
export const sleep = (ms: number): Step => ({ op: 'sleep', ms });
export const closeSock: Step = { op: 'close' };
export const keepalive = (timeout?: number, size?: number): Step => ({ op: 'set_keepalive', timeout, size });
export const fill = (len: number, ch = 'a'): PayloadSpec => ({ fill: ch, len });

/** The step record whose op is `op`, the n-th of them (0-based). */
export function nth(records: StepRecord[], op: string, n = 0): StepRecord {
  const found = records.filter((r) => r.op === op)[n];
  assert.ok(found, `no ${op} #${n} in ${records.map((r) => r.op).join(',')}`);
  return found;
}

/** A readable form of a return list: bytes as strings (long ones as their length). */
export function show(ret: LuaRet[]): unknown[] {
  return ret.map((v) => (Buffer.isBuffer(v) ? (v.length > 64 ? `<${v.length} bytes>` : v.toString('utf8')) : v));
}

/** recv_frame returned these data, type and err. `data` may be a length for big payloads. */
export function expectFrame(rec: StepRecord, data: string | number | null, type: string | null, err: string | number | null): void {
  const [d, t, e] = rec.ret;
  if (typeof data === 'number') assert.equal(Buffer.isBuffer(d) ? d.length : d, data, `data length of ${JSON.stringify(show(rec.ret))}`);
  else assert.equal(Buffer.isBuffer(d) ? d.toString('utf8') : d, data, `data of ${JSON.stringify(show(rec.ret))}`);
  assert.equal(Buffer.isBuffer(t) ? t.toString() : t, type, `type of ${JSON.stringify(show(rec.ret))}`);
  if (typeof err === 'string') assert.equal(Buffer.isBuffer(e) ? e.toString() : e, err, `err of ${JSON.stringify(show(rec.ret))}`);
  else assert.equal(e, err, `err of ${JSON.stringify(show(rec.ret))}`);
}

/** An error text matching `re` in position `i` of the return list. */
export function expectErr(rec: StepRecord, re: RegExp, i = rec.op === 'recv_frame' ? 2 : 1): void {
  const e = rec.ret[i];
  assert.ok(Buffer.isBuffer(e) && re.test(e.toString()), `expected ${re} in ${JSON.stringify(show(rec.ret))}`);
}

/** A send that succeeded with this many bytes (or any count). */
export function expectSent(rec: StepRecord, bytes?: number): void {
  assert.equal(typeof rec.ret[0], 'number', `send failed: ${JSON.stringify(show(rec.ret))}`);
  if (bytes !== undefined) assert.equal(rec.ret[0], bytes);
}

/**
 * A 101 response head (connect's third value) with these header values (names case-insensitive, as
 * Test::Nginx's response_headers compares them) and, like sanity.t 1's "!Content-Type", without
 * the headers named in `absent`.
 */
export function expectResponseHeaders(res: string, want: Record<string, string>, absent: string[] = []): void {
  const ls = res.split('\r\n');
  assert.match(ls[0]!, /^HTTP\/1\.1 101 Switching Protocols$/, `status line of ${JSON.stringify(res)}`);
  const value = (name: string): string | undefined => {
    const l = ls.slice(1).find((x) => x.toLowerCase().startsWith(`${name.toLowerCase()}:`));
    return l === undefined ? undefined : l.slice(name.length + 1).trim();
  };
  for (const [name, v] of Object.entries(want)) assert.equal(value(name), v, `${name} in ${JSON.stringify(res)}`);
  for (const name of absent) assert.equal(value(name), undefined, `${name} in ${JSON.stringify(res)}`);
}
