// The interop suite against the real library: every scenario in every direction must pass, with
// no unexplained difference from the Lua library, and scenarios that need a newer library than the
// peer's are skipped (not failed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPeer } from '../../lab/peers/index.js';
import { nativeUnavailable } from '../../lab/peers/native/index.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { runScenarios, sentNoRequest } from './runner.js';
import { SCENARIOS, selectScenarios } from './scenarios/index.js';
import { compareRecords } from '../compare/index.js';
import type { DirectionResult, Scenario } from './types.js';

const why = nativeUnavailable();
let serverAvailable = true;
try {
  await import('resty-websocket/server');
} catch {
  serverAvailable = false;
}

describe.skipIf(why !== null)('interop against nginx + the real lua-resty-websocket', () => {
  let peer: RunningPeer;
  const results = new Map<string, DirectionResult>();
  beforeAll(async () => {
    peer = await startPeer({ backend: 'native' });
    const directions = serverAvailable ? undefined : (['lua-lua', 'ts-lua'] as const);
    for (const r of await runScenarios({ peer, scenarios: SCENARIOS, directions })) results.set(`${r.scenario} ${r.direction}`, r);
  }, 240_000);
  afterAll(async () => {
    await peer?.stop();
  });

  it('runs every scenario in every direction', () => {
    const dirs = serverAvailable ? 4 : 2;
    expect(results.size).toBe(SCENARIOS.length * dirs);
  });

  for (const s of SCENARIOS) {
    it(`${s.id}: ${s.title}${s.upstream ? ` (${s.upstream})` : ''}`, () => {
      const mine = [...results.values()].filter((r) => r.scenario === s.id);
      expect(mine.length).toBeGreaterThan(0);
      for (const r of mine) {
        if (r.verdict === 'skip') {
          // Only a library older than the scenario needs may skip it, and never our own ts-ts run.
          expect(r.direction).not.toBe('ts-ts');
          expect(r.reason).toMatch(/^needs lua-resty-websocket \d/);
          continue;
        }
        const unexplained = r.differences.filter((d) => !d.explained);
        expect({ direction: r.direction, verdict: r.verdict, reason: r.reason, unexplained }).toEqual({ direction: r.direction, verdict: 'pass', reason: undefined, unexplained: [] });
      }
    });
  }

  it('runs a failed run once more: a pass then is "flaky" with the first reason, a failure that comes back stays', async () => {
    const base = SCENARIOS.find((s) => s.id === 'sanity-02-text')!;
    const calls = { once: 0, always: 0, never: 0 };
    const failsOnce: Scenario = { ...base, id: 'retry-once', check: (r, d) => { if (d === 'ts-ts' && calls.once++ === 0) throw new Error('first run fails'); base.check?.(r, d); } };
    const failsAlways: Scenario = { ...base, id: 'retry-always', check: (_r, d) => { if (d === 'ts-ts') { calls.always++; throw new Error('always fails'); } } };
    const noRetry: Scenario = { ...base, id: 'retry-none', check: (_r, d) => { if (d === 'ts-ts') { calls.never++; throw new Error('fails'); } } };
    const got = await runScenarios({ peer, scenarios: [failsOnce, failsAlways], directions: ['ts-ts'] });
    expect(got.map((r) => [r.scenario, r.verdict, r.flaky, r.reason])).toEqual([
      ['retry-once', 'pass', 'check: first run fails', undefined],
      ['retry-always', 'fail', undefined, 'check: always fails'],
    ]);
    expect(calls).toMatchObject({ once: 2, always: 2 });
    const none = await runScenarios({ peer, scenarios: [noRetry], directions: ['ts-ts'], retries: 0 });
    expect(none.map((r) => r.verdict)).toEqual(['fail']);
    expect(calls.never).toBe(1);
  }, 60_000);
});

describe('the comparator', () => {
  it('reports a difference with both values, and explains the v0.08 connect return', () => {
    const lua = [{ op: 'connect', ret: [1, null, null] }, { op: 'send_text', ret: [5, null] }];
    const ours = [{ op: 'connect', ret: [1, null, Buffer.from('HTTP/1.1 101 Switching Protocols\r\nX: y')] }, { op: 'send_text', ret: [null, Buffer.from('payload too big')] }];
    const diffs = compareRecords(lua, ours, '0.08');
    expect(diffs.map((d) => [d.op, !!d.explained])).toEqual([['connect', true], ['send_text', false]]);
    expect(diffs[1]).toMatchObject({ lua: { ret: [5, null] }, ours: { ret: [null, 'payload too big'] } });
    // On v0.12 the same connect difference is not explained away.
    expect(compareRecords(lua, ours, '0.12')[0]!.explained).toBeUndefined();
  });

  it('treats socket errors that differ only by who closed first as equal', () => {
    const a = [{ op: 'recv_frame', ret: [null, null, Buffer.from('failed to receive the first 2 bytes: closed')] }];
    const b = [{ op: 'recv_frame', ret: [null, null, Buffer.from('failed to receive the first 2 bytes: connection reset by peer')] }];
    expect(compareRecords(a, b, '0.12')).toEqual([]);
  });

  it('knows when a client never sent its request (so the Lua server is not waited for)', () => {
    const connect = (ok: 1 | null, err: string | null) => ({ op: 'connect', ret: [ok, err === null ? null : Buffer.from(err), null] });
    expect(sentNoRequest([connect(null, 'ssl handshake failed: 18: self-signed certificate'), { op: 'send_text', ret: [null, Buffer.from('failed to send frame: closed')] }])).toBe(true);
    expect(sentNoRequest([connect(null, 'failed to connect: connection refused')])).toBe(true);
    // the request went out: the server may have run
    expect(sentNoRequest([connect(null, 'failed to receive response header: closed')])).toBe(false);
    expect(sentNoRequest([connect(null, 'ssl handshake failed: certificate host mismatch'), connect(1, null)])).toBe(false);
    expect(sentNoRequest([{ op: 'send_text', ret: [null, Buffer.from('not initialized')] }])).toBe(false);
  });

  it('selects scenarios by glob', () => {
    expect(selectScenarios('limits-*').map((s) => s.id)).toEqual(['limits-01-client-max-send', 'limits-02-client-max-recv', 'limits-03-server-max-send', 'limits-04-server-max-recv']);
    expect(selectScenarios('cs-0?-*', 'cs-05*').every((s) => /^cs-0\d/.test(s.id) && !s.id.startsWith('cs-05'))).toBe(true);
  });
});
