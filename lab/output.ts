// `--json` for every `wslab` command: stdout carries exactly one JSON document (the command's
// report or summary object) and every human line goes to stderr. cli/main.ts switches the mode on
// for the whole run rather than each command guarding its own prints, because human lines also
// come from deep inside the runners (bench tables, progress, peer messages) and one missed
// console.log would make stdout unparsable for whoever pipes it into jq.

interface JsonMode {
  printed: boolean;
  /** The last `wslab <cmd>: ...` line on stderr: the reason a run ended without a document. */
  lastError: string | null;
  restore: () => void;
}

let mode: JsonMode | null = null;

/** Whether `argv` asks for --json (an option, i.e. before any `--`). */
export function wantsJson(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).includes('--json');
}

/** Whether the current run is in --json mode. */
export function jsonMode(): boolean {
  return mode !== null;
}

/**
 * Sends console.log / console.info to stderr until the returned function is called, and keeps the
 * last `wslab <command>: ` line written with console.error for the fallback document.
 */
export function beginJsonMode(command: string): () => void {
  const { log, info, error } = console;
  const state: JsonMode = {
    printed: false,
    lastError: null,
    restore: () => {
      Object.assign(console, { log, info, error });
      mode = null;
    },
  };
  const toStderr = (...args: unknown[]): void => error.apply(console, args);
  console.log = toStderr;
  console.info = toStderr;
  console.error = (...args: unknown[]): void => {
    const first = args[0];
    if (typeof first === 'string' && first.startsWith(`wslab ${command}: `)) state.lastError = first.slice(`wslab ${command}: `.length).split('\n')[0]!;
    error.apply(console, args);
  };
  mode = state;
  return state.restore;
}

/**
 * Prints the command's one JSON document on stdout. Outside --json mode it prints it all the same
 * (callers decide when to call it); in --json mode a second document is a bug in the command.
 */
export function printJson(doc: unknown): void {
  if (mode?.printed) throw new Error('a --json run printed a second JSON document');
  if (mode) mode.printed = true;
  process.stdout.write(`${JSON.stringify(doc)}\n`);
}

/**
 * After a --json run: when the command returned without its document (an error that is not a
 * usage error, a refusal, an interrupt), prints one saying so, so stdout is never empty.
 */
export function finishJsonMode(exitCode: number | null): void {
  if (!mode) return;
  const m = mode;
  m.restore();
  // null: a usage error, which stays one line on stderr and nothing on stdout.
  if (!m.printed && exitCode !== null) process.stdout.write(`${JSON.stringify({ ok: exitCode === 0, exitCode, ...(m.lastError ? { error: m.lastError } : {}) })}\n`);
}

/** The stdout of a child whose output is human text: the terminal, or stderr in --json mode. */
export function humanStdio(): 'inherit' | 2 {
  return mode ? 2 : 'inherit';
}
