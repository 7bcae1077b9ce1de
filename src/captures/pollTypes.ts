import type { CaptureFiles } from './CaptureFiles.js';
import type { CaptureDeps } from './startCapture.js';

/** What the poller needs besides the orchestration's deps. */
export interface PollDeps extends CaptureDeps {
  /** The capture files in storage (summary, download link); absent, messages go without them. */
  files?: Pick<CaptureFiles, 'summarize' | 'link'>;
}

/** What one tick did, for logs and tests. */
export interface PollReport {
  /** Active records in the ledger (those not due were not read). */
  active: number;
  /** Active records due this tick (read and driven). */
  due: number;
  started: number;
  finished: number;
  notified: number;
  failed: number;
  errors: number;
  /** Records left for the next tick because the tick's time budget ran out. */
  deferred: number;
  /** Records removed past `LEDGER_RETENTION_DAYS`. */
  expired: number;
}

/** One record's work in a tick: its deps, the tick's report, and the record's deadline. */
export interface RecordWork {
  deps: PollDeps;
  report: PollReport;
  /** Aborts when the record's own deadline or the tick's budget runs out. */
  abortSignal: AbortSignal;
  /** The tick's clock reading, in ms. */
  now: number;
}
