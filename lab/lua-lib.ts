// Which copy of lua-resty-websocket every part of a run loads (the nginx peer, the luajit oracle
// for diff and the frame deviations, the container peer): Debian's v0.08 (nginx.websocket.*,
// through our shim) by default, or the folder given with --lua-lib or RESTY_WEBSOCKET_LIB. One
// choice per process: a subcommand's --lua-lib is validated and put into RESTY_WEBSOCKET_LIB by
// chooseLuaLib, so every part (and every child process) reads the same copy.
//
// Two layouts are accepted, both as a lua_package_path root:
//   upstream: DIR/resty/websocket/{protocol,client,server}.lua (an OpenResty install's lualib/, a
//             git checkout's lib/; a checkout's root is accepted too and means its lib/)
//   Debian:   DIR/nginx/websocket/{protocol,client,server}.lua (lua-nginx-websocket's /usr/share/lua/5.1),
//             loaded through our resty.websocket shim
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { CACHE_DIR, FIXTURES_LUA } from './paths.js';

export const DEBIAN_LUA_ROOT = join(CACHE_DIR, 'lua-nginx-websocket', 'usr', 'share', 'lua', '5.1');
export const SHIM_DIR = join(FIXTURES_LUA, 'shim');

export type LuaLibLayout = 'upstream' | 'debian';

export interface LuaLib {
  /** lua_package_path entries, library first, then our own fixtures. */
  luaPath: string[];
  /** Where the library came from, for reports: the folder given, or Debian's copy. */
  source: string;
  /** The lua_package_path root (DIR above). */
  root: string;
  /** The folder holding protocol.lua, client.lua and server.lua. */
  dir: string;
  /** protocol.lua itself (what the luajit oracle loads). */
  protocolPath: string;
  layout: LuaLibLayout;
  /** Debian's own copy, the default. */
  debian: boolean;
}

export type LuaLibResult = { lib: LuaLib; err: null } | { lib: null; err: string };

function fromRoot(root: string, source: string, isDefault: boolean): LuaLib | null {
  const ours = join(FIXTURES_LUA, '?.lua');
  const upstream = join(root, 'resty', 'websocket');
  if (existsSync(join(upstream, 'protocol.lua'))) {
    return { luaPath: [join(root, '?.lua'), ours], source, root, dir: upstream, protocolPath: join(upstream, 'protocol.lua'), layout: 'upstream', debian: isDefault };
  }
  const debian = join(root, 'nginx', 'websocket');
  if (existsSync(join(debian, 'protocol.lua'))) {
    return { luaPath: [join(root, '?.lua'), join(SHIM_DIR, '?.lua'), ours], source, root, dir: debian, protocolPath: join(debian, 'protocol.lua'), layout: 'debian', debian: isDefault };
  }
  return null;
}

export function resolveLuaLib(opts: { luaLib?: string } = {}): LuaLibResult {
  const chosen = opts.luaLib ?? process.env.RESTY_WEBSOCKET_LIB;
  if (chosen) {
    const dir = isAbsolute(chosen) ? chosen : resolve(chosen);
    const lib = fromRoot(dir, dir, false) ?? fromRoot(join(dir, 'lib'), dir, false);
    if (!lib) {
      return { lib: null, err: `${dir} is not a lua-resty-websocket lib/ folder (no resty/websocket/protocol.lua or nginx/websocket/protocol.lua in it)` };
    }
    return { lib, err: null };
  }
  const lib = fromRoot(DEBIAN_LUA_ROOT, 'Debian lua-nginx-websocket 0.08-1 (nginx.websocket.* through our resty.websocket shim)', true);
  if (!lib) {
    return { lib: null, err: `Debian's lua-nginx-websocket is not extracted at ${DEBIAN_LUA_ROOT}: run \`bash scripts/setup-peers.sh\` (or \`wslab peer install\`), or point RESTY_WEBSOCKET_LIB at a lua-resty-websocket lib/ folder` };
  }
  return { lib, err: null };
}

/**
 * Makes `dir` (a subcommand's --lua-lib) the library of this whole process: validated, made
 * absolute and put into RESTY_WEBSOCKET_LIB. Returns an error line, or null. No flag: no change.
 */
export function chooseLuaLib(dir: string | undefined): string | null {
  if (dir === undefined) return null;
  const r = resolveLuaLib({ luaLib: dir });
  if (r.err !== null) return r.err;
  process.env.RESTY_WEBSOCKET_LIB = r.lib.source;
  return null;
}

/** What a part of a run loaded, as reports show it. */
export interface LoadedLibrary {
  /** The part that loaded it ("peer", "oracle"). */
  part: string;
  /** _VERSION as the loaded code reports it. */
  version: string;
  /** The folder holding the loaded modules. */
  path: string;
}

/** Two parts of one run that loaded different copies: an error line, or null. */
export function differentCopies(loaded: readonly LoadedLibrary[]): string | null {
  const paths = new Set(loaded.map((l) => l.path));
  if (paths.size <= 1) return null;
  return `parts of this run loaded different copies of lua-resty-websocket: ${loaded.map((l) => `${l.part} ${l.version} from ${l.path}`).join('; ')}`;
}
