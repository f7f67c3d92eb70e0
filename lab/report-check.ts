// Opens a report page in the lab's chromium, collects console errors and page errors, checks that
// the page's main elements render, and saves a full-page screenshot next to it (<page>.png).
import type { Page } from 'playwright-core';
import type { LabBrowser } from './browser.js';
import { pathToFileURL } from 'node:url';

export interface PageCheck {
  file: string;
  screenshot: string;
  consoleErrors: string[];
  /** Selectors that matched no visible element. */
  missing: string[];
  title: string;
}

export async function checkReportPage(browser: LabBrowser, file: string, selectors: readonly string[], opts: { width?: number; fullPage?: boolean; screenshot?: string; interact?: (page: Page) => Promise<void> } = {}): Promise<PageCheck> {
  const page = await browser.context.newPage();
  const consoleErrors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(`page error: ${e.message}`));
  try {
    await page.setViewportSize({ width: opts.width ?? 1440, height: 900 });
    await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
    const missing: string[] = [];
    for (const sel of selectors) {
      if (!(await page.locator(sel).first().isVisible().catch(() => false))) missing.push(sel);
    }
    const screenshot = opts.screenshot ?? file.replace(/\.html$/, '.png');
    await page.screenshot({ path: screenshot, fullPage: opts.fullPage ?? true });
    // After the screenshot, so it shows the page as it opens.
    await opts.interact?.(page);
    return { file, screenshot, consoleErrors, missing, title: await page.title() };
  } finally {
    await page.close();
  }
}
