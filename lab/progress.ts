// Progress of a long run (the parts of `wslab lab`): on a TTY one status line rewritten in place
// (cases done / total, execs/s), at most every 100 ms; otherwise a plain line at most every 15 s,
// so a CI log shows that the run moves without a line per case.
export interface Progress {
  /** The part's current state, e.g. "conformance [120/1976] 42% · lua-client 6.4.1". */
  update(text: string): void;
  /** A permanent line (clears the status line first). */
  line(text: string): void;
  /** Clears the status line. */
  clear(): void;
}

export interface ProgressOptions {
  tty?: boolean;
  /** Least time between two updates shown (default 100 ms on a TTY, 15 s otherwise). */
  intervalMs?: number;
  now?: () => number;
}

export function createProgress(out: { write(s: string): unknown; isTTY?: boolean; columns?: number }, opts: ProgressOptions = {}): Progress {
  const tty = opts.tty ?? !!out.isTTY;
  const interval = opts.intervalMs ?? (tty ? 100 : 15_000);
  const now = opts.now ?? Date.now;
  let shownAt = -Infinity;
  let onScreen = false;
  const clear = (): void => {
    if (tty && onScreen) out.write('\r\x1b[K');
    onScreen = false;
  };
  return {
    update(text) {
      const t = now();
      if (t - shownAt < interval) return;
      shownAt = t;
      if (tty) {
        const width = Math.max(20, (out.columns || 100) - 1); // 0 or unknown: a terminal without a size
        out.write(`\r\x1b[K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
        onScreen = true;
      } else out.write(`${text}\n`);
    },
    line(text) {
      clear();
      out.write(`${text}\n`);
    },
    clear,
  };
}

/** "[done/total] pct%" */
export function fraction(done: number, total: number): string {
  return total > 0 ? `[${done}/${total}] ${Math.floor((100 * done) / total)}%` : `[${done}]`;
}

export function rate(n: number): string {
  return `${Math.round(n).toLocaleString('en')}/s`;
}
