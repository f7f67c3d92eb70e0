// Every declared difference is shown on the library version it names, and explains nothing on
// the versions after it: one example session per entry, replayed against the library this process
// loads (Debian's 0.08 by default, v0.12 with RESTY_WEBSOCKET_LIB). On a version the entry names,
// the session's first divergence must be explained by that entry; on a later one, the two sides
// must agree throughout (the entry is exactly the version's difference, nothing more).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeUnavailable, startNativePeer } from '../peers/native/index.js';
import type { Step } from '../peers/lua-api.js';
import type { RunningPeer } from '../peers/types.js';
import { appliesTo, KNOWN_DIFFERENCES, type KnownDifference } from './known.js';
import { describeDivergence } from './compare.js';
import { diffSession } from './run.js';
import type { ClientSession, ServerSession, Session } from './types.js';

const REQUEST: ServerSession['request'] = {
  method: 'GET',
  version: '1.1',
  headers: [['Host', '127.0.0.1'], ['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']],
};

function server(steps: Step[], opts: Record<string, unknown> = {}, extra: Partial<ServerSession> = {}): ServerSession {
  return { kind: 'wslab-session', role: 'server', request: REQUEST, opts: { timeout: 300, ...opts }, steps, traffic: [], end: 'hold', ...extra };
}

function client(steps: Step[], extra: Partial<ClientSession> = {}): ClientSession {
  return {
    kind: 'wslab-session', role: 'client', newOpts: { timeout: 300 }, path: '/', steps,
    response: { status: 'HTTP/1.1 101 Switching Protocols', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', '{accept}']] },
    traffic: [], end: 'hold', ...extra,
  };
}

const connect = (opts: Record<string, unknown> = {}): Step => ({ op: 'connect', uri: '', opts });

/** One session per declared difference that shows it where it applies. */
const EXAMPLES: Record<string, Session> = {
  'api-response-before-new': server([{ op: 'recv_frame' }], {}, { prelude: 'send_headers' }),
  'v012-max-recv-len': server([{ op: 'recv_frame' }], { max_recv_len: 4 }, {
    traffic: [{ pauseMs: 0, frames: [{ fin: true, rsv: 0, opcode: 1, mask: true, payload: 'more than four' }] }],
  }),
  'v012-max-send-len': server([{ op: 'send_text', payload: 'more than four' }], { max_send_len: 4 }),
  'v012-send-continue': server([{ op: 'send_continue', payload: 'x' }]),
  'v009-server-send-close-code': server([{ op: 'send_close', code: 0x8000, msg: 'x' }]),
  'v012-connect-option-checks': client([connect({ host: 5 })]),
  'v011-pool-size-backlog': client([connect({ pool_size: 1, backlog: 0 }), { op: 'new', opts: { timeout: 300 } }, connect({ pool_size: 1, backlog: 0 })]),
  'v012-tls-name-from-options': client([connect({ ssl_verify: true, server_name: 'localhost' })], { target: 'wss' }),
  'v012-connect-host-key': client([connect({ host: 'client.test', key: 'Y2hvc2VuIGtleSBoZXJlIQ==' })]),
  'peer-fin-behind-full-kernel-queue': client([connect(), { op: 'sleep', ms: 340 }, { op: 'set_keepalive' }], {
    traffic: [{ pauseMs: 0, frames: [0, 1].map(() => ({ fin: true, rsv: 0, opcode: 2, mask: false, payload: { fill: 'a', len: 65535 } })) }],
    end: 'fin',
  }),
};

describe('declared differences: data', () => {
  it('every entry has an example session here', () => {
    expect(Object.keys(EXAMPLES).sort()).toEqual(KNOWN_DIFFERENCES.map((k) => k.id).sort());
  });

  it('a "vNNN-…" entry names the version NNN that changed it, and explains nothing from that version on', () => {
    for (const k of KNOWN_DIFFERENCES) {
      const m = /^v0(\d\d)-/.exec(k.id);
      if (m === null) {
        expect(k.before, k.id).toBeUndefined();
        continue;
      }
      expect(k.before, k.id).toBe(`0.${m[1]}`);
      expect(appliesTo(k, k.before!), k.id).toBe(false);
      expect(appliesTo(k, '0.12'), k.id).toBe(false);
      expect(appliesTo(k, '0.08'), k.id).toBe(true);
    }
  });
});

const why = nativeUnavailable();

describe.skipIf(why !== null)(`declared differences against the library in nginx${why ? ` (${why})` : ''}`, () => {
  let peer: RunningPeer;
  beforeAll(async () => {
    peer = await startNativePeer({});
  }, 60_000);
  afterAll(async () => {
    await peer?.stop();
  });

  for (const k of KNOWN_DIFFERENCES as readonly KnownDifference[]) {
    it(`${k.id}: shown where it applies, absent where it does not`, async () => {
      const s = EXAMPLES[k.id]!;
      const version = peer.lib.clientVersion;
      const { cmp: c } = await diffSession(peer, s);
      if (appliesTo(k, version)) {
        // record-level entries are counted without stopping the comparison; session-level ones are the first divergence
        if (k.level === 'record') expect(c.recordExplained, JSON.stringify(c)).toContain(k.id);
        else expect(c.explained?.id, c.first ? describeDivergence(c.first) : 'no divergence').toBe(k.id);
      } else {
        expect(c.first, c.first ? describeDivergence(c.first) : '').toBeNull();
        expect(c.recordExplained).toEqual([]);
      }
    }, 60_000);
  }
});
