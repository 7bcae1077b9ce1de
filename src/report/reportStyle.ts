/**
 * The report's only stylesheet (allowed by its hash in the CSP): light and dark schemes from the system setting,
 * a print layout without controls, visible focus for keyboard use.
 */
export const REPORT_STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1b1f24;--muted:#57606a;--line:#d0d7de;--panel:#f6f8fa;--accent:#0969da;
--warn:#9a6700;--bad:#cf222e;--c0:#e6e9ed;--c1:#c6dbef;--c2:#9ecae1;--c3:#6baed6;--c4:#3182bd;--c5:#08519c;
--tcp:#3182bd;--udp:#e6550d;--icmp:#31a354;--icmpv6:#74c476;--other:#969696;--arp:#9e9ac8;--syn:#0969da;--rst:#cf222e;--retx:#bf8700}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--panel:#161b22;
--accent:#4493f8;--warn:#d29922;--bad:#f85149;--c0:#2a3038;--c1:#183a5a;--c2:#1f5a8a;--c3:#2f7bbf;--c4:#58a6ff;--c5:#a5d6ff;
--syn:#58a6ff;--rst:#ff7b72;--retx:#e3b341}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header,main,footer{max-width:1200px;margin:0 auto;padding:0 16px}
h1{font-size:1.5rem;margin:16px 0 4px}h2{font-size:1.15rem;margin:28px 0 8px;border-bottom:1px solid var(--line);padding-bottom:4px}
a{color:var(--accent)}
code,.mono,td{font-variant-numeric:tabular-nums}
code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;overflow-wrap:anywhere}
.verdict{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:8px 0}
.verdict dt{color:var(--muted)}.verdict dd{margin:0;overflow-wrap:anywhere}
.flag{font-weight:600;color:var(--bad)}
.headline{font-size:1.05rem;margin:8px 0;padding:8px 12px;border-left:4px solid var(--warn);background:var(--panel)}
.headline.ok{border-left-color:var(--icmp)}
nav.toc{margin:8px 0;display:flex;flex-wrap:wrap;gap:4px 14px}
.filters{position:sticky;top:0;z-index:2;background:var(--bg);border-bottom:1px solid var(--line);padding:8px 0;
display:flex;flex-wrap:wrap;gap:8px 14px;align-items:end}
.filters label{display:flex;flex-direction:column;font-size:.8rem;color:var(--muted)}
input,select,button{font:inherit;color:var(--fg);background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:3px 8px}
input[type=number]{width:7em}
button{cursor:pointer}button:disabled{opacity:.5;cursor:default}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
button[aria-pressed=true]{background:var(--accent);color:var(--bg)}
#filter-status,#copy-status{color:var(--muted);font-size:.85rem}
.signals{list-style:none;padding:0;margin:0}.signals li{margin:4px 0;display:flex;gap:10px;align-items:baseline}
.sev{font-size:.75rem;text-transform:uppercase;font-weight:700;min-width:5.5em}.sev.warning{color:var(--warn)}.sev.critical{color:var(--bad)}.sev.info{color:var(--muted)}
.tablewrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{text-align:left;padding:3px 8px;border-bottom:1px solid var(--line);vertical-align:top}
td{overflow-wrap:anywhere}
th{background:var(--panel);position:sticky;top:0}
th button{border:0;background:none;padding:0;font-weight:600}
th[aria-sort=ascending] button::after{content:" \\25B2"}th[aria-sort=descending] button::after{content:" \\25BC"}
.num{text-align:right;white-space:nowrap}.nowrap{white-space:nowrap;overflow-wrap:normal}.wide{min-width:14em}.names{display:block;font-size:.8rem;color:var(--muted)}
.copy{font-size:.75rem;padding:1px 6px;margin:1px 4px 1px 0}
.pager{display:flex;gap:10px;align-items:center;margin:6px 0}
.two{display:grid;grid-template-columns:1fr 1fr;gap:24px}
@media (max-width:800px){.two{grid-template-columns:1fr}}
svg{max-width:100%;height:auto;display:block}
svg text{fill:var(--muted);font-size:11px}
.axis{stroke:var(--line)}
#map path{stroke:var(--bg);stroke-width:.4}
#map path.c0{fill:var(--c0)}#map path.c1{fill:var(--c1)}#map path.c2{fill:var(--c2)}#map path.c3{fill:var(--c3)}
#map path.c4{fill:var(--c4)}#map path.c5{fill:var(--c5)}#map path.picked{stroke:var(--bad);stroke-width:1.5}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.8rem;color:var(--muted);margin:4px 0}
.sw{display:inline-block;vertical-align:middle;margin-right:4px}
.p-tcp{fill:var(--tcp)}.p-udp{fill:var(--udp)}.p-icmp{fill:var(--icmp)}.p-icmpv6{fill:var(--icmpv6)}.p-arp{fill:var(--arp)}
.p-other{fill:var(--other)}.m-syn{fill:var(--syn)}.m-rst{fill:var(--rst)}.m-retx{fill:var(--retx)}
.fired{stroke:var(--bad);stroke-width:1.5;stroke-dasharray:4 3}.fired-label{fill:var(--bad)}
.sel{fill:var(--accent);opacity:.15}
.ba-before{fill:var(--c3)}.ba-after{fill:var(--udp)}.ba-window{fill:none;stroke:var(--warn);stroke-width:2;stroke-dasharray:5 3}
.new-conversations li{margin:2px 0}#before-after-table{width:auto;margin:8px 0}.c0-sw{fill:var(--c0)}
.buckets{display:flex;flex-wrap:wrap;gap:6px 10px;margin:6px 0}
.provenance li{margin:2px 0}
footer{color:var(--muted);font-size:.8rem;margin-top:32px;padding-bottom:24px}
@media print{
.filters,.pager,.copy,nav.toc,noscript{display:none!important}
body{font-size:11px;color:#000;background:#fff}
th{position:static}
.tablewrap{overflow:visible}table{font-size:9px}.wide{min-width:0}
.signals button{display:none!important}
section{break-inside:avoid-page}
table{break-inside:auto}tr{break-inside:avoid}
a::after{content:" (" attr(href) ")"}
}
`;
