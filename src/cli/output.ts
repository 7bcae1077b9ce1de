/** How the operator verbs print: aligned tables for people, JSON for scripts. */

/** Writes text and resolves once the stream took it (respecting back-pressure). */
export function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (stream.write(text)) resolve();
    else stream.once('drain', () => resolve());
  });
}

/** One column of a table: its heading and how a row shows in it. */
export interface Column<T> {
  heading: string;
  value: (row: T) => string;
}

/**
 * An aligned table: a heading line, then one line per row, columns two spaces apart, the last column unpadded.
 * Cell text is kept on one line (control characters become spaces) so a crafted value cannot forge rows.
 */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = [
    columns.map((c) => c.heading),
    ...rows.map((row) => columns.map((c) => oneLine(c.value(row)))),
  ];
  const widths = columns.map((_, i) => Math.max(...cells.map((line) => line[i]!.length)));
  return cells
    .map((line) =>
      line
        .map((cell, i) => (i === line.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** `key: value` lines, keys aligned, for `show` and `doctor`. */
export function formatFields(fields: ReadonlyArray<readonly [string, string | undefined]>): string {
  const shown = fields.filter(([, v]) => v !== undefined && v !== '') as Array<readonly [string, string]>;
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)} ${oneLine(v)}\n`).join('');
}

/** Pretty JSON with a final newline: the `--json` output of every verb. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/g;

function oneLine(text: string): string {
  return text.replace(CONTROL, ' ');
}

/** A duration in seconds as people read it: `45s`, `5m`, `1h30m`. */
export function formatDuration(seconds: number | undefined): string {
  if (seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60}m` : `${Math.floor(s / 60)}m${s % 60}s`;
  const m = Math.floor((s % 3600) / 60);
  return `${Math.floor(s / 3600)}h${m ? `${m}m` : ''}`;
}

/** An ISO time shortened for a table: `2026-12-01 23:05:33Z`. */
export function formatTime(iso: string | undefined): string {
  if (!iso) return '';
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? iso : `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')}Z`;
}
