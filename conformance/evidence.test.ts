// No verdict without evidence: a dead --url, a peer killed mid-run (restarted: its cases are run
// again and named; not restartable: they are errors), a deviations part whose probes could not
// reach the peer, an interop direction whose reference errored. Each must come out as an error
// (exit 1), never as a pass.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { nativeUnavailable, startNativePeer } from '../lab/peers/native/index.js';
import { PeerSupervisor } from '../lab/peers/supervisor.js';
import type { RunningPeer } from '../lab/peers/types.js';
import { diffAgainst } from './expected.js';
import { runConformance, runProblems, MUST_PASS } from './index.js';
import { run as conformanceCli } from './cli.js';
import { runFrameProbes } from './deviations/frame-probes.js';
import { runHandshakeProbes } from './deviations/handshake-probes.js';
import { judgeDeviations } from './deviations/judge.js';
import { runScenarios } from './interop/runner.js';
import { SCENARIOS } from './interop/scenarios/index.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'wslab-evidence-'));
const why = nativeUnavailable();

/** A native peer whose first /health answer after `kill` fails, as a real death does. */
type KillablePeer = RunningPeer & { kill(): void };

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a --url server that cannot be reached', () => {
  it('is one clear error line and exit 1, not 301 silent case files', async () => {
    const out: string[] = [];
    vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void out.push(a.join(' ')));
    const dir = tmp();
    const code = await conformanceCli(['--url', 'x=ws://127.0.0.1:1/', '--out', dir]);
    expect(code).toBe(1);
    const errors = out.filter((l) => l.includes('error'));
    expect(errors).toEqual([expect.stringMatching(/^x +error: cannot connect to ws:\/\/127\.0\.0\.1:1\/: connect ECONNREFUSED 127\.0\.0\.1:1$/)]);
    const runJson = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as { ok: boolean; errors: Record<string, string> };
    expect(runJson.ok).toBe(false);
    expect(runJson.errors.x).toMatch(/ECONNREFUSED/);
  });

  it('a --url server is held to every case like our strict agents', async () => {
    const r = await runConformance({ agents: ['ws-server'], cases: '1.1.1', outDir: tmp() });
    expect(runProblems(r, MUST_PASS)).toEqual([]);
  });
});

describe('--check-expected with --exclude', () => {
  it('does not report excluded cases as "expected ..., got (absent)"', () => {
    const table = { '1.1.1': 'OK / OK', '9.1.1': 'OK / OK' };
    expect(diffAgainst(table, { '1.1.1': { behavior: 'OK', behaviorClose: 'OK' } }, ['1.1.1'])).toEqual([]);
    // A selected case that gave no verdict still is a difference.
    expect(diffAgainst(table, {}, ['1.1.1'])).toEqual([['1.1.1', 'OK / OK', '(absent)']]);
  });
});

describe.skipIf(why !== null)('a peer killed mid-run', () => {
  it('conformance: restarted once, the case it took along run again and named, exit 1', async () => {
    const first = (await startNativePeer()) as unknown as KillablePeer;
    const supervisor = PeerSupervisor.forOwnPeer(first, { backend: 'native' });
    let seen = 0;
    try {
      const r = await runConformance({
        agents: ['lua-server'], cases: '1.1.*', outDir: tmp(), supervisor,
        onResult: () => {
          if (++seen === 3) first.kill();
        },
      });
      expect(r.restarts).toEqual([expect.objectContaining({ restarted: true })]);
      expect(r.affected.length).toBeGreaterThanOrEqual(1);
      // Every case has a verdict from a live peer; the affected one was run again.
      expect(r.results.filter((x) => x.agent === 'lua-server').map((x) => x.error)).toEqual(Array(8).fill(undefined));
      const again = r.results.find((x) => x.id === r.affected[0]!.id)!;
      expect(again.rerun?.reason).toMatch(/peer died/);
      expect(r.errors).toEqual({});
      // A dying peer is a finding even when the re-runs pass: exit 1, with the restart named.
      const problems = runProblems(r, MUST_PASS);
      expect(problems.some((p) => /peer died .* restarted/.test(p))).toBe(true);
      expect(problems.some((p) => p.startsWith('cases affected by the peer'))).toBe(true);
    } finally {
      await supervisor.current.stop();
    }
  }, 120_000);

  it('conformance: a peer that cannot be restarted makes its cases errors, not verdicts', async () => {
    const peer = (await startNativePeer()) as unknown as KillablePeer;
    let seen = 0;
    try {
      const r = await runConformance({
        agents: ['lua-server'], cases: '1.1.*', outDir: tmp(), peer,
        onResult: () => {
          if (++seen === 2) peer.kill();
        },
      });
      expect(r.restarts).toEqual([expect.objectContaining({ restarted: false })]);
      expect(r.errors['lua-server']).toMatch(/stopped answering/);
      expect(r.results.some((x) => x.error !== undefined)).toBe(true);
      expect(runProblems(r, MUST_PASS).length).toBeGreaterThan(0);
    } finally {
      await peer.stop();
    }
  }, 120_000);

  it('conformance: the Lua client agent dying with nginx is restarted and its remaining cases run', async () => {
    const first = (await startNativePeer()) as unknown as KillablePeer;
    const supervisor = PeerSupervisor.forOwnPeer(first, { backend: 'native' });
    let seen = 0;
    try {
      const r = await runConformance({
        agents: ['lua-client'], cases: '1.1.*,2.1', outDir: tmp(), supervisor,
        onResult: (x) => {
          if (x.agent === 'lua-client' && ++seen === 3) first.kill();
        },
      });
      expect(r.restarts).toEqual([expect.objectContaining({ restarted: true })]);
      expect(r.affected.length).toBeGreaterThanOrEqual(1);
      const ids = r.results.filter((x) => x.agent === 'lua-client' && x.error === undefined).map((x) => x.id).sort();
      expect(ids).toEqual(['1.1.1', '1.1.2', '1.1.3', '1.1.4', '1.1.5', '1.1.6', '1.1.7', '1.1.8', '2.1']);
    } finally {
      await supervisor.current.stop();
    }
  }, 120_000);

  it('interop: the peer is restarted once and every direction still has a verdict from a live peer', async () => {
    const first = (await startNativePeer()) as unknown as KillablePeer;
    const supervisor = PeerSupervisor.forOwnPeer(first, { backend: 'native' });
    const scenarios = SCENARIOS.filter((s) => !s.needs && !s.tls).slice(0, 2);
    let seen = 0;
    try {
      const results = await runScenarios({
        peer: first, supervisor, scenarios, retries: 0,
        onResult: () => {
          if (++seen === 1) first.kill();
        },
      });
      expect(supervisor.restarts).toEqual([expect.objectContaining({ restarted: true })]);
      // Nothing passes without a comparison: every direction has a verdict from a live peer.
      expect(results.filter((x) => x.verdict === 'error')).toEqual([]);
      expect(results.length).toBeGreaterThan(2);
    } finally {
      await supervisor.current.stop();
    }
  }, 120_000);

  it('interop: directions whose lua-lua reference errored are errors ("no reference"), not passes', async () => {
    const peer = (await startNativePeer()) as unknown as KillablePeer;
    peer.kill();
    try {
      const scenario = SCENARIOS.find((s) => !s.needs && !s.tls && (!s.directions || s.directions.includes('ts-ts')))!;
      const results = await runScenarios({ peer, scenarios: [scenario], directions: ['ts-ts'], retries: 0 });
      expect(results).toEqual([expect.objectContaining({ direction: 'ts-ts', verdict: 'error', reason: expect.stringMatching(/^no reference: /) })]);
    } finally {
      await peer.stop();
    }
  }, 60_000);

  it('deviations: handshake probes that could not reach the peer make the part an error', async () => {
    const peer = await startNativePeer();
    await peer.stop();
    const handshake = await runHandshakeProbes(peer);
    expect(handshake.every((h) => h.error !== undefined)).toBe(true);
    const frame = await runFrameProbes();
    const v = judgeDeviations(frame, handshake);
    expect(v.status).toBe('error');
    expect(v.summary).toMatch(new RegExp(`${handshake.length} of ${handshake.length} handshake probes could not run`));
  }, 60_000);
});

describe('deviations verdict', () => {
  it('zero probes compared is an error', () => {
    expect(judgeDeviations([], []).status).toBe('error');
    expect(judgeDeviations([], null).summary).toMatch(/no peer/);
  });
});
