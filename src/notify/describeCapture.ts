import { redact, stripQuery } from '../logger.js';
import type { CaptureNotification } from './captureNotification.js';
import { topConversations } from './captureNotification.js';

/** How many signals and capture errors a chat message lists before saying "and N more". */
const MAX_LISTED = 10;

const STATUS_WORDS: Readonly<Record<string, string>> = {
  Stopped: 'stopped',
  Error: 'error',
  Running: 'running',
  NotStarted: 'not started',
  Unknown: 'unknown',
};

// Network Watcher documents `stopReason` only as a string; these are the values seen in its examples and
// in the wild. Anything else is shown as given.
const STOP_REASON_WORDS: Readonly<Record<string, string>> = {
  TimeExceeded: 'time limit reached',
  BytesExceeded: 'size limit reached',
  TotalBytesExceeded: 'size limit reached',
  SessionBytesExceeded: 'size limit reached',
  MaxBytesPerSessionExceeded: 'size limit reached',
  Manual: 'stopped on request',
  UserStopped: 'stopped on request',
  StoppedByUser: 'stopped on request',
  AlertResolved: 'alert resolved',
};

// The `PcError` enum of the Network Watcher REST API.
const ERROR_WORDS: Readonly<Record<string, string>> = {
  InternalError: 'internal error in Network Watcher',
  AgentStopped: 'the Network Watcher agent on the VM stopped',
  CaptureFailed: 'the capture failed on the VM',
  LocalFileFailed: 'the capture file could not be written on the VM',
  StorageFailed: 'the capture file could not be written to storage',
};

/** A capture status (`packetCaptureStatus`) in plain words; unknown values as given. */
export function describeStatus(status: string): string {
  return STATUS_WORDS[status] ?? status;
}

/** A Network Watcher stop reason in plain words (`TimeExceeded` → "time limit reached"); unknown values as given. */
export function describeStopReason(stopReason: string): string {
  return STOP_REASON_WORDS[stopReason] ?? stopReason;
}

/** A Network Watcher capture error (`PcError`) in plain words; unknown values as given (secrets redacted). */
export function describeCaptureError(error: string): string {
  return ERROR_WORDS[error] ?? redact(error);
}

/** Bytes with a decimal unit: `512 B`, `1.5 kB`, `12.3 MB`, `1.02 GB`. */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return `${bytes} B`;
  const units = ['B', 'kB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  if (unit === 0) return `${value} B`;
  return `${value < 10 ? value.toFixed(2) : value < 100 ? value.toFixed(1) : value.toFixed(0)} ${units[unit]}`;
}

/** A duration in seconds as `45 s`, `4 min 12 s`, `2 h 5 min`. */
export function formatDurationSeconds(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return `${seconds} s`;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return s % 60 === 0 ? `${s / 60} min` : `${Math.floor(s / 60)} min ${s % 60} s`;
  const minutes = Math.round((s % 3600) / 60);
  return minutes === 0 ? `${Math.floor(s / 3600)} h` : `${Math.floor(s / 3600)} h ${minutes} min`;
}

/** The VM a target ARM id names: `vm1`, or `scaleSet1 instance 3` for a VMSS instance; else the id itself. */
export function vmNameOf(target: string): string {
  const vmss = /\/virtualMachineScaleSets\/([^/]+)\/virtualMachines\/([^/]+)\/?$/i.exec(target);
  if (vmss) return `${vmss[1]} instance ${vmss[2]}`;
  const vm = /\/virtualMachines\/([^/]+)\/?$/i.exec(target);
  return vm?.[1] ?? target;
}

/** One row of the conversations table, already in words. */
export interface ConversationRow {
  protocol: string;
  a: string;
  b: string;
  bytes: string;
  packets: string;
}

/**
 * A notification in plain words, shared by the Teams and Slack renderers so both say the same thing.
 * Every string is free of SAS query strings; `link` is the only URL that may carry one.
 */
export interface CaptureDescription {
  failed: boolean;
  /** "Packet capture finished on vm1" / "Packet capture failed on vm1". */
  title: string;
  /** One line for notifications and previews. */
  oneLine: string;
  vmName: string;
  target: string;
  /** Label/value pairs in display order (VM, rule, severity, status, ...); absent values are left out. */
  facts: Array<{ label: string; value: string }>;
  /** For failures: why, in plain words. */
  reason?: string;
  /** Capture errors in plain words, at most {@link MAX_LISTED} plus an "and N more" line. */
  errors: string[];
  /** Capture file path or URL, without query string. */
  storagePath?: string;
  /** `storagePath` when it is an http(s) URL. */
  storageUrl?: string;
  /** The explicit short-lived link, only when it is an http(s) URL. */
  link?: string;
  /** The capture's report to open: its short-lived link when one was made, else its URL without query; http(s) only. */
  report?: string;
  traffic?: {
    /** "12,345 packets, 4.50 MB over 1 min 0 s". */
    totals: string;
    /** Set when the summary is partial. */
    partial?: string;
    /** "tcp 80% · udp 15% · icmp 5%" by bytes. */
    protocolMix?: string;
    conversations: ConversationRow[];
    /** How many conversations the file holds in all (counted over the whole capture, not the list shown). */
    conversationCount: number;
    /** The same in words: "4", "1,204", or "about 996,000" when the count is an estimate. */
    conversationCountText: string;
    signals: string[];
  };
  /** The minutes before the alert (a ring VM's kept files) and what changed after, in words. */
  before?: BeforeDescription;
  idempotencyKey: string;
}

/** The "before and after" of a ring VM's alert, in words. */
export interface BeforeDescription {
  /** "Before the alert: 3 kept files from 07:01:02 UTC, 2 min before the alert window (07:03:02 – 07:09:02 UTC)". */
  heading: string;
  /** Totals of the kept files, like the capture's. */
  totals?: string;
  /** The window's start rotated away, the keep wait ran out...: said plainly. */
  warnings: string[];
  /** What changed after the alert, one line each: new conversations, new talkers, new signals, byte rates. */
  changes: string[];
  /** The kept files (names in `capture-kept`), at most {@link MAX_LISTED} plus an "and N more" line. */
  files: string[];
}

const numberFormat = new Intl.NumberFormat('en-US');

function isHttpUrl(value: string): boolean {
  return /^https?:\/\//i.test(value);
}

function capList(items: string[]): string[] {
  if (items.length <= MAX_LISTED) return items;
  return [...items.slice(0, MAX_LISTED), `and ${items.length - MAX_LISTED} more`];
}

/** Describes a notification in plain words (pure; see {@link CaptureDescription}). */
export function describeCapture(n: CaptureNotification): CaptureDescription {
  const failed = n.type === 'capture.failed';
  const vmName = vmNameOf(n.capture.target);
  const title = failed ? `Packet capture failed on ${vmName}` : `Packet capture finished on ${vmName}`;

  const facts: Array<{ label: string; value: string }> = [];
  const fact = (label: string, value: string | undefined): void => {
    if (value !== undefined && value !== '') facts.push({ label, value });
  };
  fact('VM', vmName);
  fact('Rule', n.alert.rule);
  fact('Severity', n.alert.severity);
  fact('Status', n.capture.status === undefined ? undefined : describeStatus(n.capture.status));
  fact(
    'Stop reason',
    n.capture.stopReason === undefined ? undefined : describeStopReason(n.capture.stopReason),
  );
  fact('Size', n.capture.sizeBytes === undefined ? undefined : formatBytes(n.capture.sizeBytes));
  fact('Duration', captureDuration(n));
  fact('Region', n.capture.region);
  fact('Alert fired', n.alert.firedAt);
  fact('Capture', n.capture.name);

  const storagePath = n.capture.storagePath === undefined ? undefined : stripQuery(n.capture.storagePath);
  const reason = n.reason === undefined ? undefined : redact(n.reason);
  const errors = capList(n.capture.errors.map(describeCaptureError));

  const details: string[] = [];
  if (failed) details.push(reason ?? errors[0] ?? 'no reason given');
  else {
    if (n.capture.stopReason) details.push(describeStopReason(n.capture.stopReason));
    if (n.capture.sizeBytes !== undefined) details.push(formatBytes(n.capture.sizeBytes));
  }
  const ruleText = `rule ${n.alert.rule}${n.alert.severity ? `, ${n.alert.severity}` : ''}`;
  const oneLine = `${title} (${ruleText})${details.length > 0 ? `: ${details.join(', ')}` : ''}`;

  const d: CaptureDescription = {
    failed,
    title,
    oneLine,
    vmName,
    target: n.capture.target,
    facts,
    errors,
    idempotencyKey: n.idempotencyKey,
  };
  if (reason !== undefined) d.reason = reason;
  if (storagePath !== undefined) {
    d.storagePath = storagePath;
    if (isHttpUrl(storagePath)) d.storageUrl = storagePath;
  }
  if (n.capture.link !== undefined && isHttpUrl(n.capture.link)) d.link = n.capture.link;
  if (n.capture.reportLink !== undefined && isHttpUrl(n.capture.reportLink)) d.report = n.capture.reportLink;
  else if (n.capture.reportUrl !== undefined && isHttpUrl(n.capture.reportUrl))
    d.report = stripQuery(n.capture.reportUrl);

  const s = n.summary;
  if (s) {
    const totalBytes = s.protocols.reduce((sum, p) => sum + p.bytes, 0);
    const mix = [...s.protocols]
      .sort((x, y) => y.bytes - x.bytes)
      .slice(0, 6)
      .map((p) => `${p.protocol} ${percent(p.bytes, totalBytes)}`)
      .join(' · ');
    d.traffic = {
      totals: `${numberFormat.format(s.packets)} packets, ${formatBytes(s.bytes)} over ${formatDurationSeconds(s.durationSeconds)}`,
      conversations: topConversations(s.conversations).map((c) => ({
        protocol: c.protocol,
        a: c.a,
        b: c.b,
        bytes: formatBytes(c.bytes),
        packets: numberFormat.format(c.packets),
      })),
      conversationCount: s.conversationsTotal ?? s.conversations.length,
      conversationCountText: `${s.conversationsTotalEstimated === true ? 'about ' : ''}${numberFormat.format(
        s.conversationsTotal ?? s.conversations.length,
      )}`,
      signals: capList(
        s.signals.map(
          (sig) =>
            `${sig.severity === 'critical' ? '🚨 ' : sig.severity === 'warning' ? '⚠️ ' : ''}${redact(sig.message)}`,
        ),
      ),
    };
    if (mix) d.traffic.protocolMix = mix;
    if (s.partial)
      d.traffic.partial = `partial summary: ${redact(s.partialReason ?? 'the file could not be read to its end')}`;
  }
  if (n.before) d.before = describeBefore(n);
  return d;
}

/** An ISO time as `07:01:02 UTC` (the date is the alert's, shown in the facts). */
function clock(iso: string): string {
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(11, 19)} UTC` : iso;
}

/** How far the kept files start before (or after) the alert window: "2 min before the alert window". */
function startsWords(seconds: number): string {
  if (seconds === 0) return 'exactly at the start of the alert window';
  return `${formatDurationSeconds(Math.abs(seconds))} ${seconds > 0 ? 'before' : 'after'} the start of the alert window`;
}

function describeBefore(n: CaptureNotification): BeforeDescription {
  const b = n.before!;
  const count = b.keptFileCount;
  const files = `${numberFormat.format(count)} kept file${count === 1 ? '' : 's'}`;
  const from =
    b.keptFrom !== undefined
      ? ` from ${clock(b.keptFrom)}${b.startsBeforeWindowSeconds !== undefined ? `, ${startsWords(b.startsBeforeWindowSeconds)}` : ''}`
      : '';
  const heading = `Before the alert: ${files}${from} (window ${clock(b.windowStart)} – ${clock(b.windowEnd)})`;
  const warnings: string[] = [];
  if (count > 0 && !b.coversStart)
    warnings.push("the window's start was already rotated out of the ring: the kept files start later");
  if (b.note !== undefined) warnings.push(redact(b.note));
  const out: BeforeDescription = {
    heading,
    warnings,
    changes: describeChange(n),
    files: capList(b.keptFiles.map(stripQuery)),
  };
  const s = b.summary;
  if (s)
    out.totals = `${numberFormat.format(s.packets)} packets, ${formatBytes(s.bytes)} over ${formatDurationSeconds(s.durationSeconds)}`;
  return out;
}

/** What changed from before to after, one line each; empty without both summaries. */
function describeChange(n: CaptureNotification): string[] {
  const c = n.change;
  if (!c) return [];
  const lines: string[] = [];
  const rate = (v: number | undefined): string => (v === undefined ? '?' : `${formatBytes(v)}/s`);
  lines.push(`Byte rate: ${rate(c.bytesPerSecond.before)} before, ${rate(c.bytesPerSecond.after)} after`);
  if (c.newSignals.length > 0) lines.push(`Signals only after: ${c.newSignals.join(', ')}`);
  if (c.newTalkers.length > 0)
    lines.push(`New top talkers: ${c.newTalkers.map((t) => t.address).join(', ')}`);
  const conversations = topConversations(c.newConversations).map(
    (x) => `New after the alert: ${x.protocol} ${x.a} ↔ ${x.b} (${formatBytes(x.bytes)})`,
  );
  if (conversations.length === 0) lines.push('No conversation after the alert that was not there before');
  lines.push(...conversations);
  if (c.beforeTruncated)
    lines.push('(before lists only its top conversations: a "new" one may have been there, smaller)');
  return capList(lines.map(redact));
}

function percent(part: number, whole: number): string {
  if (whole <= 0) return '0%';
  const p = (part / whole) * 100;
  return p > 0 && p < 1 ? '<1%' : `${Math.round(p)}%`;
}

function captureDuration(n: CaptureNotification): string | undefined {
  if (!n.capture.startedAt || !n.capture.endedAt) return undefined;
  const ms = Date.parse(n.capture.endedAt) - Date.parse(n.capture.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? formatDurationSeconds(ms / 1000) : undefined;
}
