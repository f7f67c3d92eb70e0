// Picks and starts a peer backend. The container backend is imported lazily so a missing or
// broken container runtime never affects the native path.
import { versionAtLeast, type PeerBackend, type PeerStartOptions, type RunningPeer } from './types.js';
import { nativeBackend } from './native/index.js';
import { libraryLoadError, resolveLuaLib } from '../lua-lib.js';

export const BACKEND_CHOICES = ['native', 'container', 'auto'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface StartPeerOptions extends PeerStartOptions {
  backend?: BackendChoice;
  /** Container image (container backend only). */
  image?: string;
}

async function loadContainerBackend(): Promise<PeerBackend> {
  const mod = (await import('./container/index.js')) as { containerBackend: PeerBackend };
  return mod.containerBackend;
}

export async function chooseBackend(choice: BackendChoice = (process.env.WSLAB_PEER as BackendChoice) || 'auto'): Promise<PeerBackend> {
  if (choice === 'native') return nativeBackend;
  if (choice === 'container') return loadContainerBackend();
  const native = await nativeBackend.available();
  if (native.ok) return nativeBackend;
  let containerWhy = '';
  try {
    const container = await loadContainerBackend();
    const ok = await container.available();
    if (ok.ok) return container;
    containerWhy = ok.reason;
  } catch (e) {
    containerWhy = (e as Error).message;
  }
  throw new Error(`no peer backend is available here.\n  native: ${native.reason}\n  container: ${containerWhy}`);
}

/** Starts the chosen (or first available) backend. Throws with install instructions when none can start. */
export async function startPeer(opts: StartPeerOptions = {}): Promise<RunningPeer> {
  // Before a backend is chosen: a library that does not load is this one line on every backend.
  const lib = resolveLuaLib({ luaLib: opts.luaLib }).lib;
  const notLoading = lib === null ? null : libraryLoadError(lib);
  if (notLoading !== null) throw new Error(notLoading);
  const backend = await chooseBackend(opts.backend);
  return backend.start(opts);
}

/**
 * A skip reason when the peer's library is older than a case needs (e.g. v0.12-only features on
 * Debian's v0.08), or null when the case can run.
 */
export function needsLibVersion(peer: RunningPeer, need: string, what: string): string | null {
  const have = peer.lib.clientVersion;
  return versionAtLeast(have, need) ? null : `needs lua-resty-websocket ${need}+ (${what}); the peer runs ${have}`;
}


export type { RunningPeer, PeerBackend, PeerStartOptions } from './types.js';
