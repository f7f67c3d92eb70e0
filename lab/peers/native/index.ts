// The native peer: Debian's nginx + libnginx-mod-http-lua running the real lua-resty-websocket
// with our Lua endpoints, on 127.0.0.1, in a temp prefix, stopped by PID.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeTestPki } from '../../pki.js';
import { fileTail, httpGet, localPeerAddress, nginxPeer, peerCertificates, peerPorts, type PeerControl, type PeerPorts } from '../nginx-peer.js';
import type { LuaLibraryInfo, PeerAddress, PeerBackend, PeerStartOptions, RunningPeer } from '../types.js';
import { FIXTURES_LUA } from '../../paths.js';
import { renderNginxConf } from './nginx-conf.js';
import { libraryLoadError, resolveLuaLib } from '../../lua-lib.js';
import { trackChild, trackTempDir } from '../../children.js';

export const MODULES_DIR = '/usr/lib/nginx/modules';
export const NDK_MODULE = join(MODULES_DIR, 'ndk_http_module.so');
export const LUA_MODULE = join(MODULES_DIR, 'ngx_http_lua_module.so');
export const LUA_CPATH = ['/usr/lib/x86_64-linux-gnu/lua/5.1/?.so', '/usr/lib/aarch64-linux-gnu/lua/5.1/?.so', '/usr/local/lib/lua/5.1/?.so'];
export const INSTALL_HINT = 'install it with `bash scripts/setup-peers.sh` (or `npx wslab peer install`; as root it runs apt-get install nginx libnginx-mod-http-lua lua-cjson)';

export function nginxBinary(): string | null {
  const found = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx 2>/dev/null'], { encoding: 'utf8' }).stdout.trim().split('\n')[0];
  return found ? found : null;
}

/** Why the native peer cannot start here, or null. */
export function nativeUnavailable(luaLib?: string): string | null {
  if (!nginxBinary()) return `nginx is not installed: ${INSTALL_HINT}`;
  if (!existsSync(LUA_MODULE) || !existsSync(NDK_MODULE)) return `the nginx Lua module is not installed (${LUA_MODULE}): ${INSTALL_HINT}`;
  const lib = resolveLuaLib({ luaLib });
  if (lib.err !== null) return lib.err;
  return null;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
/** nginx leads its own process group: killing the group takes the workers too (a KILLed master leaves them listening). */
function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}
function killAllOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const p of running) if (p.pid !== undefined) killGroup(p.pid, 'SIGKILL');
  });
}

export interface NativePeerOptions extends PeerStartOptions {
  /** Keep nginx running when this process exits (`wslab peer start`). */
  detached?: boolean;
  /** nginx error_log level; default warn. */
  logLevel?: 'debug' | 'info' | 'notice' | 'warn' | 'error';
}

/** A native peer: nginx in its own temp prefix, by PID. */
export type NativePeer = RunningPeer & {
  readonly prefix: string;
  readonly pid: number;
  /** Kills nginx without a shutdown (tests: a peer that dies mid-run). */
  kill(): void;
};

/** `proc` is null for a detached nginx, which this process neither tracks nor reaps. */
function nativePeer(address: PeerAddress, prefix: string, pid: number, proc: ChildProcess | null, errorLogPath: string, untrack: () => void): NativePeer {
  const control: PeerControl = {
    backend: 'native',
    errorLog: async (maxBytes = 16_384) => fileTail(errorLogPath, maxBytes),
    async stop() {
      await stopPid(pid);
      if (proc) {
        running.delete(proc);
        killGroup(pid, 'SIGKILL'); // workers the master left behind, if any
      }
      rmSync(prefix, { recursive: true, force: true });
      untrack();
    },
  };
  return nginxPeer(address, control, { prefix, pid, kill: () => killGroup(pid, 'SIGKILL') });
}

export async function stopPid(pid: number, graceMs = 3000): Promise<void> {
  const alive = (): boolean => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  if (!alive()) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  if (alive()) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Lua names a file in its messages by a chunk name it shortens to 60 characters ("...ket/server.lua:1:
 * boom"): the file's full path instead, when the shortened one is its tail.
 */
function withFullPath(message: string, file: string | undefined): string {
  const m = /^(?:\.\.\.)?([^:]*):(\d+): /.exec(message);
  if (!file || !m || !file.endsWith(m[1]!)) return message;
  return `${file}:${m[2]}: ${message.slice(m[0].length)}`;
}

/** The peer's library did not load in nginx: its own message, without the error log. */
export class LibraryDoesNotLoad extends Error {}

/** Reads /version from a running peer: the _VERSION of the three modules and ngx_lua's version. */
export async function readLibInfo(httpUrl: string, source: string, path: string): Promise<LuaLibraryInfo> {
  const r = await httpGet(`${httpUrl}/version`, 5000);
  if (!r || r.status !== 200) throw new Error(`peer /version failed: ${r ? `${r.status} ${r.body}` : 'no answer'}`);
  const v = JSON.parse(r.body) as { protocol: string; client: string; server: string; ngx_lua: number; files?: Record<string, string> };
  // version.lua answers "error: <require's message>" for a module that does not load.
  for (const m of ['protocol', 'client', 'server'] as const) {
    if (String(v[m]).startsWith('error: ')) throw new LibraryDoesNotLoad(`lua-resty-websocket does not load in nginx: resty.websocket.${m}: ${withFullPath(String(v[m]).slice(7).split('\n')[0]!, v.files?.[m])}`);
  }
  return { protocolVersion: v.protocol, clientVersion: v.client, serverVersion: v.server, ngxLuaVersion: v.ngx_lua, source, path };
}

/** The peer's temp prefix, its certificates and ports, and the nginx config written into it. */
interface NativePrefix {
  prefix: string;
  untrackPrefix: () => void;
  ports: PeerPorts;
  caPath: string;
  confPath: string;
  errorLog: string;
}

async function prepareNativePrefix(opts: NativePeerOptions, luaPath: string[]): Promise<NativePrefix> {
  const prefix = mkdtempSync(join(tmpdir(), 'wslab-nginx-'));
  const untrackPrefix = opts.detached ? () => {} : trackTempDir(prefix);
  for (const d of ['logs', 'tmp', 'locations']) mkdirSync(join(prefix, d), { recursive: true });
  // The self-signed listener's pair comes from the lab's PKI even with opts.tls: its point is a
  // certificate no one trusts. A detached peer outlives this process, whose PKI folder goes when it
  // exits: its certificates live in its own prefix, removed with it by `wslab peer stop`.
  const pki = makeTestPki(opts.detached ? { dir: join(prefix, 'pki') } : {});
  const certs = peerCertificates(opts.tls, pki);
  const ports = await peerPorts(opts);
  const errorLog = join(prefix, 'logs', 'error.log');
  const rendered = renderNginxConf({
    prefix,
    ndkModule: NDK_MODULE,
    luaModule: LUA_MODULE,
    luaPath,
    luaCpath: LUA_CPATH,
    fixturesLua: FIXTURES_LUA,
    ...ports,
    serverCert: certs.cert,
    serverKey: certs.key,
    caCert: certs.caPath,
    selfSignedCert: pki.paths.selfSignedCert,
    selfSignedKey: pki.paths.selfSignedKey,
    errorLog,
    logLevel: opts.logLevel,
    runAsRoot: process.getuid?.() === 0,
  });
  const confPath = join(prefix, 'nginx.conf');
  writeFileSync(confPath, opts.extraHttpConfig ? rendered.conf.replace(/\n}\s*$/, `\n${opts.extraHttpConfig}\n}\n`) : rendered.conf);
  for (const [name, text] of Object.entries(rendered.locations)) writeFileSync(join(prefix, 'locations', name), text);
  return { prefix, untrackPrefix, ports, caPath: certs.caPath, confPath, errorLog };
}

/** A started nginx master, what it has printed on stderr, and why it exited (null while it runs). */
interface SpawnedNginx {
  proc: ChildProcess;
  stderr: () => string;
  exited: () => string | null;
  untrackProc: () => void;
}

function spawnNginx(at: NativePrefix, detached: boolean): SpawnedNginx {
  const proc = spawn(nginxBinary()!, ['-p', at.prefix, '-c', at.confPath, '-e', at.errorLog], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // Its own process group either way: a terminal's Ctrl-C reaches it only through us, and we can
    // stop master and workers together.
    detached: true,
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  let exited: string | null = null;
  proc.on('exit', (code, signal) => (exited = `nginx exited (code ${code}, signal ${signal})`));
  let untrackProc = (): void => {};
  if (detached) proc.unref();
  else {
    running.add(proc);
    killAllOnExit();
    untrackProc = trackChild(proc, 'nginx', true);
  }
  return { proc, stderr: () => stderr, exited: () => exited, untrackProc };
}

/** Waits up to 15 s for /health; throws with nginx's stderr and error log when it exits or never answers. */
async function awaitNativeHealth(httpUrl: string, at: NativePrefix, nginx: SpawnedNginx): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const exited = nginx.exited();
    if (exited) {
      const log = fileTail(at.errorLog, 4000);
      rmSync(at.prefix, { recursive: true, force: true });
      throw new Error(`${exited} at start: ${nginx.stderr().trim()} ${log.trim()}`.trim());
    }
    const r = await httpGet(`${httpUrl}/health`, 500);
    if (r?.status === 200) return;
    if (Date.now() > deadline) {
      nginx.proc.kill('SIGKILL');
      throw new Error(`nginx did not answer ${httpUrl}/health within 15 s: ${nginx.stderr().trim()} ${fileTail(at.errorLog, 4000).trim()}`);
    }
    await new Promise((r2) => setTimeout(r2, 50));
  }
}

/** How many times a peer on ports it chose starts again when nginx finds one of them taken. */
const PORT_TAKEN_RESTARTS = 3;

/**
 * Renders the prefix, starts nginx and waits for /health. Ports the lab chose were free when chosen,
 * but another process can bind one before nginx does: then nginx exits with "Address already in
 * use", and this starts again on new ports, saying so on stderr. Ports the caller gave are not
 * changed: that error is theirs.
 */
async function launchNginx(opts: NativePeerOptions, luaPath: string[]): Promise<{ at: NativePrefix; nginx: SpawnedNginx; httpUrl: string }> {
  const given = new Set([opts.port, opts.tlsPort, opts.tlsSelfSignedPort].filter((p): p is number => !!p));
  for (let restart = 0; ; restart++) {
    const at = await prepareNativePrefix(opts, luaPath);
    const nginx = spawnNginx(at, opts.detached === true);
    const httpUrl = `http://127.0.0.1:${at.ports.port}`;
    try {
      await awaitNativeHealth(httpUrl, at, nginx);
      return { at, nginx, httpUrl };
    } catch (e) {
      const taken = /bind\(\) to [^ ]*:(\d+) failed \(98: Address already in use\)/.exec((e as Error).message);
      if (!taken || given.has(Number(taken[1])) || restart >= PORT_TAKEN_RESTARTS) throw e;
      process.stderr.write(`wslab: port ${taken[1]}, free when the lab chose it, was taken before nginx bound it; starting nginx again on new ports (restart ${restart + 1} of ${PORT_TAKEN_RESTARTS})\n`);
    }
  }
}

export async function startNativePeer(opts: NativePeerOptions = {}): Promise<NativePeer> {
  const why = nativeUnavailable(opts.luaLib);
  if (why) throw new Error(why);
  const lib = resolveLuaLib({ luaLib: opts.luaLib }).lib!;
  const notLoading = libraryLoadError(lib);
  if (notLoading !== null) throw new Error(notLoading);
  const { at, nginx, httpUrl } = await launchNginx(opts, lib.luaPath);
  const { proc } = nginx;
  proc.stderr!.removeAllListeners('data');
  proc.stderr!.resume();
  let info: LuaLibraryInfo;
  try {
    info = await readLibInfo(httpUrl, lib.source, lib.dir);
  } catch (e) {
    await stopPid(proc.pid!);
    const log = fileTail(at.errorLog, 4000).trim();
    rmSync(at.prefix, { recursive: true, force: true });
    if (e instanceof LibraryDoesNotLoad) throw e;
    throw new Error(`${(e as Error).message.split('\n')[0]}; nginx error log: ${log}`);
  }
  const caPem = readFileSync(at.caPath, 'utf8');
  return nativePeer(localPeerAddress(at.ports, caPem, info), at.prefix, proc.pid!, opts.detached ? null : proc, at.errorLog, () => {
    nginx.untrackProc();
    at.untrackPrefix();
  });
}

export const nativeBackend: PeerBackend = {
  name: 'native',
  async available() {
    const why = nativeUnavailable();
    return why ? { ok: false, reason: why } : { ok: true };
  },
  start: (opts) => startNativePeer(opts),
};
