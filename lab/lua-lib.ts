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
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
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

/**
 * luajit compiles each file's text as a chunk named by this marker, which the error message starts
 * with; the marker is replaced by the file's full path (luajit shortens long chunk names to 60
 * characters, and a file name cut short names nothing).
 */
const CHUNK_MARK = '<wslab-chunk>';
const COMPILE_SCRIPT = `local i = 0
for path in os.getenv("WSLAB_COMPILE_FILES"):gmatch("[^\\n]+") do
  i = i + 1
  local f, err = io.open(path, "rb")
  if not f then io.write(i, "\\t", err, "\\n"); os.exit(1) end
  local src = f:read("*a"); f:close()
  local ok, e = loadstring(src, "=${CHUNK_MARK}")
  if not ok then io.write(i, "\\t", (e:gsub("\\n", " ")), "\\n"); os.exit(1) end
end`;

const loadChecks = new Map<string, string | null>();

function luajitBinary(): string | null {
  return spawnSync('sh', ['-c', 'command -v luajit'], { encoding: 'utf8' }).stdout.trim() || null;
}

/**
 * Why this copy of the library does not load, or null: luajit compiles protocol.lua, client.lua and
 * server.lua as nginx would load them, so a copy with a syntax error is one line naming the file and
 * luajit's message before any part starts, instead of an HTTP 500 per request. (A module that
 * compiles but raises while it loads is the peer's to report: its /version requires each module.)
 * Without luajit there is nothing to compile with and this says nothing.
 */
export function libraryLoadError(lib: LuaLib): string | null {
  const files = ['protocol.lua', 'client.lua', 'server.lua'].map((f) => join(lib.dir, f));
  const stamp = files.map((f) => {
    try {
      const st = statSync(f);
      return `${f}:${st.size}:${st.mtimeMs}`;
    } catch {
      return `${f}:missing`;
    }
  }).join('|');
  if (loadChecks.has(stamp)) return loadChecks.get(stamp)!;
  const jit = luajitBinary();
  if (jit === null) return null;
  const r = spawnSync(jit, ['-e', COMPILE_SCRIPT], { encoding: 'utf8', timeout: 30_000, env: { ...process.env, WSLAB_COMPILE_FILES: files.join('\n') } });
  let why: string | null = null;
  if (r.status !== 0) {
    const [index, ...rest] = r.stdout.trim().split('\t');
    const file = files[Number(index) - 1];
    const message = rest.join('\t').trim();
    why = file === undefined
      ? `lua-resty-websocket in ${lib.dir} could not be checked: luajit ${r.error ? r.error.message : `exited with ${r.status}`}: ${(r.stderr || r.stdout).trim().split('\n')[0]}`
      : `lua-resty-websocket does not load: ${message.startsWith(CHUNK_MARK) ? file + message.slice(CHUNK_MARK.length) : `${file}: ${message}`}`;
  }
  loadChecks.set(stamp, why);
  return why;
}

/**
 * Why the library this process uses (--lua-lib made it RESTY_WEBSOCKET_LIB, or the default) does not
 * load, or null. A folder that is no library at all is resolveLuaLib's error, reported where it was.
 */
export function chosenLibraryLoadError(): string | null {
  const r = resolveLuaLib();
  return r.lib === null ? null : libraryLoadError(r.lib);
}
