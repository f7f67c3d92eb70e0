// The differential fuzzer against the real protocol.lua: the driver reproduces the spec's verified
// behaviours, our codec agrees on them, and a generated run (60 s in CI) finds no divergence.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, DIFF_TIME_MS } from '../test-env.js';
import { describeAnswer, luaRequest, type DiffCase, type RecvCase } from '../../lab/oracle-cases.js';
import { oursAnswer, oursRecvFrame, recvFrameAnswers, recvFrameDisagreement, recvFramePaths, WAITING_PATH_MAX_STREAM, type RecvFramePath } from './cases.js';
import { LuaOracle, ensureOracle } from '../../lab/lua-oracle.js';
import { corpusCases, runDiff } from './runner.js';

const why = ensureOracle();
const run = why === null || IN_CI;

const recv = (stream: number[] | Buffer, maxPayloadLen = 65535, forceMasking = false, chunks: number[] = []): RecvCase => ({
  kind: 'recv', maxPayloadLen, forceMasking, stream: Buffer.from(stream), chunks,
});

describe('recvFrameAnswers: recvFrame compared with an answer result by result', () => {
  // two text frames, then the stream ends: three results
  const c = recv([0x81, 0x02, 0x68, 0x69, 0x81, 0x01, 0x21]);
  it.each<RecvFramePath>(['buffered', 'waiting'])('agrees with exactly the answer oursRecvFrame builds, and with nothing shorter, longer or different (%s reads)', async (path) => {
    const whole = await oursRecvFrame(c, path);
    expect(whole.split(' ')).toHaveLength(4);
    expect(await recvFrameAnswers(c, whole, path)).toBe(true);
    expect(await recvFrameAnswers(c, whole.slice(0, -1), path)).toBe(false);
    expect(await recvFrameAnswers(c, `${whole} x`, path)).toBe(false);
    expect(await recvFrameAnswers(c, whole.slice(0, whole.lastIndexOf(' ')), path)).toBe(false);
    expect(await recvFrameAnswers(c, whole.replace('6869', '6868'), path)).toBe(false);
    expect(await recvFrameAnswers(c, `B${whole.slice(1)}`, path)).toBe(false);
    // each field of a result: the type, the error, data against no data, a longer field
    expect(await recvFrameAnswers(c, whole.replace(',text,', ',binary,'), path)).toBe(false);
    expect(await recvFrameAnswers(c, whole.replace(',text,~', ',text,n1000'), path)).toBe(false);
    expect(await recvFrameAnswers(c, whole.replace(' 6869,', ' ~,'), path)).toBe(false);
    expect(await recvFrameAnswers(c, whole.replace(',text,~', ',text,~~'), path)).toBe(false);
  });

  it('checks short streams both ways and long ones buffered; a disagreement comes back whole', async () => {
    expect(recvFramePaths(c)).toEqual(['buffered', 'waiting']);
    expect(recvFramePaths(recv(Buffer.alloc(WAITING_PATH_MAX_STREAM + 1)))).toEqual(['buffered']);
    const whole = await oursRecvFrame(c);
    expect(await oursRecvFrame(c, 'waiting')).toBe(whole);
    expect(await recvFrameDisagreement(c, whole)).toBeNull();
    expect(await recvFrameDisagreement(c, whole.replace('6869', '6868'))).toBe(whole);
  });
});

describe.skipIf(!run)(`differential fuzzing against the original protocol.lua${why ? ` (${why})` : ''}`, () => {
  let oracle: LuaOracle;
  beforeAll(() => {
    oracle = new LuaOracle();
  });
  afterAll(async () => {
    await oracle?.close();
  });

  async function both(c: DiffCase): Promise<{ lua: unknown; ours: unknown }> {
    const [lua, ours] = [await oracle.ask(luaRequest(c)), await oursAnswer(c)];
    // recvFrame over a cosocket must give what the incremental decoder gives.
    if (c.kind === 'recv') for (const path of ['buffered', 'waiting'] as const) expect(await oursRecvFrame(c, path)).toBe(ours);
    return { lua: describeAnswer(lua), ours: describeAnswer(ours) };
  }

  it('runs the original code', async () => {
    expect(await oracle.version()).toMatch(/^0\.(0[89]|1[0-3])$/);
  });

  it('answers a batch (askMany) exactly as one request at a time, in order, interleaved with single requests', async () => {
    const reqs = [
      luaRequest(recv([0x81, 0x02, 0x68, 0x69])),
      luaRequest({ kind: 'build', fin: true, opcode: 2, payloadLen: 3, payload: Buffer.from('abc'), masking: true, key: 0x01020304 }),
      'garbage that the driver answers with X',
      luaRequest(recv(Buffer.concat([Buffer.from([0x82, 0x7e, 0xff, 0xff]), Buffer.alloc(65535, 0x61)]))),
      luaRequest(recv([])),
    ];
    const one: string[] = [];
    for (const r of reqs) one.push(await oracle.ask(r));
    const [batch, single, batch2, empty] = await Promise.all([oracle.askMany(reqs), oracle.ask(reqs[0]!), oracle.askMany(reqs.slice(3)), oracle.askMany([])]);
    expect(batch).toEqual(one);
    expect(single).toBe(one[0]);
    expect(batch2).toEqual(one.slice(3));
    expect(empty).toEqual([]);
    expect(one[2]!.startsWith('X ')).toBe(true);
    expect(one[3]!.length).toBeGreaterThan(2 * 65535);
  });

  it('agrees on the 31-bit length limit (2^31-1 passes to the max check, 2^31 and 2^63 fail)', async () => {
    const len64 = (hi: number[]): number[] => [0x82, 0x7f, ...hi];
    const cases: Array<[number[], string]> = [
      [len64([0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]), 'exceeding max payload len'],
      [len64([0, 0, 0, 0, 0x80, 0, 0, 0]), 'payload len too large'],
      [len64([0x80, 0, 0, 0, 0, 0, 0, 0]), 'payload len too large'],
    ];
    for (const [stream, err] of cases) {
      const { lua, ours } = await both(recv(stream));
      expect(lua).toEqual([{ data: null, type: null, err }, { data: null, type: null, err: 'failed to receive the first 2 bytes: closed' }]);
      expect(ours).toEqual(lua);
    }
    // With a max above 2^31-1 the frame is accepted and the stream ends inside the body.
    const { lua, ours } = await both(recv(len64([0, 0, 0, 0, 0x7f, 0xff, 0xff, 0xff]).concat([1, 2, 3]), 0x80000000));
    expect(lua).toEqual([{ data: null, type: null, err: 'failed to read masking-len and payload: closed' }]);
    expect(ours).toEqual(lua);
  });

  it('agrees on non-minimal lengths, a stream cut mid-frame and single-byte chunks', async () => {
    const nonMinimal = [0x82, 0x7e, 0, 3, 0x61, 0x62, 0x63, 0x81, 0x7f, 0, 0, 0, 0, 0, 0, 0, 1, 0x7a];
    const { lua, ours } = await both(recv(nonMinimal, 65535, false, Array(nonMinimal.length).fill(1)));
    expect(lua).toEqual([
      { data: 'abc', type: 'binary', err: null },
      { data: 'z', type: 'text', err: null },
      { data: null, type: null, err: 'failed to receive the first 2 bytes: closed' },
    ]);
    expect(ours).toEqual(lua);
    const cut = await both(recv([0x81, 0x7e, 0]));
    expect(cut.lua).toEqual([{ data: null, type: null, err: 'failed to receive the 2 byte payload length: closed' }]);
    expect(cut.ours).toEqual(cut.lua);
  });

  it('agrees on the desynchronisation after a timeout inside a frame (docs/behaviour.md §5)', async () => {
    const foo = [0x81, 0x03, 0x66, 0x6f, 0x6f];
    // 1 byte, a timeout, then the rest: the next call starts inside the frame.
    const early = await both({ ...recv([...foo, ...foo]), timeouts: [1] });
    expect(early.lua).toEqual([
      { data: null, type: null, err: 'failed to receive the first 2 bytes: timeout' },
      { data: null, type: null, err: 'reserved non-control frames' },
      { data: null, type: null, err: 'bad RSV1, RSV2, or RSV3 bits' },
      { data: 'foo', type: 'text', err: null },
      { data: null, type: null, err: 'failed to receive the first 2 bytes: closed' },
    ]);
    expect(early.ours).toEqual(early.lua);
    // A timeout inside the payload loses the head and the payload read so far.
    const inBody = await both({ ...recv([...foo, ...foo]), timeouts: [3] });
    expect((inBody.lua as Array<{ err: unknown }>)[0]!.err).toBe('failed to read masking-len and payload: timeout');
    expect(inBody.ours).toEqual(inBody.lua);
  });

  it('agrees on build_frame with a fixed masking key and on send_frame coercion', async () => {
    const build = await both({ kind: 'build', fin: true, opcode: 1, payloadLen: 3, masking: true, key: 0x12345678, payload: Buffer.from('foo') });
    expect(build.lua).toBe('F 818312345678745b39');
    expect(build.ours).toBe(build.lua);
    const leak = await both({ kind: 'build', fin: true, opcode: 0x10, payloadLen: 0, masking: false, key: 1, payload: Buffer.alloc(0) });
    expect(leak.lua).toBe('F 9000'); // the opcode leaks into RSV3 (docs/behaviour.md §3)
    expect(leak.ours).toBe(leak.lua);
    const send = await both({ kind: 'send', fin: true, opcode: 9, maxPayloadLen: 125, masking: false, key: 1, payload: { t: 'number', v: 12.5 } });
    expect(send.lua).toBe(`S 6 8904${Buffer.from('12.5').toString('hex')}`);
    expect(send.ours).toBe(send.lua);
  });

  it('replays the frame-compat corpus without a divergence', async () => {
    const corpus = corpusCases();
    expect(corpus.length).toBeGreaterThan(10);
    for (const c of corpus) {
      const lua = await oracle.ask(luaRequest(c));
      expect(await oursAnswer(c), luaRequest(c).slice(0, 200)).toBe(lua);
      for (const path of ['buffered', 'waiting'] as const) expect(await oursRecvFrame(c, path), luaRequest(c).slice(0, 200)).toBe(lua);
    }
  });

  it(`a ${DIFF_TIME_MS / 1000}s generated run finds no divergence`, async () => {
    const report = await runDiff({ timeMs: DIFF_TIME_MS, useCorpus: false, findingsDir: `${process.env.TMPDIR ?? '/tmp'}/wslab-diff-test` });
    expect(report.cases).toBeGreaterThan(1000);
    expect(report.byKind.recv).toBeGreaterThan(0);
    expect(report.byKind.build).toBeGreaterThan(0);
    expect(report.byKind.send).toBeGreaterThan(0);
    // Every read stage's end-of-stream error and every recv error of docs/behaviour.md §2 was exercised.
    for (const k of ['recv:failed to receive the first 2 bytes', 'recv:failed to read masking-len and payload', 'recv:payload len too large', 'recv:close']) {
      expect(report.outcomes[k], k).toBeGreaterThan(0);
    }
    expect(report.divergences, JSON.stringify(report.divergences, null, 2)).toEqual([]);
    expect(report.divergenceCount).toBe(0);
  }, DIFF_TIME_MS + 60_000);
});
