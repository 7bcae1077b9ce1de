import { redact, stripQuery } from '../logger.js';
import type { SummaryChange } from '../pcap/compareSummaries.js';
import type { CaptureSummary, ConversationStat } from '../pcap/types.js';

/** How many conversations a message carries: the on-call person reads the top ones, the file has the rest. */
export const MAX_NOTIFIED_CONVERSATIONS = 10;

/**
 * One message per capture attempt, sent when the capture ends (`capture.completed`) or cannot be made or
 * fails (`capture.failed`). The generic JSON webhook receives exactly this object (see {@link toWebhookPayload});
 * Teams and Slack receive a rendering of it.
 */
export interface CaptureNotification {
  /** `capture.completed`: the capture ran and stopped (a file should exist); `capture.failed`: it did not. */
  type: 'capture.completed' | 'capture.failed';
  /**
   * Stable per capture attempt (e.g. `${alertId}:${captureName}`, see {@link captureIdempotencyKey}) and the same
   * on every retry, so receivers can drop duplicates. Sent as the `Idempotency-Key` header of the generic webhook
   * and shown in every Teams/Slack message.
   */
  idempotencyKey: string;
  capture: {
    /** Packet capture resource name, e.g. `ac-vm1`. */
    name?: string;
    /** Packet capture ARM resource id. */
    id?: string;
    /** ARM id of the captured VM (or VMSS instance). */
    target: string;
    /** Azure region of the VM. */
    region?: string;
    /** Network Watcher `packetCaptureStatus`: `Stopped`, `Error`, `NotStarted`, `Running`, `Unknown`. */
    status?: string;
    /** Network Watcher `stopReason`, e.g. `TimeExceeded`. */
    stopReason?: string;
    /** Network Watcher `packetCaptureError` values (`StorageFailed`, `AgentStopped`, ...). */
    errors: string[];
    /** ISO times the capture started and ended. */
    startedAt?: string;
    endedAt?: string;
    /** Blob URL or path of the capture file. Messages always carry it without its query string. */
    storagePath?: string;
    /** Size of the capture file in bytes. */
    sizeBytes?: number;
    /**
     * Optional short-lived, read-only SAS link to the file, made on purpose for this message. With `reportLink`
     * the only fields allowed to carry a query string; shown as a download action, never logged.
     */
    link?: string;
    /** URL of the capture's HTML report in the `capture-reports` container. Messages carry it without a query string. */
    reportUrl?: string;
    /** Optional short-lived, read-only SAS link to the report, made like `link` (with `NOTIFY_INCLUDE_SAS_LINK`). */
    reportLink?: string;
  };
  alert: {
    /** Azure Monitor alert id. */
    id: string;
    /** Alert rule name. */
    rule: string;
    /** `Sev0` ... `Sev4`. */
    severity?: string;
    /** ISO time the alert fired. */
    firedAt: string;
  };
  /** For failures: why, in plain words ("Network Watcher agent not installed on vm1"). */
  reason?: string;
  /** What the capture shows; in messages `conversations` is trimmed to the top {@link MAX_NOTIFIED_CONVERSATIONS}. */
  summary?: CaptureSummary;
  /**
   * The minutes before the alert, from the VM's ring (only for a ring VM): the kept files, the window they were
   * kept for and what they show. Sent for a failed or never-started capture too: then it is the only evidence.
   */
  before?: PreAlertEvidence;
  /** What changed from `before.summary` to `summary`, when both are there. */
  change?: SummaryChange;
}

/** Most kept file names a message lists; `keptFileCount` says how many there are. */
export const MAX_NOTIFIED_KEPT_FILES = 20;

/** What an alert kept of its VM's ring. */
export interface PreAlertEvidence {
  /** The window kept for (ISO): alert window start − `RING_WINDOW_MARGIN_SECONDS`, to the fired time. */
  windowStart: string;
  windowEnd: string;
  /** First packet of the oldest kept file (ISO). */
  keptFrom?: string;
  /** Seconds `keptFrom` is before `windowStart` (negative: it starts after, the start had rotated away). */
  startsBeforeWindowSeconds?: number;
  /** The oldest kept file starts at or before the window's start; false: rotation had deleted the start. */
  coversStart: boolean;
  /** The window's end is in a kept file. */
  complete: boolean;
  /** Blob names in the capture account's `capture-kept` container, oldest first, at most {@link MAX_NOTIFIED_KEPT_FILES}. */
  keptFiles: string[];
  keptFileCount: number;
  /** Why the keeping ended as it did, in plain words, when it did not simply keep the whole window. */
  note?: string;
  /** The kept files summarized as one capture; `conversations` trimmed as the capture's. */
  summary?: CaptureSummary;
}

/** The idempotency key of a capture attempt: the same for every delivery and retry of its notification. */
export function captureIdempotencyKey(alertId: string, captureName: string): string {
  return `${alertId}:${captureName}`;
}

/**
 * The body posted to the generic JSON webhook: the notification itself, made safe to send. `storagePath` loses
 * its query string, free text (`reason`, `errors`, signal messages) has secrets redacted, and
 * `summary.conversations` keeps the top {@link MAX_NOTIFIED_CONVERSATIONS} by bytes. `link` is kept as given.
 */
export function toWebhookPayload(n: CaptureNotification): CaptureNotification {
  const capture: CaptureNotification['capture'] = { ...n.capture, errors: n.capture.errors.map(redact) };
  if (capture.storagePath !== undefined) capture.storagePath = stripQuery(capture.storagePath);
  if (capture.reportUrl !== undefined) capture.reportUrl = stripQuery(capture.reportUrl);
  const out: CaptureNotification = { ...n, capture };
  if (n.reason !== undefined) out.reason = redact(n.reason);
  if (n.summary !== undefined) {
    out.summary = {
      ...n.summary,
      conversations: topConversations(n.summary.conversations),
      signals: n.summary.signals.map((s) => ({ ...s, message: redact(s.message) })),
    };
    if (n.summary.partialReason !== undefined) out.summary.partialReason = redact(n.summary.partialReason);
  }
  if (n.before !== undefined) out.before = safeEvidence(n.before);
  return out;
}

/** The pre-alert part made safe to send: names without query, free text redacted, conversations trimmed. */
function safeEvidence(before: PreAlertEvidence): PreAlertEvidence {
  const out: PreAlertEvidence = {
    ...before,
    keptFiles: before.keptFiles.slice(0, MAX_NOTIFIED_KEPT_FILES).map(stripQuery),
  };
  if (before.note !== undefined) out.note = redact(before.note);
  if (before.summary !== undefined) {
    out.summary = {
      ...before.summary,
      conversations: topConversations(before.summary.conversations),
      signals: before.summary.signals.map((s) => ({ ...s, message: redact(s.message) })),
    };
    if (before.summary.partialReason !== undefined)
      out.summary.partialReason = redact(before.summary.partialReason);
  }
  return out;
}

/** The top conversations by bytes, at most {@link MAX_NOTIFIED_CONVERSATIONS}; the input is not modified. */
export function topConversations(conversations: readonly ConversationStat[]): ConversationStat[] {
  // The pcap reader already sorts most bytes first; sorting again keeps the promise for hand-made summaries.
  return [...conversations].sort((x, y) => y.bytes - x.bytes).slice(0, MAX_NOTIFIED_CONVERSATIONS);
}
