// chromium-client: Debian's chromium as a client testee of our fuzzingserver. A page's WebSocket
// runs Autobahn's browser testee loop (getCaseCount, then runCase 1..N echoing every message, then
// updateReports), so the verdicts are what a real browser's WebSocket does with each case.
import { browserUnavailable, launchBrowser } from '../../lab/browser.js';
import type { ClientAgent } from './types.js';

/**
 * Runs in the page: the testee loop of autobahntestsuite's browser client. Plain JavaScript in a
 * string: a TypeScript function would be handed over through Function#toString, carrying whatever
 * helpers the transpiler inserted (tsx's __name), which do not exist in the page.
 */
export const TESTEE_LOOP = `async ({ base, agent, only }) => {
  // Every connection is bounded: the fuzzingserver ends each case itself (killAfter, close
  // timeouts, its hard limit); this only keeps a stuck connection from holding the loop forever, so
  // it lies beyond the longest case's hard limit (12.x/13.x: 480 s + 30 s), or it would end a slow
  // compression case itself and make the verdict the page's.
  const BOUND_MS = 600000;
  const once = (url, echo) => new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    let first = '';
    const stuck = setTimeout(() => { ws.close(); setTimeout(() => resolve(first), 5000); }, BOUND_MS);
    ws.onmessage = (e) => { if (echo) ws.send(e.data); else if (!first) first = String(e.data); };
    ws.onclose = () => { clearTimeout(stuck); resolve(first); };
    ws.onerror = () => {};
  });
  const a = encodeURIComponent(agent);
  let numbers = only;
  if (!numbers) {
    const count = Number(await once(base + '/getCaseCount', false)) || 0;
    numbers = Array.from({ length: count }, (_, i) => i + 1);
  }
  for (const i of numbers) await once(base + '/runCase?case=' + i + '&agent=' + a, true);
  await once(base + '/updateReports?agent=' + a, false);
  return numbers.length;
}`;

export const chromiumClient: ClientAgent = {
  kind: 'client',
  name: 'chromium-client',
  summary: "Debian's chromium (headless, playwright-core): a page's WebSocket echoes every message",
  // Chromium offers "permessage-deflate; client_max_window_bits" on every connection.
  permessageDeflate: true,
  unavailable: browserUnavailable,
  async run(base, agent, _peer, only) {
    const browser = await launchBrowser();
    try {
      const page = await browser.context.newPage();
      // A loaded page (not about:blank) so the WebSocket has an ordinary origin-less context.
      await page.setContent('<!doctype html><title>wslab chromium-client</title>');
      const count = await page.evaluate(`(${TESTEE_LOOP})(${JSON.stringify({ base, agent, only: only ?? null })})`) as number;
      if (count === 0) throw new Error('chromium-client: getCaseCount returned no count');
    } finally {
      await browser.close();
    }
  },
};
