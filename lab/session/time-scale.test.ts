import { describe, expect, it } from 'vitest';
import { closeWaitMs, RST_SETTLE_MS } from './raw-peers.js';
import { MAX_TIME_SCALE, scaleSession, timeScaleFor } from './time-scale.js';
import type { ClientSession, ServerSession } from './types.js';

describe('session time scale', () => {
  it('is 1 on an idle machine and grows with the measured lag, bounded', () => {
    expect(timeScaleFor(0)).toBe(1);
    expect(timeScaleFor(RST_SETTLE_MS / 4)).toBe(1);
    expect(timeScaleFor(RST_SETTLE_MS / 4 + 1)).toBe(2);
    expect(timeScaleFor(RST_SETTLE_MS)).toBe(4);
    expect(timeScaleFor(10_000)).toBe(MAX_TIME_SCALE);
  });

  it('stretches timeouts, pauses, sleeps and the settle together; a 1 ms timeout stays 1 ms', () => {
    const server: ServerSession = {
      kind: 'wslab-session', role: 'server', request: { method: 'GET', version: '1.1', headers: [] },
      opts: { timeout: 200, max_payload_len: 125 },
      steps: [{ op: 'set_timeout', ms: 1 }, { op: 'set_timeout', ms: 300 }, { op: 'sleep', ms: 50 }, { op: 'recv_frame' }],
      traffic: [{ pauseMs: 0, frames: [] }, { pauseMs: 60, frames: [], chops: [3] }], end: 'fin',
    };
    const s = scaleSession(server, 3);
    expect(s.opts).toEqual({ timeout: 600, max_payload_len: 125 });
    expect(s.steps).toEqual([{ op: 'set_timeout', ms: 1 }, { op: 'set_timeout', ms: 900 }, { op: 'sleep', ms: 150 }, { op: 'recv_frame' }]);
    expect(s.traffic.map((g) => g.pauseMs)).toEqual([0, 180]);
    expect(s.traffic[1]!.chops).toEqual([3]);
    expect(s.settleMs).toBe(RST_SETTLE_MS * 3);
    expect(scaleSession(server, 1)).toBe(server);

    const client: ClientSession = {
      kind: 'wslab-session', role: 'client', newOpts: { timeout: 300 }, path: '/',
      steps: [{ op: 'connect', uri: '', opts: { pool_size: 2 } }, { op: 'new', opts: { timeout: 200 } }],
      response: { raw: 'x' }, traffic: [], end: 'hold',
    };
    const c = scaleSession(client, 2);
    expect(c.newOpts).toEqual({ timeout: 600 });
    expect(c.steps).toEqual([{ op: 'connect', uri: '', opts: { pool_size: 2 } }, { op: 'new', opts: { timeout: 400 } }]);
  });

  it('waits for the library\'s close as long as the stretched program can run, not a fixed bound', () => {
    // a 1 s set_timeout stretched tenfold, then a read that waits for it: the wait outlasts the read
    const steps = scaleSession({
      kind: 'wslab-session', role: 'server', request: { method: 'GET', version: '1.1', headers: [] }, opts: { timeout: 200 },
      steps: [{ op: 'set_timeout', ms: 1000 }, { op: 'send_ping' }, { op: 'recv_frame' }], traffic: [], end: 'hold',
    } as ServerSession, 10).steps;
    expect(closeWaitMs(2000, steps)).toBe(1500 + 2000 + 10_000 + 10_000);
    expect(closeWaitMs(200, [{ op: 'sleep', ms: 340 }, { op: 'recv_frame' }])).toBe(1500 + 200 + 340 + 200);
    expect(closeWaitMs(200, [{ op: 'set_timeout', ms: 0 }, { op: 'recv_frame' }, { op: 'recv_frame' }, { op: 'recv_frame' }])).toBe(120_000);
  });
});
