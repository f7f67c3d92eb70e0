import { describe, expect, it } from 'vitest';
import { durationMs, parseCommandLine, UsageError } from './args.js';

const SPEC = {
  skip: { type: 'list', choices: ['interop', 'fuzz', 'diff'], default: [] },
  only: { type: 'list' },
  backend: { type: 'string', choices: ['native', 'container', 'auto'] },
  mode: { type: 'string', choices: ['server', 'client'], default: 'server' },
  out: { type: 'string' },
  url: { type: 'repeat' },
  port: { type: 'number', integer: true, min: 0, max: 65535 },
  scale: { type: 'number', min: 0.1, default: 1 },
  time: { type: 'duration', default: '60s' },
  json: { type: 'flag' },
} as const;

function usageLine(argv: string[], opts = {}): string {
  try {
    parseCommandLine('demo', argv, SPEC, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    const line = (e as UsageError).line;
    expect(line).not.toContain('\n');
    expect(line.startsWith('wslab demo: ')).toBe(true);
    return line;
  }
  throw new Error(`accepted ${JSON.stringify(argv)}`);
}

describe('parseCommandLine', () => {
  it('fills defaults and types the values', () => {
    const { values, positionals } = parseCommandLine('demo', [], SPEC);
    expect(values).toEqual({ skip: [], only: undefined, backend: undefined, mode: 'server', out: undefined, url: [], port: undefined, scale: 1, time: 60_000, json: false });
    expect(positionals).toEqual([]);
  });

  it('parses every kind of option', () => {
    const { values } = parseCommandLine('demo', ['--skip', 'fuzz, diff', '--only', 'a,b', '--backend', 'native', '--mode=client', '--out', 'r', '--url', 'a=ws://x', '--url', 'b=ws://y', '--port', '8080', '--scale', '2.5', '--time', '1500ms', '--json'], SPEC);
    expect(values).toEqual({ skip: ['fuzz', 'diff'], only: ['a', 'b'], backend: 'native', mode: 'client', out: 'r', url: ['a=ws://x', 'b=ws://y'], port: 8080, scale: 2.5, time: 1500, json: true });
  });

  it('refuses unknown flags, missing values and values given to flags in one line', () => {
    expect(usageLine(['--nope'])).toBe('wslab demo: unknown option --nope (see wslab demo --help)');
    expect(usageLine(['--out'])).toBe('wslab demo: --out needs a value (see wslab demo --help)');
    expect(usageLine(['--json=yes'])).toBe('wslab demo: --json takes no value (see wslab demo --help)');
  });

  it('refuses values outside their choices, ranges and lists', () => {
    expect(usageLine(['--backend', 'x'])).toBe('wslab demo: --backend takes one of native, container, auto, not "x" (see wslab demo --help)');
    expect(usageLine(['--mode', 'foo'])).toContain('--mode takes one of server, client, not "foo"');
    expect(usageLine(['--skip', 'fuzz,nope,zz'])).toBe('wslab demo: --skip: unknown "nope", "zz" (one of interop, fuzz, diff) (see wslab demo --help)');
    expect(usageLine(['--port', '70000'])).toContain('--port takes a whole number from 0 to 65535, not "70000"');
    expect(usageLine(['--port', '1.5'])).toContain('--port takes a whole number');
    expect(usageLine(['--port', 'abc'])).toContain('not "abc"');
    expect(usageLine(['--port', ''])).toContain('not ""');
    expect(usageLine(['--scale', '0'])).toContain('--scale takes a number from 0.1, not "0"');
    expect(usageLine(['--time', '10 minutes'])).toContain('--time takes a duration like 90, 90s, 1500ms, 10m, not "10 minutes"');
  });

  it('reads a negative number as the value of the option before it, and says what that option takes', () => {
    // parseArgs alone sees `--port -1` as --port without a value followed by an option -1.
    expect(usageLine(['--port', '-1'])).toBe('wslab demo: --port takes a whole number from 0 to 65535, not "-1" (see wslab demo --help)');
    expect(usageLine(['--scale', '-0.5'])).toBe('wslab demo: --scale takes a number from 0.1, not "-0.5" (see wslab demo --help)');
    expect(usageLine(['--scale', '-.5'])).toContain('--scale takes a number from 0.1, not "-.5"');
    expect(usageLine(['--port=-1'])).toContain('--port takes a whole number from 0 to 65535, not "-1"');
    expect(usageLine(['--time', '-5s'])).toContain('--time takes a duration like 90, 90s, 1500ms, 10m, not "-5s"');
    expect(usageLine(['--mode', '-1'])).toContain('--mode takes one of server, client, not "-1"');
    expect(parseCommandLine('demo', ['--out', '-1'], SPEC).values.out).toBe('-1');
    expect(parseCommandLine('demo', ['--scale', '-2', '--scale', '3'], SPEC).values.scale).toBe(3);
  });

  it('names the option and what it takes when its value is missing or is another option', () => {
    expect(usageLine(['--port'])).toBe('wslab demo: --port needs a whole number from 0 to 65535 (see wslab demo --help)');
    expect(usageLine(['--port', '--json'])).toBe('wslab demo: --port needs a whole number from 0 to 65535, not the option "--json" (see wslab demo --help)');
    expect(usageLine(['--backend', '-x'])).toBe('wslab demo: --backend needs one of native, container, auto, not the option "-x" (see wslab demo --help)');
    expect(usageLine(['--skip'])).toContain('--skip needs a comma list of interop, fuzz, diff');
    expect(usageLine(['--time', '--json'])).toContain('--time needs a duration like 90, 90s, 1500ms, 10m, not the option "--json"');
    expect(usageLine(['--json=yes'])).toBe('wslab demo: --json takes no value (see wslab demo --help)');
    // After `--` nothing is an option: a negative number there is a positional like any other.
    expect(parseCommandLine('demo', ['--', '-1'], SPEC, { positionals: 1 }).positionals).toEqual(['-1']);
  });

  it('allows positionals only where declared', () => {
    expect(usageLine(['extra'])).toBe('wslab demo: unexpected argument "extra" (see wslab demo --help)');
    expect(parseCommandLine('demo', ['start'], SPEC, { positionals: { max: 1, first: ['start', 'stop'] } }).positionals).toEqual(['start']);
    expect(usageLine(['begin'], { positionals: { max: 1, first: ['start', 'stop'] } })).toContain('unknown demo command "begin" (one of start, stop)');
    expect(usageLine(['start', 'now'], { positionals: { max: 1, first: ['start', 'stop'] } })).toContain('unexpected argument "now"');
  });
});

describe('durationMs', () => {
  it('reads plain numbers in the default unit and the suffixes', () => {
    expect(durationMs('90')).toBe(90_000);
    expect(durationMs('90', 'ms')).toBe(90);
    expect(durationMs('1500ms')).toBe(1500);
    expect(durationMs('0.5s')).toBe(500);
    expect(durationMs('10m')).toBe(600_000);
    expect(durationMs('1h')).toBe(3_600_000);
    expect(durationMs('-1s')).toBeNull();
    expect(durationMs('s')).toBeNull();
  });
});
