import { deadlineSignal } from '../deadline.js';
import { errorMessage } from '../errors.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { LedgerUnavailableError } from '../ledger/LedgerUnavailableError.js';
import { captureIdempotencyKey, type CaptureNotification } from '../notify/captureNotification.js';
import { compareSummaries } from '../pcap/compareSummaries.js';
import {
  deliverNotification,
  nextNotifyDelaySeconds,
  type NotifyTargetKind,
} from '../notify/deliverNotification.js';
import { isKeeping } from './keepPreAlert.js';
import { parseSummary, preAlertEvidenceOf } from './preAlertEvidence.js';
import type { RecordWork } from './pollTypes.js';

/** How often a record whose file is not in storage yet is looked at again. */
const FILE_RECHECK_SECONDS = 15;

/** The time kept for the message itself at the end of a record's deadline: deliverNotification's own timeout. */
const MESSAGE_RESERVE_IN_MS = 10_000;

/** Below this much time the links and the report are not tried at all: the message goes without them. */
const MIN_EXTRAS_BUDGET_IN_MS = 500;

/** True when storage said the blob is not there (yet). */
function isBlobMissing(e: unknown): boolean {
  if (typeof e !== 'object' || e === null) return false;
  const status = 'statusCode' in e ? e.statusCode : undefined;
  const code = 'code' in e ? e.code : undefined;
  return status === 404 || code === 'BlobNotFound';
}

/**
 * Notifies once: the record is claimed with an ETag-conditional write (attempt count and next attempt time)
 * before anything is sent, so two ticks never both send; targets that accepted are remembered and not sent
 * again. A finished capture's file is summarized first; the agent uploads it after the stop, so a file not in
 * storage yet is waited for (`CAPTURE_FILE_WAIT_SECONDS` after the end) before the message goes without a
 * summary, saying why. An alert on a ring VM is notified once its keep step ended (`keepPreAlert`), with the kept
 * files' summary (made once, stored on the record) beside the capture's: before and after.
 */
export async function notifyRecord(record: CaptureRecord, work: RecordWork): Promise<void> {
  const { deps, report, now } = work;
  const { config, ledger } = deps;
  // The kept files are the "before" of the message: it goes once they are all kept (or the keep wait is over).
  if (isKeeping(record)) return;
  const recordLimitInMs = config.pollRecordTimeLimitSeconds * 1000;
  const deadlineInMs = work.deadlineInMs ?? performance.now() + recordLimitInMs;
  const attempts = record.notifyAttempts + 1;
  const claimed = await ledger.move(record, 'note', {
    notifyAttempts: attempts,
    nextAttemptAt: new Date(now + nextNotifyDelaySeconds(attempts) * 1000).toISOString(),
  });
  if (!claimed) return;

  let current = claimed;
  const files = deps.files;
  if (current.state === 'finished' && current.summaryJson === undefined && files) {
    let summarized: Awaited<ReturnType<typeof files.summarize>>;
    let missingReason: string | undefined;
    try {
      summarized = await files.summarize(current, { abortSignal: work.abortSignal });
    } catch (e) {
      if (isBlobMissing(e)) {
        const waitedSeconds = (now - Date.parse(current.endedAt ?? current.updatedAt)) / 1000;
        if (waitedSeconds < config.captureFileWaitSeconds) {
          // Not an attempt: give the claim back and look again shortly.
          await ledger.move(current, 'note', {
            notifyAttempts: record.notifyAttempts,
            lastError: `waiting for the capture file to be uploaded (${Math.floor(waitedSeconds)} s so far)`,
            nextAttemptAt: new Date(now + FILE_RECHECK_SECONDS * 1000).toISOString(),
          });
          return;
        }
        missingReason = `no summary: the capture file was not in storage ${config.captureFileWaitSeconds} s after the capture ended`;
      } else if (work.abortSignal.aborted) {
        // Cut by the record's deadline, not a fault of the file: say nothing about it in the record (a later
        // attempt summarizes again); the message cannot go this time either, so the attempt fails as such.
        deps.logger.warn(`summary of ${current.captureName ?? ''} cut by the record's deadline`);
      } else {
        deps.logger.warn(`summary of ${current.captureName ?? ''} failed: ${errorMessage(e)}`);
        missingReason = `no summary: the capture file could not be read (${errorMessage(e).split('\n')[0]})`;
      }
    }
    const changes = summarized
      ? {
          summaryJson: JSON.stringify(summarized.summary),
          ...(summarized.storagePath ? { storagePath: summarized.storagePath } : {}),
        }
      : missingReason
        ? { reason: missingReason }
        : undefined;
    if (changes) current = (await ledger.move(current, 'note', changes)) ?? current;
  }
  current = await summarizeBefore(current, work);

  // The links and the report are extras: they get what the record's deadline leaves after the message's own
  // share, and when that is too little (or they fail) the message goes without them, saying nothing about them.
  const extrasBudgetInMs = Math.floor(
    deadlineInMs - Math.min(MESSAGE_RESERVE_IN_MS, recordLimitInMs / 2) - performance.now(),
  );
  const reportable = current.state === 'finished' || hasBefore(current);
  const extras =
    reportable && extrasBudgetInMs >= MIN_EXTRAS_BUDGET_IN_MS && !work.abortSignal.aborted
      ? deadlineSignal(extrasBudgetInMs, work.abortSignal)
      : undefined;
  if (reportable && !extras && (files || deps.reports)) {
    deps.logger.warn(
      `no download link or report for ${current.captureName ?? ''}: the record's deadline is too near`,
    );
  }
  // A fresh link on every attempt (it is short-lived and never stored or logged).
  const link =
    config.notify.includeSasLink && extras && files && current.state === 'finished'
      ? await files.link(current, { abortSignal: extras }).catch((e: unknown) => {
          deps.logger.warn(`no download link for ${current.captureName ?? ''}: ${errorMessage(e)}`);
          return undefined;
        })
      : undefined;
  const reportLinks = extras ? await linkReport(current, work, extras) : {};
  const done = new Set((current.notifiedTargets ?? '').split(',').filter(Boolean) as NotifyTargetKind[]);
  const result = await deliverNotification(toNotification(current, { link, ...reportLinks }), config.notify, {
    skip: done,
    logger: deps.logger,
    abortSignal: work.abortSignal,
  });
  for (const r of result.results) if (r.ok) done.add(r.target);
  const notifiedTargets = [...done].join(',');

  if (result.ok) {
    const notified = await ledger.move(current, 'markNotified', {
      notifiedAt: new Date(now).toISOString(),
      notifiedTargets,
      nextAttemptAt: undefined,
    });
    if (notified) report.notified++;
    return;
  }
  const errors = result.results
    .filter((r) => !r.ok)
    // `error` already names the target ("webhook: HTTP 500").
    .map((r) => r.error ?? `${r.target}: ${r.status ?? 'failed'}`);
  if (attempts >= config.notify.maxAttempts) {
    deps.logger.error(
      `notification for alert ${current.alertId} given up after ${attempts} attempts: ${errors.join('; ')}`,
    );
    await ledger.move(current, 'giveUpNotifying', {
      notifiedTargets,
      lastError: `notification failed after ${attempts} attempts: ${errors.join('; ')}`,
      nextAttemptAt: undefined,
    });
    return;
  }
  await ledger.move(current, 'note', {
    notifiedTargets,
    lastError: `notification failed: ${errors.join('; ')}`,
  });
}

/**
 * The finished capture's report, made and stored on the first attempt and found on later ones (one cheap check),
 * with a fresh short-lived link when `NOTIFY_INCLUDE_SAS_LINK` is on. A report that cannot be made, or not before
 * `abortSignal` (the share of the record's deadline left to the extras), never holds the message up: the message
 * goes without it, and a later attempt, if there is one, links it once it is there.
 */
async function linkReport(
  record: CaptureRecord,
  { deps }: RecordWork,
  abortSignal: AbortSignal,
): Promise<{ reportUrl?: string; reportLink?: string }> {
  const reports = deps.reports;
  if ((record.state !== 'finished' && !hasBefore(record)) || !reports) return {};
  const warn = (what: string) => (e: unknown) => {
    deps.logger.warn(`${what} for ${record.captureName ?? ''}: ${errorMessage(e)}`);
    return undefined;
  };
  const reportUrl = await reports.ensure(record, { abortSignal }).catch(warn('no report'));
  if (reportUrl === undefined) return {};
  const reportLink = deps.config.notify.includeSasLink
    ? await reports.link(record, { abortSignal }).catch(warn('no report link'))
    : undefined;
  return { reportUrl, ...(reportLink !== undefined ? { reportLink } : {}) };
}

/** True when the record kept ring files: its "before" (a report is made of them even without an "after"). */
function hasBefore(record: CaptureRecord): boolean {
  return (record.keptFiles?.length ?? 0) > 0;
}

/**
 * The kept files' summary, made once (on the first attempt after the keep step ended) and stored on the record;
 * a storage failure is logged and the message goes without it (a later attempt, if any, tries again).
 */
async function summarizeBefore(record: CaptureRecord, work: RecordWork): Promise<CaptureRecord> {
  const summarizeKept = work.deps.files?.summarizeKept?.bind(work.deps.files);
  if (!summarizeKept || !hasBefore(record) || record.beforeSummaryJson !== undefined) return record;
  try {
    const untilMs = Date.parse(record.keepWindowEnd ?? '');
    const before = await summarizeKept(record.keptFiles ?? [], {
      abortSignal: work.abortSignal,
      // The last kept file runs on past the fired time: "before" ends there.
      ...(Number.isFinite(untilMs) ? { untilMs } : {}),
    });
    if (!before) return record;
    return (
      (await work.deps.ledger.move(record, 'note', { beforeSummaryJson: JSON.stringify(before) })) ?? record
    );
  } catch (e) {
    if (e instanceof LedgerUnavailableError) throw e;
    work.deps.logger.warn(`summary of the kept files of alert ${record.alertId} failed: ${errorMessage(e)}`);
    return record;
  }
}

/** The message for a record. */
export function toNotification(
  record: CaptureRecord,
  extras: { link?: string; reportUrl?: string; reportLink?: string } = {},
): CaptureNotification {
  const failed = record.state === 'failed' || record.captureStatus === 'Error';
  const summary = parseSummary(record.summaryJson);
  const before = preAlertEvidenceOf(record);
  return {
    type: failed ? 'capture.failed' : 'capture.completed',
    idempotencyKey: captureIdempotencyKey(record.alertId, record.captureName ?? record.target),
    capture: {
      name: record.captureName,
      id: record.captureId,
      // The instance itself for a scale set: that is the machine the capture ran on.
      target:
        record.targetKind === 'vmssInstance' && record.instanceId !== undefined
          ? `${record.target}/virtualMachines/${record.instanceId}`
          : record.target,
      region: record.region,
      status: record.captureStatus,
      stopReason: record.stopReason,
      errors: record.captureErrors ?? [],
      startedAt: record.startedAt,
      endedAt: record.endedAt,
      storagePath: record.storagePath,
      ...(summary?.fileBytes !== undefined ? { sizeBytes: summary.fileBytes } : {}),
      ...(extras.link ? { link: extras.link } : {}),
      ...(extras.reportUrl ? { reportUrl: extras.reportUrl } : {}),
      ...(extras.reportLink ? { reportLink: extras.reportLink } : {}),
    },
    alert: {
      id: record.alertId,
      rule: record.ruleName,
      severity: record.severity || undefined,
      firedAt: record.firedAt,
    },
    ...(failed
      ? { reason: record.reason ?? 'the capture failed' }
      : record.reason
        ? { reason: record.reason } // a completed capture without its summary says why
        : {}),
    ...(summary ? { summary } : {}),
    ...(before ? { before } : {}),
    ...(before?.summary && summary ? { change: compareSummaries(before.summary, summary) } : {}),
  };
}
