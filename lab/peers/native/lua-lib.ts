// Which copy of lua-resty-websocket the peer loads: Debian's v0.08 (nginx.websocket.*, through our
// shim) by default, or any lua-resty-websocket `lib/` folder given with --lua-lib or
// RESTY_WEBSOCKET_LIB (e.g. v0.12 from an OpenResty install).
import { existsSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { FIXTURES_LUA, ROOT_DIR } from '../../paths.js';

export const DEBIAN_LUA_ROOT = join(ROOT_DIR, '.cache', 'lua-nginx-websocket', 'usr', 'share', 'lua', '5.1');
export const SHIM_DIR = join(FIXTURES_LUA, 'shim');

export interface LuaLib {
  /** lua_package_path entries, library first, then our own fixtures. */
  luaPath: string[];
  /** Where the library came from, for reports. */
  source: string;
  /** The folder holding the library's modules. */
  dir: string;
  debian: boolean;
}

export type LuaLibResult = { lib: LuaLib; err: null } | { lib: null; err: string };

export function resolveLuaLib(opts: { luaLib?: string } = {}): LuaLibResult {
  const chosen = opts.luaLib ?? process.env.RESTY_WEBSOCKET_LIB;
  const ours = join(FIXTURES_LUA, '?.lua');
  if (chosen) {
    const dir = isAbsolute(chosen) ? chosen : resolve(chosen);
    if (!existsSync(join(dir, 'resty', 'websocket', 'protocol.lua'))) {
      return { lib: null, err: `${dir} is not a lua-resty-websocket lib/ folder (no resty/websocket/protocol.lua in it)` };
    }
    return { lib: { luaPath: [join(dir, '?.lua'), ours], source: dir, dir, debian: false }, err: null };
  }
  if (!existsSync(join(DEBIAN_LUA_ROOT, 'nginx', 'websocket', 'protocol.lua'))) {
    return { lib: null, err: `Debian's lua-nginx-websocket is not extracted at ${DEBIAN_LUA_ROOT}: run \`bash scripts/setup-peers.sh\` (or \`wslab peer install\`), or point RESTY_WEBSOCKET_LIB at a lua-resty-websocket lib/ folder` };
  }
  return {
    lib: {
      luaPath: [join(DEBIAN_LUA_ROOT, '?.lua'), join(SHIM_DIR, '?.lua'), ours],
      source: "Debian lua-nginx-websocket 0.08-1 (nginx.websocket.* through our resty.websocket shim)",
      dir: join(DEBIAN_LUA_ROOT, 'nginx', 'websocket'),
      debian: true,
    },
    err: null,
  };
}
