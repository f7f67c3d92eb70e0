// The session diff finds a divergence planted in our server and one planted in our client, shrinks
// each to a small scenario file, and that file replays: it diverges with the plant and agrees (or is
// a declared known difference) without it. Also: every saved session finding agrees now.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nativeUnavailable, startNativePeer } from '../../lab/peers/native/index.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import type { SessionTargets } from '../../lab/session/observe.js';
import { diffSession } from '../../lab/session/run.js';
import type { ClientSession, Session } from '../../lab/session/types.js';
import type { StepTarget } from '../../lab/ts-steps.js';
import { FINDINGS_DIR } from '../findings.js';
import { IN_CI } from '../test-env.js';
import { runSessionDiff } from './runner.js';

const why = nativeUnavailable();

/** Our object with one method replaced. */
function plant(obj: StepTarget, name: keyof StepTarget, fn: (orig: (...a: unknown[]) => unknown) => (...a: unknown[]) => unknown): StepTarget {
  return new Proxy(obj, {
    get(t, p) {
      const v = Reflect.get(t, p) as unknown;
      if (p === name) return fn((v as (...a: unknown[]) => unknown).bind(t));
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  });
}

// Server: a non-final data frame is reported as final (err nil instead of "again").
const serverPlant: SessionTargets = {
  wrapServer: (ws) => plant(ws, 'recvFrame', (orig) => async () => {
    const r = (await orig()) as { data: unknown; type: unknown; err: unknown };
    return r.err === 'again' ? { ...r, err: null } : r;
  }),
};
// Client: connect() drops the Origin header (the interop blind spot the issue names).
const clientPlant: SessionTargets = {
  wrapClient: (c) => plant(c, 'connect', (orig) => (uri: unknown, opts?: unknown) => orig(uri, { ...(opts as object), origin: undefined })),
};

// Client: connect() drops the pool option, so every connect shares the host:port pool.
const poolPlant: SessionTargets = {
  wrapClient: (c) => plant(c, 'connect', (orig) => (uri: unknown, opts?: unknown) => orig(uri, { ...(opts as object), pool: undefined })),
};

/** The model's pool tail: the first connection pooled under "a", a new client object connects under "b". */
const otherPoolSession: ClientSession = {
  kind: 'wslab-session',
  role: 'client',
  newOpts: { timeout: 300 },
  path: '/',
  steps: [
    { op: 'connect', uri: '', opts: { pool: 'a' } }, { op: 'recv_frame' }, { op: 'set_keepalive' },
    { op: 'new', opts: { timeout: 300 } }, { op: 'connect', uri: '', opts: { pool: 'b' } }, { op: 'send_text', payload: 'again' },
  ],
  response: { status: 'HTTP/1.1 101 Switching Protocols', headers: [['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Accept', '{accept}']] },
  traffic: [{ pauseMs: 0, frames: [{ fin: true, rsv: 0, opcode: 1, mask: false, payload: 'hi' }] }],
  end: 'fin',
};

async function replay(peer: RunningPeer, s: Session, targets?: SessionTargets) {
  return (await diffSession(peer, s, targets)).cmp;
}

const savedSessions = existsSync(join(FINDINGS_DIR, 'session')) ? readdirSync(join(FINDINGS_DIR, 'session')).filter((f) => f.endsWith('.json')) : [];

describe.skipIf(why !== null && !IN_CI)(`session diff against the Lua library in nginx${why ? ` (${why})` : ''}`, () => {
  let peer: RunningPeer;
  beforeAll(async () => {
    peer = await startNativePeer({});
  }, 60_000);
  afterAll(async () => {
    await peer?.stop();
  });

  for (const [role, targets, what] of [
    ['server', serverPlant, 'recv_frame reports a non-final frame as final'],
    ['client', clientPlant, 'connect drops the Origin header'],
  ] as const) {
    it(`finds a divergence planted in our ${role} (${what}), shrinks it and saves a replayable scenario`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'wslab-session-test-'));
      const r = await runSessionDiff({ peer, timeMs: 45_000, seed: 42, roles: [role], targets, findingsDir: dir, maxFindings: 1, shrinkBudgetMs: 20_000, jobs: 2 });
      // Two jobs run side by side: each may have found (and shrunk) the plant before the other stopped.
      expect(r.divergences.length, JSON.stringify(r.errors)).toBeGreaterThanOrEqual(1);
      expect(r.divergences.length).toBeLessThanOrEqual(2);
      for (const d of r.divergences) {
        expect(d.role).toBe(role);
        const saved = JSON.parse(readFileSync(d.file, 'utf8')) as { kind: string; session: Session; divergence: { channel: string } };
        expect(saved.kind).toBe('wslab-session-finding');
        const s = saved.session;
        // Shrunk: a short program and little traffic are left.
        expect(s.steps.length).toBeLessThanOrEqual(role === 'server' ? 3 : 2);
        expect(s.traffic.flatMap((g) => g.frames).length).toBeLessThanOrEqual(3);
        // the Origin header is missing from a request head: the first connection's, or a later one's
        if (role === 'client') expect(['head', 'connections']).toContain(saved.divergence.channel);
        // The scenario file replays: it diverges with the plant, and agrees without it.
        const planted = await replay(peer, s, targets);
        expect(planted.first).not.toBeNull();
        expect(planted.explained).toBeNull();
        const clean = await replay(peer, s);
        expect(clean.first === null || clean.explained !== null, JSON.stringify(clean.first)).toBe(true);
      }
    }, 180_000);
  }

  it('a second connect under another pool name opens a second connection on both sides; ours without the pool option diverges', async () => {
    const { cmp: clean, lua, ours } = await diffSession(peer, otherPoolSession);
    expect(lua.connections).toBe(2);
    expect(ours.connections).toBe(2);
    expect(clean.first, JSON.stringify(clean.first)).toBeNull();
    const planted = await replay(peer, otherPoolSession, poolPlant);
    expect(planted.first).not.toBeNull();
    expect(planted.explained).toBeNull();
  }, 60_000);

  it('with maxSessions runs exactly that many sessions, however the jobs share them (no time limit)', async () => {
    for (const jobs of [1, 3]) {
      const r = await runSessionDiff({ peer, timeMs: Infinity, maxSessions: 10, seed: 7, roles: ['server'], jobs, maxFindings: 1, shrinkBudgetMs: 0, findingsDir: mkdtempSync(join(tmpdir(), 'wslab-session-count-')) });
      expect(r.sessions.server + r.sessions.client + r.errors.length, JSON.stringify(r.errors)).toBe(10);
      expect(r.finished).toBe(true);
    }
  }, 120_000);

  for (const f of savedSessions) {
    it(`saved session ${f} agrees with the original now (or is a declared difference)`, async () => {
      const j = JSON.parse(readFileSync(join(FINDINGS_DIR, 'session', f), 'utf8')) as { session: Session };
      const c = await replay(peer, j.session);
      expect(c.first === null || c.explained !== null, JSON.stringify(c.first)).toBe(true);
    }, 60_000);
  }
});
