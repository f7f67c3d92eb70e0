// One argument layer for every `wslab` subcommand (in lab/ because conformance/, fuzz/, bench/ and the
// peer CLI all parse through it, and imports only go down): node:util parseArgs behind a declarative spec.
// Each option says what it takes (a flag, a string, one of a few words, a number in a range, a
// comma list of known names, a duration); anything else is a UsageError, which cli/main.ts turns
// into one line `wslab <cmd>: ...` on stderr and exit code 2 — never a stack trace.
import { isAbsolute, relative as relativePath, resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';

/** A bad command line. `message` is the one line shown after `wslab <cmd>: `. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  constructor(
    readonly command: string,
    message: string,
  ) {
    super(message);
  }
  /** The line printed on stderr. */
  get line(): string {
    return `wslab ${this.command}: ${this.message}`;
  }
}

interface Common {
  short?: string;
  /**
   * What the option does, as `--help` shows it (renderOptions): help and parser come from one spec,
   * so an option cannot be parsed and undocumented, or documented and refused. May hold line breaks;
   * continuation lines are indented under the first.
   */
  help?: string;
  /** The value's name in `--help` (default by type: N, D, LIST, VALUE). */
  value?: string;
}
/** `--flag` (false when absent). */
export interface FlagOption extends Common {
  type: 'flag';
}
/** `--name VALUE`; with `choices`, one of those words. */
export interface StringOption extends Common {
  type: 'string';
  default?: string;
  choices?: readonly string[];
}
/** `--name VALUE`, repeatable: every occurrence, in order. */
export interface RepeatOption extends Common {
  type: 'repeat';
}
/** `--name N`: a finite number, optionally whole and within [min, max]. */
export interface NumberOption extends Common {
  type: 'number';
  default?: number;
  integer?: boolean;
  min?: number;
  max?: number;
}
/** `--name a,b,c`: a comma list; with `choices`, every item must be one of them. */
export interface ListOption extends Common {
  type: 'list';
  default?: readonly string[];
  choices?: readonly string[];
}
/** `--name 90s`: a duration in milliseconds ("90" means `defaultUnit`, "s" unless said). */
export interface DurationOption extends Common {
  type: 'duration';
  default?: string;
  defaultUnit?: 'ms' | 's';
}
export type OptionSpec = FlagOption | StringOption | RepeatOption | NumberOption | ListOption | DurationOption;
export type OptionsSpec = Record<string, OptionSpec>;

type HasDefault<O> = O extends { default: unknown } ? true : false;
type ValueOf<O extends OptionSpec> = O extends FlagOption
  ? boolean
  : O extends RepeatOption
    ? string[]
    : O extends StringOption
      ? HasDefault<O> extends true
        ? O extends { choices: readonly (infer C)[] }
          ? C
          : string
        : (O extends { choices: readonly (infer C)[] } ? C : string) | undefined
      : O extends NumberOption | DurationOption
        ? HasDefault<O> extends true
          ? number
          : number | undefined
        : O extends ListOption
          ? HasDefault<O> extends true
            ? (O extends { choices: readonly (infer C)[] } ? C : string)[]
            : (O extends { choices: readonly (infer C)[] } ? C : string)[] | undefined
          : never;
export type ParsedValues<S extends OptionsSpec> = { -readonly [K in keyof S]: ValueOf<S[K]> };

export interface CommandLine<S extends OptionsSpec> {
  values: ParsedValues<S>;
  positionals: string[];
}

export interface ParseOptions {
  /** Positional arguments allowed: a number (at most that many) or the words allowed as the first one. */
  positionals?: number | { max: number; first?: readonly string[] };
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "90", "90s", "1500ms", "10m", "1h" -> milliseconds; null when it is not a duration. */
export function durationMs(text: string, defaultUnit: 'ms' | 's' = 's'): number | null {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) return null;
  return Math.round(Number(m[1]) * UNITS[m[2] ?? defaultUnit]!);
}

/** Like `durationMs`, throwing a plain Error on a bad duration (for durations that are not flags). */
export function parseDuration(text: string): number {
  const ms = durationMs(text);
  if (ms === null) throw new Error(`bad duration "${text}" (examples: 90, 90s, 1500ms, 10m)`);
  return ms;
}

function quoteList(words: readonly string[]): string {
  return words.join(', ');
}

/** What an option accepts, as its messages say it: "a whole number from 1", "one of a, b", ... */
function accepted(o: OptionSpec): string {
  switch (o.type) {
    case 'flag':
      return 'no value';
    case 'number': {
      const range = o.min !== undefined && o.max !== undefined ? ` from ${o.min} to ${o.max}` : o.min !== undefined ? ` from ${o.min}` : o.max !== undefined ? ` up to ${o.max}` : '';
      return `${o.integer ? 'a whole number' : 'a number'}${range}`;
    }
    case 'string':
      return o.choices ? `one of ${quoteList(o.choices)}` : 'a value';
    case 'list':
      return o.choices ? `a comma list of ${quoteList(o.choices)}` : 'a comma list';
    case 'duration':
      return 'a duration like 90, 90s, 1500ms, 10m';
    case 'repeat':
      return 'a value';
  }
}

/** Turns node's parseArgs errors (multi-sentence, with hints about `--`) into one short line. */
function rephrase(e: Error & { code?: string }, spec: OptionsSpec): string {
  const opt = /'(-[^' ]+)/.exec(e.message)?.[1];
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${opt ?? e.message}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE': {
      // "Option '-j, --jobs <value>' argument missing" / "Option '--json' does not take an argument"
      const name = /--([\w-]+)/.exec(e.message)?.[1];
      const o = name !== undefined ? spec[name] : undefined;
      if (name === undefined || o === undefined) return e.message.split('\n')[0]!;
      return o.type === 'flag' ? `--${name} takes no value` : `--${name} needs ${accepted(o)}`;
    }
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL': {
      const arg = /'([^']*)'/.exec(e.message)?.[1];
      return `unexpected argument ${arg !== undefined ? `"${arg}"` : ''}`.trim();
    }
    default:
      return e.message.split('\n')[0]!;
  }
}

/** Throws the UsageError of a command: the message and where its help is. */
type Fail = (message: string) => never;

type NodeOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** The spec as node's parseArgs takes it: every value a string, checked afterwards. */
function nodeOptionsOf(spec: OptionsSpec): NodeOptions {
  const nodeOptions: NodeOptions = {};
  for (const [name, o] of Object.entries(spec)) {
    nodeOptions[name] = { type: o.type === 'flag' ? 'boolean' : 'string', ...(o.type === 'repeat' ? { multiple: true } : {}), ...(o.short ? { short: o.short } : {}) };
  }
  return nodeOptions;
}

/**
 * parseArgs reads a word that starts with "-" after an option as the next option, never as its
 * value: `--jobs -1` would be `--jobs` without a value. A negative number is the option's value
 * (glued as --jobs=-1, so the range check names what the option takes); any other dash-led word
 * there means the value is missing.
 */
function glueNegativeValues(argv: readonly string[], spec: OptionsSpec, fail: Fail): string[] {
  const byShort = new Map(Object.entries(spec).flatMap(([n, o]) => (o.short ? [[o.short, n] as const] : [])));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i));
      break;
    }
    const name = /^--[^=]+$/.test(a) ? a.slice(2) : /^-\w$/.test(a) ? byShort.get(a.slice(1)) : undefined;
    const o = name !== undefined ? spec[name] : undefined;
    const next = argv[i + 1];
    if (o && o.type !== 'flag' && next !== undefined && next.length > 1 && next.startsWith('-')) {
      if (/^-\.?\d/.test(next)) {
        args.push(`--${name}=${next}`);
        i++;
        continue;
      }
      fail(`--${name} needs ${accepted(o)}, not the option "${next}"`);
    }
    args.push(a);
  }
  return args;
}

function checkPositionals(command: string, positionals: string[], opts: ParseOptions, fail: Fail): void {
  const pos = opts.positionals ?? 0;
  const maxPos = typeof pos === 'number' ? pos : pos.max;
  if (positionals.length > maxPos) fail(`unexpected argument "${positionals[maxPos]}"`);
  if (typeof pos === 'object' && pos.first && positionals[0] !== undefined && !pos.first.includes(positionals[0])) {
    fail(`unknown ${command} command "${positionals[0]}" (one of ${quoteList(pos.first)})`);
  }
}

/** Option `name`'s value, checked against `o` and converted (`v` as parseArgs gave it; default when absent). */
function optionValue(name: string, o: OptionSpec, v: string | boolean | (string | boolean)[] | undefined, fail: Fail): unknown {
  const flag = `--${name}`;
  switch (o.type) {
    case 'flag':
      return v === true;
    case 'repeat':
      return (v as string[] | undefined) ?? [];
    case 'string': {
      const s = (v as string | undefined) ?? o.default;
      if (s !== undefined && o.choices && !o.choices.includes(s)) fail(`${flag} takes one of ${quoteList(o.choices)}, not "${s}"`);
      return s;
    }
    case 'number': {
      if (v === undefined) return o.default;
      const text = String(v).trim();
      const n = text === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(n) || (o.integer && !Number.isInteger(n)) || (o.min !== undefined && n < o.min) || (o.max !== undefined && n > o.max)) {
        fail(`${flag} takes ${accepted(o)}, not "${String(v)}"`);
      }
      return n;
    }
    case 'list': {
      if (v === undefined) return o.default ? [...o.default] : undefined;
      const items = String(v)
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = o.choices ? items.filter((i) => !o.choices!.includes(i)) : [];
      if (unknown.length) fail(`${flag}: unknown ${unknown.map((u) => `"${u}"`).join(', ')} (one of ${quoteList(o.choices!)})`);
      return items;
    }
    case 'duration': {
      const text = (v as string | undefined) ?? o.default;
      if (text === undefined) return undefined;
      const ms = durationMs(text, o.defaultUnit);
      if (ms === null) fail(`${flag} takes ${accepted(o)}, not "${text}"`);
      return ms;
    }
  }
}

/**
 * Parses `argv` for `wslab <command>` against `spec`. Throws UsageError (one line) on an unknown
 * option, a missing value, a value outside its choices or range, or a positional not allowed.
 */
export function parseCommandLine<const S extends OptionsSpec>(command: string, argv: readonly string[], spec: S, opts: ParseOptions = {}): CommandLine<S> {
  const fail: Fail = (message) => {
    throw new UsageError(command, `${message} (see wslab ${command} --help)`);
  };
  const nodeOptions = nodeOptionsOf(spec);
  const args = glueNegativeValues(argv, spec, fail);
  let raw: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[] };
  try {
    raw = parseArgs({ args, options: nodeOptions, allowPositionals: true, strict: true });
  } catch (e) {
    return fail(rephrase(e as Error & { code?: string }, spec));
  }
  checkPositionals(command, raw.positionals, opts, fail);
  const values: Record<string, unknown> = {};
  for (const [name, o] of Object.entries(spec)) values[name] = optionValue(name, o, raw.values[name], fail);
  return { values: values as ParsedValues<S>, positionals: raw.positionals };
}

/** The name `--help` gives an option's value: its own `value`, else one by type. */
function valueName(o: OptionSpec): string {
  if (o.value !== undefined) return o.value;
  switch (o.type) {
    case 'flag':
      return '';
    case 'number':
      return 'N';
    case 'duration':
      return 'D';
    case 'list':
      return 'LIST';
    case 'string':
    case 'repeat':
      return 'VALUE';
  }
}

/**
 * The options block of a command's `--help`, from the spec that parses it: a title line ("Options:"),
 * then one entry per option, `  --name VALUE` and its help in a column. A name too long for the column
 * puts the help on the next line. `column` is where the help starts (default: after the longest entry
 * that fits in 22 characters).
 */
export function renderOptions(spec: OptionsSpec, title = 'Options:', column?: number): string {
  const heads = Object.entries(spec).map(([name, o]) => {
    const v = valueName(o);
    return `  ${o.short ? `-${o.short}, ` : ''}--${name}${v ? ` ${v}` : ''}`;
  });
  const col = column ?? Math.max(...heads.map((h) => h.length).filter((n) => n <= 22), 0) + 2;
  const pad = ' '.repeat(col);
  const lines = [title];
  Object.values(spec).forEach((o, i) => {
    const head = heads[i]!;
    const [first = '', ...rest] = (o.help ?? '').split('\n');
    if (head.length + 2 <= col) lines.push(`${head.padEnd(col)}${first}`.trimEnd());
    else lines.push(head, ...(first ? [`${pad}${first}`] : []));
    for (const r of rest) lines.push(`${pad}${r.trim()}`);
  });
  return lines.join('\n');
}

/** A path as a message shows it: relative to the working directory when inside it, else absolute. */
export function shownPath(p: string): string {
  const abs = resolvePath(p);
  const rel = relativePath(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}
