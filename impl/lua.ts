// Lua semantics the original relies on, in one place: truthiness (`if opts.x`), `a or b`, LuaJIT's
// bit.tobit, type names in Lua's error messages, and how ngx_lua's tcpsock:settimeout reads its
// argument. Every option of the server and the client is read through these.
import { EMPTY } from './byte-queue.js';

/** Lua truthiness: only nil and false are false (0 and "" are true). */
export function luaTruthy(v: unknown): boolean {
  return v !== null && v !== undefined && v !== false;
}

/** Lua's `a or b`. */
export function luaOr<T>(v: T | null | undefined | false, fallback: T): T {
  return v === null || v === undefined || v === false ? fallback : v;
}

const tobitView = new Float64Array(1);
const tobitInt = new Int32Array(tobitView.buffer);
/** LuaJIT's bit.tobit: round to nearest (ties to even) and wrap to 32 bits. */
export function luaTobit(x: number): number {
  tobitView[0] = x + 6755399441055744.0; // 2^52 + 2^51
  return tobitInt[0]!;
}

/** Lua's type() of a JavaScript value as the original would see it. */
export function luaTypeName(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string' || Buffer.isBuffer(v)) return 'string';
  if (typeof v === 'function') return 'function';
  return 'table';
}

/** lua_tonumber: numbers, and strings that read as numbers (" 10 ", "0x10"); anything else is 0. */
export function luaToNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '') {
    const t = v.trim();
    const n = /^[-+]?0[xX][0-9a-fA-F]+$/.test(t) ? Number.parseInt(t, 16) : Number(t);
    return Number.isNaN(n) ? 0 : n;
  }
  return 0;
}

/**
 * tcpsock:settimeout(t) as ngx_lua reads it: `(ngx_int_t) lua_tonumber(L, 2)`, and a value that is
 * not above 0 (0, negative, not a number) means "the configured default" (lua_socket_*_timeout,
 * 60 s), not "no timeout" and not "immediately". Returns the timeout in ms to use.
 */
export function luaSocketTimeout(v: unknown, defaultMs: number): number {
  const n = Math.trunc(luaToNumber(v));
  return n > 0 ? n : defaultMs;
}

/** send_frame's payload coercion: `if not payload then "" elseif not a string then tostring`. */
export function luaPayload(v: unknown): Buffer {
  if (v === null || v === undefined || v === false) return EMPTY;
  return luaToString(v);
}

/** Lua's tostring for the values a payload can be: strings/Buffers as they are, numbers as "%.14g". */
export function luaToString(v: unknown): Buffer {
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string') return Buffer.from(v, 'utf8');
  if (typeof v === 'number') return Buffer.from(formatLuaNumber(v), 'latin1');
  if (v === null || v === undefined) return Buffer.from('nil', 'latin1');
  return Buffer.from(String(v), 'utf8');
}

/** LuaJIT's number formatting, C's "%.14g". */
export function formatLuaNumber(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mantissa, expText] = x.toExponential(13).split('e') as [string, string];
  const exp = Number(expText);
  const strip = (s: string): string => (s.includes('.') ? s.replace(/\.?0+$/, '') : s);
  if (exp < -4 || exp >= 14) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${strip(mantissa)}e${sign}${digits}`;
  }
  return strip(x.toFixed(Math.max(0, 13 - exp)));
}
