// The page shell every report shares: one stylesheet, a top bar linking the reports to each other,
// and optional small scripts (filters). Pages stay single self-contained files (no assets, no CDN).
import { CSS } from './css.js';
import { esc } from './esc.js';

export interface PageOptions {
  title: string;
  /** The page's main content (already HTML). */
  body: string;
  /** Links in the top bar, label -> href (relative to the page). */
  nav?: Record<string, string>;
  /** Extra inline script (runs after the body). */
  script?: string;
  /** Shown under the content. */
  footer?: string;
}

export function page(o: PageOptions): string {
  const nav = Object.entries(o.nav ?? {}).map(([label, href]) => `<a href="${esc(href)}">${esc(label)}</a>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(o.title)}</title><style>${CSS}</style></head>
<body><header class="top"><span class="brand">resty-websocket-lab</span><nav>${nav}</nav></header>
<main>
${o.body}
<footer>${o.footer ?? ''}${o.footer ? ' · ' : ''}generated ${esc(new Date().toISOString().replace(/\.\d+Z$/, 'Z'))} by wslab</footer>
</main>${o.script ? `<script>${o.script}</script>` : ''}</body></html>
`;
}

/**
 * A filter box over rows: every `tr[data-search]` under `scope` hides unless its data-search text
 * holds every word typed; checkboxes with data-hide="cls" hide rows carrying that class.
 */
export const FILTER_SCRIPT = `(() => {
  const box = document.querySelector('input[data-filter]');
  const checks = [...document.querySelectorAll('input[data-hide]')];
  const rows = [...document.querySelectorAll('tr[data-search]')];
  const apply = () => {
    const words = (box ? box.value : '').toLowerCase().split(/\\s+/).filter(Boolean);
    const hidden = checks.filter((c) => c.checked).map((c) => c.dataset.hide);
    let shown = 0;
    for (const r of rows) {
      const text = r.dataset.search.toLowerCase();
      const hide = words.some((w) => !text.includes(w)) || hidden.some((cls) => r.classList.contains(cls));
      r.classList.toggle('hidden', hide);
      if (!hide) shown++;
    }
    const count = document.querySelector('[data-shown]');
    if (count) count.textContent = shown + ' of ' + rows.length + ' shown';
  };
  box && box.addEventListener('input', apply);
  checks.forEach((c) => c.addEventListener('change', apply));
  apply();
})();`;
