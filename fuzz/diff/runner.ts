// Differential fuzzing: the same cases to our codec and to the original protocol.lua, compared
// exactly (recv_frame's data/typ/err sequence incl. the error after the stream ends, build_frame's
// bytes, send_frame's bytes/error). Each divergence is minimised and saved with both answers.
import { existsSync, readdirSync, readFileSync, } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT_DIR } from '../../lab/paths.js';
import { interruptedReportFile } from '../../lab/children.js';
import { writeJsonReport } from '../../lab/reports.js';
import { DEFAULT_WORK_ROOT, SEEDS_DIR } from '../campaign.js';
import { FINDINGS_DIR, saveFinding } from '../findings.js';
import { minimiseAsync } from '../minimise.js';
import { parseFrameInput, type DecoderFactory } from '../targets/frame-common.js';
import { caseToJson, describeAnswer, luaRequest, type DiffCase, type RecvCase } from '../../lab/oracle-cases.js';
import { oursAnswer, recvFrameDisagreement } from './cases.js';
import { BatchMaker } from './batches.js';
import { LuaOracle } from '../../lab/lua-oracle.js';

export interface DiffOptions {
  /** Wall time (default 60 s). */
  timeMs?: number;
  /** Stop after this many cases. */
  maxCases?: number;
  /** fast-check seed (default: random, reported so a run can be repeated). */
  seed?: number;
  /** Cases in flight to luajit at once (default 256). */
  batch?: number;
  /** Replay the jsfuzz corpora of the frame targets first (default true). */
  useCorpus?: boolean;
  /** Our decoder (the planted-bug test swaps in a broken one). */
  decoder?: DecoderFactory;
  findingsDir?: string;
  /** Stop collecting after this many distinct divergences (default 10). */
  maxDivergences?: number;
  /** Attempts per minimisation (default 600). */
  minimiseAttempts?: number;
  protocolPath?: string;
  onProgress?: (p: DiffProgress) => void;
  reportFile?: string;
}

export interface DiffProgress {
  elapsedMs: number;
  cases: number;
  casesPerSec: number;
  divergences: number;
}

export interface Divergence {
  id: string;
  signature: string;
  file: string;
  case: Record<string, unknown>;
  lua: unknown;
  ours: unknown;
  duplicate: boolean;
}

export interface DiffReport {
  startedAt: string;
  durationMs: number;
  seed: number;
  luaProtocol: string;
  luaVersion: string;
  cases: number;
  casesPerSec: number;
  byKind: { recv: number; build: number; send: number; corpus: number };
  /** Cases whose every answer matched, by the first result type the original gave (a coverage hint). */
  outcomes: Record<string, number>;
  divergenceCount: number;
  divergences: Divergence[];
  ok: boolean;
}

/** What a run has counted so far: the report's numbers, and what an interrupted run writes. */
interface DiffTally {
  cases: number;
  byKind: DiffReport['byKind'];
  outcomes: Record<string, number>;
  divergenceCount: number;
  divergences: Divergence[];
}

/** One run in progress: its options, the oracle, and its tally. */
interface DiffRun {
  readonly opts: DiffOptions;
  readonly oracle: LuaOracle;
  readonly started: number;
  readonly maxDivergences: number;
  readonly findingsDir: string;
  readonly tally: DiffTally;
  lastProgress: number;
}

/** Cases asked of the original, with its answers to come. */
interface AskedBatch {
  list: DiffCase[];
  answers: Promise<string[]>;
  fromCorpus: boolean;
}

/**
 * How long the checking of a batch goes on before it lets the event loop turn. Our side of a case
 * only ever waits for microtasks, so without a turn the pipes to luajit are not served while a
 * batch is checked: its answers fill the pipe (a long stream's answer is hundreds of KiB) and it
 * stops, and the next requests wait in our write buffer; the main thread then waited for luajit
 * a quarter of a run.
 */
const EVENT_LOOP_TURN_MS = 1;

/** Compares each case of a batch with the original's answer, counts it, and records a new divergence. */
async function checkBatch(run: DiffRun, asked: AskedBatch): Promise<void> {
  const { opts, tally } = run;
  const luaAnswers = await asked.answers;
  let turn = performance.now();
  for (let i = 0; i < asked.list.length; i++) {
    if (performance.now() - turn >= EVENT_LOOP_TURN_MS) {
      await new Promise(setImmediate);
      turn = performance.now();
    }
    const c = asked.list[i]!;
    const lua = luaAnswers[i]!;
    let ours = await safeOurs(c, opts.decoder);
    // recv cases also go through recvFrame over a cosocket; it must agree as well (checked result
    // by result; the whole answer is built only when it does not).
    if (ours === lua && c.kind === 'recv' && !opts.decoder) {
      const other = await safeRecvFrameDisagreement(c, lua);
      if (other !== null) ours = `${VIA_RECV_FRAME}${other}`;
    }
    tally.cases++;
    if (asked.fromCorpus) tally.byKind.corpus++;
    else tally.byKind[c.kind]++;
    if (lua === ours) {
      const key = outcomeKey(c, lua);
      tally.outcomes[key] = (tally.outcomes[key] ?? 0) + 1;
      continue;
    }
    tally.divergenceCount++;
    if (tally.divergences.length >= run.maxDivergences) continue;
    const signature = divergenceSignature(c, lua, ours);
    if (tally.divergences.some((d) => d.signature === signature)) continue;
    tally.divergences.push(await recordDivergence(run.oracle, c, signature, lua, ours, run.findingsDir, opts));
  }
  if (opts.onProgress && Date.now() - run.lastProgress >= 1000) {
    run.lastProgress = Date.now();
    const elapsedMs = Date.now() - run.started;
    opts.onProgress({ elapsedMs, cases: tally.cases, casesPerSec: Math.round(tally.cases / Math.max(0.001, elapsedMs / 1000)), divergences: tally.divergenceCount });
  }
}

/**
 * Batches asked of luajit before the oldest is checked here. Batches differ in cost (a stream of
 * thousands of frames costs both sides a thousand small cases), so with only one ahead the main
 * thread still waited for luajit a fifth of a run.
 */
const ASKED_AHEAD = 2;

/**
 * The corpus (when asked for), then generated cases, until the deadline or maxCases. Generated
 * batches are made on a worker thread (BatchMaker) and ASKED_AHEAD batches are in flight to luajit
 * while the oldest is checked here, so the three work at the same time; batches are checked in the
 * order they were made, so the cases, their order and the findings are the same as making and
 * checking each batch in turn.
 */
async function checkAllBatches(run: DiffRun, corpus: readonly RecvCase[], maker: BatchMaker, deadline: number, batch: number): Promise<void> {
  const { opts } = run;
  let scheduled = 0;
  const timeUp = (): boolean => Date.now() >= deadline;
  const more = (): boolean => !timeUp() && (opts.maxCases === undefined || scheduled < opts.maxCases);
  const pending: AskedBatch[] = [];
  const schedule = async (list: DiffCase[], requests: string[], fromCorpus: boolean): Promise<void> => {
    scheduled += list.length;
    const next = { list, answers: run.oracle.askMany(requests), fromCorpus };
    next.answers.catch(() => {}); // awaited in checkBatch(); a failure must not go unhandled meanwhile
    pending.push(next);
    if (pending.length > ASKED_AHEAD) await checkBatch(run, pending.shift()!);
  };
  for (let i = 0; i < corpus.length && more(); i += batch) {
    const list = corpus.slice(i, i + batch);
    await schedule(list, list.map(luaRequest), true);
  }
  for (let made = maker.take(); made !== null && more(); made = maker.take()) {
    const { list, requests } = await made;
    await schedule(list, requests, false);
  }
  for (let asked = pending.shift(); asked !== undefined; asked = pending.shift()) await checkBatch(run, asked);
}

/** Sizes of the generated batches after `corpusCases` corpus cases: full ones, the last one what maxCases leaves. */
function generatedBatchSizes(maxCases: number | undefined, corpusCases: number, batch: number): (round: number) => number {
  return (round) => (maxCases !== undefined ? Math.min(batch, maxCases - corpusCases - round * batch) : batch);
}

export async function runDiff(opts: DiffOptions = {}): Promise<DiffReport> {
  const started = Date.now();
  const timeMs = opts.timeMs ?? 60_000;
  const deadline = started + timeMs;
  const seed = opts.seed ?? Math.floor(Math.random() * 0x7fffffff);
  const batch = opts.batch ?? 256;
  const corpus = (opts.useCorpus ?? true) ? corpusCases() : [];
  const oracle = new LuaOracle(opts.protocolPath);
  // the thread loads its modules while luajit starts
  const maker = new BatchMaker(seed, generatedBatchSizes(opts.maxCases, corpus.length, batch));
  const luaVersion = await oracle.version().catch(async (e: unknown) => {
    await maker.close();
    throw e;
  });
  const tally: DiffTally = { cases: 0, byKind: { recv: 0, build: 0, send: 0, corpus: 0 }, outcomes: {}, divergenceCount: 0, divergences: [] };
  const { byKind, outcomes, divergences } = tally;
  const run: DiffRun = { opts, oracle, started, maxDivergences: opts.maxDivergences ?? 10, findingsDir: opts.findingsDir ?? FINDINGS_DIR, tally, lastProgress: 0 };
  const stopInterruptReport = opts.reportFile
    ? interruptedReportFile(opts.reportFile, () => ({ startedAt: new Date(started).toISOString(), durationMs: Date.now() - started, seed, luaProtocol: oracle.protocolPath, luaVersion, cases: tally.cases, byKind, divergenceCount: tally.divergenceCount, divergences }))
    : () => {};
  try {
    await checkAllBatches(run, corpus, maker, deadline, batch);
  } finally {
    await Promise.all([maker.close(), oracle.close()]);
  }
  const durationMs = Date.now() - started;
  const { cases, divergenceCount } = tally;
  const report: DiffReport = {
    startedAt: new Date(started).toISOString(),
    durationMs,
    seed,
    luaProtocol: oracle.protocolPath,
    luaVersion,
    cases,
    casesPerSec: Math.round(cases / Math.max(0.001, durationMs / 1000)),
    byKind,
    outcomes,
    divergenceCount,
    divergences,
    ok: divergenceCount === 0,
  };
  stopInterruptReport();
  if (opts.reportFile) writeJsonReport(opts.reportFile, report);
  return report;
}

/** Marks an answer that came from recvFrame (the decoder agreed with the original). */
const VIA_RECV_FRAME = 'recvFrame:';

/** recvFrameDisagreement; a throw is a disagreement, answered with what was thrown. */
async function safeRecvFrameDisagreement(c: RecvCase, expected: string): Promise<string | null> {
  try {
    return await recvFrameDisagreement(c, expected);
  } catch (e) {
    return `X ${Buffer.from(String(e instanceof Error ? `${e.name}: ${e.message}` : e), 'latin1').toString('hex')}`;
  }
}

/** Our side must never throw; if it does, that is a divergence too. */
async function safeOurs(c: DiffCase, decoder?: DecoderFactory): Promise<string> {
  try {
    return await oursAnswer(c, decoder);
  } catch (e) {
    return `X ${Buffer.from(String(e instanceof Error ? `${e.name}: ${e.message}` : e), 'latin1').toString('hex')}`;
  }
}

function outcomeKey(c: DiffCase, answer: string): string {
  if (c.kind !== 'recv') return `${c.kind}:${answer[0]}`;
  // the first result only (answers of large payloads are long: no split of the whole line)
  const start = answer.indexOf(' ');
  const end = start < 0 ? -1 : answer.indexOf(' ', start + 1);
  const first = start < 0 ? '' : answer.slice(start + 1, end < 0 ? undefined : end);
  const [, type, err] = first.split(',');
  if (type && type !== '~') return `recv:${type}`;
  const text = err?.startsWith('s') ? Buffer.from(err.slice(1), 'hex').toString('latin1') : String(err);
  return `recv:${text.replace(/: closed$/, '')}`;
}

/** Groups divergences by where the answers first differ and how (not by the payload bytes). */
export function divergenceSignature(c: DiffCase, lua: string, ours: string): string {
  if (ours.startsWith(VIA_RECV_FRAME)) return `recvFrame ${divergenceSignature(c, lua, ours.slice(VIA_RECV_FRAME.length))}`;
  if (c.kind !== 'recv') {
    const shape = (a: string): string => (a[0] === 'E' || a[0] === 'X' ? `${a[0]} ${Buffer.from(a.slice(2), 'hex').toString('latin1').slice(0, 60)}` : a[0]!);
    return `${c.kind}: lua ${shape(lua)} / ours ${shape(ours)}`;
  }
  const l = lua.split(' ').slice(1);
  const o = ours.split(' ').slice(1);
  let i = 0;
  while (i < l.length && i < o.length && l[i] === o[i]) i++;
  const shape = (r: string | undefined): string => {
    if (r === undefined) return '(none)';
    const [d, t, e] = r.split(',');
    const err = e === undefined || e === '~' ? 'nil' : e[0] === 'n' ? 'number' : JSON.stringify(Buffer.from(e.slice(1), 'hex').toString('latin1'));
    return `${d === '~' ? 'nil' : 'data'},${t},${err}`;
  };
  return `recv: lua ${shape(l[i])} / ours ${shape(o[i])}`;
}

async function recordDivergence(
  oracle: LuaOracle,
  c: DiffCase,
  signature: string,
  _lua: string, // the answers before minimising; the finding records the minimised case's answers
  _ours: string,
  findingsDir: string,
  opts: DiffOptions,
): Promise<Divergence> {
  let min = c;
  // Recv cases are minimised over the stream (and made single-chunk if that still diverges).
  if (c.kind === 'recv') {
    const still = async (cand: RecvCase): Promise<boolean> => {
      const l = await oracle.ask(luaRequest(cand));
      const o = await oursFor(cand, signature, opts);
      return l !== o && divergenceSignature(cand, l, o) === signature;
    };
    let base: RecvCase = c;
    if (c.chunks.length > 0 && (await still({ ...c, chunks: [] }))) base = { ...c, chunks: [] };
    const stream = await minimiseAsync(base.stream, (s) => still({ ...base, stream: s }), opts.minimiseAttempts ?? 600);
    min = { ...base, stream };
  }
  const minLua = await oracle.ask(luaRequest(min));
  const minOurs = await oursFor(min, signature, opts);
  const input = min.kind === 'recv' ? min.stream : min.kind === 'build' ? min.payload : Buffer.from(luaRequest(min), 'latin1');
  const caseJson = caseToJson(min);
  const saved = saveFinding(
    findingsDir,
    {
      target: 'diff',
      kind: 'divergence',
      signature,
      message: `${signature}\nrequest: ${luaRequest(min).slice(0, 400)}`,
      inputHex: input.toString('hex'),
      originalHex: (c.kind === 'recv' ? c.stream : input).toString('hex'),
      foundAt: new Date().toISOString(),
      source: 'diff',
      detail: { case: caseJson, lua: minLua, ours: minOurs, luaDecoded: describeAnswer(minLua), oursDecoded: describeAnswer(minOurs) },
    },
    input,
  );
  return {
    id: saved.id,
    signature,
    file: relative(ROOT_DIR, saved.jsonPath),
    case: caseJson,
    lua: describeAnswer(minLua),
    ours: describeAnswer(minOurs),
    duplicate: saved.duplicate,
  };
}

/** Our answer on the path a divergence was found on (the decoder, or recvFrame). */
async function oursFor(c: DiffCase, signature: string, opts: DiffOptions): Promise<string> {
  if (c.kind === 'recv' && signature.startsWith('recvFrame ')) {
    // recvFrame disagreed with the decoder's answer (which the original gave) on one of its paths
    const decoded = await safeOurs(c, opts.decoder);
    return `${VIA_RECV_FRAME}${(await safeRecvFrameDisagreement(c, decoded)) ?? decoded}`;
  }
  return safeOurs(c, opts.decoder);
}

/** The frame targets' seeds and jsfuzz corpus as recv cases (same options and chunking as the target saw). */
export function corpusCases(): RecvCase[] {
  const dirs = [join(SEEDS_DIR, 'frame-compat'), join(DEFAULT_WORK_ROOT, 'corpus', 'frame-compat')];
  const out: RecvCase[] = [];
  for (const d of dirs) {
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).sort()) {
      const input = parseFrameInput(readFileSync(join(d, f)));
      if (input === null) continue;
      out.push({
        kind: 'recv',
        maxPayloadLen: input.maxPayloadLen,
        forceMasking: input.forceMasking,
        stream: Buffer.from(input.stream),
        chunks: input.chunks.map((ch) => ch.length),
      });
    }
  }
  return out;
}
