// Where the container backend finds its runtime and image. scripts/setup-podman.sh writes
// .cache/podman.env (DOCKER_HOST for the podman API socket, Ryuk off, host override, the local
// image); we read it here so callers need not source anything. Variables already set in the
// environment win over the file.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CACHE_DIR } from '../../paths.js';

export const PODMAN_ENV_FILE = join(CACHE_DIR, 'podman.env');

/**
 * The default image for users: OpenResty, whose bundled lua-resty-websocket is the v0.12 line.
 * Pinned so results do not drift; override with the `image` option or WSLAB_PEER_IMAGE.
 */
export const DEFAULT_IMAGE = 'openresty/openresty:1.27.1.2-bookworm';
/** The image scripts/setup-podman.sh (and the CI workflow) builds from fixtures/container. */
export const LOCAL_IMAGE = 'localhost/wslab-peer:bookworm';

/** KEY=VALUE lines; blank lines and # comments ignored. */
export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim().replace(/^(["'])(.*)\1$/, '$2');
  }
  return out;
}

let applied = false;
/** Copies .cache/podman.env into process.env (without overriding) once, before testcontainers reads it. */
export function applyPodmanEnv(file = PODMAN_ENV_FILE): Record<string, string> {
  if (!existsSync(file)) return {};
  const vars = parseEnvFile(readFileSync(file, 'utf8'));
  if (!applied) {
    for (const [k, v] of Object.entries(vars)) if (process.env[k] === undefined) process.env[k] = v;
    applied = true;
  }
  return vars;
}

/** The image to run: the option, then WSLAB_PEER_IMAGE (environment or .cache/podman.env), then OpenResty. */
export function resolveImage(option?: string): string {
  applyPodmanEnv();
  return option || process.env.WSLAB_PEER_IMAGE || DEFAULT_IMAGE;
}
