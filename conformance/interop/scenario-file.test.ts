// `wslab interop --scenario-file F`: both file kinds load, a bad file is refused with one line, and
// a saved session replays against the real library and ours.
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../../lab/paths.js';
import { nativeUnavailable, startNativePeer } from '../../lab/peers/native/index.js';
import type { RunningPeer } from '../../lab/peers/types.js';
import { loadScenarioFile, replaySession } from './scenario-file.js';

const dir = mkdtempSync(join(tmpdir(), 'wslab-scenario-file-'));
const sessions = join(ROOT_DIR, 'fuzz', 'findings', 'session');
const saved = readdirSync(sessions).filter((f) => f.endsWith('.json')).map((f) => join(sessions, f));

describe('scenario files', () => {
  it('loads an interop scenario as JSON, and a saved session', () => {
    const f = join(dir, 's.json');
    writeFileSync(f, JSON.stringify({ id: 'mine-1', server: { steps: [{ op: 'recv_frame' }] }, client: { steps: [{ op: 'send_text', payload: 'x' }] } }));
    const s = loadScenarioFile(f);
    expect(s.kind).toBe('scenario');
    if (s.kind === 'scenario') expect(s.scenario).toMatchObject({ id: 'mine-1', title: 'mine-1' });
    expect(saved.length).toBeGreaterThan(0);
    expect(loadScenarioFile(saved[0]!).kind).toBe('session');
  });

  it('refuses what is neither, with the file name', () => {
    const f = join(dir, 'bad.json');
    writeFileSync(f, '{"hello": 1}');
    expect(() => loadScenarioFile(f)).toThrow(`${f}: neither a session (kind "wslab-session") nor an interop scenario`);
    writeFileSync(f, JSON.stringify({ id: 'x', tls: 'yes', server: { steps: [] }, client: { steps: [] } }));
    expect(() => loadScenarioFile(f)).toThrow(`${f}: "tls" is true (the lab CA's certificate), "self-signed" (a certificate no one trusts) or false, not "yes"`);
    writeFileSync(f, JSON.stringify({ id: 'x', tls: 'self-signed', server: { steps: [] }, client: { steps: [] } }));
    expect(loadScenarioFile(f)).toMatchObject({ kind: 'scenario', scenario: { tls: 'self-signed' } });
    writeFileSync(f, 'not json');
    expect(() => loadScenarioFile(f)).toThrow(/not a JSON scenario file/);
  });
});

const why = nativeUnavailable();
describe.skipIf(why !== null && process.env.CI !== 'true')(`a saved session replays${why ? ` (${why})` : ''}`, () => {
  let peer: RunningPeer;
  beforeAll(async () => {
    peer = await startNativePeer({});
  }, 60_000);
  afterAll(async () => {
    await peer?.stop();
  });
  it('against the Lua library and against ours, with a verdict line', async () => {
    const f = loadScenarioFile(saved[0]!);
    if (f.kind !== 'session') throw new Error('not a session');
    const r = await replaySession(peer, f.session);
    expect(r.directions).toEqual(f.session.role === 'server' ? ['lua-raw', 'ts-raw'] : ['raw-lua', 'raw-ts']);
    expect(r.lua.records[0]!.op).toBe('new');
    expect(['pass', 'explained']).toContain(r.verdict);
  }, 60_000);
});
