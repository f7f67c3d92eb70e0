// The peer `wslab peer start` leaves running in the background, recorded in .cache/peer/state.json.
// `wslab peer stop|status` read the record; `wslab interop` and `wslab conformance` attach to that
// peer (when it answers and was started with the library they would load) instead of starting
// another, and never stop it.
import { existsSync, readFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CACHE_DIR } from '../paths.js';
import { fileTail, httpGet, nginxPeer, type PeerControl } from './nginx-peer.js';
import type { LuaLibraryInfo, RunningPeer } from './types.js';

export const PEER_STATE_FILE = join(CACHE_DIR, 'peer', 'state.json');
/** The record in use: WSLAB_PEER_STATE names another file (tests; several checkouts sharing .cache). */
const stateFile = (): string => process.env.WSLAB_PEER_STATE || PEER_STATE_FILE;

export interface PeerState {
  pid: number | null;
  backend: string;
  httpUrl: string;
  wsUrl: string;
  wssUrl: string;
  /** The self-signed TLS listener (absent in records older than it). */
  wssSelfSignedUrl?: string;
  lib: LuaLibraryInfo;
  prefix?: string;
  /** PEM of the CA of the peer's TLS certificate (absent in records older than attaching). */
  caPem?: string;
  /** The --lua-lib / RESTY_WEBSOCKET_LIB the peer was started with (absent: the default copy). */
  luaLib?: string;
}

export function readPeerState(file = stateFile()): PeerState | null {
  if (!existsSync(file)) return null;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as PeerState;
  } catch {
    return null;
  }
}

export function writePeerState(state: PeerState, file = stateFile()): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(state, null, 2));
}

export function clearPeerState(file = stateFile()): void {
  rmSync(file, { force: true });
}

/** A recorded peer in full: one that records its CA and its self-signed listener. */
type AttachableState = PeerState & { caPem: string; wssSelfSignedUrl: string };

/** A RunningPeer over a recorded one: `stop()` leaves it running (it belongs to `wslab peer start`). */
type RecordedPeer = RunningPeer & { readonly state: AttachableState };

function recordedPeer(state: AttachableState): RecordedPeer {
  const control: PeerControl = {
    backend: state.backend === 'container' ? 'container' : 'native',
    errorLog: async (maxBytes = 16_384) => (state.prefix ? fileTail(join(state.prefix, 'logs', 'error.log'), maxBytes) : ''),
    async stop() {},
  };
  return nginxPeer(state, control, { state });
}

export interface AttachOptions {
  /** The backend asked for (--backend); undefined or 'auto' accepts either. */
  backend?: string;
  /** The library asked for (--lua-lib, else RESTY_WEBSOCKET_LIB); must be the one the peer loaded. */
  luaLib?: string;
  stateFile?: string;
}

/**
 * The peer `wslab peer start` left running, when it answers /health and matches what was asked
 * for; null otherwise (with `why` saying why it was not used, when there is a record).
 */
export async function attachRecordedPeer(o: AttachOptions = {}): Promise<{ peer: RunningPeer; why?: undefined } | { peer: null; why: string | null }> {
  const s = readPeerState(o.stateFile);
  if (!s) return { peer: null, why: null };
  if (!s.caPem) return { peer: null, why: 'the recorded peer predates attaching (restart it with `wslab peer stop && wslab peer start`)' };
  if (!s.wssSelfSignedUrl) return { peer: null, why: 'the recorded peer predates the self-signed TLS listener (restart it with `wslab peer stop && wslab peer start`)' };
  if (o.backend && o.backend !== 'auto' && o.backend !== s.backend) return { peer: null, why: `the recorded peer is ${s.backend}, --backend ${o.backend} was asked for` };
  if ((o.luaLib || undefined) !== (s.luaLib || undefined)) {
    return { peer: null, why: `the recorded peer loads ${s.luaLib ?? 'the default library'}, ${o.luaLib ?? 'the default library'} was asked for` };
  }
  if ((await httpGet(`${s.httpUrl}/health`, 1000))?.status !== 200) return { peer: null, why: `the recorded peer at ${s.httpUrl} does not answer` };
  return { peer: recordedPeer(s as AttachableState) };
}

/** What a command says when it attaches: one line on stderr. */
export function attachedLine(command: string, peer: RunningPeer): string {
  const pid = (peer as Partial<RecordedPeer>).state?.pid;
  return `wslab ${command}: using the peer started by \`wslab peer start\` at ${peer.httpUrl}${pid ? ` (pid ${pid})` : ''}, lua-resty-websocket ${peer.lib.clientVersion}; it stays running (\`wslab peer stop\` stops it)`;
}
