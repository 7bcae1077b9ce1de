import { deadlineSignal } from '../deadline.js';
import { awaitsNotification } from '../ledger/lifecycle.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { followCapture } from './followCapture.js';
import { keepPreAlert } from './keepPreAlert.js';
import { notifyRecord } from './notifyRecord.js';
import type { RecordWork } from './pollTypes.js';
import { releaseCapture } from './releaseCapture.js';
import { startCapture } from './startCapture.js';

/** Longest a poller tick spends starting one capture (the webhook's own attempt is bounded by its fast path). */
export const START_TIME_LIMIT_SECONDS = 60;

/**
 * A `starting` record younger than this belongs to the webhook or another tick that is putting its capture right
 * now: taking it over would PUT a second time. Older than this, its owner died mid-start and the poller resumes
 * it (adopting the capture of its own name if the PUT landed).
 */
const STARTING_OWNED_SECONDS = 2 * START_TIME_LIMIT_SECONDS;

/**
 * Drives one active record one step, by its state: start a pending one (or fail it past `PENDING_TIMEOUT_SECONDS`),
 * follow a running one, and for one whose capture ended release its capture resource, then notify. Nothing is
 * done before the record's `nextAttemptAt`, except keeping an alert's pre-alert ring files (due at its own
 * `keepDueAt`, whatever the capture's state: the ring rotates them away while the capture waits or runs).
 */
export async function driveRecord(given: CaptureRecord, work: RecordWork): Promise<void> {
  const record = await keepPreAlert(given, work);
  const { deps, report, now } = work;
  if (record.nextAttemptAt && Date.parse(record.nextAttemptAt) > now) return;

  let ended: CaptureRecord | undefined;
  switch (record.state) {
    case 'starting':
    case 'pending': {
      // A fresh `starting` record is being started right now by its owner; a stale one is resumed.
      if (record.state === 'starting' && now - Date.parse(record.updatedAt) < STARTING_OWNED_SECONDS * 1000) {
        return;
      }
      const ageSeconds = (now - Date.parse(record.createdAt)) / 1000;
      // A `starting` record whose starter died may have a capture running: startCapture adopts it (or moves the
      // record back to `pending`), so only `pending` records time out.
      if (record.state === 'pending' && ageSeconds > deps.config.pendingTimeoutSeconds) {
        const reason = `no capture could be started within ${deps.config.pendingTimeoutSeconds} s${record.lastError ? `: ${record.lastError}` : ''}`;
        ended = await deps.ledger.move(record, 'markFailed', { reason, nextAttemptAt: undefined });
        if (ended) report.failed++;
        break;
      }
      const signal = deadlineSignal(START_TIME_LIMIT_SECONDS * 1000, work.abortSignal);
      const result = await startCapture(record, deps, { abortSignal: signal });
      if (result.outcome === 'started') report.started++;
      if (result.outcome === 'failed') {
        report.failed++;
        ended = result.record;
      }
      break;
    }
    case 'running':
      ended = await followCapture(record, work);
      if (ended) {
        if (ended.state === 'failed') report.failed++;
        else report.finished++;
      }
      break;
    default:
      ended = record;
  }
  if (!ended) return;
  // Release first, independently of notifying: a finished capture never holds a budget slot.
  const released = await releaseCapture(ended, work);
  if (awaitsNotification(released)) await notifyRecord(released, work);
}
