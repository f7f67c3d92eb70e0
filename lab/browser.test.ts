import { describe, expect, it } from 'vitest';
import { browserUnavailable, CHROMIUM_ARGS, CHROMIUM_PATH, launchBrowser } from './browser.js';

describe('the lab browser', () => {
  it('says why it cannot run, with the set-up command', () => {
    expect(browserUnavailable('/nonexistent/chromium')).toBe('chromium is not installed at /nonexistent/chromium (run: sudo bash scripts/setup-browser.sh)');
  });
  it('starts chromium with the flags this machine needs', () => {
    for (const f of ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync']) expect(CHROMIUM_ARGS).toContain(f);
  });
  it.skipIf(browserUnavailable() !== null)(`launches ${CHROMIUM_PATH} with a fresh profile and runs a page`, async () => {
    const b = await launchBrowser();
    try {
      const page = await b.context.newPage();
      await page.setContent('<p id="x">ok</p>');
      expect(await page.textContent('#x')).toBe('ok');
      expect(b.version).toMatch(/^\d+\.\d+/);
    } finally {
      await b.close();
    }
  }, 60_000);
});
