/**
 * The capture ledger: one record per alert on Azure Table storage, ETag-conditional transitions, and the
 * per-region capture budget. See {@link CaptureLedger}.
 */
export {
  CaptureLedger,
  type InsertResult,
  type LedgerLocation,
  type LedgerOptions,
  type LedgerRetryOptions,
  type ListByTargetOptions,
  type TargetLeaseResult,
  type TryReserveSlotOptions,
} from './CaptureLedger.js';
export {
  CAPTURE_STATES,
  RECORD_TEXT_MAX_CHARS,
  SUMMARY_JSON_MAX_CHARS,
  holdsTarget,
  isActiveRecord,
  type CaptureChanges,
  type CaptureRecord,
  type CaptureState,
  type NewCaptureRecord,
  type TargetKind,
} from './captureRecord.js';
export { LedgerUnavailableError, type LedgerUnavailableErrorOptions } from './LedgerUnavailableError.js';
