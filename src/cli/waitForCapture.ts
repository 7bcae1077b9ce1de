import { describeArmError, isRetryable } from '../azure/armErrors.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { watcherOf } from '../captures/watcherOf.js';
import { stripQuery } from '../logger.js';
import { EXIT, type ExitCode } from './exitCodes.js';
import { readLiveStatus, type ResolvedCapture } from './resolveCapture.js';
import type { VerbContext } from './verbContext.js';

/** How a wait ended: the stable `--json` shape of `wait` (and of `start --wait`, `stop --wait`). */
export interface WaitResult {
  /** `stopped` (ended normally), `error` (ended in Error or never started), `timedOut`, `gone` (deleted). */
  outcome: 'stopped' | 'error' | 'timedOut' | 'gone';
  name: string;
  status?: string;
  stopReason?: string;
  errors?: string[];
  /** The file's blob URL once it is in storage. */
  file?: string;
  /** Plain words for `error` and `gone`. */
  reason?: string;
}

/** The exit code of a wait's outcome. */
export function exitCodeOf(result: WaitResult): ExitCode {
  switch (result.outcome) {
    case 'stopped':
      return EXIT.ok;
    case 'error':
      return EXIT.captureError;
    case 'timedOut':
      return EXIT.timedOut;
    case 'gone':
      return EXIT.failed;
  }
}

/** Options for {@link waitForCapture}. */
export interface WaitForCaptureOptions {
  /** Give up after this many seconds (default: no limit). */
  timeoutSeconds?: number;
  /** After the stop, also wait for the file to reach storage (bounded by CAPTURE_FILE_WAIT_SECONDS). */
  waitForFile?: boolean;
}

/**
 * Waits until a capture ended, reading only (the poller drives our records; this never writes): each round
 * re-reads our record (the poller may have recorded the end and deleted the resource already) and asks ARM for
 * the capture's status (one queryStatus, its operation read once); between rounds it sleeps the poll interval.
 */
export async function waitForCapture(
  ctx: VerbContext,
  capture: ResolvedCapture,
  options: WaitForCaptureOptions = {},
): Promise<WaitResult> {
  const app = ctx.app();
  const deadline =
    options.timeoutSeconds === undefined ? Infinity : ctx.now() + options.timeoutSeconds * 1000;
  let record = capture.record;
  let watcher = capture.watcher;
  const name = capture.name;
  let stopped: WaitResult | undefined;
  for (;;) {
    if (record) {
      record = (await app.ledger.get(record.alertId)) ?? record;
      watcher ??= watcherOf(record);
      const ended = endOfRecord(record);
      if (ended) {
        stopped = ended;
        if (ended.outcome !== 'stopped') return ended;
        break;
      }
    }
    if (watcher && (!record || record.state === 'running')) {
      try {
        const live = await readLiveStatus(app.gateway, watcher, name, {
          abortSignal: AbortSignal.timeout(30_000),
        });
        if (live === 'missing' && !record) {
          return { outcome: 'gone', name, reason: `capture ${name} no longer exists` };
        }
        if (live !== undefined && live !== 'missing') {
          if (live.packetCaptureStatus === 'Error') {
            return {
              outcome: 'error',
              name,
              status: 'Error',
              errors: live.packetCaptureError,
              reason: `capture ${name} ended in Error`,
            };
          }
          if (live.packetCaptureStatus === 'Stopped') {
            stopped = { outcome: 'stopped', name, status: 'Stopped', stopReason: live.stopReason };
            break;
          }
        }
      } catch (e) {
        // A throttled or failing status read is not the capture's end: read again next round.
        if (!isRetryable(e)) throw e;
        ctx.io.stderr.write(`alert-capture: status not read (${describeArmError(e)}); trying again\n`);
      }
    }
    if (ctx.now() + ctx.pollIntervalInMs > deadline)
      return { outcome: 'timedOut', name, reason: timedOut(name) };
    await ctx.sleep(ctx.pollIntervalInMs);
  }
  if (!options.waitForFile) return stopped;
  // The file reaches storage some time after the stop (Network Watcher uploads it when the session completed).
  const fileDeadline = Math.min(deadline, ctx.now() + app.config.captureFileWaitSeconds * 1000);
  const storagePath =
    record?.storagePath ??
    (watcher
      ? (await app.gateway.getCapture(watcher, name, { abortSignal: AbortSignal.timeout(30_000) }))
          ?.storagePath
      : undefined);
  if (!storagePath) return stopped;
  for (;;) {
    const latest = record ? ((await app.ledger.get(record.alertId)) ?? record) : undefined;
    const blob = await ctx.files().findFile(latest?.storagePath ?? storagePath, latest, {
      abortSignal: AbortSignal.timeout(30_000),
    });
    if (blob) return { ...stopped, file: stripQuery(blob.url) };
    if (ctx.now() + ctx.pollIntervalInMs > fileDeadline) {
      return deadline <= fileDeadline
        ? {
            outcome: 'timedOut',
            name,
            reason: `capture ${name} stopped; its file was not in storage in time`,
          }
        : {
            ...stopped,
            reason: `the file did not reach storage within ${app.config.captureFileWaitSeconds} s`,
          };
    }
    await ctx.sleep(ctx.pollIntervalInMs);
  }
}

function timedOut(name: string): string {
  return `capture ${name} had not ended when --timeout ran out (it goes on)`;
}

/** How our record says its capture ended, or `undefined` while it has not. */
function endOfRecord(record: CaptureRecord): WaitResult | undefined {
  const name = record.captureName ?? '';
  const base = {
    name,
    status: record.captureStatus,
    stopReason: record.stopReason,
    errors: record.captureErrors,
    file: record.storagePath,
  };
  switch (record.state) {
    case 'finished':
    case 'notified':
      return { outcome: 'stopped', ...base };
    case 'notifyFailed':
      return record.endedAt && record.captureStatus !== 'Error'
        ? { outcome: 'stopped', ...base }
        : { outcome: 'error', ...base, reason: record.reason };
    case 'failed':
    case 'ignored':
      return { outcome: 'error', ...base, reason: record.reason ?? `the record is ${record.state}` };
    default:
      return undefined;
  }
}
