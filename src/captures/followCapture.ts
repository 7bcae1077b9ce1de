import { describeArmError, isRetryable } from '../azure/armErrors.js';
import type { CaptureStatus, StatusAnswer, WatcherRef } from '../azure/captureGateway.js';
import type { CaptureChanges, CaptureRecord } from '../ledger/captureRecord.js';
import { describeCaptureError } from '../notify/describeCapture.js';
import type { RecordWork } from './pollTypes.js';
import { outsideCaptureAccount } from './CaptureFiles.js';
import { ringRearmAfterSeconds, ringSessionSeconds } from './ringCaptureParameters.js';
import { recordSettings } from './startCapture.js';
import { watcherOf } from './watcherOf.js';
import { WatcherCaptureLists } from './WatcherCaptureLists.js';

/** Shortest and longest wait between status queries once a capture is past its expected end. */
const MIN_RECHECK_SECONDS = 15;
const MAX_RECHECK_SECONDS = 300;
/** Wait before reading a create operation that was still in progress. */
const CREATE_RECHECK_SECONDS = 10;

/**
 * Follows a running capture, costing as few ARM requests as its life allows: the first tick after the PUT reads
 * the PUT's async operation (a failed create is failed with Azure's reason); then nothing until the capture's
 * expected end (start + time limit, or the stuck timeout if shorter); then one queryStatus, whose 202 answer is
 * read on a later tick rather than waited for; a capture still running is asked again with backoff. A ring (kind
 * `ring`) is followed every tick from its watcher's capture list instead (a read, see {@link ringLiveness}), and
 * asked its status only until it is seen Running, then every `RING_STATUS_CHECK_SECONDS` and at its re-arm time and
 * session end (see {@link nextRingCheckAt}). Returns the record once its capture ended (`finished` or `failed`),
 * else `undefined`.
 */
export async function followCapture(
  record: CaptureRecord,
  work: RecordWork,
): Promise<CaptureRecord | undefined> {
  const { deps, now } = work;
  const { ledger, gateway, config } = deps;
  const call = { abortSignal: work.abortSignal };
  const watcher = watcherOf(record);
  const name = record.captureName;
  if (!watcher || !name) {
    return ledger.move(record, 'markFailed', { reason: 'the record lost its watcher or capture name' });
  }
  const since = Date.parse(record.startedAt ?? record.updatedAt);
  const ring = record.kind === 'ring';
  const timeLimitSeconds = ring
    ? ringSessionSeconds(config.ring)
    : recordSettings(record, config).timeLimitInSeconds;
  const overdueAfterSeconds = timeLimitSeconds + config.stuckTimeoutSeconds;
  // Capture time in wall-clock ms (the local sandbox's emulated clock runs LOCAL_TIME_SCALE times faster).
  const ms = (seconds: number) => (seconds * 1000) / config.localTimeScale;
  const overdue = now - since > ms(overdueAfterSeconds);
  const iso = (ms: number) => new Date(ms).toISOString();

  const giveUp = async (reason: string, changes: CaptureChanges = {}) => {
    // Stopped (not waited for) so it cannot go on writing a file nobody is told about.
    await gateway.stopCapture(watcher, name, call).catch(() => undefined);
    return ledger.move(record, 'markFailed', {
      ...changes,
      reason,
      endedAt: iso(now),
      createOperationUrl: undefined,
      statusOperationUrl: undefined,
      nextAttemptAt: undefined,
    });
  };

  let createInProgress = false;
  if (record.createOperationUrl) {
    try {
      const op = await gateway.readOperation(record.createOperationUrl, call);
      if (op.status === 'Failed' || op.status === 'Canceled') {
        const azure = [op.error?.code, op.error?.message].filter(Boolean).join(': ');
        // The status may say more in Network Watcher's own terms (its PcError values).
        const status = await statusNow(record, work).catch(() => undefined);
        const errors = status?.packetCaptureError ?? [];
        const reason = errors.length
          ? `the capture failed: ${errors.map(describeCaptureError).join('; ')}`
          : `Network Watcher could not create the capture${azure ? `: ${azure}` : ` (operation ${op.status})`}`;
        return await giveUp(reason, {
          captureStatus: status?.packetCaptureStatus ?? 'Error',
          captureErrors: errors,
        });
      }
      createInProgress = op.status === 'InProgress';
      if (!createInProgress) {
        record = (await ledger.move(record, 'note', { createOperationUrl: undefined })) ?? record;
      }
    } catch (e) {
      if (!isRetryable(e)) throw e;
      createInProgress = true;
    }
  }

  const disappeared = () =>
    ledger.move(record, 'markFailed', {
      reason: `capture ${name} disappeared before it ended (deleted outside alert-capture?)`,
      endedAt: iso(now),
      statusOperationUrl: undefined,
      nextAttemptAt: undefined,
    });
  if (ring) {
    // A ring deleted by someone is replaced at once; one that stopped by itself is seen at its next check.
    const liveness = await ringLiveness(record, watcher, name, work);
    if (liveness === 'gone') return disappeared();
    if (liveness === 'listed') return undefined;
  }
  const firstCheckAt = ring ? since : since + ms(Math.min(timeLimitSeconds, config.stuckTimeoutSeconds));
  const checkAsked = record.statusCheckAt !== undefined && now >= Date.parse(record.statusCheckAt);
  if (!record.statusOperationUrl && !checkAsked && now < firstCheckAt) {
    const next = createInProgress
      ? Math.min(firstCheckAt, now + CREATE_RECHECK_SECONDS * 1000)
      : firstCheckAt;
    if (record.nextAttemptAt !== iso(next)) await ledger.move(record, 'note', { nextAttemptAt: iso(next) });
    return undefined;
  }

  let answer: StatusAnswer;
  try {
    answer = record.statusOperationUrl
      ? await gateway.readStatusOperation(record.statusOperationUrl, call)
      : await gateway.queryStatus(watcher, name, call);
    // The operation expired before it was read: ask again.
    if (answer.kind === 'missing' && record.statusOperationUrl)
      answer = await gateway.queryStatus(watcher, name, call);
    // A running ring's periodic check reads its answer once at once (a read, as countForeignRunning does): a
    // ring that stopped is then replaced in the tick that checks; if not ready, it is read on the next tick. A
    // generation not yet seen Running keeps ARM's pace, so the re-arm's overlap stays as it was.
    if (
      ring &&
      record.captureStatus === 'Running' &&
      answer.kind === 'accepted' &&
      !record.statusOperationUrl
    )
      answer = await gateway.readStatusOperation(answer.operationUrl, call);
  } catch (e) {
    if (overdue) {
      return giveUp(
        `the capture's status could not be read for ${overdueAfterSeconds} s: ${describeArmError(e)}`,
      );
    }
    if (!isRetryable(e)) throw e;
    await ledger.move(record, 'note', {
      lastError: `status not read: ${describeArmError(e)}`,
      statusOperationUrl: undefined,
      nextAttemptAt: iso(now + MIN_RECHECK_SECONDS * 1000),
    });
    return undefined;
  }
  if (answer.kind === 'missing') return disappeared();
  if (answer.kind === 'accepted') {
    await ledger.move(record, 'note', {
      statusOperationUrl: answer.operationUrl,
      // A ring stays due every tick (its Retry-After, 10 s on ARM, is shorter than a poll interval): moving its
      // due time would cost two more index writes per tick.
      nextAttemptAt: ring ? undefined : iso(now + Math.max(1, answer.retryAfterSeconds) * 1000),
    });
    return undefined;
  }
  const status = answer.status;
  const captureStatus = status.packetCaptureStatus ?? 'Unknown';
  if (captureStatus === 'Stopped' || captureStatus === 'Error') return recordEnd(record, status, work);
  if (
    (captureStatus === 'NotStarted' || captureStatus === 'Unknown') &&
    now - since > ms(config.stuckTimeoutSeconds)
  ) {
    return giveUp(`the capture stayed ${captureStatus} for more than ${config.stuckTimeoutSeconds} s`, {
      captureStatus,
    });
  }
  if (overdue) {
    return giveUp(
      `the capture was still ${captureStatus} ${config.stuckTimeoutSeconds} s after its time limit`,
      { captureStatus },
    );
  }
  if (ring) return noteRingRunning(record, captureStatus, nextRingCheckAt(since, now, work), work);
  const expectedEnd = since + ms(timeLimitSeconds);
  const waitInMs =
    now < expectedEnd
      ? expectedEnd - now
      : ms(
          Math.min(
            MAX_RECHECK_SECONDS,
            Math.max(MIN_RECHECK_SECONDS, (((now - since) / 1000) * config.localTimeScale) / 4),
          ),
        );
  await ledger.move(record, 'note', {
    captureStatus,
    statusOperationUrl: undefined,
    statusCheckAt: undefined,
    lastError: undefined,
    nextAttemptAt: iso(now + waitInMs),
  });
  return undefined;
}

/** What a running ring's watcher list says of it this tick (see {@link ringLiveness}). */
type RingLiveness = 'check' | 'listed' | 'gone';

/**
 * Whether a ring's status is to be asked now (`check`), or its liveness taken from its watcher's capture list of
 * this tick, shared by every ring of the watcher (one GET, an ARM read: a status query is a POST, an ARM write, and
 * writes are limited to 1 200 an hour against 12 000 reads, "Subscription | writes | 1200",
 * https://learn.microsoft.com/azure/azure-resource-manager/management/request-limits-and-throttling). Listed: alive
 * (`listed`), unless its provisioningState is `Failed` (`check`). Not listed: deleted by someone (`gone`), once a
 * GET of it confirms (a list answered just after a create need not show it yet). A list that cannot be had says
 * nothing: the ring waits for its next check.
 */
async function ringLiveness(
  record: CaptureRecord,
  watcher: WatcherRef,
  name: string,
  work: RecordWork,
): Promise<RingLiveness> {
  const { deps, now } = work;
  const due =
    record.statusOperationUrl !== undefined ||
    // Right after arming, until it is seen Running: the re-arm retires the old generation only then.
    record.captureStatus !== 'Running' ||
    record.statusCheckAt === undefined ||
    now >= Date.parse(record.statusCheckAt);
  if (due) return 'check';
  const call = { abortSignal: work.abortSignal };
  let provisioningState: string | undefined;
  try {
    const lists = work.captureLists ?? new WatcherCaptureLists(deps.gateway);
    const listed = (await lists.of(watcher, call)).find((c) => c.name.toLowerCase() === name.toLowerCase());
    if (listed) provisioningState = listed.provisioningState;
    else {
      const resource = await deps.gateway.getCapture(watcher, name, call);
      if (!resource) return 'gone';
      provisioningState = resource.provisioningState;
    }
  } catch (e) {
    if (!isRetryable(e)) throw e;
    deps.logger.warn(`ring ${name}: its watcher's captures could not be listed: ${describeArmError(e)}`);
    return 'listed';
  }
  return provisioningState === 'Failed' ? 'check' : 'listed';
}

/**
 * When a running ring checked at `checkedAt` (ms) is asked its status again: `RING_STATUS_CHECK_SECONDS` later, or
 * at its re-arm time or session end if one comes first (so the tick that re-arms knows it runs). A ring that
 * stopped by itself is thus noticed within the check interval. Past its session end one still running (its
 * successor waits for a budget slot) is asked every tick: its end frees the slot.
 */
function nextRingCheckAt(since: number, checkedAt: number, work: RecordWork): number {
  const { ring, localTimeScale } = work.deps.config;
  const ms = (seconds: number) => (seconds * 1000) / localTimeScale;
  const sessionEnd = since + ms(ringSessionSeconds(ring));
  if (checkedAt >= sessionEnd) return checkedAt;
  const rearmAt = since + ms(ringRearmAfterSeconds(ring));
  return Math.min(
    checkedAt + ms(ring.statusCheckSeconds),
    sessionEnd,
    ...(rearmAt > checkedAt ? [rearmAt] : []),
  );
}

/**
 * A running ring stays due every tick (its liveness is listed each tick); its record is written only when
 * something changed: after a status check, its next check time (one write per check), a status operation or
 * error to clear.
 */
async function noteRingRunning(
  record: CaptureRecord,
  captureStatus: string,
  checkAt: number,
  work: RecordWork,
): Promise<undefined> {
  const statusCheckAt = new Date(checkAt).toISOString();
  const unchanged =
    record.captureStatus === captureStatus &&
    record.statusOperationUrl === undefined &&
    record.statusCheckAt === statusCheckAt &&
    record.lastError === undefined &&
    record.nextAttemptAt === undefined;
  if (!unchanged) {
    await work.deps.ledger.move(record, 'note', {
      captureStatus,
      statusOperationUrl: undefined,
      statusCheckAt,
      lastError: undefined,
      nextAttemptAt: undefined,
    });
  }
  return undefined;
}

/** The status right now, when ARM answers it at once (used only to word a failure). */
async function statusNow(record: CaptureRecord, work: RecordWork): Promise<CaptureStatus | undefined> {
  const watcher = watcherOf(record);
  if (!watcher || !record.captureName) return undefined;
  const answer = await work.deps.gateway.queryStatus(watcher, record.captureName, {
    abortSignal: work.abortSignal,
  });
  return answer.kind === 'status' ? answer.status : undefined;
}

/** Records the end of a capture: `finished` (Stopped) or `failed` (Error), with what Network Watcher said. */
async function recordEnd(
  record: CaptureRecord,
  status: CaptureStatus,
  work: RecordWork,
): Promise<CaptureRecord | undefined> {
  const { deps, now } = work;
  const watcher = watcherOf(record);
  const errors = status.packetCaptureError ?? [];
  const failed = status.packetCaptureStatus === 'Error';
  let storagePath = record.storagePath;
  if (!storagePath && watcher && record.captureName) {
    // Only when the PUT's answer had none: one GET of the resource.
    const resource = await deps.gateway
      .getCapture(watcher, record.captureName, { abortSignal: work.abortSignal })
      .catch(() => undefined);
    storagePath = resource?.storagePath;
  }
  // A storage path anyone with packet-capture write can set: never read (nor trusted) outside our account.
  // A ring's path may be its folder (ending in `/`, as keepRing reads it): the folder must be in our account too.
  const checkedPath = record.kind === 'ring' ? storagePath?.replace(/\/+$/, '') : storagePath;
  const outside = checkedPath === undefined ? undefined : outsideCaptureAccount(deps.config, checkedPath);
  return deps.ledger.move(record, failed || outside ? 'markFailed' : 'markFinished', {
    captureStatus: status.packetCaptureStatus,
    stopReason: status.stopReason,
    // Network Watcher's own start time, when it says: the PUT is only when we asked.
    ...(status.captureStartTime ? { startedAt: status.captureStartTime } : {}),
    captureErrors: errors,
    endedAt: new Date(now).toISOString(),
    storagePath,
    reason: failed
      ? `the capture failed: ${errors.map(describeCaptureError).join('; ') || 'Network Watcher gave no error'}`
      : outside,
    statusOperationUrl: undefined,
    createOperationUrl: undefined,
    lastError: undefined,
    nextAttemptAt: undefined,
  });
}
