import { createHash } from 'node:crypto';
import { formatBytes } from '../pcap/formatSummaryText.js';
import type { CaptureSummary, CountedName } from '../pcap/types.js';
import { BUCKET_NAMES, buildReportContext, type GeoLookup } from './buildReportContext.js';
import { escapeHtml, jsonForScript } from './escapeHtml.js';
import type { DataSource } from './GeoDatabase.js';
import { renderBeforeAfter } from './renderBeforeAfter.js';
import { renderMap } from './renderMap.js';
import { protocolClass, renderTimeline } from './renderTimeline.js';
import { REPORT_SCRIPT } from './reportScript.js';
import { REPORT_STYLE } from './reportStyle.js';
import type { ReportCapture, ReportInput } from './types.js';

/**
 * At most this many conversations are embedded (most bytes first); the rest are rolled up into one line. Keeps a
 * 20,000-conversation capture's report within its 1.5 MB budget.
 */
export const MAX_REPORT_CONVERSATIONS = 2500;

/** Options for {@link renderReport}. */
export interface RenderReportOptions {
  /** Country and AS answers. */
  geo: GeoLookup;
  /** The data sources behind `geo` and the map, listed with their attribution. */
  sources: readonly DataSource[];
  /** Version of alert-capture, for the provenance. */
  toolVersion: string;
  /** When the report was made; defaults to now. */
  generatedAt?: Date;
  /** Override of {@link MAX_REPORT_CONVERSATIONS}. */
  maxConversations?: number;
}

function sha256Base64(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('base64');
}

/** "vm1", or "vmss1 instance 3", from an ARM id; the id itself when it names neither. */
export function targetName(target: string | undefined): string | undefined {
  if (target === undefined) return undefined;
  const vmss = /\/virtualMachineScaleSets\/([^/]+)\/virtualMachines\/([^/]+)/i.exec(target);
  if (vmss) return `${vmss[1]} instance ${vmss[2]}`;
  const vm = /\/virtualMachines\/([^/]+)/i.exec(target);
  return vm ? vm[1] : target;
}

function row(label: string, value: string | undefined, html = false): string {
  if (value === undefined || value === '') return '';
  return `<dt>${escapeHtml(label)}</dt><dd>${html ? value : escapeHtml(value)}</dd>`;
}

function headline(summary: CaptureSummary): string {
  const warnings = summary.signals.filter((s) => s.severity === 'warning');
  if (summary.signals.length === 0) {
    const top = summary.conversations[0];
    return (
      `<p class="headline ok">No warning signs in ${escapeHtml(summary.packets)} packets.` +
      (top
        ? ` Most traffic: ${escapeHtml(top.protocol)} ${escapeHtml(top.a)} ↔ ${escapeHtml(top.b)}, ${escapeHtml(formatBytes(top.bytes))}.`
        : '') +
      `</p>`
    );
  }
  const shown = (warnings.length > 0 ? warnings : summary.signals).slice(0, 3);
  return `<div class="headline">${shown.map((s) => `<p>${escapeHtml(s.message)}</p>`).join('')}</div>`;
}

function verdict(input: ReportInput): string {
  const { summary, capture } = input;
  const alert = capture.alert;
  const window =
    capture.startedAt !== undefined || capture.endedAt !== undefined
      ? `${capture.startedAt ?? '?'} – ${capture.endedAt ?? '?'}`
      : summary.startTime !== undefined
        ? `${summary.startTime} – ${summary.endTime ?? '?'} (first to last packet)`
        : 'no packets';
  const status = [capture.status, capture.stopReason ? `stop reason ${capture.stopReason}` : undefined]
    .filter(Boolean)
    .join(', ');
  const conversationsTotal =
    (summary as CaptureSummary & { conversationsTotal?: number }).conversationsTotal ??
    summary.conversations.length;
  return (
    headline(summary) +
    `<dl class="verdict">` +
    row('VM', targetName(capture.target)) +
    row('Alert rule', alert ? `${alert.rule}${alert.severity ? ` (${alert.severity})` : ''}` : undefined) +
    row('Alert fired', alert?.firedAt) +
    row('Capture window', window) +
    row('Capture', [capture.captureName, capture.region].filter(Boolean).join(' in ')) +
    row('Status', status) +
    row('Errors', capture.errors?.join(', ')) +
    row(
      'File',
      `${capture.fileName}${capture.fileBytes !== undefined ? ` (${formatBytes(capture.fileBytes)})` : ''}`,
    ) +
    row(
      'SHA-256',
      capture.sha256 !== undefined ? `<code>${escapeHtml(capture.sha256)}</code>` : undefined,
      true,
    ) +
    row(
      'Totals',
      `${summary.packets} packets, ${formatBytes(summary.bytes)}, ${summary.durationSeconds} s, ` +
        `${conversationsTotal} conversations (${summary.format})`,
    ) +
    (summary.partial
      ? row(
          'Partial',
          `<span class="flag">only part of the file was read: ${escapeHtml(summary.partialReason ?? 'unknown reason')}</span>`,
          true,
        )
      : row('Partial', 'no, the whole file was read')) +
    `</dl>`
  );
}

function signalsList(summary: CaptureSummary, counts: number[][]): string {
  if (summary.signals.length === 0)
    return '<p>No signals: no RST storm, unanswered SYNs or retransmissions seen.</p>';
  const items = summary.signals.map((s, i) => {
    const n = counts[i]?.length ?? 0;
    const button =
      n > 0
        ? `<button type="button" data-signal="${i}" aria-pressed="false">Show its ${n} conversation${n === 1 ? '' : 's'}</button>`
        : (s.conversations?.length ?? 0) > 0
          ? '<span class="names">Its conversations are not among those listed here.</span>'
          : '';
    const names = (label: string, list: CountedName[] | undefined): string =>
      list !== undefined && list.length > 0
        ? `<span class="names">${label}: ${list.map((n) => `<span class="mono">${escapeHtml(n.name)}</span> (${escapeHtml(n.count)})`).join(', ')}</span>`
        : '';
    return (
      `<li><span class="sev ${escapeHtml(s.severity)}">${escapeHtml(s.severity)}</span>` +
      `<span>${escapeHtml(s.message)} <span class="mono">[${escapeHtml(s.kind)}, ${escapeHtml(s.count)}]</span>` +
      `${names('From', s.sources)}${names('To', s.targets)}</span>${button}</li>`
    );
  });
  return `<ul class="signals">${items.join('')}</ul>`;
}

function options(values: [string, string][], all: string): string {
  return (
    `<option value="">${escapeHtml(all)}</option>` +
    values.map(([v, label]) => `<option value="${escapeHtml(v)}">${escapeHtml(label)}</option>`).join('')
  );
}

function swatch(css: string): string {
  return `<svg class="sw" width="10" height="10" aria-hidden="true"><rect class="${css}" width="10" height="10"/></svg>`;
}

function settingsList(capture: ReportCapture): string {
  const entries = Object.entries(capture.settings ?? {});
  if (entries.length === 0) return '<li>Capture settings: not known to this report (made from a file).</li>';
  return `<li>Capture settings: ${entries
    .map(([k, v]) => `${escapeHtml(k)} <code>${escapeHtml(String(v))}</code>`)
    .join(', ')}</li>`;
}

/**
 * Renders one capture's report: a single HTML file that needs nothing but itself. The summary is embedded once,
 * exactly as `summarize --json` prints it (conversations past {@link MAX_REPORT_CONVERSATIONS} rolled up), as
 * `<script type="application/json" id="capture-summary">`; charts are inline SVG; a CSP allows only the page's own
 * script and style by hash, so the page can make no request. Every packet or alert string is escaped.
 */
export function renderReport(input: ReportInput, opts: RenderReportOptions): string {
  const { summary, capture, timeline } = input;
  const max = opts.maxConversations ?? MAX_REPORT_CONVERSATIONS;
  const embeddedSummary: CaptureSummary =
    summary.conversations.length > max
      ? { ...summary, conversations: summary.conversations.slice(0, max) }
      : summary;
  const context = buildReportContext(
    summary,
    embeddedSummary.conversations,
    opts.geo,
    capture.alert?.firedAt,
  );
  const drawn =
    timeline !== undefined
      ? renderTimeline(
          timeline,
          summary.protocols.map((p) => p.protocol),
          context.firedAt,
        )
      : undefined;
  const pageContext = {
    ...context,
    ...(timeline !== undefined && drawn !== undefined
      ? {
          timeline: {
            start: Date.parse(timeline.startTime),
            bucketSeconds: timeline.bucketSeconds,
            buckets: timeline.buckets,
          },
          plot: drawn.plot,
        }
      : {}),
  };
  const title = `Capture report: ${targetName(capture.target) ?? capture.fileName}`;
  const scriptHash = sha256Base64(REPORT_SCRIPT);
  const styleHash = sha256Base64(REPORT_STYLE);
  const csp =
    `default-src 'none'; script-src 'sha256-${scriptHash}'; style-src 'sha256-${styleHash}'; ` +
    `img-src data:; base-uri 'none'; form-action 'none'`;
  const protocolsInConversations = [...new Set(embeddedSummary.conversations.map((c) => c.protocol))].sort();
  const countryOptions: [string, string][] = [
    ...Object.entries(BUCKET_NAMES).map(([k, v]): [string, string] => [k, v]),
    ...Object.entries(context.countries).sort((x, y) => x[1].localeCompare(y[1])),
  ];
  const legend = summary.protocols
    .map((p) => `<span>${swatch(protocolClass(p.protocol))}${escapeHtml(p.protocol)}</span>`)
    .join('');
  const buckets = countryOptions
    .map(
      ([k, v]) =>
        `<button type="button" data-set-cc="${escapeHtml(k)}">${escapeHtml(v)}: <span data-bucket="${escapeHtml(k)}">0 B</span></button>`,
    )
    .join('');
  const hierarchy = summary.protocols
    .map((p) => {
      const share = summary.bytes > 0 ? ((100 * p.bytes) / summary.bytes).toFixed(1) : '0.0';
      return `<tr><td>${escapeHtml(p.protocol)}</td><td class="num">${p.packets}</td><td class="num">${escapeHtml(formatBytes(p.bytes))}</td><td class="num">${share} %</td></tr>`;
    })
    .join('');
  const sources = [...opts.sources]
    .map(
      (s) =>
        `<li>${escapeHtml(s.name)} — <code>${escapeHtml(s.package)}</code>, data of ${escapeHtml(s.dataDate)}, ` +
        `${escapeHtml(s.licence)}: <a href="${escapeHtml(s.url)}">${escapeHtml(s.attribution)}</a></li>`,
    )
    .join('');
  const other = summary.otherConversations;
  const rolledBySummary =
    other !== undefined
      ? `<p>The summary's bounded table rolled ${summary.conversationsTotalEstimated === true ? 'about ' : ''}${escapeHtml(other.conversations)} smaller conversations ` +
        `(${escapeHtml(other.packets)} packets, ${escapeHtml(formatBytes(other.bytes))}) into one bucket; they are not listed.</p>`
      : '';
  const omitted = context.omitted
    ? `<p>Only the ${embeddedSummary.conversations.length} largest conversations are listed; ` +
      `${context.omitted.conversations} more (${context.omitted.packets} packets, ${escapeHtml(formatBytes(context.omitted.bytes))}) are rolled up here.</p>`
    : '';
  const generatedAt = (opts.generatedAt ?? new Date()).toISOString();
  const before = input.before;
  // Without a capture after the alert, the page is made of the kept files: its summary is the before.
  const beforeAfter = before
    ? `<section id="before-after" aria-labelledby="before-after-h"><h2 id="before-after-h">Before and after the alert</h2>${renderBeforeAfter(
        before,
        before.afterMissing === undefined ? summary : undefined,
        capture,
      )}</section>`
    : '';

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>${escapeHtml(title)}</title>
<style>${REPORT_STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<nav class="toc" aria-label="Sections"><a href="#verdict">Verdict</a>${before ? '<a href="#before-after">Before and after</a>' : ''}<a href="#signals">Signals</a><a href="#timeline-section">Timeline</a><a href="#conversations">Conversations</a><a href="#endpoints">Endpoints</a><a href="#protocols">Protocols and ports</a><a href="#map-section">Map</a><a href="#provenance">Provenance</a></nav>
</header>
<main>
<section id="verdict" aria-labelledby="verdict-h"><h2 id="verdict-h">Verdict</h2>${verdict(input)}</section>
${beforeAfter}
<form class="filters" role="search" aria-label="Filter every view">
<label>Protocol<select id="f-proto">${options(
    protocolsInConversations.map((p) => [p, p]),
    'all protocols',
  )}</select></label>
<label>Country or kind<select id="f-cc">${options(countryOptions, 'everywhere')}</select></label>
<label>Address, port or text<input id="f-q" type="search" autocomplete="off" placeholder="e.g. 8.8.8.8 or :443"></label>
<label>From (s)<input id="f-from" type="number" step="any" min="0"></label>
<label>To (s)<input id="f-to" type="number" step="any" min="0"></label>
<label>Signal<select id="f-sig">${options(
    summary.signals.map((s, i): [string, string] => [String(i), `${s.kind} (${s.count})`]),
    'any',
  )}</select></label>
<button type="button" id="f-clear">Clear filter</button>
<output id="filter-status" aria-live="polite"></output>
</form>
<noscript><p>The tables and the filter need JavaScript; the summary's JSON is embedded in this file.</p></noscript>
<section id="signals" aria-labelledby="signals-h"><h2 id="signals-h">Signals</h2>${signalsList(summary, context.signals)}</section>
<section id="timeline-section" aria-labelledby="timeline-h"><h2 id="timeline-h">Timeline</h2>
${drawn ? `<div class="legend">${legend}<span>${swatch('m-syn')}SYN</span><span>${swatch('m-rst')}RST</span><span>${swatch('m-retx')}retransmission (estimate)</span></div>${drawn.svg}<p class="legend">Drag across the chart, or type From/To, to filter by time (seconds from the first packet).</p>` : '<p>No timeline: the capture holds no packets, or the report was made from a summary alone.</p>'}
</section>
<section id="conversations" aria-labelledby="conversations-h"><h2 id="conversations-h">Conversations</h2>
${rolledBySummary}${omitted}<p class="mono" id="copy-status" aria-live="polite"></p><div class="tablewrap"><table id="conversations-table"><thead></thead><tbody></tbody></table></div>
<div class="pager" id="conversations-table-pager"></div>
</section>
<section id="endpoints" aria-labelledby="endpoints-h"><h2 id="endpoints-h">Endpoints</h2>
<p class="legend">Private, Azure platform (168.63.129.16, 169.254.169.254) and Microsoft addresses are labelled before any geo lookup: geo databases misplace them.</p>
<div class="tablewrap"><table id="endpoints-table"><thead></thead><tbody></tbody></table></div>
<div class="pager" id="endpoints-table-pager"></div>
</section>
<section id="protocols" aria-labelledby="protocols-h"><h2 id="protocols-h">Protocols and server ports</h2>
<div class="two"><div><h3>Whole capture</h3><table id="hierarchy-table"><thead><tr><th scope="col">Protocol</th><th scope="col" class="num">Packets</th><th scope="col" class="num">Bytes</th><th scope="col" class="num">Share</th></tr></thead><tbody>${hierarchy}</tbody></table>
<h3>Conversations in the filter</h3><table id="protocols-table"><thead></thead><tbody></tbody></table><div class="pager" id="protocols-table-pager"></div></div>
<div><h3>Top server ports</h3><table id="ports-table"><thead></thead><tbody></tbody></table><div class="pager" id="ports-table-pager"></div></div></div>
</section>
<section id="map-section" aria-labelledby="map-h"><h2 id="map-h">Where the peers are</h2>
${renderMap()}
<div class="legend"><span>${swatch('c0-sw')}no traffic</span><span>lighter to darker: more bytes (log scale); select a country on the map or below to filter</span></div>
<div class="buckets">${buckets}</div>
</section>
<section id="provenance" aria-labelledby="provenance-h"><h2 id="provenance-h">Provenance</h2>
<ul class="provenance">
${settingsList(capture)}
<li>Made by alert-capture ${escapeHtml(opts.toolVersion)} at ${escapeHtml(generatedAt)}; conversation and byte counts follow tshark's <code>-z conv</code>.</li>
${sources}
</ul>
</section>
</main>
<footer>This page is self-contained: it makes no network request. The summary JSON is in <code>#capture-summary</code>${before?.summary ? ", the kept files' (before the alert) in <code>#capture-before</code>" : ''}.</footer>
<script type="application/json" id="capture-summary">${jsonForScript(embeddedSummary)}</script>
${before?.summary ? `<script type="application/json" id="capture-before">${jsonForScript(before.summary)}</script>\n` : ''}<script type="application/json" id="report-context">${jsonForScript(pageContext)}</script>
<script>${REPORT_SCRIPT}</script>
</body>
</html>
`;
}
