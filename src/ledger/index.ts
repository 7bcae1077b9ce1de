/**
 * The capture ledger: one record per alert on Azure Table storage, moved along one lifecycle table
 * (`lifecycle.ts`), the per-region capture budget, the target leases and the ring heads. See {@link CaptureLedger}.
 */
export {
  CaptureLedger,
  type InsertResult,
  type LedgerLocation,
  type LedgerOptions,
  type LedgerRetryOptions,
  type ListByTargetOptions,
  type RemoveExpiredOptions,
} from './CaptureLedger.js';
export { RegionBudgetStore, type TryReserveSlotOptions } from './RegionBudgetStore.js';
export { TargetLeases, type TargetLeaseResult } from './TargetLeases.js';
export {
  RING_HEAD_GENERATIONS,
  RingHeads,
  ringAlertId,
  ringPathsOfHead,
  withNewestAlertId,
  type NewRingHead,
  type RingHead,
  type RingHeadChanges,
} from './RingHeads.js';
export {
  CAPTURE_STATES,
  IllegalMoveError,
  MOVES,
  awaitsNotification,
  awaitsRelease,
  holdsTarget,
  isActiveRecord,
  planMove,
  type CaptureState,
  type MoveName,
} from './lifecycle.js';
export {
  RECORD_TEXT_MAX_CHARS,
  SUMMARY_JSON_MAX_CHARS,
  type CaptureChanges,
  type CaptureRecord,
  type NewCaptureRecord,
  type TargetKind,
} from './captureRecord.js';
export { LedgerUnavailableError, type LedgerUnavailableErrorOptions } from './LedgerUnavailableError.js';
