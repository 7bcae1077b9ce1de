import { parseResourceId } from '../azure/armId.js';
import { isTransient, type WatcherRef } from '../azure/networkWatcherGateway.js';
import { errorMessage } from '../errors.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { stripQuery } from '../logger.js';
import { captureIdempotencyKey, type CaptureNotification } from '../notify/captureNotification.js';
import {
  deliverNotification,
  nextNotifyDelaySeconds,
  type NotifyTargetKind,
} from '../notify/deliverNotification.js';
import { describeCaptureError } from '../notify/describeCapture.js';
import type { CaptureSummary } from '../pcap/types.js';
import type { CaptureFiles } from './CaptureFiles.js';
import type { CaptureReports } from '../report/CaptureReports.js';
import { describeArmError, recordSettings, startCapture, type CaptureDeps } from './startCapture.js';

/** What the poller needs besides the orchestration's deps. */
export interface PollDeps extends CaptureDeps {
  /** The capture files in storage (summary, download link); absent, messages go without them. */
  files?: Pick<CaptureFiles, 'summarize' | 'link'>;
  /** The capture reports in storage (made once, linked from every message); absent, messages go without them. */
  reports?: Pick<CaptureReports, 'ensure' | 'link'>;
}

/** What one tick did, for logs and tests. */
export interface PollReport {
  active: number;
  started: number;
  finished: number;
  notified: number;
  failed: number;
  errors: number;
}

const IN_FLIGHT = new Set(['pending', 'starting']);

/** Longest a poller tick spends starting one capture (the webhook's own attempt is bounded by its fast path). */
const START_TIME_LIMIT_SECONDS = 60;

/**
 * A `starting` record younger than this belongs to the webhook or another tick that is putting its capture right
 * now: taking it over would PUT a second time, get 409 `PacketCaptureAlreadyExists` and fail a capture that runs.
 * Older than this, its owner died mid-start and the poller resumes it (adopting the capture if the PUT landed).
 */
const STARTING_OWNED_SECONDS = 2 * START_TIME_LIMIT_SECONDS;

/**
 * One poller tick: one ledger query, then every active record with bounded concurrency. With nothing active it
 * makes no ARM call. A record's error never stops the tick; every transition is ETag-conditional, so overlapping
 * ticks or instances never start or notify twice.
 */
export async function pollCaptures(deps: PollDeps): Promise<PollReport> {
  const records = await deps.ledger.listActive();
  const report: PollReport = {
    active: records.length,
    started: 0,
    finished: 0,
    notified: 0,
    failed: 0,
    errors: 0,
  };
  await forEachLimited(records, deps.config.pollConcurrency, async (record) => {
    try {
      await driveRecord(record, deps, report);
    } catch (e) {
      report.errors++;
      deps.logger.error(`poller: alert ${record.alertId} (${record.state}): ${errorMessage(e)}`);
    }
  });
  return report;
}

async function driveRecord(record: CaptureRecord, deps: PollDeps, report: PollReport): Promise<void> {
  const now = (deps.now ?? Date.now)();
  if (record.nextAttemptAt && Date.parse(record.nextAttemptAt) > now) return;

  if (IN_FLIGHT.has(record.state)) {
    if (record.state === 'starting' && now - Date.parse(record.updatedAt) < STARTING_OWNED_SECONDS * 1000) {
      return;
    }
    const ageSeconds = (now - Date.parse(record.createdAt)) / 1000;
    // A `starting` record whose starter died may have a capture running: startCapture adopts it (or moves the
    // record back to `pending`), so only `pending` records time out.
    if (record.state === 'pending' && ageSeconds > deps.config.pendingTimeoutSeconds) {
      const reason = `no capture could be started within ${deps.config.pendingTimeoutSeconds} s${record.lastError ? `: ${record.lastError}` : ''}`;
      const failed = await deps.ledger.transition(record, {
        state: 'failed',
        reason,
        nextAttemptAt: undefined,
      });
      if (failed) {
        report.failed++;
        await notify(failed, deps, report);
      }
      return;
    }
    const result = await startCapture(record, deps, {
      abortSignal: AbortSignal.timeout(START_TIME_LIMIT_SECONDS * 1000),
    });
    if (result.outcome === 'started') report.started++;
    if (result.outcome === 'failed') {
      report.failed++;
      await notify(result.record, deps, report);
    }
    return;
  }

  if (record.state === 'running') {
    const finished = await followRunning(record, deps, now);
    if (finished) {
      if (finished.state === 'failed') report.failed++;
      else report.finished++;
      await notify(finished, deps, report);
    }
    return;
  }

  if (record.state === 'finished' && record.notifiedAt) {
    await retryCleanUp(record, deps, now);
    return;
  }
  // `finished`, or `failed` and not yet notified.
  await notify(record, deps, report);
}

/** How long the poller keeps trying to delete a notified capture's resource before leaving it to the next start. */
const CLEANUP_GIVE_UP_SECONDS = 24 * 3600;

/** A notified capture whose resource could not be deleted: try again (claimed first), and give up after a day. */
async function retryCleanUp(record: CaptureRecord, deps: PollDeps, now: number): Promise<void> {
  const claimed = await deps.ledger.transition(record, {
    nextAttemptAt: new Date(now + 300_000).toISOString(),
  });
  if (!claimed) return;
  if (await cleanUp(claimed, deps)) {
    await deps.ledger.transition(claimed, {
      state: 'notified',
      nextAttemptAt: undefined,
      lastError: undefined,
    });
  } else if (now - Date.parse(record.notifiedAt ?? record.updatedAt) > CLEANUP_GIVE_UP_SECONDS * 1000) {
    await deps.ledger.transition(claimed, { state: 'notified', nextAttemptAt: undefined });
  }
}

/** Queries a running capture; returns the record once it ended (finished or failed), else undefined. */
async function followRunning(
  record: CaptureRecord,
  deps: PollDeps,
  now: number,
): Promise<CaptureRecord | undefined> {
  const watcher = watcherOf(record);
  const name = record.captureName;
  if (!watcher || !name) {
    return deps.ledger.transition(record, {
      state: 'failed',
      reason: 'the record lost its watcher or capture name',
    });
  }
  const since = Date.parse(record.startedAt ?? record.updatedAt);
  const overdueAfterSeconds =
    recordSettings(record, deps.config).timeLimitInSeconds + deps.config.stuckTimeoutSeconds;
  const overdue = now - since > overdueAfterSeconds * 1000;
  const giveUp = async (reason: string, captureStatus?: string) => {
    // Stop it so it cannot go on writing a file nobody is told about; the slot is freed after notifying.
    await deps.gateway.stopCapture(watcher, name).catch(() => undefined);
    return deps.ledger.transition(record, {
      state: 'failed',
      ...(captureStatus ? { captureStatus } : {}),
      reason,
      endedAt: new Date(now).toISOString(),
    });
  };
  let status;
  try {
    status = await deps.gateway.getCaptureStatus(watcher, name);
  } catch (e) {
    if (overdue)
      return giveUp(
        `the capture's status could not be read for ${overdueAfterSeconds} s: ${describeArmError(e)}`,
      );
    if (isTransient(e)) return undefined;
    throw e;
  }
  if (!status) {
    return deps.ledger.transition(record, {
      state: 'failed',
      reason: `capture ${name} disappeared before it ended (deleted outside alert-capture?)`,
      endedAt: new Date(now).toISOString(),
    });
  }
  const captureStatus = status.packetCaptureStatus ?? 'Unknown';
  if (captureStatus === 'Stopped' || captureStatus === 'Error') {
    const resource = await deps.gateway.getCapture(watcher, name).catch(() => undefined);
    const errors = status.packetCaptureError ?? [];
    return deps.ledger.transition(record, {
      state: captureStatus === 'Error' ? 'failed' : 'finished',
      captureStatus,
      stopReason: status.stopReason,
      // Network Watcher's own start time, when it says: the PUT is only when we asked.
      ...(status.captureStartTime ? { startedAt: status.captureStartTime.toISOString() } : {}),
      captureErrors: errors,
      endedAt: new Date(now).toISOString(),
      storagePath: resource?.storageLocation?.storagePath
        ? stripQuery(resource.storageLocation.storagePath)
        : undefined,
      reason:
        captureStatus === 'Error'
          ? `the capture failed: ${errors.map(describeCaptureError).join('; ') || 'Network Watcher gave no error'}`
          : undefined,
      nextAttemptAt: undefined,
    });
  }
  if (
    (captureStatus === 'NotStarted' || captureStatus === 'Unknown') &&
    now - since > deps.config.stuckTimeoutSeconds * 1000
  ) {
    return giveUp(
      `the capture stayed ${captureStatus} for more than ${deps.config.stuckTimeoutSeconds} s`,
      captureStatus,
    );
  }
  if (overdue) {
    return giveUp(
      `the capture was still ${captureStatus} ${deps.config.stuckTimeoutSeconds} s after its time limit`,
      captureStatus,
    );
  }
  if (record.captureStatus !== captureStatus) await deps.ledger.transition(record, { captureStatus });
  return undefined;
}

/**
 * Notifies once: the record is claimed with an ETag-conditional write (attempt count and next attempt time) before
 * anything is sent, so two ticks never both send; targets that accepted are remembered and not sent again.
 */
async function notify(record: CaptureRecord, deps: PollDeps, report: PollReport): Promise<void> {
  const { config, ledger } = deps;
  const now = (deps.now ?? Date.now)();
  const attempts = record.notifyAttempts + 1;
  const claimed = await ledger.transition(record, {
    notifyAttempts: attempts,
    nextAttemptAt: new Date(now + nextNotifyDelaySeconds(attempts) * 1000).toISOString(),
  });
  if (!claimed) return;

  let current = claimed;
  const files = deps.files;
  if (current.state === 'finished' && current.summaryJson === undefined && files) {
    const summarized = await files.summarize(current).catch((e: unknown) => {
      deps.logger.warn(`summary of ${current.captureName ?? ''} failed: ${errorMessage(e)}`);
      return undefined;
    });
    if (summarized) {
      current =
        (await ledger.transition(current, { summaryJson: JSON.stringify(summarized.summary) })) ?? current;
    }
  }

  // A fresh link on every attempt (it is short-lived and never stored or logged).
  const link =
    config.notify.includeSasLink && current.state === 'finished' && files
      ? await files.link(current).catch((e: unknown) => {
          deps.logger.warn(`no download link for ${current.captureName ?? ''}: ${errorMessage(e)}`);
          return undefined;
        })
      : undefined;
  const reportLinks = await linkReport(current, deps);
  const done = new Set((current.notifiedTargets ?? '').split(',').filter(Boolean) as NotifyTargetKind[]);
  const result = await deliverNotification(toNotification(current, { link, ...reportLinks }), config.notify, {
    skip: done,
    logger: deps.logger,
  });
  for (const r of result.results) if (r.ok) done.add(r.target);
  const notifiedTargets = [...done].join(',');

  if (result.ok) {
    // A finished record stays `finished` (and active) until its capture resource is deleted, so a failed delete
    // is retried instead of holding a budget slot for good; a failed one is done once notified.
    const notified = await ledger.transition(current, {
      notifiedAt: new Date(now).toISOString(),
      notifiedTargets,
      nextAttemptAt: undefined,
    });
    if (notified) {
      report.notified++;
      const cleaned = await cleanUp(notified, deps);
      if (notified.state === 'finished') {
        await ledger.transition(
          notified,
          cleaned
            ? { state: 'notified' }
            : {
                nextAttemptAt: new Date(now + 300_000).toISOString(),
                lastError: 'capture resource not deleted yet',
              },
        );
      }
    }
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
    const given = await ledger.transition(current, {
      state: 'notifyFailed',
      notifiedTargets,
      lastError: `notification failed after ${attempts} attempts: ${errors.join('; ')}`,
      nextAttemptAt: undefined,
    });
    if (given) await cleanUp(given, deps);
    return;
  }
  await ledger.transition(current, {
    notifiedTargets,
    lastError: `notification failed: ${errors.join('; ')}`,
  });
}

/**
 * Deletes our capture resource (the file stays) and frees its budget slot, unless a newer record took the target.
 * Returns false when the resource could not be deleted (the caller retries).
 */
async function cleanUp(record: CaptureRecord, deps: PollDeps): Promise<boolean> {
  const watcher = watcherOf(record);
  const name = record.captureName;
  if (!watcher || !name || !record.captureId) return true;
  const holder = await deps.ledger.getTargetLeaseHolder(name);
  if (holder && holder.alertId !== record.alertId) return true; // A newer alert's capture carries this name now.
  try {
    await deps.gateway.deleteCapture(watcher, name);
    await deps.ledger.releaseSlot(record.subscriptionId, record.region ?? '', name);
    return true;
  } catch (e) {
    deps.logger.warn(`could not delete capture ${name}: ${describeArmError(e)}`);
    return false;
  }
}

/**
 * The finished capture's report, made and stored on the first attempt and found on later ones, with a fresh
 * short-lived link when `NOTIFY_INCLUDE_SAS_LINK` is on. A report that cannot be made never holds the message up.
 */
async function linkReport(
  record: CaptureRecord,
  deps: PollDeps,
): Promise<{ reportUrl?: string; reportLink?: string }> {
  const reports = deps.reports;
  if (record.state !== 'finished' || !reports) return {};
  const warn = (what: string) => (e: unknown) => {
    deps.logger.warn(`${what} for ${record.captureName ?? ''}: ${errorMessage(e)}`);
    return undefined;
  };
  const reportUrl = await reports.ensure(record).catch(warn('no report'));
  if (reportUrl === undefined) return {};
  const reportLink = deps.config.notify.includeSasLink
    ? await reports.link(record).catch(warn('no report link'))
    : undefined;
  return { reportUrl, ...(reportLink !== undefined ? { reportLink } : {}) };
}

/** The message for a record. */
export function toNotification(
  record: CaptureRecord,
  extras: { link?: string; reportUrl?: string; reportLink?: string } = {},
): CaptureNotification {
  const failed = record.state === 'failed' || record.captureStatus === 'Error';
  let summary: CaptureSummary | undefined;
  if (record.summaryJson) {
    try {
      const parsed = JSON.parse(record.summaryJson) as CaptureSummary & { truncated?: boolean };
      if (!parsed.truncated) summary = parsed;
    } catch {
      summary = undefined;
    }
  }
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
    ...(failed ? { reason: record.reason ?? 'the capture failed' } : {}),
    ...(summary ? { summary } : {}),
  };
}

function watcherOf(record: CaptureRecord): WatcherRef | undefined {
  const id = record.watcherId ? parseResourceId(record.watcherId) : undefined;
  if (!id?.resourceGroup || !record.watcherId) return undefined;
  return {
    id: record.watcherId,
    subscriptionId: id.subscriptionId,
    resourceGroup: id.resourceGroup,
    name: id.name,
    location: record.region ?? '',
  };
}

async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  });
  await Promise.all(workers);
}
