// Shared settings of the fuzz tests: CI runs the long versions, local runs stay short.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT_DIR } from '../lab/paths.js';
import { parseDuration } from './cli.js';

export const IN_CI = process.env.CI === 'true';

/** Per-target campaign time: WSLAB_FUZZ_TIME, else 60 s in CI and 4 s locally. */
export const FUZZ_TIME_MS = parseDuration(process.env.WSLAB_FUZZ_TIME ?? (IN_CI ? '60s' : '4s'));

/** Differential run time: WSLAB_DIFF_TIME, else 60 s in CI and 5 s locally. */
export const DIFF_TIME_MS = parseDuration(process.env.WSLAB_DIFF_TIME ?? (IN_CI ? '60s' : '5s'));

/** The impl modules each target needs (some land later than others). */
export const TARGET_MODULES: Record<string, string[]> = {
  'frame-compat': ['impl/protocol.ts'],
  'frame-strict': ['impl/protocol.ts', 'impl/message-validator.ts'],
  'frame-planted': ['impl/protocol.ts'],
  inflate: ['impl/protocol.ts', 'impl/permessage-deflate.ts', 'impl/server.ts'],
  'handshake-server': ['impl/handshake-server.ts'],
  'handshake-client': ['impl/handshake-client.ts'],
  uri: ['impl/uri.ts'],
  utf8: ['impl/utf8.ts'],
};

/** Whether a target can run here; in CI every target must (a missing module fails there). */
export function targetAvailable(name: string): boolean {
  return IN_CI || (TARGET_MODULES[name] ?? []).every((m) => existsSync(join(ROOT_DIR, m)));
}
