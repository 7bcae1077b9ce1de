import type { CaptureSummary } from './types.js';

/** Options for {@link formatSummaryText}. */
export interface FormatSummaryTextOptions {
  /** Conversations listed in the table (most bytes first); default 10. */
  topConversations?: number;
}

/** Bytes in a short human unit (1024-based), e.g. `4.4 KiB`; exact below 1 KiB. */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function table(rows: string[][], rightAligned: Set<number>): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows.map((row) =>
    row
      .map((cell, i) => (rightAligned.has(i) ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}

/**
 * Plain-text rendering of a capture summary for terminals and chat notifications: totals, protocol mix, the top
 * conversations as a table, top talkers and signals. Lines end with `\n`.
 */
export function formatSummaryText(summary: CaptureSummary, options: FormatSummaryTextOptions = {}): string {
  const top = options.topConversations ?? 10;
  const lines: string[] = [];
  lines.push(
    `Capture (${summary.format}${summary.partial ? ', PARTIAL' : ''}): ${summary.packets} packets, ` +
      `${formatBytes(summary.bytes)} (${summary.bytes} bytes) in ${summary.durationSeconds} s`,
  );
  if (summary.startTime !== undefined) lines.push(`From ${summary.startTime} to ${summary.endTime ?? '?'}`);
  if (summary.partialReason !== undefined) lines.push(`Partial: ${summary.partialReason}`);

  if (summary.protocols.length > 0) {
    lines.push('', 'Protocols:');
    const rows = summary.protocols.map((p) => [
      p.protocol,
      `${p.packets} pkts`,
      formatBytes(p.bytes),
      summary.bytes > 0 ? `${((100 * p.bytes) / summary.bytes).toFixed(1)}%` : '-',
    ]);
    lines.push(...table(rows, new Set([1, 2, 3])).map((l) => `  ${l}`));
  }

  if (summary.conversations.length > 0) {
    const shown = summary.conversations.slice(0, top);
    const total = summary.conversationsTotal ?? summary.conversations.length;
    const about = summary.conversationsTotalEstimated === true ? 'about ' : '';
    lines.push('', `Top conversations (${shown.length} of ${about}${total}, by bytes):`);
    const rows = [
      ['PROTO', 'A', 'B', 'STATE', 'PACKETS', 'BYTES', 'A->B', 'B->A'],
      ...shown.map((c) => [
        c.protocol,
        c.a,
        c.b,
        c.connState ?? '-',
        `${c.estimated === true ? '>=' : ''}${c.packets}`,
        formatBytes(c.bytes),
        formatBytes(c.bytesAtoB),
        formatBytes(c.bytesBtoA),
      ]),
    ];
    lines.push(...table(rows, new Set([4, 5, 6, 7])).map((l) => `  ${l}`));
    const other = summary.otherConversations;
    if (other !== undefined && other.packets > 0) {
      lines.push(
        `  and ${about}${other.conversations} more: ${other.packets} pkts, ${formatBytes(other.bytes)}`,
      );
    }
  }

  const states = Object.entries(summary.connStates ?? {});
  if (states.length > 0) {
    lines.push('', `Connection states (Zeek conn_state): ${states.map(([s, n]) => `${s} ${n}`).join(', ')}`);
  }

  if (summary.topTalkers.length > 0) {
    lines.push('', 'Top talkers:');
    const rows = summary.topTalkers.map((t) => [t.address, `${t.packets} pkts`, formatBytes(t.bytes)]);
    lines.push(...table(rows, new Set([1, 2])).map((l) => `  ${l}`));
  }

  lines.push('', summary.signals.length > 0 ? 'Signals:' : 'Signals: none');
  for (const s of summary.signals) lines.push(`  [${s.severity}] ${s.kind}: ${s.message}`);
  return `${lines.join('\n')}\n`;
}
