// Every saved finding is a regression case: fuzz/findings/<target>/ inputs must no longer crash
// their target, and fuzz/findings/diff/ cases must get the same answer from us and the original.
import { describe, expect, it } from 'vitest';
import { loadTargetFunction } from './campaign.js';
import { caseFromJson, luaRequest } from '../lab/oracle-cases.js';
import { oursAnswer, oursRecvFrame } from './diff/cases.js';
import { ensureOracle, LuaOracle } from '../lab/lua-oracle.js';
import { loadFindings } from './findings.js';
import { IN_CI } from './test-env.js';
import { handshakeDiffUnavailable, oursHandshake } from './diff/handshake-diff.js';
import { probeHandshake } from './diff/handshake-nginx.js';
import { startNativePeer } from '../lab/peers/native/index.js';
import type { RunningPeer } from '../lab/peers/types.js';
import { afterAll, beforeAll } from 'vitest';

const findings = loadFindings();
const crashes = findings.filter((f) => f.target !== 'diff' && f.target !== 'diff-handshake');
const divergences = findings.filter((f) => f.target === 'diff');
const handshakeDivergences = findings.filter((f) => f.target === 'diff-handshake');

describe('saved jsfuzz findings replay clean', () => {
  if (crashes.length === 0) it.skip('no saved jsfuzz findings yet', () => {});
  for (const f of crashes) {
    it(`${f.target}/${f.id}: ${f.meta.signature}`, async () => {
      const fuzz = await loadTargetFunction(f.target);
      await expect((async () => fuzz(f.input))()).resolves.toBeUndefined();
    });
  }
});

describe('saved divergences now agree with the original', () => {
  const why = ensureOracle();
  if (divergences.length === 0) it.skip('no saved divergences yet', () => {});
  for (const f of divergences) {
    it.skipIf(why !== null && !IN_CI)(`diff/${f.id}: ${f.meta.signature}`, async () => {
      const c = caseFromJson((f.meta.detail as { case: Record<string, unknown> }).case);
      const oracle = new LuaOracle();
      try {
        const lua = await oracle.ask(luaRequest(c));
        expect(await oursAnswer(c)).toBe(lua);
        if (c.kind === 'recv') expect(await oursRecvFrame(c)).toBe(lua);
      } finally {
        await oracle.close();
      }
    });
  }
});

describe('saved handshake divergences now agree with the original server:new()', () => {
  const why = handshakeDiffUnavailable();
  const run = handshakeDivergences.length > 0 && (why === null || IN_CI);
  let peer: RunningPeer | undefined;
  beforeAll(async () => {
    if (run) peer = await startNativePeer({});
  }, 60_000);
  afterAll(async () => {
    await peer?.stop();
  });
  if (handshakeDivergences.length === 0) it.skip('no saved handshake divergences yet', () => {});
  for (const f of handshakeDivergences) {
    it.skipIf(!run)(`diff-handshake/${f.id}: ${f.meta.signature}`, async () => {
      const port = Number(new URL(peer!.httpUrl).port);
      expect(oursHandshake(f.input)).toEqual(await probeHandshake(port, f.input));
    });
  }
});
