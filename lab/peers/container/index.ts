// The container peer: the same nginx + real lua-resty-websocket as the native backend, run in a
// container through testcontainers (Docker, or podman's API socket set up by
// scripts/setup-podman.sh). Two image flavours:
//   - "debian": our image from fixtures/container (Debian nginx + ngx_lua + Debian's
//     lua-nginx-websocket 0.08 through our shim): the same bits as the native peer.
//   - "openresty": openresty/openresty images, with their bundled resty.websocket (v0.12 line).
// The container uses host networking with nginx listening on 127.0.0.1 only, so the peer's Lua
// client reaches our TS servers on the host's 127.0.0.1 (the "Lua client <-> TS server" direction).
// Fixtures, the rendered config and the TLS files are copied in (no bind mounts: works with remote
// daemons and rootless podman alike). Containers are always removed: on stop(), on a failed start,
// and at process exit / Ctrl-C.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { StartedTestContainer } from 'testcontainers';
import { makeTestPki, type TestPki } from '../../pki.js';
import { LUA_CPATH, LUA_MODULE, NDK_MODULE, readLibInfo } from '../native/index.js';
import { httpGet, localPeerAddress, nginxPeer, peerCertificates, peerPorts, type PeerCertificates, type PeerControl, type PeerPorts } from '../nginx-peer.js';
import { FIXTURES_LUA } from '../../paths.js';
import { renderNginxConf } from '../native/nginx-conf.js';
// The image's Debian copy is the same lua-nginx-websocket 0.08-1 package as the host's extracted one.
import { DEBIAN_LUA_ROOT as DEBIAN_LUA_ROOT_HOST, libraryLoadError, resolveLuaLib } from '../../lua-lib.js';
import type { LuaLibraryInfo, PeerAddress, PeerBackend, PeerStartOptions, RunningPeer } from '../types.js';
import { applyPodmanEnv, resolveImage } from './env.js';
import { removeOnExit, forgetOnExit } from './cleanup.js';

export type ImageFlavour = 'debian' | 'openresty';

/** Paths inside the container. */
const IN = {
  root: '/wslab',
  prefix: '/wslab/prefix',
  lua: '/wslab/lua',
  lualib: '/wslab/lualib',
  tls: '/wslab/tls',
  go: '/wslab/go',
} as const;

interface FlavourLayout {
  nginx: string;
  /** null: the modules are compiled in (OpenResty), so no load_module lines. */
  modules: { ndk: string; lua: string } | null;
  /** The library's lua_package_path entries when no luaLib is given. */
  libPath: string[];
  luaCpath: string[];
  source: (image: string) => string;
}

const DEBIAN_LIB_ROOT = '/opt/wslab/lua-nginx-websocket/usr/share/lua/5.1';
export const LAYOUTS: Record<ImageFlavour, FlavourLayout> = {
  debian: {
    nginx: '/usr/sbin/nginx',
    modules: { ndk: NDK_MODULE, lua: LUA_MODULE },
    libPath: [`${DEBIAN_LIB_ROOT}/?.lua`, `${IN.lua}/shim/?.lua`],
    luaCpath: LUA_CPATH,
    source: (image) => `Debian lua-nginx-websocket 0.08-1 (nginx.websocket.* through our resty.websocket shim) in container ${image}`,
  },
  openresty: {
    nginx: '/usr/local/openresty/nginx/sbin/nginx',
    modules: null,
    // The bundled resty.websocket comes from OpenResty's default path, appended by ";;".
    libPath: [],
    luaCpath: ['/usr/local/openresty/lualib/?.so'],
    source: (image) => `OpenResty's bundled lua-resty-websocket in container ${image}`,
  },
};

/** Shell probe run in the container: which flavour the image is. */
const PROBE = `if [ -x ${LAYOUTS.openresty.nginx} ]; then echo openresty; elif [ -x ${LAYOUTS.debian.nginx} ] && [ -f ${LUA_MODULE} ]; then echo debian; else echo unknown; fi`;

/** PID 1 until the config is in place, then nginx itself (so the container lives exactly as long as nginx). */
const WAIT_THEN_EXEC = `echo wslab-waiting; while [ ! -f ${IN.go} ]; do sleep 0.1; done; exec /bin/sh ${IN.go}`;

export interface ContainerPeerOptions extends PeerStartOptions {
  /** Image to run; default WSLAB_PEER_IMAGE (env or .cache/podman.env), else a pinned openresty/openresty. */
  image?: string;
  /** Force the flavour instead of probing the image. */
  flavour?: ImageFlavour;
  logLevel?: 'debug' | 'info' | 'notice' | 'warn' | 'error';
  /** How long to wait for nginx's /health, ms (an image pull is not included). Default 30 s. */
  startTimeoutMs?: number;
}

/** Renders the nginx config for one flavour with in-container paths (the native renderer, reused). */
export function renderContainerConf(p: {
  flavour: ImageFlavour;
  port: number;
  tlsPort: number;
  tlsSelfSignedPort: number;
  customLib: boolean;
  logLevel?: ContainerPeerOptions['logLevel'];
  extraHttpConfig?: string;
}): { conf: string; locations: Record<string, string> } {
  const layout = LAYOUTS[p.flavour];
  const ours = `${IN.lua}/?.lua`;
  // The shim after the copied folder: a Debian-layout copy (nginx/websocket/*.lua) loads through it.
  const luaPath = p.customLib ? [`${IN.lualib}/?.lua`, `${IN.lua}/shim/?.lua`, ours] : [...layout.libPath, ours];
  // OpenResty has no module files: render with placeholders, then drop those load_module lines.
  const placeholder = '/wslab-compiled-in.so';
  const rendered = renderNginxConf({
    prefix: IN.prefix,
    ndkModule: layout.modules?.ndk ?? placeholder,
    luaModule: layout.modules?.lua ?? placeholder,
    luaPath,
    luaCpath: layout.luaCpath,
    fixturesLua: IN.lua,
    port: p.port,
    tlsPort: p.tlsPort,
    tlsSelfSignedPort: p.tlsSelfSignedPort,
    serverCert: `${IN.tls}/server.crt`,
    serverKey: `${IN.tls}/server.key`,
    caCert: `${IN.tls}/ca.crt`,
    selfSignedCert: `${IN.tls}/self-signed.crt`,
    selfSignedKey: `${IN.tls}/self-signed.key`,
    errorLog: `${IN.prefix}/logs/error.log`,
    logLevel: p.logLevel,
    runAsRoot: true,
  });
  let conf = rendered.conf
    .split('\n')
    .filter((line) => !(line.trim().startsWith('load_module') && line.includes(placeholder)))
    .join('\n');
  if (p.extraHttpConfig) conf = conf.replace(/\n}\s*$/, `\n${p.extraHttpConfig}\n}\n`);
  return { conf, locations: rendered.locations };
}

async function loadTestcontainers(): Promise<typeof import('testcontainers')> {
  applyPodmanEnv();
  return import('testcontainers');
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${ms} ms`)), ms);
      timer.unref();
    }),
  ]);
}

export const RUNTIME_HINT =
  'no container runtime answers: start Docker (DOCKER_HOST), or on a machine without Docker run `sudo bash scripts/setup-podman.sh` (podman + its API socket + the local peer image)';

/** Why the container backend cannot start here, or null. */
export async function containerUnavailable(): Promise<string | null> {
  try {
    const tc = await loadTestcontainers();
    const client = await withTimeout(tc.getContainerRuntimeClient(), 15_000, 'finding a container runtime');
    await withTimeout(client.container.list(), 10_000, 'listing containers');
    return null;
  } catch (e) {
    return `${RUNTIME_HINT} (${(e as Error).message.split('\n')[0]})`;
  }
}

async function execText(container: StartedTestContainer, script: string): Promise<{ output: string; exitCode: number }> {
  const r = await container.exec(['/bin/sh', '-c', script]);
  return { output: r.output, exitCode: r.exitCode };
}

/** A container peer: nginx as PID 1 of a container this process removes when it stops. */
export type ContainerPeer = RunningPeer & {
  readonly image: string;
  readonly flavour: ImageFlavour;
  readonly container: StartedTestContainer;
  readonly containerId: string;
};

/** `output()` is the tail of what the container printed: the error log when the container is gone. */
function containerPeer(address: PeerAddress, image: string, flavour: ImageFlavour, container: StartedTestContainer, output: () => string): ContainerPeer {
  let stopped = false;
  const control: PeerControl = {
    backend: 'container',
    held: () => !stopped,
    async errorLog(maxBytes = 16_384) {
      if (!stopped) {
        try {
          const r = await execText(container, `tail -c ${Math.max(1, Math.floor(maxBytes))} ${IN.prefix}/logs/error.log`);
          if (r.exitCode === 0) return r.output;
        } catch {
          /* the container is gone: fall back to what nginx printed */
        }
      }
      return output().slice(-maxBytes);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await container.stop({ timeout: 2_000, remove: true });
      } catch {
        /* already gone */
      }
      forgetOnExit(container.getId());
    },
  };
  return nginxPeer(address, control, { image, flavour, container, containerId: container.getId() });
}

/** The folder of the library asked for (opts.luaLib, else RESTY_WEBSOCKET_LIB), or null for the image's own. */
function customLibRoot(opts: ContainerPeerOptions): string | null {
  if (!(opts.luaLib ?? process.env.RESTY_WEBSOCKET_LIB)) return null;
  const lib = resolveLuaLib({ luaLib: opts.luaLib });
  if (lib.err !== null) throw new Error(lib.err);
  const notLoading = libraryLoadError(lib.lib);
  if (notLoading !== null) throw new Error(notLoading);
  return lib.lib.root;
}

/** A started container waiting for its config, and the tail of what it has printed. */
interface WaitingContainer {
  container: StartedTestContainer;
  output: () => string;
}

async function startWaitingContainer(tc: typeof import('testcontainers'), image: string, ports: PeerPorts, customLib: string | null, startTimeoutMs: number): Promise<WaitingContainer> {
  let output = '';
  const copies: Array<{ source: string; target: string }> = [{ source: FIXTURES_LUA, target: IN.lua }];
  if (customLib) copies.push({ source: customLib, target: IN.lualib });
  const container = await new tc.GenericContainer(image)
    .withNetworkMode('host')
    .withEntrypoint(['/bin/sh', '-c', WAIT_THEN_EXEC])
    .withCommand([])
    .withLabels({ 'wslab.peer': 'container', 'wslab.ports': `${ports.port},${ports.tlsPort},${ports.tlsSelfSignedPort}` })
    .withCopyDirectoriesToContainer(copies)
    .withLogConsumer((stream: Readable) => {
      stream.on('data', (d: Buffer | string) => (output = (output + d.toString()).slice(-16_384)));
      stream.on('error', () => {});
    })
    .withWaitStrategy(tc.Wait.forLogMessage('wslab-waiting'))
    .withStartupTimeout(startTimeoutMs)
    .start();
  removeOnExit(container.getId());
  return { container, output: () => output };
}

/** Removes the container and throws `msg` with what it printed and the tail of its error log. */
async function failContainer(waiting: WaitingContainer, msg: string): Promise<never> {
  const { container } = waiting;
  let log = '';
  try {
    log = (await execText(container, `tail -c 4000 ${IN.prefix}/logs/error.log 2>/dev/null`)).output;
  } catch {
    /* gone */
  }
  await container.stop({ timeout: 1_000, remove: true }).catch(() => {});
  forgetOnExit(container.getId());
  throw new Error(`${msg}; container output: ${waiting.output().trim()} ${log.trim()}`.trim());
}

/** Copies the config, the TLS files and the locations in; null when done, else why not. */
async function configureContainer(
  container: StartedTestContainer,
  flavour: ImageFlavour,
  ports: PeerPorts,
  certs: PeerCertificates,
  pki: TestPki,
  customLib: string | null,
  opts: ContainerPeerOptions,
): Promise<string | null> {
  const rendered = renderContainerConf({ flavour, ...ports, customLib: customLib !== null, logLevel: opts.logLevel, extraHttpConfig: opts.extraHttpConfig });
  const contents = [
    { content: rendered.conf, target: `${IN.prefix}/nginx.conf` },
    { content: readFileSync(certs.cert, 'utf8'), target: `${IN.tls}/server.crt` },
    { content: readFileSync(certs.key, 'utf8'), target: `${IN.tls}/server.key` },
    { content: readFileSync(certs.caPath, 'utf8'), target: `${IN.tls}/ca.crt` },
    { content: pki.selfSignedCert, target: `${IN.tls}/self-signed.crt` },
    { content: pki.selfSignedKey, target: `${IN.tls}/self-signed.key` },
    ...Object.entries(rendered.locations).map(([name, text]) => ({ content: text, target: `${IN.prefix}/locations/${name}` })),
  ];
  await container.copyContentToContainer(contents);
  const mk = await execText(container, `mkdir -p ${['logs', 'tmp', 'locations'].map((d) => `${IN.prefix}/${d}`).join(' ')}`);
  if (mk.exitCode !== 0) return `could not prepare ${IN.prefix}: ${mk.output}`;
  const nginx = LAYOUTS[flavour].nginx;
  // Written last, in its own copy: PID 1 execs it as soon as it appears.
  await container.copyContentToContainer([
    { content: `exec ${nginx} -p ${IN.prefix} -c ${IN.prefix}/nginx.conf -e ${IN.prefix}/logs/error.log\n`, target: IN.go },
  ]);
  return null;
}

/** Waits for /health until the deadline; null when nginx answers, else why it did not. */
async function awaitContainerHealth(httpUrl: string, image: string, output: () => string, startTimeoutMs: number): Promise<string | null> {
  const deadline = Date.now() + startTimeoutMs;
  for (;;) {
    const r = await httpGet(`${httpUrl}/health`, 500);
    if (r?.status === 200) return null;
    if (/\[emerg\]|exec: .*not found/.test(output())) return `nginx did not start in ${image}`;
    if (Date.now() > deadline) return `nginx in ${image} did not answer ${httpUrl}/health in time`;
    await new Promise((r2) => setTimeout(r2, 50));
  }
}

export async function startContainerPeer(opts: ContainerPeerOptions = {}): Promise<ContainerPeer> {
  const tc = await loadTestcontainers();
  const image = resolveImage(opts.image);
  const customLib = customLibRoot(opts);
  // The self-signed listener's pair comes from the lab's PKI even with opts.tls (as the native peer's).
  const pki = makeTestPki();
  const certs = peerCertificates(opts.tls, pki);
  const ports = await peerPorts(opts);
  const startTimeoutMs = opts.startTimeoutMs ?? 30_000;
  const waiting = await startWaitingContainer(tc, image, ports, customLib, startTimeoutMs);
  const { container } = waiting;

  let flavour = opts.flavour;
  if (!flavour) {
    const probed = (await execText(container, PROBE)).output.trim();
    if (probed !== 'debian' && probed !== 'openresty') {
      return failContainer(waiting, `image ${image} has neither OpenResty (${LAYOUTS.openresty.nginx}) nor Debian's nginx + ngx_lua (${LUA_MODULE})`);
    }
    flavour = probed;
  }
  const notConfigured = await configureContainer(container, flavour, ports, certs, pki, customLib, opts);
  if (notConfigured !== null) return failContainer(waiting, notConfigured);

  const httpUrl = `http://127.0.0.1:${ports.port}`;
  const unhealthy = await awaitContainerHealth(httpUrl, image, waiting.output, startTimeoutMs);
  if (unhealthy !== null) return failContainer(waiting, unhealthy);
  let info: LuaLibraryInfo;
  try {
    info = await readLibInfo(httpUrl, customLib ? `${customLib} in container ${image}` : LAYOUTS[flavour].source(image), customLib ?? (flavour === 'debian' ? join(DEBIAN_LUA_ROOT_HOST, 'nginx', 'websocket') : `${image}:bundled`));
  } catch (e) {
    return failContainer(waiting, (e as Error).message.split('\n')[0]!);
  }
  const caPem = readFileSync(certs.caPath, 'utf8');
  return containerPeer(localPeerAddress(ports, caPem, info), image, flavour, container, waiting.output);
}

export const containerBackend: PeerBackend = {
  name: 'container',
  async available() {
    const why = await containerUnavailable();
    return why ? { ok: false, reason: why } : { ok: true };
  },
  // startPeer() passes its whole options object, which carries `image` for this backend.
  start: (opts) => startContainerPeer(opts as ContainerPeerOptions),
};

export { DEFAULT_IMAGE, LOCAL_IMAGE, resolveImage } from './env.js';
