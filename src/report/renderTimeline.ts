import { formatBytes } from '../pcap/formatSummaryText.js';
import type { CaptureTimeline } from '../pcap/TimelineBuilder.js';
import { escapeHtml } from './escapeHtml.js';

/** Where the plot sits inside the SVG's 960-wide box, for the page's script to map pointer positions to time. */
export interface TimelinePlot {
  x: number;
  w: number;
}

const WIDTH = 960;
const PLOT = { x: 104, w: 840, top: 12, height: 150 };
const ROWS = [
  { key: 'syn', label: 'SYN', css: 'm-syn' },
  { key: 'rst', label: 'RST', css: 'm-rst' },
  { key: 'retransmissions', label: 'Retransmissions', css: 'm-retx' },
] as const;
/** Protocol classes with their own colour; the rest share `p-other`. */
const COLOURED = new Set(['tcp', 'udp', 'icmp', 'icmpv6', 'arp']);
const TICK_STEPS_SECONDS = [
  1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 21600, 43200, 86400,
];

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

/** The CSS class that colours a protocol class. */
export function protocolClass(protocol: string): string {
  return COLOURED.has(protocol) ? `p-${protocol}` : 'p-other';
}

/**
 * The timeline as inline SVG: bytes per second stacked by protocol (in `order`, most bytes first), a row of marks
 * for each of SYN, RST and retransmissions, the time axis in UTC, and a dashed line at the alert's fired time
 * (clamped to an edge, and said so, when it lies outside the capture).
 */
export function renderTimeline(
  timeline: CaptureTimeline,
  order: readonly string[],
  firedAt?: number,
): { svg: string; plot: TimelinePlot } {
  const n = Math.max(1, timeline.buckets);
  const bw = PLOT.w / n;
  const protocols = [
    ...order.filter((p) => timeline.bytes[p]),
    ...Object.keys(timeline.bytes).filter((p) => !order.includes(p)),
  ];
  const totals = new Array<number>(n).fill(0);
  for (const p of protocols) timeline.bytes[p]!.forEach((v, i) => (totals[i]! += v));
  const maxRate = Math.max(1, ...totals) / timeline.bucketSeconds;
  const y = (rate: number): number => round(PLOT.top + PLOT.height - (rate / maxRate) * PLOT.height);
  const parts: string[] = [];
  const below = new Array<number>(n).fill(0);
  for (const p of protocols) {
    const series = timeline.bytes[p]!;
    let top = '';
    let bottom = '';
    for (let i = 0; i < n; i++) {
      const x0 = round(PLOT.x + i * bw);
      const x1 = round(PLOT.x + (i + 1) * bw);
      const lower = below[i]!;
      const upper = lower + (series[i] ?? 0);
      top += `${x0} ${y(upper / timeline.bucketSeconds)} ${x1} ${y(upper / timeline.bucketSeconds)} `;
      bottom =
        `${x1} ${y(lower / timeline.bucketSeconds)} ${x0} ${y(lower / timeline.bucketSeconds)} ` + bottom;
      below[i] = upper;
    }
    const total = series.reduce((a, b) => a + b, 0);
    parts.push(
      `<polygon class="${protocolClass(p)}" data-proto="${escapeHtml(p)}" points="${top}${bottom.trim()}">` +
        `<title>${escapeHtml(p)}: ${escapeHtml(formatBytes(total))}</title></polygon>`,
    );
  }
  let rowY = PLOT.top + PLOT.height + 8;
  for (const row of ROWS) {
    const series = timeline[row.key];
    const total = series.reduce((a, b) => a + b, 0);
    let marks = '';
    series.forEach((count, i) => {
      if (count > 0)
        marks += `<rect x="${round(PLOT.x + i * bw)}" y="${rowY}" width="${round(Math.max(1.5, bw))}" height="9"/>`;
    });
    parts.push(
      `<text x="${PLOT.x - 6}" y="${rowY + 8}" text-anchor="end">${row.label}</text>` +
        `<g class="${row.css}"><title>${row.label}: ${total}</title>${marks}</g>`,
    );
    rowY += 13;
  }
  const spanSeconds = n * timeline.bucketSeconds;
  const startMs = Date.parse(timeline.startTime);
  const step =
    TICK_STEPS_SECONDS.find((s) => spanSeconds / s <= 8) ?? 86400 * Math.ceil(spanSeconds / 86400 / 8);
  const axisY = rowY + 2;
  parts.push(
    `<line class="axis" x1="${PLOT.x}" x2="${PLOT.x + PLOT.w}" y1="${PLOT.top + PLOT.height}" y2="${PLOT.top + PLOT.height}" stroke="currentColor"/>`,
  );
  for (let t = 0; t <= spanSeconds; t += step) {
    const x = round(PLOT.x + (t / spanSeconds) * PLOT.w);
    const label = new Date(startMs + t * 1000).toISOString().slice(11, 19);
    const anchor = t === 0 ? 'start' : x > PLOT.x + PLOT.w - 30 ? 'end' : 'middle';
    parts.push(`<text x="${x}" y="${axisY + 10}" text-anchor="${anchor}">${label}</text>`);
  }
  parts.push(
    `<text x="${PLOT.x - 6}" y="${PLOT.top + 8}" text-anchor="end">${escapeHtml(formatBytes(maxRate))}/s</text>` +
      `<text x="${PLOT.x - 6}" y="${PLOT.top + PLOT.height}" text-anchor="end">0</text>`,
  );
  if (firedAt !== undefined) {
    const u = (firedAt - startMs) / 1000 / spanSeconds;
    const x = round(PLOT.x + Math.min(1, Math.max(0, u)) * PLOT.w);
    const where = u < 0 ? ' (before the capture)' : u > 1 ? ' (after the capture)' : '';
    const anchor = x > PLOT.x + PLOT.w * 0.8 ? 'end' : 'start';
    parts.push(
      `<line class="fired" x1="${x}" x2="${x}" y1="${PLOT.top - 4}" y2="${rowY - 2}"/>` +
        `<text class="fired-label" x="${anchor === 'end' ? x - 4 : x + 4}" y="${PLOT.top + 4}" text-anchor="${anchor}">alert fired${where}</text>`,
    );
  }
  parts.push(
    `<rect id="tl-selection" class="sel" x="${PLOT.x}" y="${PLOT.top}" width="0" height="${PLOT.height}"/>`,
  );
  const height = axisY + 16;
  const svg =
    `<svg id="timeline" viewBox="0 0 ${WIDTH} ${height}" width="${WIDTH}" height="${height}" role="img" ` +
    `aria-labelledby="timeline-title"><title id="timeline-title">Bytes per second by protocol, ` +
    `${escapeHtml(timeline.bucketSeconds)} s buckets, from ${escapeHtml(timeline.startTime)}</title>${parts.join('')}</svg>`;
  return { svg, plot: { x: PLOT.x, w: PLOT.w } };
}
