// The lab's real browser: Debian's chromium driven by playwright-core (never a downloaded build).
// Used by interop's browser direction, the chromium-client conformance agent and the report check.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { onCleanup, trackTempDir } from './children.js';

export const CHROMIUM_PATH = process.env.WSLAB_CHROMIUM ?? '/usr/bin/chromium';

/**
 * The flags the machine needs: no sandbox (root), no GPU, and nothing that reaches for the network
 * (there is none: without these Chromium stalls on start-up).
 */
export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
] as const;

/** Why the browser parts cannot run here, or null when they can. */
export function browserUnavailable(path: string = CHROMIUM_PATH): string | null {
  if (!existsSync(path)) return `chromium is not installed at ${path} (run: sudo bash scripts/setup-browser.sh)`;
  return null;
}

export interface LabBrowser {
  context: BrowserContext;
  /** Chromium's version, e.g. "156.0.8078.114". */
  version: string;
  close(): Promise<void>;
}

/** Starts chromium with a fresh profile; close() stops it and removes the profile. */
export async function launchBrowser(): Promise<LabBrowser> {
  const why = browserUnavailable();
  if (why) throw new Error(why);
  const { chromium } = await import('playwright-core');
  const profile = mkdtempSync(join(tmpdir(), 'wslab-chromium-'));
  const forgetDir = trackTempDir(profile);
  // launchPersistentContext is the one way to hand chromium our own --user-data-dir.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [...CHROMIUM_ARGS],
    ignoreDefaultArgs: ['--headless'],
    timeout: 60_000,
    // Our interrupt handler (lab/children.ts) stops it, through the cleanup below; playwright's
    // exit hook still kills the browser process if the command exits first.
    handleSIGINT: false,
    handleSIGTERM: false,
    handleSIGHUP: false,
  });
  const forgetCleanup = onCleanup(() => context.close().catch(() => {}));
  return {
    context,
    version: context.browser()?.version() ?? 'unknown',
    async close() {
      forgetCleanup();
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
      forgetDir();
    },
  };
}
