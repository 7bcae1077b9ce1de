import type { CaptureFiles } from './CaptureFiles.js';
import type { CaptureDeps } from './startCapture.js';
import type { CaptureReports } from '../report/CaptureReports.js';
import type { WatcherCaptureLists } from './WatcherCaptureLists.js';

/** What the poller needs besides the orchestration's deps. */
export interface PollDeps extends CaptureDeps {
  /**
   * The capture files in storage (summary, download link; the kept ring files of an alert and their summary);
   * absent, messages go without them, and without `keepRing` no alert keeps pre-alert files.
   */
  files?: Pick<CaptureFiles, 'summarize' | 'link'> &
    Partial<Pick<CaptureFiles, 'keepRing' | 'summarizeKept'>>;
  /** The capture reports in storage (made once, linked from every message); absent, messages go without them. */
  reports?: Pick<CaptureReports, 'ensure' | 'link'>;
  /** The VMs' standing rings (pre-alert evidence); absent, no alert keeps pre-alert files. */
  rings?: RingDirectory;
  /** Which VMs keep a ring (tags, `RING_VM_IDS`); absent, the poller keeps no ring (`maintainRings`). */
  ringWanted?: RingWanted;
}

/** The VMs that should keep a ring now, asked once per tick. */
export type RingWanted = (options?: RingWantedOptions) => Promise<WantedRings>;

/** What the poller tells its {@link RingWanted} source. */
export interface RingWantedOptions {
  abortSignal?: AbortSignal;
  /** When a person last changed which VMs want a ring (ms): an answer from before it must not be reused. */
  changedAt?: number;
}

/** The answer of {@link RingWanted}. */
export interface WantedRings {
  vms: WantedRingVm[];
  /**
   * True when `vms` is the whole list. A partial answer (a subscription could not be listed) never makes the
   * poller stop a ring: only a VM missing from a complete list has its ring removed.
   */
  complete: boolean;
}

/** One VM that should keep a ring. */
export interface WantedRingVm {
  /** The VM's ARM id (compared case-insensitively). */
  vmId: string;
  vmName: string;
  subscriptionId: string;
}

/** Where a ring VM's ring files are, for an alert on it to keep the ones before it fired. */
export interface RingDirectory {
  /**
   * The storage paths (as ARM reported them: a folder or a first file's URL) of `vmId`'s ring captures, newest
   * generation first: every generation whose files may still be in storage. Empty when the VM has no ring.
   */
  ringPathsOf(vmId: string, options?: { abortSignal?: AbortSignal }): Promise<string[]>;
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
  /** What `maintainRings` did, when a ring source is given. */
  rings?: RingTickReport;
}

/** What one tick did to the rings. */
export interface RingTickReport {
  /** VMs that should keep a ring. */
  wanted: number;
  /** Generations armed (a first ring, a re-arm, a replacement). */
  armed: number;
  /** Previous generations stopped once their successor ran. */
  retired: number;
  /** Rings removed from VMs no longer wanted. */
  disabled: number;
}

/** A report of nothing done yet, for a tick to count into. */
export function emptyPollReport(): PollReport {
  return {
    active: 0,
    due: 0,
    started: 0,
    finished: 0,
    notified: 0,
    failed: 0,
    errors: 0,
    deferred: 0,
    expired: 0,
  };
}

/** One record's work in a tick: its deps, the tick's report, and the record's deadline. */
export interface RecordWork {
  deps: PollDeps;
  report: PollReport;
  /** Aborts when the record's own deadline or the tick's budget runs out. */
  abortSignal: AbortSignal;
  /**
   * When the record's own deadline runs out, on the `performance.now()` clock (the one `abortSignal`'s timers
   * follow, never the injected one); absent, `POLL_RECORD_TIME_LIMIT_SECONDS` from when the notify step began.
   */
  deadlineInMs?: number;
  /** The tick's clock reading, in ms. */
  now: number;
  /** The watchers' capture lists of this tick, shared by its records (a ring's liveness); absent, one per record. */
  captureLists?: WatcherCaptureLists;
}
