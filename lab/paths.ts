// Where things are in a checkout. One definition, used by every part of the lab.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('../', import.meta.url));
/** The repository (or installed package) root: this file is lab/paths.ts, or dist/lab/paths.js when built. */
export const ROOT_DIR = existsSync(join(here, 'package.json')) ? here : fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES_DIR = join(ROOT_DIR, 'fixtures');
export const FIXTURES_NGINX = join(FIXTURES_DIR, 'nginx');
export const FIXTURES_LUA = join(FIXTURES_DIR, 'lua');
/** Set-up output (the unpacked Debian Lua library, podman env, peer state): never committed. */
export const CACHE_DIR = join(ROOT_DIR, '.cache');
/** Default output folder of every report. */
export const REPORT_DIR = join(ROOT_DIR, 'report');
