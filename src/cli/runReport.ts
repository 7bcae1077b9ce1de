import { createReadStream } from 'node:fs';
import { stat, writeFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { errorMessage } from '../errors.js';
import { makeReport } from '../report/makeReport.js';
import type { ReportCapture } from '../report/types.js';
import { openFailure } from './openFailure.js';
import type { CliIo } from './runCli.js';

/** Usage of `alert-capture report`. */
export const REPORT_USAGE = `Usage: alert-capture report <file|-> [-o report.html] [--fired-at <ISO time>]

Writes one self-contained HTML report of a pcap or pcapng capture: verdict, signals, timeline, conversations,
endpoints (country and AS from offline data), protocols and ports, a world map. The page makes no network request.

  <file>          capture file to read; "-" reads standard input
  -o <path>       where to write the report (default: the input's name with .html; standard output for "-")
  --fired-at <t>  the alert's fired time, marked on the timeline

Exit codes: 0 ok, 1 capture partial or corrupt (the report of what was read is still written), 2 usage error,
3 no such file.
`;

const READ_CHUNK_BYTES = 1 << 20;

/** `capture.pcap` → `capture.html`, `dir/cap` → `dir/cap.html`. */
export function defaultReportPath(file: string): string {
  const ext = extname(file);
  return `${ext ? file.slice(0, -ext.length) : file}.html`;
}

function fail(io: CliIo, problem: string): number {
  io.stderr.write(`alert-capture: ${problem}\n\n${REPORT_USAGE}`);
  return 2;
}

/** Runs `alert-capture report` with the arguments after `report`; returns the exit code, never throws. */
export async function runReport(argv: readonly string[], io: CliIo): Promise<number> {
  let output: string | undefined;
  let firedAt: string | undefined;
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      io.stdout.write(REPORT_USAGE);
      return 0;
    }
    if (arg === '-o' || arg === '--output' || arg === '--fired-at') {
      const value = argv[++i];
      if (value === undefined || value === '') return fail(io, `${arg} needs a value`);
      if (arg === '--fired-at') {
        if (Number.isNaN(Date.parse(value))) return fail(io, `--fired-at expects an ISO time, got ${value}`);
        firedAt = new Date(value).toISOString();
      } else output = value;
    } else if (arg.startsWith('-') && arg !== '-') return fail(io, `unknown option ${arg}`);
    else positional.push(arg);
  }
  const [file, ...extra] = positional;
  if (file === undefined) return fail(io, 'missing capture file (use - for standard input)');
  if (extra.length > 0) return fail(io, `unexpected argument ${extra[0]}`);

  let source: NodeJS.ReadableStream;
  if (file === '-') source = io.stdin;
  else {
    try {
      const info = await stat(file);
      if (!info.isFile()) throw new Error('not a regular file');
    } catch (e) {
      const failure = openFailure(file, e);
      io.stderr.write(failure.message);
      return failure.exitCode;
    }
    source = createReadStream(file, { highWaterMark: READ_CHUNK_BYTES });
  }
  const capture: ReportCapture = {
    fileName: file === '-' ? 'standard input' : basename(file),
    // A file alone names no alert rule; the fired time, when given, is still marked.
    ...(firedAt !== undefined ? { alert: { rule: 'not known (report made from a file)', firedAt } } : {}),
  };
  const { html, summary } = await makeReport(source, capture);
  const target = output ?? (file === '-' ? undefined : defaultReportPath(file));
  if (target === undefined) {
    await new Promise<void>((resolve) =>
      io.stdout.write(html) ? resolve() : io.stdout.once('drain', resolve),
    );
  } else {
    try {
      await writeFile(target, html);
    } catch (e) {
      io.stderr.write(`alert-capture: cannot write ${target}: ${errorMessage(e)}\n`);
      return 2;
    }
    io.stderr.write(`alert-capture: report written to ${target} (${Buffer.byteLength(html)} bytes)\n`);
  }
  if (summary.partial) {
    io.stderr.write(`alert-capture: ${capture.fileName}: ${summary.partialReason ?? 'partial'}\n`);
    return 1;
  }
  return 0;
}
