import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { reportCaptureOf } from '../../report/CaptureReports.js';
import { makeReport } from '../../report/makeReport.js';
import { captureFileOf } from '../captureFileOf.js';
import { CliError, EXIT } from '../exitCodes.js';
import { write } from '../output.js';
import { parseVerbArgs, requirePositional } from '../parseVerbArgs.js';
import { resolveCapture } from '../resolveCapture.js';
import type { VerbContext } from '../verbContext.js';
import { safeFileName } from './download.js';

/** Longest a report from storage may take: the whole file is read once, as for `summarize <name>`. */
const REPORT_TIME_LIMIT_IN_MS = 30 * 60_000;

/**
 * `report <captureName|alertId> [-o PATH]`: the capture's file streamed from storage into the same offline HTML
 * page the poller stores, with the record's alert, target and capture settings (default path `<capture>.html`).
 * Exit 1 when the file is partial (the report of what was read is still written).
 */
export async function runReportCapture(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'report',
    args,
    { subscription: { type: 'string', multiple: true }, output: { type: 'string', short: 'o' } },
    1,
  );
  const key = requirePositional('report', positionals, 'capture name or alert id');
  const app = await ctx.ready();
  const capture = await resolveCapture(app, key, (values.subscription as string[] | undefined) ?? []);
  const blob = await captureFileOf(ctx, capture, 'report');
  const download = await blob.download(0, undefined, {
    abortSignal: AbortSignal.timeout(REPORT_TIME_LIMIT_IN_MS + 5000),
  });
  if (!download.readableStreamBody) return EXIT.failed;
  const fileName = blob.name.split('/').pop() ?? blob.name;
  const { html, summary } = await makeReport(
    download.readableStreamBody,
    {
      ...(capture.record ? reportCaptureOf(capture.record, fileName) : { fileName }),
      ...(download.contentLength !== undefined ? { fileBytes: download.contentLength } : {}),
    },
    { timeLimitInMs: REPORT_TIME_LIMIT_IN_MS },
  );
  const target = path.resolve(
    ctx.cwd,
    (values.output as string | undefined) ?? `${safeFileName(capture.name)}.html`,
  );
  try {
    await writeFile(target, html);
  } catch (e) {
    throw new CliError(EXIT.failed, `report: cannot write ${target}: ${(e as Error).message}`);
  }
  await write(
    ctx.io.stderr,
    `alert-capture: report written to ${target} (${Buffer.byteLength(html)} bytes)\n`,
  );
  if (summary.partial) {
    await write(ctx.io.stderr, `alert-capture: ${capture.name}: ${summary.partialReason ?? 'partial'}\n`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
