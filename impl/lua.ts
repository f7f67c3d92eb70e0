// Lua semantics the original relies on, in one place: truthiness (`if opts.x`), `a or b`, LuaJIT's
// bit.tobit, type names in Lua's error messages, and how ngx_lua's tcpsock:settimeout reads its
// argument. Every option of the server and the client is read through these.

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
