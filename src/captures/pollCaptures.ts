import { setMaxListeners } from 'node:events';
import { deadlineSignal } from '../deadline.js';
import { errorMessage } from '../errors.js';
import type { CaptureLedger } from '../ledger/CaptureLedger.js';
import type { CaptureRecord } from '../ledger/captureRecord.js';
import { LedgerUnavailableError } from '../ledger/LedgerUnavailableError.js';
import { driveRecord } from './driveRecord.js';
import { forEachLimited } from './forEachLimited.js';
import { maintainRings } from '../rings/maintainRings.js';
import { WatcherCaptureLists } from './WatcherCaptureLists.js';
import { emptyPollReport, type PollDeps, type PollReport } from './pollTypes.js';

export type { PollDeps, PollReport } from './pollTypes.js';
export { toNotification } from './notifyRecord.js';

/** How often one instance removes records past their retention. */
const RETENTION_SWEEP_INTERVAL_IN_MS = 3_600_000;
const lastSweep = new WeakMap<CaptureLedger, number>();

/**
 * One poller tick: one query of the ledger's active index, then every active record with bounded concurrency,
 * then, when a ring source is given, the rings kept (`maintainRings`) and the generations it armed started. Each
 * record is driven under its own deadline (`POLL_RECORD_TIME_LIMIT_SECONDS`) and all under the tick's budget
 * (`POLL_TICK_TIME_LIMIT_SECONDS`, below the host's `functionTimeout`): records not begun when it runs out wait
 * for the next tick. With nothing active it makes no ARM call. A record's error never stops the tick; a ledger
 * outage ends it with one log line. Every write is ETag-conditional, so overlapping ticks never start or notify
 * twice.
 */
export async function pollCaptures(deps: PollDeps): Promise<PollReport> {
  const { config, ledger, logger } = deps;
  const now = (deps.now ?? Date.now)();
  const report: PollReport = emptyPollReport();
  const tickSignal = deadlineSignal(config.pollTickTimeLimitSeconds * 1000);
  let records;
  try {
    if (now - (lastSweep.get(ledger) ?? Number.NEGATIVE_INFINITY) >= RETENTION_SWEEP_INTERVAL_IN_MS) {
      lastSweep.set(ledger, now);
      report.expired = await ledger.removeExpired({ retentionDays: config.ledgerRetentionDays });
    }
    const due = await ledger.listDue(new Date(now));
    records = due.records;
    report.active = due.active;
    report.due = records.length;
  } catch (e) {
    if (!(e instanceof LedgerUnavailableError)) throw e;
    logger.error(`poller: tick skipped, ${errorMessage(e)}`);
    report.errors++;
    return report;
  }
  // Each record's deadline listens to the tick's until that deadline passes: one listener per record by design,
  // so Node's leak warning at 11 is no news here (the tick's signal is dropped with the tick).
  setMaxListeners(records.length + 16, tickSignal);
  let ledgerDown: LedgerUnavailableError | undefined;
  // One list of a watcher's captures a tick, whatever the number of its rings.
  const captureLists = new WatcherCaptureLists(deps.gateway);
  const drive = async (record: CaptureRecord) => {
    if (tickSignal.aborted || ledgerDown) {
      report.deferred++;
      return;
    }
    const deadlineInMs = performance.now() + config.pollRecordTimeLimitSeconds * 1000;
    const abortSignal = deadlineSignal(config.pollRecordTimeLimitSeconds * 1000, tickSignal);
    try {
      await driveRecord(record, {
        deps,
        report,
        abortSignal,
        deadlineInMs,
        now: (deps.now ?? Date.now)(),
        captureLists,
      });
    } catch (e) {
      report.errors++;
      if (e instanceof LedgerUnavailableError) ledgerDown ??= e;
      else logger.error(`poller: alert ${record.alertId} (${record.state}): ${errorMessage(e)}`);
    }
  };
  await forEachLimited(records, config.pollConcurrency, drive);
  // After the drive step, which recorded the end of any ring that ended (stopped or deleted by someone, Error):
  // it is replaced in this tick, and the generations armed now are started in this tick too.
  if (deps.ringWanted && !ledgerDown && !tickSignal.aborted) {
    try {
      const rings = await maintainRings(
        { ...deps, ringWanted: deps.ringWanted },
        { abortSignal: tickSignal },
      );
      report.rings = rings.report;
      await forEachLimited(rings.armed, config.pollConcurrency, drive);
    } catch (e) {
      if (!(e instanceof LedgerUnavailableError)) throw e;
      report.errors++;
      ledgerDown ??= e;
    }
  }
  if (ledgerDown) logger.error(`poller: tick ended early, ${errorMessage(ledgerDown)}`);
  if (report.deferred > 0) logger.warn(`poller: ${report.deferred} records left for the next tick`);
  return report;
}
