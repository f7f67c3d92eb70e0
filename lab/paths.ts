// Where things are in a checkout. One definition, used by every part of the lab.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is lab/paths.ts). */
export const ROOT_DIR = fileURLToPath(new URL('../', import.meta.url));
export const FIXTURES_DIR = join(ROOT_DIR, 'fixtures');
export const FIXTURES_NGINX = join(FIXTURES_DIR, 'nginx');
export const FIXTURES_LUA = join(FIXTURES_DIR, 'lua');
/** Set-up output (the unpacked Debian Lua library, podman env, peer state): never committed. */
export const CACHE_DIR = join(ROOT_DIR, '.cache');
/** Default output folder of every report. */
export const REPORT_DIR = join(ROOT_DIR, 'report');
