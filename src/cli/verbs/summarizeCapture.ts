import { existsSync } from 'node:fs';
import { formatSummaryText } from '../../pcap/formatSummaryText.js';
import { summarizeStream } from '../../pcap/summarizeStream.js';
import { captureFileOf } from '../captureFileOf.js';
import { EXIT } from '../exitCodes.js';
import { formatJson, write } from '../output.js';
import { parseVerbArgs, requirePositional } from '../parseVerbArgs.js';
import { resolveCapture } from '../resolveCapture.js';
import type { VerbContext } from '../verbContext.js';

/** Longest a summary from storage may take: an attack-sized capture is normal, a stalled download is not. */
const SUMMARY_TIME_LIMIT_IN_MS = 30 * 60_000;

/**
 * Whether `summarize`'s argument names a capture (an alert id, `manual:…`, or one of our capture names) rather than
 * a local file: it is not `-`, no such file exists here, and it has the shape of one.
 */
export function namesCapture(arg: string | undefined): boolean {
  if (arg === undefined || arg === '-' || existsSync(arg)) return false;
  return (
    /^\/subscriptions\//i.test(arg) ||
    /^manual:/.test(arg) ||
    /^[a-z][a-z0-9-]*-[0-9a-f]{6}(-[0-9a-f]{8})?$/i.test(arg)
  );
}

/**
 * `summarize <captureName|alertId> [--json]`: the capture's file summarized straight from storage as a stream
 * (memory bounded whatever its size), printed as `summarize <file>` prints it. Exit 1 when the file is partial.
 */
export async function runSummarizeCapture(args: readonly string[], ctx: VerbContext): Promise<number> {
  const { values, positionals } = parseVerbArgs(
    'summarize',
    args,
    { subscription: { type: 'string', multiple: true }, json: { type: 'boolean' } },
    1,
  );
  const key = requirePositional('summarize', positionals, 'capture name or alert id');
  const app = await ctx.ready();
  const capture = await resolveCapture(app, key, (values.subscription as string[] | undefined) ?? []);
  const blob = await captureFileOf(ctx, capture, 'summarize');
  // A person waits for the whole file (the poller's SUMMARY_TIME_LIMIT_SECONDS is for a tick), within bounds.
  const timeLimitInMs = SUMMARY_TIME_LIMIT_IN_MS;
  const download = await blob.download(0, undefined, {
    abortSignal: AbortSignal.timeout(timeLimitInMs + 5000),
  });
  if (!download.readableStreamBody) return EXIT.failed;
  const summary = await summarizeStream(download.readableStreamBody, { timeLimitInMs });
  await write(ctx.io.stdout, values.json ? formatJson(summary) : formatSummaryText(summary));
  if (summary.partial) {
    await write(ctx.io.stderr, `alert-capture: ${capture.name}: ${summary.partialReason ?? 'partial'}\n`);
    return EXIT.failed;
  }
  return EXIT.ok;
}
