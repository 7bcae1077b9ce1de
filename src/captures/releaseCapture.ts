import { describeArmError, isRetryable } from '../azure/armErrors.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { awaitsRelease } from '../ledger/lifecycle.js';
import { watcherOf } from './watcherOf.js';
import type { RecordWork } from './pollTypes.js';

/** Wait before trying a refused delete again. */
const RELEASE_RETRY_SECONDS = 300;
/** A delete refused for good (not a 409 or throttling) is given up after this long. */
const RELEASE_GIVE_UP_SECONDS = 86_400;

/**
 * Releases a finished or failed record's capture: asks ARM to delete the capture resource (the file in storage
 * stays; the delete is not waited for) and frees its budget slot (first, so a refused delete never holds it), as soon as its end is recorded, before and
 * whatever happens to the notification. Only the record's own capture is touched: names are per attempt, so this
 * DELETE can never land on a newer record's capture of the same VM. A refusal (409 another operation in
 * progress, throttling) leaves the release for the next tick. Returns the record as stored afterwards.
 */
export async function releaseCapture(record: CaptureRecord, work: RecordWork): Promise<CaptureRecord> {
  const { deps } = work;
  if (!awaitsRelease(record)) return record;
  // Claimed first (ETag): of two overlapping ticks only one sends the DELETE.
  const claimed = await deps.ledger.move(record, 'note', {
    nextAttemptAt: new Date(work.now + RELEASE_RETRY_SECONDS * 1000).toISOString(),
  });
  if (!claimed) return record;
  record = claimed;
  const watcher = watcherOf(record);
  const name = record.captureName;
  if (watcher && name) {
    // The capture ended: it no longer counts against the budget, whether or not its resource is gone yet.
    await deps.ledger.releaseSlot(record.subscriptionId, record.region ?? '', name);
    try {
      await deps.gateway.deleteCapture(watcher, name, { abortSignal: work.abortSignal });
    } catch (e) {
      const reason = describeArmError(e);
      deps.logger.warn(`could not delete capture ${name} yet: ${reason}`);
      if (
        !isRetryable(e) &&
        Date.parse(record.endedAt ?? record.updatedAt) + RELEASE_GIVE_UP_SECONDS * 1000 < work.now
      ) {
        // Refused for a day (e.g. 403): the slot is freed anyway; the resource is left to a person.
        deps.logger.error(`capture ${name} must be deleted by hand: ${reason}`);
        return (
          (await deps.ledger.move(record, 'markReleased', {
            releasedAt: new Date(work.now).toISOString(),
            lastError: `capture resource could not be deleted: ${reason}`,
          })) ?? record
        );
      }
      return (
        (await deps.ledger.move(record, 'note', {
          lastError: 'capture resource not deleted yet',
          nextAttemptAt: new Date(work.now + RELEASE_RETRY_SECONDS * 1000).toISOString(),
        })) ?? record
      );
    }
  }
  return (
    (await deps.ledger.move(record, 'markReleased', {
      releasedAt: new Date(work.now).toISOString(),
      ...(record.lastError === 'capture resource not deleted yet' ? { lastError: undefined } : {}),
    })) ?? record
  );
}
