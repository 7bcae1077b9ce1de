import type { CaptureRecord } from '../ledger/captureRecord.js';
import { MAX_NOTIFIED_KEPT_FILES, type PreAlertEvidence } from '../notify/captureNotification.js';
import type { CaptureSummary } from '../pcap/types.js';

/** A stored summary (JSON), unless it does not parse or was stored cut (`truncated`). */
export function parseSummary(json: string | undefined): CaptureSummary | undefined {
  if (!json) return undefined;
  try {
    const parsed = JSON.parse(json) as CaptureSummary & { truncated?: boolean };
    return parsed.truncated ? undefined : parsed;
  } catch {
    return undefined;
  }
}

/** The record's pre-alert evidence, for a ring VM's alert whose keep step ended with something to say. */
export function preAlertEvidenceOf(record: CaptureRecord): PreAlertEvidence | undefined {
  if (
    record.keptFiles === undefined ||
    record.keepWindowStart === undefined ||
    record.keepWindowEnd === undefined
  )
    return undefined;
  const keptFromMs = record.keptFrom ? Date.parse(record.keptFrom) : NaN;
  const summary = parseSummary(record.beforeSummaryJson);
  return {
    windowStart: record.keepWindowStart,
    windowEnd: record.keepWindowEnd,
    ...(record.keptFrom ? { keptFrom: record.keptFrom } : {}),
    ...(Number.isFinite(keptFromMs)
      ? { startsBeforeWindowSeconds: Math.round((Date.parse(record.keepWindowStart) - keptFromMs) / 1000) }
      : {}),
    coversStart: record.keptCoversStart === true,
    complete: record.keepComplete === true,
    keptFiles: record.keptFiles.slice(0, MAX_NOTIFIED_KEPT_FILES),
    keptFileCount: record.keptFiles.length,
    ...(record.keepNote ? { note: record.keepNote } : {}),
    ...(summary ? { summary } : {}),
  };
}
