// Attaching to the peer `wslab peer start` recorded: against a real nginx + Lua peer, with the
// record in a temp file (the real .cache/peer is shared with whoever runs `wslab peer start`).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNativePeer } from './native/index.js';
import { attachedLine, attachRecordedPeer, readPeerState, writePeerState, clearPeerState, type PeerState } from './recorded.js';
import type { RunningPeer } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'wslab-recorded-'));
const stateFile = join(dir, 'state.json');
let peer: RunningPeer & { pid: number; prefix: string };
let state: PeerState;

beforeAll(async () => {
  peer = await startNativePeer();
  state = { pid: peer.pid, backend: peer.backend, httpUrl: peer.httpUrl, wsUrl: peer.wsUrl, wssUrl: peer.wssUrl, wssSelfSignedUrl: peer.wssSelfSignedUrl, lib: peer.lib, prefix: peer.prefix, caPem: peer.caPem };
});
afterAll(async () => {
  await peer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('attachRecordedPeer', () => {
  it('attaches to a recorded peer that answers, and leaves it running on stop()', async () => {
    writePeerState(state, stateFile);
    expect(readPeerState(stateFile)).toEqual(state);
    const r = await attachRecordedPeer({ stateFile });
    expect(r.peer).not.toBeNull();
    const attached = r.peer!;
    expect([attached.httpUrl, attached.wsUrl, attached.wssUrl, attached.wssSelfSignedUrl, attached.caPem, attached.lib]).toEqual([peer.httpUrl, peer.wsUrl, peer.wssUrl, peer.wssSelfSignedUrl, peer.caPem, peer.lib]);
    expect(await attached.alive()).toBe(true);
    expect(typeof (await attached.errorLog())).toBe('string');
    await attached.stop();
    expect(await peer.alive()).toBe(true);
    expect(attachedLine('interop', attached)).toBe(
      `wslab interop: using the peer started by \`wslab peer start\` at ${peer.httpUrl} (pid ${peer.pid}), lua-resty-websocket ${peer.lib.clientVersion}; it stays running (\`wslab peer stop\` stops it)`,
    );
    expect((await attachRecordedPeer({ stateFile, backend: 'auto' })).peer).not.toBeNull();
    expect((await attachRecordedPeer({ stateFile, backend: 'native' })).peer).not.toBeNull();
  });

  it('does not attach, and says why, when the record does not match or does not answer', async () => {
    clearPeerState(stateFile);
    expect(await attachRecordedPeer({ stateFile })).toEqual({ peer: null, why: null });
    writePeerState(state, stateFile);
    expect((await attachRecordedPeer({ stateFile, backend: 'container' })).why).toBe('the recorded peer is native, --backend container was asked for');
    expect((await attachRecordedPeer({ stateFile, luaLib: '/opt/other/lib' })).why).toBe('the recorded peer loads the default library, /opt/other/lib was asked for');
    writePeerState({ ...state, luaLib: '/opt/other/lib' }, stateFile);
    expect((await attachRecordedPeer({ stateFile, luaLib: '/opt/other/lib' })).peer).not.toBeNull();
    expect((await attachRecordedPeer({ stateFile })).why).toBe('the recorded peer loads /opt/other/lib, the default library was asked for');
    const { caPem: _, ...old } = state;
    writePeerState(old, stateFile);
    expect((await attachRecordedPeer({ stateFile })).why).toMatch(/^the recorded peer predates attaching/);
    const { wssSelfSignedUrl: __, ...older } = state;
    writePeerState(older, stateFile);
    expect((await attachRecordedPeer({ stateFile })).why).toMatch(/^the recorded peer predates the self-signed TLS listener/);
    // a dead peer: nothing listens on port 9 (discard) of 127.0.0.1 here
    writePeerState({ ...state, httpUrl: 'http://127.0.0.1:9' }, stateFile);
    expect((await attachRecordedPeer({ stateFile })).why).toBe('the recorded peer at http://127.0.0.1:9 does not answer');
  });
});
