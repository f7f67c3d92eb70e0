// The HTML layer every report page shares (lab/html/): the page shell and stylesheet, tables,
// collapsible sections, cards, payload rendering and inline-SVG charts. No framework, no assets:
// each report is one self-contained file.
export { esc } from './html/esc.js';
export { page, FILTER_SCRIPT, type PageOptions } from './html/page.js';
export { table, section, cards, badge, legend, keyValues, type Tone } from './html/parts.js';
export { decodeUtf8, hexGroups, payloadHtml } from './html/bytes.js';
export { lineChart, barChart, ratioChart, ticks, PALETTE, type Series, type Bar, type RatioRow } from './html/charts.js';
