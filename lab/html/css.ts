// One stylesheet for every report page: a neutral, dense layout that reads well on a projector and
// prints. Outcome colours (ok, nonstrict, info, unimpl, unclean, wrongcode, failedbyclient, failed,
// pass, fail, skip, error, flaky, running) are shared so a colour means the same on every page.
export const CSS = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--panel:#f6f8fa;--accent:#0969da;
--ok:#1a7f37;--ok-bg:#dafbe1;--warn:#9a6700;--warn-bg:#fff8c5;--bad:#cf222e;--bad-bg:#ffebe9;--info:#0969da;--info-bg:#ddf4ff;--none-bg:#eaeef2}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif;color:var(--fg);background:var(--bg)}
header.top{background:#24292f;color:#fff;padding:14px 28px;display:flex;align-items:baseline;gap:18px;flex-wrap:wrap}
header.top .brand{font-weight:600;font-size:15px;letter-spacing:.2px}
header.top .brand a{color:#fff;text-decoration:none}
header.top nav a{color:#d0d7de;text-decoration:none;margin-right:14px;font-size:13px}
header.top nav a:hover{color:#fff}
main{padding:20px 28px 48px;max-width:1500px}
h1{font-size:24px;font-weight:600;margin:4px 0 6px}
h2{font-size:18px;font-weight:600;margin:28px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
h3{font-size:15px;font-weight:600;margin:18px 0 8px}
p.sub{color:var(--muted);margin:0 0 16px}
a{color:var(--accent)}
code,pre,.mono{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:12px}
pre{margin:0;white-space:pre-wrap;word-break:break-all}
table{border-collapse:collapse;margin:6px 0 14px}
th,td{border:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
thead th{background:var(--panel);font-weight:600;position:sticky;top:0;z-index:1}
tbody th{font-weight:500}
table.data tbody tr:nth-child(even) td:not([class]){background:#fbfcfd}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
small,.muted{color:var(--muted)}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:12px 0 18px}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 14px;min-width:150px;background:var(--bg)}
.card .v{font-size:22px;font-weight:600;font-variant-numeric:tabular-nums}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.4px}
.card.good{border-left:4px solid var(--ok)}.card.bad{border-left:4px solid var(--bad)}.card.warn{border-left:4px solid var(--warn)}.card.neutral{border-left:4px solid var(--info)}
.badge{display:inline-block;padding:1px 8px;border-radius:999px;font-size:12px;font-weight:600;line-height:18px;white-space:nowrap}
.banner{border-radius:8px;padding:10px 14px;margin:10px 0 16px;font-weight:500}
.banner.notes{background:var(--panel);color:var(--fg);font-weight:400;font-size:13px}
.banner.pass{background:var(--ok-bg);color:#0b4f22}.banner.fail,.banner.error{background:var(--bad-bg);color:#82071e}.banner.running{background:var(--warn-bg);color:#633c01}
details.sec{border:1px solid var(--line);border-radius:8px;margin:10px 0;background:var(--bg)}
details.sec>summary{cursor:pointer;padding:8px 12px;background:var(--panel);border-radius:8px;font-weight:600;list-style:none;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
details.sec>summary::-webkit-details-marker{display:none}
details.sec>summary::before{content:"▸";color:var(--muted);width:10px}
details.sec[open]>summary::before{content:"▾"}
details.sec[open]>summary{border-bottom:1px solid var(--line);border-radius:8px 8px 0 0}
details.sec>.body{padding:8px 12px;overflow-x:auto}
.toolbar{display:flex;gap:10px;align-items:center;flex-wrap:wrap;margin:8px 0 12px}
.toolbar input[type=search]{padding:6px 10px;border:1px solid var(--line);border-radius:6px;min-width:260px;font:inherit}
.toolbar label{font-size:13px;color:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:6px 14px;margin:6px 0 12px;font-size:12px;color:var(--muted)}
.swatch{display:inline-block;width:12px;height:12px;border-radius:3px;vertical-align:-2px;margin-right:4px;border:1px solid rgba(0,0,0,.1)}
/* outcomes */
.ok{background:#cdeed5}.nonstrict{background:#e6f3b5}.info{background:#d3e8ff}.unimpl{background:#e1e4e8}
.unclean{background:#ffe2a8}.wrongcode{background:#ffc9a3}.failedbyclient{background:#f5b7d0}.failed{background:#ffb8b8}
.pass{background:#cdeed5}.fail{background:#ffb8b8}.skip{background:#eaeef2;color:#59636e}.error{background:#ffd8a8}.flaky{background:#f3eeb0}.running{background:#fff3b0}.none{background:#f6f8fa;color:#8c959f}
.badge.ok,.badge.pass{color:#0b4f22}.badge.failed,.badge.fail{color:#82071e}
table.matrix td{text-align:center;padding:3px 6px;min-width:92px;font-size:12px}
table.matrix td a{color:inherit;text-decoration:none;display:block}
table.matrix td a:hover{text-decoration:underline}
table.matrix td small{display:block;color:#3d444d;font-size:11px}
table.matrix tbody th{white-space:nowrap}
table.matrix tbody th .d{display:block;font-weight:400;color:var(--muted);font-size:11px;max-width:34em;white-space:normal}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:8px 0 14px}
.kv>div:nth-child(odd){color:var(--muted)}
table.wire td{font-size:12px}
table.wire td.dir{white-space:nowrap;font-weight:600}
table.wire td.in{color:#0550ae}table.wire td.out{color:#8250df}
.hex{color:#3d444d}
.txt{color:var(--fg);background:#f6f8fa;border-radius:4px;padding:0 3px}
.bad-utf8{color:var(--bad);font-size:11px;font-weight:600}
svg.chart{background:#fff;border:1px solid var(--line);border-radius:8px;margin:6px 12px 12px 0}
svg.chart text{font:11px -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;fill:#3d444d}
svg.chart .title{font-size:13px;font-weight:600;fill:#1f2328}
svg.chart .grid{stroke:#eaeef2}
svg.chart .axis{stroke:#8c959f}
.charts{display:flex;flex-wrap:wrap;align-items:flex-start}
.diffline{font-size:12px;margin-top:3px}
.note{font-size:12px;color:var(--muted);max-width:72em}
tr.hidden{display:none}
footer{color:var(--muted);font-size:12px;margin-top:32px;border-top:1px solid var(--line);padding-top:10px}
`;
