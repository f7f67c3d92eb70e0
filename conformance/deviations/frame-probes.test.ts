import { describe, expect, it } from 'vitest';
import { FRAME_PROBES, runFrameProbes } from './frame-probes.js';
import { oracleUnavailable } from '../../lab/lua-oracle.js';

const unavailable = oracleUnavailable();

describe('the original frame codec departs from RFC 6455 exactly as the docs/behaviour.md §7 says', () => {
  it.skipIf(unavailable !== null)('every probe: the real protocol.lua accepts (or refuses) it as documented, and compat matches it', async () => {
    const results = await runFrameProbes();
    const byId = Object.fromEntries(results.map((r) => [r.probe.id, r]));
    for (const r of results) expect(r.compatMatches, r.probe.id).toBe(true);
    expect(byId['stray-continuation']!.lua![0]).toEqual({ data: 'foo', type: 'continuation', err: null });
    expect(byId['interleaved-text']!.lua!.slice(0, 2)).toEqual([{ data: 'a', type: 'text', err: 'again' }, { data: 'b', type: 'text', err: null }]);
    expect(byId['invalid-utf8-text']!.lua![0]).toEqual({ data: '\xc3(', type: 'text', err: null });
    expect(byId['invalid-utf8-close-reason']!.lua![0]).toEqual({ data: '\xff\xfe', type: 'close', err: 1000 });
    expect(byId['close-code-0']!.lua![0]).toEqual({ data: '', type: 'close', err: 0 });
    expect(byId['close-code-1005']!.lua![0]).toEqual({ data: '', type: 'close', err: 1005 });
    expect(byId['close-code-5000']!.lua![0]).toEqual({ data: '', type: 'close', err: 5000 });
    expect(byId['length-2-31']!.lua![0]).toEqual({ data: null, type: null, err: 'payload len too large' });
    expect(byId['masked-server-frame']!.lua![0]).toEqual({ data: 'foo', type: 'text', err: null });
  });

  it('every probe cites an RFC section and a docs/behaviour.md §7 item, and its input is hex', () => {
    for (const p of FRAME_PROBES) {
      expect(p.rfc).toMatch(/^RFC 6455 §\d/);
      expect(p.specItem).toBeGreaterThanOrEqual(1);
      expect(p.hex.replace(/\s+/g, '')).toMatch(/^([0-9a-f]{2})+$/);
    }
  });
});
