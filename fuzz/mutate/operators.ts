// Single-point mutation operators for the Lua library's three files. Each mutant changes one
// token or one line; the line's before/after is the mutant's one-line description. Mutants of
// lines no peer can observe (the _VERSION strings, table pre-sizing, debug logging) are produced
// too and marked equivalent with the reason, so the kill rate is over the rest.

export type Operator =
  | 'flip-comparison'
  | 'off-by-one'
  | 'constant'
  | 'drop-check'
  | 'swap-checks'
  | 'error-string'
  | 'drop-flag'
  | 'default'
  | 'drop-header';

export interface Mutant {
  /** file:line:operator:n */
  id: string;
  file: string;
  /** 1-based */
  line: number;
  operator: Operator;
  before: string;
  after: string;
  /** Set when the mutant cannot change what a peer observes. */
  equivalent?: string;
  /** The whole mutated file. */
  source: string;
}

/** Why a line's mutants cannot be observed, or null. */
export function unobservable(line: string): string | null {
  if (/_VERSION\s*=/.test(line)) return 'the module version string: no peer sees it (interop reads it only to pick skips)';
  if (/new_tab\s*\(/.test(line)) return 'table pre-sizing (table.new): capacity hints change no result';
  if (/^\s*local\s+str_buf_size\s*=/.test(line)) return "the shared scratch buffer's size: a payload that does not fit gets a buffer of its own (get_string_buf), so every size yields the same bytes";
  if (/\bngx_log\b|\bngx\.log\b|\bdebug\b.*log/.test(line)) return 'a log line: not on the wire, not returned';
  if (/^\s*local\s+\w+\s*=\s*(ngx|bit|string|table|ffi|math)\.\w+\s*$/.test(line)) return 'a local alias of a library function';
  // Not here: the "not initialized" branches (a method called on the module table reaches them: the
  // focused check does), the Sec-WebSocket-Key's rand(256) draws (math.randomseed makes the key a
  // function of the seed, and rand(256) - 0 can make string.char(256) raise: the focused check
  // seeds them), the ngx_lua version gate's direction (flipped, it turns SSL support off).
  return null;
}

/**
 * An off-by-one of the ngx_lua version gate (`ngx_lua_version < 9011` -> `< 9012`): both bounds are
 * far below any ngx_lua the lab runs (Debian's 0.10.23 is 10023; `wslab doctor` and the report show
 * the peer's), so the test is false either way. The flipped comparison is not equivalent.
 */
function versionGateBound(line: string): string | null {
  return /ngx_lua_version\s*<\s*\d+/.test(line) ? 'ngx_lua_version < 9011 and < 9012 are both false for any ngx_lua the lab runs (Debian 0.10.23 = 10023, the peer reports its own): the same branch either way' : null;
}

/**
 * `local sock, err = tcp()` / `if not sock then`: ngx.socket.tcp() returns a cosocket object or
 * raises (outside a cosocket context); it never returns nil, so the branch never runs.
 */
function tcpNeverNil(lines: readonly string[], i: number): string | null {
  return /^\s*if not sock then\s*$/.test(lines[i]!) && /^\s*local sock, err = tcp\(\)\s*$/.test(lines[i - 1] ?? '')
    ? 'ngx.socket.tcp() returns a cosocket object or raises (outside a cosocket context), never nil (lua-nginx-module ngx_http_lua_socket_tcp), so `if not sock` after it is never true'
    : null;
}

/**
 * `opcode <= 0xf` -> `<= 16` where `opcode = band(fst, 0x0f)`: a value that never exceeds the mask
 * passes both (and `> 0xf` -> `> 16` fails both), so the mutant is the same test.
 */
function bitFieldBound(before: string, match: string, v: number, masks: ReadonlyMap<string, number>): string | null {
  const name = /(\w+)\s*$/.exec(before)?.[1];
  const op = /^([<>]=?|==|~=)/.exec(match)?.[1];
  if (!name || masks.get(name) !== v || (op !== '<=' && op !== '>')) return null;
  return `${name} is band(..., ${v}): never above ${v}, so "${op} ${v}" and "${op} ${v + 1}" are the same test`;
}

/**
 * Branches no peer can make run: the failure line, and the `if` it is the body of. Each with why.
 */
const UNREACHABLE: ReadonlyArray<{ line: RegExp; guard: RegExp; why: string }> = [
  {
    line: /return nil, "failed to match the uri: "/,
    guard: /^\s*if err then\s*$/,
    why: 'ngx.re.match fails (rather than not matching) only when PCRE cannot compile the pattern or hits a match limit; this constant, anchored, linear pattern does neither, so no URI reaches the branch',
  },
  {
    line: /return nil, "failed to get reused times: "/,
    guard: /^\s*if not reused_count then\s*$/,
    why: 'sock:getreusedtimes() fails only on a cosocket without a live connection (lua-nginx-module: no peer connection, or both halves closed); client.lua calls it right after a connect that succeeded, with no yield between, so it always returns a count',
  },
  {
    line: /return nil, "failed to send response header: "/,
    guard: /^\s*if not ok then\s*$/,
    why: "ngx.send_headers() of the 101 fails only when nginx's output filters do: the head is buffered, not written (a failed write shows at ngx.flush, the next check), so no peer can make this branch run on demand",
  },
  {
    line: /return nil, "failed to flush response header: "/,
    guard: /^\s*if not ok then\s*$/,
    why: 'ngx.flush(true) of the 101 head succeeds even when the client is already gone: the head fits the socket\'s send buffer (tried: the request, then an RST at once, 5 of 5: new() returns the object and the next read says "connection reset by peer"), so no peer can make this branch run',
  },
];

/**
 * The close entry of protocol.lua's opcode-name table moved to a reserved opcode (`[0x8] = "close"`
 * -> `[7] = "close"`): recv_frame answers a close frame with a literal "close" before it looks the
 * table up, and refuses opcodes 3-7 and 0xb-0xf before that, so neither key is ever looked up.
 */
function unreadOpcodeName(line: string, after: string): string | null {
  if (!/^\s*\[0x8\]\s*=\s*"close",/.test(line)) return null;
  const key = /^\s*\[(\w+)\]/.exec(after)?.[1];
  const n = key === undefined ? Number.NaN : Number(key);
  const reserved = (n >= 3 && n <= 7) || (n >= 0xb && n <= 0xf);
  return reserved ? `recv_frame answers a close frame with a literal "close" before it reads the opcode-name table, and refuses opcode ${key} as reserved before that: neither entry is ever read` : null;
}

/**
 * client.lua's `if ssl and not ssl_support then` and its error: `ssl_support` is false only before
 * ngx_lua 0.9.11 (the version gate; Debian's is 0.10.23), so the branch never runs, and dropping the
 * check or changing its message changes nothing. Mutants that make the branch run are not equivalent.
 */
function sslSupportBranch(lines: readonly string[], i: number, after: string): string | null {
  const guard = /^\s*if ssl and not ssl_support then\s*$/;
  const why = 'ssl_support is false only before ngx_lua 0.9.11 (the version gate; the lab runs 0.10.23 or later), so this branch never runs';
  if (guard.test(lines[i]!) && /^\s*if false then\s*$/.test(after)) return why;
  if (/return nil, "ngx_lua 0\.9\.11\+ required for SSL sockets"/.test(lines[i]!) && guard.test(lines[i - 1] ?? '')) return why;
  return null;
}

/** Why line `i` belongs to a branch no peer can make run, or null. */
function unreachableBranch(lines: readonly string[], i: number): string | null {
  for (const u of UNREACHABLE) {
    if (u.line.test(lines[i]!) || (u.guard.test(lines[i]!) && u.line.test(lines[i + 1] ?? ''))) return u.why;
  }
  return null;
}

/**
 * A mutant of the condition of an `if` with an empty body (v0.08 server send_close: `if type(code) ~=
 * "number" or code > 0x7fff then end`): the condition decides nothing, only evaluating it could
 * matter (comparing a non-number raises). A mutant that leaves every `type(...)` guard as it was
 * evaluates the same operands in the same cases, so it is equivalent; one that changes a guard is not.
 */
function emptyIfCondition(lines: readonly string[], i: number, after: string): string | null {
  const line = lines[i]!;
  const m = /^\s*(?:if|elseif)\s+(.+?)\s+then\s*$/.exec(line);
  if (!m || (lines[i + 1] ?? '').trim() !== 'end') return null;
  let at = 0;
  while (at < line.length && line[at] === after[at]) at++;
  const condStart = line.indexOf(m[1]!);
  if (at < condStart || at >= condStart + m[1]!.length) return null;
  // the clause of the condition (split at `or` / `and`) the mutation is in
  const cond = m[1]!;
  const rel = at - condStart;
  const parts = cond.split(/(\s+(?:or|and)\s+)/);
  let pos = 0;
  for (const part of parts) {
    if (rel < pos + part.length) return /\btype\s*\(/.test(part) ? null : 'the condition of an if with an empty body (v0.08 server send_close): it decides nothing, and this mutant leaves the type() guard, so the same operands are compared in the same cases';
    pos += part.length;
  }
  return null;
}

/**
 * A start index 1 -> 0 where Lua 5.1 / LuaJIT clamp it back to 1: string.byte(s, 0, j) with an
 * explicit end (without one the end defaults to the unclamped 0 and nothing is returned, so that
 * form is not here) and string.find(s, p, 0, plain). Check: luajit -e 'print(string.byte("ab", 0, 2),
 * string.find("xab", "a", 0, true))' prints 97 98 2 2.
 */
function clampedStart(before: string, afterText: string, v: number): string | null {
  if (v !== 1) return null;
  if (/\bbyte\(\s*[^,()]+,\s*$/.test(before) && /^\s*,/.test(afterText)) return 'string.byte(s, 0, j) is string.byte(s, 1, j): Lua 5.1/LuaJIT clamp a start below 1 to 1 when the end is given (luajit -e \'print(string.byte("ab", 0, 2))\' prints 97 98)';
  if (/\b(?:str_find|find)\(.*,\s*$/.test(before) && /^\s*,\s*true\s*\)/.test(afterText)) return 'string.find(s, p, 0, true) is string.find(s, p, 1, true): Lua 5.1/LuaJIT clamp init below 1 to 1 (luajit -e \'print(string.find("xab", "a", 0, true))\' prints 2 2)';
  return null;
}

function isCode(line: string): boolean {
  const t = line.trim();
  return t.length > 0 && !t.startsWith('--');
}

/** Splits a line into code and string-literal spans so operators never touch strings (unless they mean to). */
function codeSpans(line: string): Array<{ text: string; str: boolean; at: number }> {
  const out: Array<{ text: string; str: boolean; at: number }> = [];
  let i = 0;
  let start = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === '-' && line[i + 1] === '-') break;
    if (c === '"' || c === "'") {
      if (i > start) out.push({ text: line.slice(start, i), str: false, at: start });
      let j = i + 1;
      while (j < line.length && line[j] !== c) j += line[j] === '\\' ? 2 : 1;
      out.push({ text: line.slice(i, j + 1), str: true, at: i });
      i = j + 1;
      start = i;
      continue;
    }
    i++;
  }
  if (start < line.length) out.push({ text: line.slice(start, i), str: false, at: start });
  return out;
}

/** Every (index, match) of `re` in the code (not string) parts of `line`. */
function codeMatches(line: string, re: RegExp): Array<{ index: number; match: string }> {
  const out: Array<{ index: number; match: string }> = [];
  for (const span of codeSpans(line)) {
    if (span.str) continue;
    const g = new RegExp(re.source, 'g');
    let m: RegExpExecArray | null;
    while ((m = g.exec(span.text)) !== null) {
      out.push({ index: span.at + m.index, match: m[0] });
      if (m[0].length === 0) g.lastIndex++;
    }
  }
  return out;
}

const FLIPS: Record<string, string> = { '==': '~=', '~=': '==', '<=': '>', '>=': '<', '<': '>=', '>': '<=' };

/** The lines of the `table.new` fallback block, which never runs under LuaJIT 2.1 (OpenResty's and Debian's have it). */
function tableNewFallbackLines(lines: string[]): Set<number> {
  const fallback = new Set<number>();
  for (let i = 0; i < lines.length; i++) {
    if (!/pcall\(\s*require\s*,\s*["']table\.new["']\s*\)/.test(lines[i]!)) continue;
    for (let j = i + 1; j < lines.length && j < i + 8; j++) {
      fallback.add(j);
      if (/^end\b/.test(lines[j]!)) break;
    }
  }
  return fallback;
}

/** `local opcode = band(fst, 0x0f)`: names whose values never exceed a mask, with the mask. */
function maskedNames(lines: string[]): Map<string, number> {
  const masks = new Map<string, number>();
  for (const l of lines) {
    const bm = /^\s*local\s+(\w+)\s*=\s*band\([^,]+,\s*(0x[0-9a-fA-F]+|\d+)\s*\)\s*$/.exec(l);
    if (bm) masks.set(bm[1]!, Number(bm[2]!));
  }
  return masks;
}

/** Adds the mutant that replaces line `i` with `after` (and the next line with `replaceNext`). */
type AddMutant = (i: number, operator: Operator, after: string, extra?: { replaceNext?: string; equivalent?: string }) => void;

/** An AddMutant into `out`, numbering each line's mutants of one operator and naming why one is equivalent. */
function mutantAdder(file: string, lines: string[], out: Mutant[]): AddMutant {
  const fallback = tableNewFallbackLines(lines);
  return (i, operator, after, extra) => {
    const copy = [...lines];
    copy[i] = after;
    if (extra?.replaceNext !== undefined) copy[i + 1] = extra.replaceNext;
    const n = out.filter((m) => m.line === i + 1 && m.operator === operator).length;
    const why = fallback.has(i) ? 'the table.new fallback: LuaJIT 2.1 always has table.new, so it never runs' : unobservable(lines[i]!) ?? unreadOpcodeName(lines[i]!, after) ?? sslSupportBranch(lines, i, after) ?? tcpNeverNil(lines, i) ?? unreachableBranch(lines, i) ?? emptyIfCondition(lines, i, after) ?? extra?.equivalent ?? null;
    out.push({
      id: `${file}:${i + 1}:${operator}:${n}`, file, line: i + 1, operator, before: lines[i]!.trim(), after: after.trim(),
      ...(why ? { equivalent: why } : {}), source: copy.join('\n'),
    });
  };
}

/** flip-comparison, off-by-one and constant/default mutants of line `i`. */
function numberMutants(line: string, i: number, masks: Map<string, number>, add: AddMutant): void {
  // flip a comparison
  for (const m of codeMatches(line, /==|~=|<=|>=|<(?!=)|>(?!=)/)) {
    add(i, 'flip-comparison', line.slice(0, m.index) + FLIPS[m.match] + line.slice(m.index + m.match.length));
  }
  // off-by-one on the number a comparison tests against
  for (const m of codeMatches(line, /(?:[<>]=?|==|~=)\s*(0x[0-9a-fA-F]+|\d+)\b/)) {
    const num = /(0x[0-9a-fA-F]+|\d+)$/.exec(m.match)![1]!;
    const v = Number(num);
    const at = m.index + m.match.length - num.length;
    const bound = bitFieldBound(line.slice(0, m.index), m.match, v, masks);
    const gate = versionGateBound(line);
    add(i, 'off-by-one', line.slice(0, at) + String(v + 1) + line.slice(at + num.length), bound ?? gate ? { equivalent: (bound ?? gate)! } : undefined);
  }
  // change a numeric constant elsewhere (masks, shifts, lengths, opcodes, defaults)
  for (const m of codeMatches(line, /(?<![\w.])(0x[0-9a-fA-F]+|\d+)(?![\w.])/)) {
    const before = line.slice(0, m.index).trimEnd();
    if (/(?:[<>]=?|==|~=)$/.test(before)) continue; // off-by-one covers these
    const v = Number(m.match);
    const isDefault = /\bor\s*$/.test(before);
    const clamped = clampedStart(before, line.slice(m.index + m.match.length), v);
    add(i, isDefault ? 'default' : 'constant', line.slice(0, m.index) + String(v === 0 ? 1 : v - 1) + line.slice(m.index + m.match.length), clamped ? { equivalent: clamped } : undefined);
  }
}

/** drop-check, swap-checks, error-string and drop-flag mutants of line `i`. */
function checkMutants(lines: string[], i: number, add: AddMutant): void {
  const line = lines[i]!;
  // drop a check: `if <cond> then` -> `if false then` (only where the branch returns or fails)
  const ifm = /^(\s*)(if|elseif)\s+(.+?)\s+then(.*)$/.exec(line);
  if (ifm && /return|error|fatal/.test(ifm[4]! + (lines[i + 1] ?? '') + (lines[i + 2] ?? ''))) {
    add(i, 'drop-check', `${ifm[1]}${ifm[2]} false then${ifm[4]}`);
  }
  // swap two adjacent one-line checks
  if (/^\s*if .* then .* end\s*$/.test(line) && /^\s*if .* then .* end\s*$/.test(lines[i + 1] ?? '')) {
    add(i, 'swap-checks', lines[i + 1]!, { replaceNext: line });
  }
  // change an error string (a string that is returned as the error)
  // (a string with escaped quotes, `"bad \"upgrade\" request header: "`, is one string)
  const err = /^(.*\breturn\s+nil\s*,\s*(?:nil\s*,\s*)?)"((?:[^"\\]|\\.)*)"(.*)$/.exec(line);
  if (err) add(i, 'error-string', `${err[1]}"${err[2]}!"${err[3]}`);
  // drop an assignment to a state flag
  if (/^\s*self\.(fatal|closed)\s*=\s*true\s*$/.test(line)) add(i, 'drop-flag', line.replace(/self\.(fatal|closed)\s*=\s*true/, '-- (dropped) self.$1 = true'));
}

/**
 * drop-header mutants of line `i`: a request header renamed X-Dropped-<name> (so the request stays
 * well-formed), or a response header's ngx.header assignment removed.
 */
function headerMutants(line: string, i: number, add: AddMutant): void {
  for (const span of codeSpans(line)) {
    if (!span.str) continue;
    const g = /(^"|\\r\\n)([A-Za-z][A-Za-z-]*): /g;
    let h: RegExpExecArray | null;
    while ((h = g.exec(span.text)) !== null) {
      const at = span.at + h.index + h[1]!.length;
      add(i, 'drop-header', line.slice(0, at) + 'X-Dropped-' + line.slice(at));
    }
  }
  const rh = /^(\s*)(ngx_header|ngx\.header)\[\s*"([^"]+)"\s*\]\s*=\s*(?!nil\b)/.exec(line);
  if (rh) add(i, 'drop-header', `${rh[1]}-- (dropped) ${line.trim()}`);
}

export function mutantsOf(file: string, source: string): Mutant[] {
  const lines = source.split('\n');
  const out: Mutant[] = [];
  const masks = maskedNames(lines);
  const add = mutantAdder(file, lines, out);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (!isCode(line)) continue;
    numberMutants(line, i, masks, add);
    checkMutants(lines, i, add);
    headerMutants(line, i, add);
  }
  return out;
}
