import { errorMessage } from '../errors.js';
import type { CaptureChanges, CaptureRecord } from '../ledger/captureRecord.js';
import { LedgerUnavailableError } from '../ledger/LedgerUnavailableError.js';
import { fastPathGraceSeconds } from '../webhook/handleAlert.js';
import type { RecordWork } from './pollTypes.js';

/** The words of a record whose VM has no ring: nothing before the alert to keep. */
export const NO_RING_NOTE = 'no ring on this VM: nothing before the alert was kept';

/** Whether the record's keep step has not ended yet: the notification waits for it. */
export function isKeeping(record: Pick<CaptureRecord, 'keepDueAt'>): boolean {
  return record.keepDueAt !== undefined;
}

/**
 * The keep step of an alert's record, due at its `keepDueAt` whatever its state (pending under a full budget,
 * running, finished): asks the ring directory for the VM's ring generations and keeps the ring files covering the
 * record's window (`CaptureFiles.keepRing`), storing what is kept on the record. It comes back each tick until the
 * window's end is kept, or until `RING_KEEP_WAIT_SECONDS` after the fired time, when what is kept is what the
 * message reports, with a note why. A VM without a ring costs one question to the directory and one write. A
 * storage failure is noted and tried again next tick; only a ledger outage is thrown (the tick ends on it).
 * Returns the record as stored now (the same object when nothing was due or written).
 */
export async function keepPreAlert(record: CaptureRecord, work: RecordWork): Promise<CaptureRecord> {
  const { deps, now } = work;
  if (!isDue(record, work)) return record;
  const changes = await keepChanges(record, work).catch((e: unknown) => {
    if (e instanceof LedgerUnavailableError) throw e;
    const reason = work.abortSignal.aborted ? "cut by the record's deadline" : errorMessage(e).split('\n')[0];
    deps.logger.warn(`keeping the ring files of alert ${record.alertId}: ${reason ?? ''}`);
    return pastBound(record, work)
      ? endWith(work, `the ring files could not be kept: ${reason ?? 'unknown error'}`)
      : {
          keepNote: `keeping the ring files, retrying: ${reason ?? 'unknown error'}`,
          keepDueAt: dueAgain(now),
        };
  });
  return (await deps.ledger.move(record, 'note', changes)) ?? record;
}

/**
 * Due at `keepDueAt`, except while the record belongs to its starter: a fresh alert's record to the webhook's fast
 * path (for its grace, measured from the record's creation: a pending record is rewritten on every deferred
 * start), and a `starting` one to whoever is putting its capture (a keep write would make the starter's next write
 * lose its ETag race, and would make a stale one look fresh to `driveRecord`, which resumes it). The ring keeps
 * the early files for minutes.
 */
function isDue(record: CaptureRecord, work: RecordWork): boolean {
  const { now } = work;
  if (record.keepDueAt === undefined || record.kind !== undefined || record.state === 'starting')
    return false;
  if (Date.parse(record.keepDueAt) > now) return false;
  const graceInMs = fastPathGraceSeconds(work.deps.config) * 1000;
  return !(record.state === 'pending' && now - Date.parse(record.createdAt) < graceInMs);
}

/** One keep attempt: what to store on the record. */
async function keepChanges(record: CaptureRecord, work: RecordWork): Promise<CaptureChanges> {
  const { deps, abortSignal } = work;
  const paths = (await deps.rings?.ringPathsOf(record.target, { abortSignal })) ?? [];
  const keepRing = deps.files?.keepRing?.bind(deps.files);
  if (paths.length === 0 || !keepRing) return { keepDueAt: undefined, keepNote: NO_RING_NOTE };
  const window = {
    startMs: Date.parse(record.keepWindowStart ?? ''),
    endMs: Date.parse(record.keepWindowEnd ?? ''),
  };
  if (!Number.isFinite(window.startMs) || !Number.isFinite(window.endMs))
    return { keepDueAt: undefined, keepNote: 'no keep window recorded for this alert' };
  const kept = await keepRing(paths, record.alertId, window, { abortSignal });
  if (!kept) {
    return {
      keepDueAt: undefined,
      keepNote: "nothing kept: the ring's storage path is outside the capture account",
    };
  }
  const progress: CaptureChanges = {
    keptFiles: kept.kept,
    keptFrom: kept.keptFrom,
    keptCoversStart: kept.coversStart,
    keepComplete: kept.complete,
  };
  if (kept.complete) return { ...progress, keepDueAt: undefined, keepNote: undefined };
  if (pastBound(record, work)) {
    return {
      ...progress,
      ...endWith(
        work,
        kept.kept.length === 0
          ? 'no ring file covering the alert window was in storage'
          : "the file holding the alert's last minutes was still being written",
      ),
    };
  }
  return { ...progress, keepDueAt: dueAgain(work.now) };
}

/** Past `RING_KEEP_WAIT_SECONDS` after the fired time (or its window's end when the fired time does not parse). */
function pastBound(record: CaptureRecord, work: RecordWork): boolean {
  const firedMs = Date.parse(record.firedAt || record.keepWindowEnd || '');
  const waitMs = work.deps.config.ring.keepWaitSeconds * 1000;
  return !Number.isFinite(firedMs) || work.now - firedMs >= waitMs;
}

/** Ends the keep step past its bound, saying why in plain words. */
function endWith(work: RecordWork, why: string): CaptureChanges {
  const waited = work.deps.config.ring.keepWaitSeconds;
  return { keepDueAt: undefined, keepNote: `kept what was there ${waited} s after the alert fired: ${why}` };
}

/** Due again on the next tick: any tick after this one. */
function dueAgain(now: number): string {
  return new Date(now).toISOString();
}
