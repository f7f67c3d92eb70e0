// Building blocks of the report pages: tables, collapsible sections, summary cards, badges.
import { esc } from './esc.js';

/** A table; `head` is plain text (escaped), rows are HTML cells (already escaped by the caller). */
export function table(head: readonly string[], rows: readonly string[][], cls = 'data'): string {
  const th = head.map((h) => `<th>${esc(h)}</th>`).join('');
  return `<table class="${cls}"><thead><tr>${th}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${c}</td>`).join('')}</tr>`).join('\n')}</tbody></table>`;
}

/** A collapsible section (<details>); `summary` is HTML. */
export function section(summary: string, body: string, open = false, attrs = ''): string {
  return `<details class="sec"${open ? ' open' : ''}${attrs ? ` ${attrs}` : ''}><summary>${summary}</summary><div class="body">${body}</div></details>`;
}

export type Tone = 'good' | 'bad' | 'warn' | 'neutral';

/** A row of big numbers: [label, value, tone]. */
export function cards(items: ReadonlyArray<readonly [string, string | number, Tone?]>): string {
  return `<div class="cards">${items.map(([k, v, tone]) => `<div class="card ${tone ?? 'neutral'}"><div class="v">${esc(typeof v === 'number' ? v.toLocaleString('en') : v)}</div><div class="k">${esc(k)}</div></div>`).join('')}</div>`;
}

export function badge(text: string, cls: string): string {
  return `<span class="badge ${esc(cls)}">${esc(text)}</span>`;
}

/** A coloured legend: [label, class]. */
export function legend(items: ReadonlyArray<readonly [string, string]>): string {
  return `<div class="legend">${items.map(([label, cls]) => `<span><span class="swatch ${esc(cls)}"></span>${esc(label)}</span>`).join('')}</div>`;
}

/** A key/value grid; values are HTML. */
export function keyValues(items: ReadonlyArray<readonly [string, string]>): string {
  return `<div class="kv">${items.map(([k, v]) => `<div>${esc(k)}</div><div>${v}</div>`).join('')}</div>`;
}
