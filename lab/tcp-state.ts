// The kernel's view of one of our TCP connections, for what Node does not say: when the peer resets
// a connection while bytes are still queued for reading, Node reads them and then reports a plain
// end of stream (the reset's error is not seen), exactly as it reports a FIN. The two differ in the
// kernel: after a FIN the connection waits in CLOSE_WAIT for our close; a reset takes it out of the
// table at once. So the question must be asked before our side ends the connection (a socket with
// allowHalfOpen, ended once the answer is in: lab/session/raw-peers.ts).
//
// The answer comes from a NETLINK_SOCK_DIAG lookup of the one connection, made by a long-lived
// luajit (fixtures/lua/tcp-state/sock_diag.lua): a hash lookup, tens of microseconds. Reading
// /proc/net/tcp instead walks the kernel's whole established table, 7 ms on the 2-core machine
// (262,144 buckets) however few sockets there are; done synchronously at every end, it held the
// session diff's event loop long enough to stretch most sessions' times (lab/session/time-scale.ts).
// Without luajit, or if the helper fails, /proc/net/tcp is read, off the event loop.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { trackChild } from './children.js';
import { ROOT_DIR } from './paths.js';

export type PeerEndKind = 'fin' | 'reset' | null;

/** TCP states (include/net/tcp_states.h). */
const CLOSE_WAIT = 0x08;
const LISTEN = 0x0a;

export const SOCK_DIAG_SCRIPT = join(ROOT_DIR, 'fixtures', 'lua', 'tcp-state', 'sock_diag.lua');

/**
 * How the peer ended the connection between 127.0.0.1:`localPort` and 127.0.0.1:`remotePort`, from
 * the text of /proc/net/tcp read right after Node reported its end: 'fin' (still listed, in
 * CLOSE_WAIT), 'reset' (no longer listed), or null (another state).
 */
export function endKindInProcTable(table: string, localPort: number, remotePort: number): PeerEndKind {
  const loopback = (port: number): string => `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const local = loopback(localPort);
  const remote = loopback(remotePort);
  for (const line of table.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols[1] === local && cols[2] === remote) return parseInt(cols[3] ?? '', 16) === CLOSE_WAIT ? 'fin' : null;
  }
  return 'reset';
}

/** The same from a sock_diag answer: the state, or 0 for no such connection (a listener on the port is not it). */
export function endKindOfState(state: number): PeerEndKind {
  if (state === CLOSE_WAIT) return 'fin';
  return state === 0 || state === LISTEN ? 'reset' : null;
}

async function endKindFromProc(localPort: number, remotePort: number): Promise<PeerEndKind> {
  try {
    return endKindInProcTable(await readFile('/proc/net/tcp', 'latin1'), localPort, remotePort);
  } catch {
    return null; // no /proc/net/tcp: it cannot be told
  }
}

/** How long a question waits for the helper before /proc/net/tcp answers it instead. */
const ANSWER_WAIT_MS = 1000;

interface Question {
  ports: [number, number];
  resolve: (k: PeerEndKind) => void;
}

/** The luajit helper: one line per question, answered in order. */
class SockDiag {
  private proc: ChildProcessWithoutNullStreams | null = null;
  private failed = false;
  private nextId = 1;
  private readonly waiting = new Map<number, Question>();
  private buffered = '';
  /** Answers given so far, by where they came from. */
  readonly answered = { sockDiag: 0, proc: 0 };

  get usable(): boolean {
    return !this.failed && process.platform === 'linux';
  }

  ask(localPort: number, remotePort: number): Promise<PeerEndKind> {
    const proc = this.start();
    if (proc === null) return new Promise((resolve) => this.answerFromProc({ ports: [localPort, remotePort], resolve }));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, { ports: [localPort, remotePort], resolve });
      proc.stdin.write(`${id} ${localPort} ${remotePort}\n`);
      // The kernel answers at once; a helper that does not (stopped, starved) must not hold a session.
      setTimeout(() => this.giveUp(id), ANSWER_WAIT_MS).unref();
    });
  }

  /** A question still unanswered after ANSWER_WAIT_MS goes to /proc/net/tcp (the connection is still half-open). */
  private giveUp(id: number): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    this.answerFromProc(w);
  }

  private answerFromProc(w: Question): void {
    this.answered.proc++;
    void endKindFromProc(...w.ports).then(w.resolve);
  }

  private start(): ChildProcessWithoutNullStreams | null {
    if (this.proc !== null || !this.usable) return this.proc;
    const proc = spawn('luajit', [SOCK_DIAG_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc = proc;
    trackChild(proc, 'luajit sock_diag');
    // It ends with our stdin (at our exit at the latest): it never keeps the process alive.
    proc.unref();
    for (const s of [proc.stdin, proc.stdout, proc.stderr] as unknown as Array<{ unref?: () => void }>) s.unref?.();
    proc.stdout.setEncoding('latin1');
    proc.stdout.on('data', (d: string) => this.onAnswers(d));
    proc.stderr.resume();
    proc.stdin.on('error', () => this.fail());
    proc.on('error', () => this.fail()); // no luajit
    proc.on('exit', () => this.fail());
    return proc;
  }

  private onAnswers(d: string): void {
    this.buffered += d;
    for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
      const [id, state] = this.buffered.slice(0, nl).split(' ').map(Number);
      this.buffered = this.buffered.slice(nl + 1);
      const w = this.waiting.get(id!);
      if (w === undefined) continue;
      this.waiting.delete(id!);
      // a refused request (a negative errno) is asked of /proc/net/tcp instead
      if (state! < 0 || !Number.isInteger(state)) this.answerFromProc(w);
      else {
        this.answered.sockDiag++;
        w.resolve(endKindOfState(state!));
      }
    }
  }

  /** The helper is gone or never came: every question, pending or later, goes to /proc/net/tcp. */
  private fail(): void {
    this.failed = true;
    this.proc = null;
    for (const w of this.waiting.values()) this.answerFromProc(w);
    this.waiting.clear();
  }
}

const sockDiag = new SockDiag();

/** How many answers came from the sock_diag helper and how many from /proc/net/tcp, in this process. */
export function tcpStateAnswers(): { sockDiag: number; proc: number } {
  return { ...sockDiag.answered };
}

/**
 * How the peer ended the connection between 127.0.0.1:`localPort` and 127.0.0.1:`remotePort`, asked
 * right after Node reported its end and before our side ends it: 'fin' (the connection waits in
 * CLOSE_WAIT), 'reset' (it is gone), or null when it cannot be told (no ports, another state).
 */
export function peerEndKind(localPort: number | undefined, remotePort: number | undefined): Promise<PeerEndKind> {
  if (!localPort || !remotePort) return Promise.resolve(null);
  return sockDiag.ask(localPort, remotePort);
}
