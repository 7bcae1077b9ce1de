import type { CaptureTimeline } from '../pcap/TimelineBuilder.js';
import type { PreAlertEvidence } from '../notify/captureNotification.js';
import type { CaptureSummary } from '../pcap/types.js';

/** What the report knows about the capture besides its packets: the alert, the capture resource and the file. */
export interface ReportCapture {
  /** Name of the capture file, e.g. `ac-vm1-1a2b.cap`. */
  fileName: string;
  /** SHA-256 of the file, hex. */
  sha256?: string;
  /** Size of the file in bytes. */
  fileBytes?: number;
  /** ARM id of the captured VM or VMSS instance. */
  target?: string;
  /** Packet capture resource name and region. */
  captureName?: string;
  region?: string;
  /** Network Watcher `packetCaptureStatus` and `stopReason`. */
  status?: string;
  stopReason?: string;
  /** Network Watcher `packetCaptureError` values. */
  errors?: string[];
  /** ISO times the capture started and ended. */
  startedAt?: string;
  endedAt?: string;
  /** The alert that started the capture. */
  alert?: { rule: string; severity?: string; firedAt: string; id?: string };
  /** Capture settings as sent to Network Watcher (bytes per packet, time limit, filters...), shown as given. */
  settings?: Record<string, string | number | boolean>;
}

/**
 * A ring VM's alert: what it kept of the ring before it fired (as the message carries it, `summary` the kept
 * files' own).
 */
export interface ReportBefore extends PreAlertEvidence {
  /**
   * Set when there is no capture after the alert (it failed or never started), in plain words: the report is then
   * made of the kept files alone, and its other sections show them.
   */
  afterMissing?: string;
}

/** Everything one report is drawn from. */
export interface ReportInput {
  /** The minutes before the alert (a ring VM's kept files): a "Before and after" section. */
  before?: ReportBefore;
  /** The summary exactly as `alert-capture summarize --json` prints it. */
  summary: CaptureSummary;
  /** Traffic over time; without it the timeline says so. */
  timeline?: CaptureTimeline;
  capture: ReportCapture;
}
