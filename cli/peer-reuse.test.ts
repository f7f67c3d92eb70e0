// `wslab interop` and `wslab conformance` attach to the peer `wslab peer start` recorded, say so, and
// leave it running. A real nginx + Lua peer; the record lives in a temp file (WSLAB_PEER_STATE), not
// in the .cache/peer that a user's `wslab peer start` shares.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DEBIAN_LUA_ROOT } from '../lab/lua-lib.js';
import { startNativePeer } from '../lab/peers/native/index.js';
import { writePeerState } from '../lab/peers/recorded.js';
import { main } from './main.js';

const dir = mkdtempSync(join(tmpdir(), 'wslab-peer-reuse-'));
let peer: Awaited<ReturnType<typeof startNativePeer>>;
const saved = process.env.WSLAB_PEER_STATE;

beforeAll(async () => {
  peer = await startNativePeer();
  process.env.WSLAB_PEER_STATE = join(dir, 'state.json');
  writePeerState({ pid: peer.pid, backend: peer.backend, httpUrl: peer.httpUrl, wsUrl: peer.wsUrl, wssUrl: peer.wssUrl, wssSelfSignedUrl: peer.wssSelfSignedUrl, lib: peer.lib, prefix: peer.prefix, caPem: peer.caPem });
});
afterAll(async () => {
  if (saved === undefined) delete process.env.WSLAB_PEER_STATE;
  else process.env.WSLAB_PEER_STATE = saved;
  await peer?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function run(argv: string[]): Promise<{ code: number; err: string; out: string }> {
  const err: string[] = [];
  const out: string[] = [];
  const e = vi.spyOn(console, 'error').mockImplementation((s: string) => void err.push(String(s)));
  const o = vi.spyOn(console, 'log').mockImplementation((s: string) => void out.push(String(s)));
  const w = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  // --json writes its document to stdout itself (lab/output.ts), not through console.log.
  const so = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => (out.push(String(s)), true));
  try {
    return { code: await main(argv), err: err.join('\n'), out: out.join('\n') };
  } finally {
    e.mockRestore();
    o.mockRestore();
    w.mockRestore();
    so.mockRestore();
  }
}

describe('the peer left running by wslab peer start', () => {
  it('is used by wslab interop, which says so and leaves it running', async () => {
    const r = await run(['interop', '--scenarios', 'sanity-01-handshake', '--directions', 'lua-lua,ts-lua', '--out', join(dir, 'interop'), '--json']);
    expect(r.err).toContain(`wslab interop: using the peer started by \`wslab peer start\` at ${peer.httpUrl} (pid ${peer.pid})`);
    expect(JSON.parse(r.out)).toMatchObject({ pass: 2, fail: 0, error: 0 });
    expect(r.code).toBe(0);
    expect(await peer.alive()).toBe(true);
  }, 120_000);

  it('is used by wslab conformance for the Lua agents, which says so and leaves it running', async () => {
    const r = await run(['conformance', '--agents', 'lua-server', '--cases', '1.1.1', '--out', join(dir, 'conformance'), '--json']);
    expect(r.err).toContain(`wslab conformance: using the peer started by \`wslab peer start\` at ${peer.httpUrl}`);
    expect(JSON.parse(r.out)).toMatchObject({ summary: { 'lua-server': { cases: 1, pass: 1 } }, errors: {} });
    expect(r.code).toBe(0);
    expect(await peer.alive()).toBe(true);
  }, 120_000);

  it('is not used when another library is asked for, and the command says why', async () => {
    // Debian's copy named by path: the same files as the default, but not what the record says it loaded.
    const r = await run(['interop', '--scenarios', 'sanity-01-handshake', '--directions', 'lua-lua', '--lua-lib', DEBIAN_LUA_ROOT, '--out', join(dir, 'interop2'), '--json']);
    expect(r.err).toContain(`wslab interop: starting a peer of its own: the recorded peer loads the default library, ${DEBIAN_LUA_ROOT} was asked for`);
    expect(r.err).not.toContain('using the peer started by');
    expect(JSON.parse(r.out)).toMatchObject({ pass: 1, fail: 0, error: 0 });
    expect(r.code).toBe(0);
    expect(await peer.alive()).toBe(true);
  }, 120_000);
});
