// Generated batches of differential cases: made on a worker thread (generate-worker.ts) while the
// main thread compares the previous ones, in order and from the same seeds as when made in line.
import fc from 'fast-check';
import { Worker } from 'node:worker_threads';
import { luaRequest, type DiffCase } from '../../lab/oracle-cases.js';
import { diffCaseArb } from './generators.js';

/** One batch: the run's seed, the batch's number in the run, and how many cases. */
export interface BatchRequest {
  seed: number;
  round: number;
  size: number;
}

/** A batch's cases and, for each, the line that asks the original. */
export interface GeneratedBatch {
  round: number;
  list: DiffCase[];
  requests: string[];
}

/** The batch's cases: fast-check's sample for the batch's own seed, so a batch is made alike anywhere. */
export function generatedBatch(req: BatchRequest): GeneratedBatch {
  const list = fc.sample(diffCaseArb, { numRuns: req.size, seed: (req.seed + req.round * 7919) | 0 });
  return { round: req.round, list, requests: list.map(luaRequest) };
}

/** A Buffer again (a message turns it into a plain Uint8Array over the same bytes). */
function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** A case whose buffers crossed a thread boundary, with its buffers as Buffers again. */
function revived(c: DiffCase): DiffCase {
  switch (c.kind) {
    case 'recv':
      return { ...c, stream: asBuffer(c.stream) };
    case 'build':
      return { ...c, payload: asBuffer(c.payload) };
    case 'send':
      return c.payload.t === 'string' ? { ...c, payload: { t: 'string', v: asBuffer(c.payload.v) } } : c;
  }
}

/**
 * The generator thread: the compiled worker, or, from the TypeScript sources (tests,
 * WSLAB_FROM_SOURCE=1), the source with tsx's loader registered in the thread first (a thread
 * does not inherit the loader, nor take --import in its execArgv).
 */
function startGeneratorThread(): Worker {
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./generate-worker.js', import.meta.url));
  const tsx = import.meta.resolve('tsx/esm/api');
  const worker = new URL('./generate-worker.ts', import.meta.url).href;
  return new Worker(`import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(worker)}); });`, { eval: true });
}

/**
 * Batches made ahead on a worker thread and handed out in order: batch `round` has `sizeOf(round)`
 * cases (none past a run's last). Batches are made `ahead` of the one taken (the runner keeps two
 * asked of luajit while it compares a third), and the thread makes a batch in a fifth of the time
 * the main thread takes to compare one, so a run does not wait for it.
 */
export class BatchMaker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (b: GeneratedBatch) => void; reject: (e: Error) => void }>();
  private readonly made: Array<Promise<GeneratedBatch>> = [];
  private failure: Error | null = null;
  private asked = 0;
  private taken = 0;

  constructor(
    private readonly seed: number,
    private readonly sizeOf: (round: number) => number,
    private readonly ahead = 3,
  ) {
    this.worker = startGeneratorThread();
    this.worker.on('message', (b: GeneratedBatch) => {
      const p = this.pending.get(b.round);
      this.pending.delete(b.round);
      p?.resolve({ round: b.round, list: b.list.map(revived), requests: b.requests });
    });
    this.worker.on('error', (e) => this.fail(e));
    this.worker.on('exit', (code) => this.fail(new Error(`the case generator thread exited (code ${code})`)));
  }

  /** The next batch (null past the last), with the ones after it asked for. */
  take(): Promise<GeneratedBatch> | null {
    while (this.asked < this.taken + 1 + this.ahead && this.sizeOf(this.asked) > 0) this.ask(this.asked++);
    const p = this.made.shift();
    if (p === undefined) return null;
    this.taken++;
    return p;
  }

  private ask(round: number): void {
    const made = new Promise<GeneratedBatch>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(round, { resolve, reject });
      this.worker.postMessage({ seed: this.seed, round, size: this.sizeOf(round) } satisfies BatchRequest);
    });
    made.catch(() => {}); // taken in order and awaited there; a failure must not go unhandled meanwhile
    this.made.push(made);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    for (const p of this.pending.values()) p.reject(this.failure);
    this.pending.clear();
  }

  /** Stops the thread; batches still in the making, and any asked for later, fail. */
  async close(): Promise<void> {
    this.worker.removeAllListeners('exit');
    this.fail(new Error('the case generator was closed'));
    await this.worker.terminate();
  }
}
