import { compareSummaries, type SummaryChange } from '../pcap/compareSummaries.js';
import { formatBytes } from '../pcap/formatSummaryText.js';
import type { CaptureSummary } from '../pcap/types.js';
import { escapeHtml } from './escapeHtml.js';
import type { ReportBefore, ReportCapture } from './types.js';

/** Most new conversations named in the section (most bytes first); the rest are counted. */
const MAX_NAMED = 10;

const WIDTH = 960;
const BAR = { x: 120, w: 820 };

/** `07:01:02` (UTC) of an epoch-ms time. */
function clock(ms: number): string {
  return new Date(ms).toISOString().slice(11, 19);
}

function minutes(seconds: number): string {
  const abs = Math.abs(seconds);
  return abs < 120 ? `${Math.round(abs)} s` : `${Math.round(abs / 60)} min`;
}

/** A label at `x` stays inside the chart: anchored at its end near the right edge, at its start near the left. */
function firedAnchor(x: number): 'start' | 'middle' | 'end' {
  if (x > BAR.x + BAR.w - 60) return 'end';
  return x < BAR.x + 60 ? 'start' : 'middle';
}

function rate(value: number | undefined): string {
  return value === undefined ? '—' : `${formatBytes(value)}/s`;
}

/** A span of time on the bar: [startMs, endMs] with its label and CSS class. */
interface Span {
  label: string;
  css: string;
  startMs: number;
  endMs: number;
}

/**
 * The kept files, the alert window and the capture after it, on one time axis (inline SVG, one row each), with the
 * fired time as a dashed line: the reader sees at once whether "before" reaches back past the window's start.
 */
function renderSpans(spans: readonly Span[], firedMs: number | undefined): string {
  const starts = spans.map((s) => s.startMs);
  const ends = spans.map((s) => s.endMs);
  const t0 = Math.min(...starts);
  const t1 = Math.max(...ends, t0 + 1000);
  const x = (ms: number): number => Math.round((BAR.x + ((ms - t0) / (t1 - t0)) * BAR.w) * 10) / 10;
  const rowHeight = 22;
  // The axis, its end labels, then the fired label on a line of its own (it may fall on an end label).
  const height = spans.length * rowHeight + 46;
  const rows = spans
    .map((s, i) => {
      const y = 6 + i * rowHeight;
      const width = Math.max(2, x(s.endMs) - x(s.startMs));
      return (
        `<text x="${BAR.x - 8}" y="${y + 13}" text-anchor="end">${escapeHtml(s.label)}</text>` +
        `<rect class="${s.css}" x="${x(s.startMs)}" y="${y}" width="${width}" height="16"><title>${escapeHtml(
          `${s.label}: ${clock(s.startMs)} – ${clock(s.endMs)} UTC`,
        )}</title></rect>`
      );
    })
    .join('');
  const axisY = spans.length * rowHeight + 12;
  const fired =
    firedMs !== undefined && Number.isFinite(firedMs)
      ? `<line class="fired" x1="${x(firedMs)}" x2="${x(firedMs)}" y1="0" y2="${axisY}"/>` +
        `<text class="fired-label" x="${x(firedMs)}" y="${axisY + 30}" text-anchor="${firedAnchor(x(firedMs))}">fired ${clock(firedMs)}</text>`
      : '';
  return (
    `<svg id="before-after-chart" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeHtml(
      `Time covered: ${spans.map((s) => `${s.label} ${clock(s.startMs)} to ${clock(s.endMs)} UTC`).join('; ')}`,
    )}">` +
    rows +
    `<line class="axis" x1="${BAR.x}" x2="${BAR.x + BAR.w}" y1="${axisY}" y2="${axisY}"/>` +
    `<text x="${BAR.x}" y="${axisY + 14}">${clock(t0)} UTC</text>` +
    `<text x="${BAR.x + BAR.w}" y="${axisY + 14}" text-anchor="end">${clock(t1)} UTC</text>` +
    fired +
    `</svg>`
  );
}

function comparisonTable(
  before: CaptureSummary,
  after: CaptureSummary | undefined,
  change?: SummaryChange,
): string {
  const total = (s: CaptureSummary): number => s.conversationsTotal ?? s.conversations.length;
  const cells = (pick: (s: CaptureSummary) => string): string =>
    `<td class="num">${escapeHtml(pick(before))}</td><td class="num">${after ? escapeHtml(pick(after)) : '—'}</td>`;
  return (
    `<table id="before-after-table"><thead><tr><th scope="col"></th><th scope="col" class="num">Before (kept files)</th>` +
    `<th scope="col" class="num">After (capture)</th></tr></thead><tbody>` +
    `<tr><th scope="row">Packets</th>${cells((s) => String(s.packets))}</tr>` +
    `<tr><th scope="row">Bytes</th>${cells((s) => formatBytes(s.bytes))}</tr>` +
    `<tr><th scope="row">Duration</th>${cells((s) => `${s.durationSeconds} s`)}</tr>` +
    `<tr><th scope="row">Byte rate</th><td class="num">${escapeHtml(rate(change?.bytesPerSecond.before ?? (before.durationSeconds > 0 ? before.bytes / before.durationSeconds : undefined)))}</td>` +
    `<td class="num">${after ? escapeHtml(rate(change?.bytesPerSecond.after)) : '—'}</td></tr>` +
    `<tr><th scope="row">Conversations</th>${cells((s) => String(total(s)))}</tr>` +
    `<tr><th scope="row">Signals</th>${cells((s) => (s.signals.length === 0 ? 'none' : s.signals.map((x) => x.kind).join(', ')))}</tr>` +
    `</tbody></table>`
  );
}

function changeList(change: SummaryChange): string {
  const named = change.newConversations.slice(0, MAX_NAMED);
  const more = change.newConversations.length - named.length;
  const conversations =
    named.length === 0
      ? '<p>No conversation after the alert that was not there before.</p>'
      : `<h3>Conversations only after the alert</h3><ul class="new-conversations">${named
          .map(
            (c) =>
              `<li><span class="mono">${escapeHtml(c.protocol)} ${escapeHtml(c.a)} ↔ ${escapeHtml(c.b)}</span> — ${escapeHtml(formatBytes(c.bytes))}, ${escapeHtml(c.packets)} packets</li>`,
          )
          .join('')}${more > 0 ? `<li>and ${more} more</li>` : ''}</ul>`;
  const talkers =
    change.newTalkers.length > 0
      ? `<p>New top talkers: ${change.newTalkers.map((t) => `<span class="mono">${escapeHtml(t.address)}</span>`).join(', ')}</p>`
      : '';
  const signals =
    change.newSignals.length > 0
      ? `<p>Signals only after the alert: ${change.newSignals.map((k) => `<span class="mono">${escapeHtml(k)}</span>`).join(', ')}</p>`
      : '<p>No signal appears only after the alert.</p>';
  const caveat = change.beforeTruncated
    ? '<p class="legend">"Before" lists only its largest conversations: one named here may have been there, smaller.</p>'
    : '';
  return conversations + talkers + signals + caveat;
}

/**
 * The report's "Before and after" section for a ring VM's alert: the alert window against what the kept files
 * cover (and a warning when its start had rotated away), the capture after it, the two summaries side by side and
 * what changed (`compareSummaries`): conversations, talkers and signals only after. `after` is the capture's own
 * summary; without it (the capture failed or never started) the section says why and shows the before alone.
 */
export function renderBeforeAfter(
  before: ReportBefore,
  after: CaptureSummary | undefined,
  capture: ReportCapture,
): string {
  const windowStartMs = Date.parse(before.windowStart);
  const windowEndMs = Date.parse(before.windowEnd);
  const summary = before.summary;
  const spans: Span[] = [];
  const keptStartMs = summary?.startTime ? Date.parse(summary.startTime) : Date.parse(before.keptFrom ?? '');
  const keptEndMs = summary?.endTime ? Date.parse(summary.endTime) : NaN;
  if (Number.isFinite(keptStartMs) && Number.isFinite(keptEndMs))
    spans.push({ label: 'Before (kept)', css: 'ba-before', startMs: keptStartMs, endMs: keptEndMs });
  if (Number.isFinite(windowStartMs) && Number.isFinite(windowEndMs))
    spans.push({ label: 'Alert window', css: 'ba-window', startMs: windowStartMs, endMs: windowEndMs });
  const afterStartMs = Date.parse(capture.startedAt ?? after?.startTime ?? '');
  const afterEndMs = Date.parse(capture.endedAt ?? after?.endTime ?? '');
  if (after && Number.isFinite(afterStartMs) && Number.isFinite(afterEndMs))
    spans.push({ label: 'After (capture)', css: 'ba-after', startMs: afterStartMs, endMs: afterEndMs });
  const firedMs = capture.alert ? Date.parse(capture.alert.firedAt) : undefined;

  const starts =
    before.startsBeforeWindowSeconds === undefined
      ? ''
      : before.startsBeforeWindowSeconds >= 0
        ? `, ${minutes(before.startsBeforeWindowSeconds)} before the alert window`
        : `, ${minutes(before.startsBeforeWindowSeconds)} after the start of the alert window`;
  const facts =
    `<dl class="verdict">` +
    `<dt>Alert window</dt><dd>${escapeHtml(before.windowStart)} – ${escapeHtml(before.windowEnd)}</dd>` +
    `<dt>Before</dt><dd>${escapeHtml(before.keptFileCount)} kept ring file${before.keptFileCount === 1 ? '' : 's'}` +
    `${before.keptFrom ? ` from ${escapeHtml(before.keptFrom)}${escapeHtml(starts)}` : ''}</dd>` +
    `<dt>After</dt><dd>${
      after
        ? `the capture, ${escapeHtml(capture.startedAt ?? after.startTime ?? '?')} – ${escapeHtml(capture.endedAt ?? after.endTime ?? '?')}`
        : `<span class="flag">no capture after the alert: ${escapeHtml(before.afterMissing ?? 'it did not run')}</span>`
    }</dd>` +
    `</dl>`;
  const warnings = [
    ...(before.keptFileCount > 0 && !before.coversStart
      ? ["The window's start was already rotated out of the ring: the kept files start after it."]
      : []),
    ...(before.note ? [before.note] : []),
  ]
    .map((w) => `<p class="headline">${escapeHtml(w)}</p>`)
    .join('');
  const change = summary && after ? compareSummaries(summary, after) : undefined;
  const files =
    before.keptFiles.length > 0
      ? `<details><summary>Kept files (container capture-kept)</summary><ul class="provenance">${before.keptFiles
          .map((f) => `<li><code>${escapeHtml(f)}</code></li>`)
          .join(
            '',
          )}${before.keptFileCount > before.keptFiles.length ? `<li>and ${before.keptFileCount - before.keptFiles.length} more</li>` : ''}</ul></details>`
      : '';
  return (
    warnings +
    facts +
    (spans.length > 0 ? renderSpans(spans, firedMs) : '') +
    (summary ? comparisonTable(summary, after, change) : '<p>The kept files could not be summarized.</p>') +
    (change ? changeList(change) : '') +
    files
  );
}
