import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeUnavailable, startNativePeer } from '../../lab/peers/native/index.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { runHandshakeProbes } from './handshake-probes.js';

const why = nativeUnavailable();

describe.skipIf(why !== null)('the original handshakes depart from RFC 6455 as the docs/behaviour.md §7 says', () => {
  let peer: RunningPeer;
  beforeAll(async () => {
    peer = await startNativePeer();
  });
  afterAll(async () => {
    await peer?.stop();
  });

  it('shows every documented handshake deviation on the real library', async () => {
    const results = await runHandshakeProbes(peer);
    expect(results.map((r) => [r.probe.id, r.deviates, r.error ?? null])).toEqual([
      ['subprotocol-echoed-whole', true, null],
      ['key-not-validated', true, null],
      ['method-not-checked', true, null],
      ['connection-substring', true, null],
      ['no-426', true, null],
      ['client-accepts-404', true, null],
      ['client-accepts-bad-accept', true, null],
    ]);
    const byId = Object.fromEntries(results.map((r) => [r.probe.id, r]));
    expect(byId['no-426']!.observed).toBe('(connection closed, nothing sent)');
    expect(byId['client-accepts-404']!.observed).toMatch(/^connect\(\) -> 1/);
  });
});
