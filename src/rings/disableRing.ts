import { deadlineSignal } from '../deadline.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { emptyPollReport } from '../captures/pollTypes.js';
import { releaseCapture } from '../captures/releaseCapture.js';
import type { CaptureDeps } from '../captures/startCapture.js';
import { watcherOf } from '../captures/watcherOf.js';

/** Options for {@link disableRing}. */
export interface DisableRingOptions {
  /** The caller's deadline (default: 30 s for the whole removal). */
  abortSignal?: AbortSignal;
}

/** The outcome of {@link disableRing}. */
export interface DisableRingResult {
  /** The VM had a ring head, and it is gone now. */
  removed: boolean;
  /** Our ring captures whose delete was accepted (their files stay in storage). */
  deleted: string[];
  /**
   * Our ring captures whose delete was refused for now (e.g. 409 while the stop runs): their records stay active
   * and the poller deletes them on a later tick.
   */
  left: string[];
}

/** Head removals lost to a concurrent writer (a tick arming a generation) before giving up. */
const MAX_HEAD_ATTEMPTS = 3;
const DEFAULT_TIME_LIMIT_IN_MS = 30_000;

/**
 * Removes a VM's ring: every generation its head names is ended (a running one stopped, one not started failed)
 * and its capture resource deleted (its files stay in storage until the capture account's lifecycle rule deletes
 * them), then the head is removed. Only our ring captures are touched, each by its own name: a person's capture
 * or an alert's capture on the same VM stays. For the poller (a VM no longer wanted) and for
 * `alert-capture ring disable`; a VM still wanted gets a new ring on the next tick.
 */
export async function disableRing(
  vmId: string,
  deps: CaptureDeps,
  options: DisableRingOptions = {},
): Promise<DisableRingResult> {
  const abortSignal = options.abortSignal ?? deadlineSignal(DEFAULT_TIME_LIMIT_IN_MS);
  const result: DisableRingResult = { removed: false, deleted: [], left: [] };
  for (let attempt = 0; attempt < MAX_HEAD_ATTEMPTS; attempt++) {
    const head = await deps.ledger.rings.get(vmId);
    if (!head) return result;
    // Every generation it remembers, and any still being replaced that fell off that list.
    for (const alertId of new Set([...head.alertIds, ...head.replacing])) {
      const record = await deps.ledger.get(alertId);
      if (!record || record.kind !== 'ring') continue;
      const ended = await endGeneration(record, deps, abortSignal);
      if (!ended) continue;
      const now = (deps.now ?? Date.now)();
      const released = await releaseCapture(ended, { deps, report: emptyPollReport(), abortSignal, now });
      const name = released.captureName ?? released.alertId;
      if (released.releasedAt !== undefined && ended.releasedAt === undefined) result.deleted.push(name);
      else if (released.releasedAt === undefined && released.captureId !== undefined) result.left.push(name);
    }
    if (await deps.ledger.rings.remove(head)) {
      result.removed = true;
      return result;
    }
  }
  return result;
}

/**
 * Ends one generation's record so that its capture is released: a running one is stopped (not waited for) and
 * recorded finished; one not started is failed (one being started keeps its capture id, so the release deletes
 * what its PUT makes). Returns the record as stored, or `undefined` when it needs nothing.
 */
async function endGeneration(
  record: CaptureRecord,
  deps: CaptureDeps,
  abortSignal: AbortSignal,
): Promise<CaptureRecord | undefined> {
  const now = new Date((deps.now ?? Date.now)()).toISOString();
  const reason = 'ring disabled';
  const watcher = watcherOf(record);
  const name = record.captureName;
  switch (record.state) {
    case 'pending':
      return deps.ledger.move(record, 'markFailed', { reason, nextAttemptAt: undefined });
    case 'starting':
      return deps.ledger.move(record, 'markFailed', {
        reason,
        nextAttemptAt: undefined,
        ...(watcher && name && !record.captureId
          ? { captureId: `${watcher.id}/packetCaptures/${name}` }
          : {}),
      });
    case 'running':
      if (watcher && name)
        await deps.gateway.stopCapture(watcher, name, { abortSignal }).catch(() => undefined);
      return deps.ledger.move(record, 'markFinished', {
        reason,
        endedAt: now,
        createOperationUrl: undefined,
        statusOperationUrl: undefined,
        nextAttemptAt: undefined,
      });
    default:
      return record.releasedAt === undefined && record.captureId !== undefined ? record : undefined;
  }
}
