// The server-side oracles of `wslab fuzz --url`: an nginx error log followed line by line, and the
// service's resident memory and open descriptors sampled from /proc.
import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';

/** nginx error-log lines that are findings: error levels, aborted Lua threads, runtime errors, dead workers. */
const FINDING_LINE = /\[(error|crit|alert|emerg)\]|lua entry thread aborted|runtime error|worker process \d+ exited on signal/;

/** Follows a log file from its size at the start: each poll returns the finding lines appended since the last. */
export class ErrorLogFollower {
  private offset: number;
  private partial = '';
  constructor(readonly file: string) {
    this.offset = ErrorLogFollower.size(file);
  }
  private static size(file: string): number {
    try {
      return statSync(file).size;
    } catch {
      return 0;
    }
  }
  /** New whole lines that are findings (a log rotated or truncated starts over from its beginning). */
  poll(): string[] {
    const size = ErrorLogFollower.size(this.file);
    if (size < this.offset) this.offset = 0;
    if (size === this.offset) return [];
    const fd = openSync(this.file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size - this.offset, 4 << 20));
      const n = readSync(fd, buf, 0, buf.length, this.offset);
      this.offset += n;
      const text = this.partial + buf.subarray(0, n).toString('utf8');
      const lines = text.split('\n');
      this.partial = lines.pop() ?? '';
      return lines.filter((l) => FINDING_LINE.test(l));
    } finally {
      closeSync(fd);
    }
  }
}

/**
 * A log line without what changes from one occurrence to the next (time, pid#tid, connection
 * number, client address, addresses in memory): two sessions that hit the same bug give the same text.
 */
export function logSignature(line: string): string {
  return line
    .replace(/^\d{4}\/\d\d\/\d\d \d\d:\d\d:\d\d /, '')
    .replace(/\d+#\d+: /, '')
    .replace(/\*\d+ /g, '')
    .replace(/, client: .*$/, '')
    .replace(/0x[0-9a-f]+/gi, '0x…')
    .replace(/worker process \d+/, 'worker process N')
    .trim();
}

export interface ResourceSample {
  rssKiB: number;
  fds: number;
  /** The processes summed: PID and its children (an nginx master's workers). */
  pids: number[];
}

function children(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // The ppid is the 2nd field after the parenthesised command, which may itself hold spaces.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === pid) out.push(Number(name));
    } catch {
      /* gone meanwhile */
    }
  }
  return out;
}

/**
 * RSS (VmRSS of /proc/PID/status) and open descriptors (entries of /proc/PID/fd) of PID and its
 * direct children, summed: for an nginx master that is master + workers. An error (no such
 * process, no permission to read its fd folder) comes back as a value.
 */
export function sampleResources(pid: number): ResourceSample | { err: string } {
  const pids = [pid, ...children(pid)];
  let rssKiB = 0;
  let fds = 0;
  for (const p of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      rssKiB += m ? Number(m[1]) : 0;
      fds += readdirSync(`/proc/${p}/fd`).length;
    } catch (e) {
      if (p === pid) return { err: `cannot read /proc/${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
    }
  }
  return { rssKiB, fds, pids };
}
