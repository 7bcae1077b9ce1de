import type { CaptureStatus } from '../azure/captureGateway.js';
import type { CaptureRecord, CaptureState } from '../ledger/captureRecord.js';
import { formatDuration, formatTime, type Column } from './output.js';

/**
 * One capture as `list` and `show` print it: the stable `--json` schema (README, "Operator CLI"). Fields
 * without a value are left out.
 */
export interface CaptureView {
  /** The packet capture's name. */
  name: string;
  /** `alert` (started by an alert), `manual` (`alert-capture start`) or `foreign` (not in our ledger). */
  kind: 'alert' | 'manual' | 'foreign';
  /** Our ledger's key; absent for a foreign capture. */
  alertId?: string;
  ruleName?: string;
  /** ARM id of the VM or scale set. */
  target: string;
  /** VM or scale set name. */
  vmName: string;
  instanceId?: string;
  region?: string;
  /** The ledger record's state (`pending`, `running`, `finished`, `notified`, `failed`...); absent for foreign. */
  state?: CaptureState;
  /** `NotStarted`, `Running`, `Stopped`, `Error`, `Unknown`, or `Deleted` when the capture resource is gone. */
  status?: string;
  /** Where `status` comes from: ARM now (`live`), or the ledger's last reading (`ledger`). */
  statusSource?: 'live' | 'ledger';
  stopReason?: string;
  /** Network Watcher's `packetCaptureError` values. */
  errors?: string[];
  /** ISO times. */
  startedAt?: string;
  endedAt?: string;
  /** From start to end (or to now while it runs), in seconds. */
  durationSeconds?: number;
  /** The capture file's blob URL (no query string). */
  file?: string;
  /** Why the record is in its state, in plain words. */
  reason?: string;
}

/** A foreign capture as found in ARM. */
export interface ForeignCapture {
  name: string;
  target?: string;
  region: string;
  storagePath?: string;
}

function vmNameOf(target: string): string {
  return (
    /\/(?:virtualMachines|virtualMachineScaleSets)\/([^/]+)$/i.exec(target)?.[1] ??
    target.split('/').pop() ??
    ''
  );
}

/** The view of one of our records, with ARM's status when it was read (`missing`: the resource is gone). */
export function viewOfRecord(
  record: CaptureRecord,
  live: CaptureStatus | 'missing' | undefined,
  nowMs: number,
): CaptureView {
  const status =
    live === undefined ? record.captureStatus : live === 'missing' ? 'Deleted' : live.packetCaptureStatus;
  const liveStatus = live !== undefined && live !== 'missing' ? live : undefined;
  const startedAt = record.startedAt ?? liveStatus?.captureStartTime;
  const view: CaptureView = {
    name: record.captureName ?? '',
    kind: record.kind === 'manual' ? 'manual' : 'alert',
    alertId: record.alertId,
    ruleName: record.ruleName,
    target: record.target,
    vmName: record.vmName,
    instanceId: record.instanceId,
    region: record.region,
    state: record.state,
    status,
    statusSource: live === undefined ? (record.captureStatus ? 'ledger' : undefined) : 'live',
    stopReason: liveStatus?.stopReason ?? record.stopReason,
    errors: liveStatus?.packetCaptureError?.length ? liveStatus.packetCaptureError : record.captureErrors,
    startedAt,
    endedAt: record.endedAt,
    durationSeconds: durationOf(startedAt, record.endedAt, status === 'Running' ? nowMs : undefined),
    file: record.storagePath,
    reason: record.reason ?? record.lastError,
  };
  return prune(view);
}

/** The view of a capture that is not in our ledger. */
export function viewOfForeign(
  capture: ForeignCapture,
  live: CaptureStatus | 'missing' | undefined,
  nowMs: number,
): CaptureView {
  const status = live === undefined ? undefined : live === 'missing' ? 'Deleted' : live.packetCaptureStatus;
  const liveStatus = live !== undefined && live !== 'missing' ? live : undefined;
  return prune({
    name: capture.name,
    kind: 'foreign',
    target: capture.target ?? '',
    vmName: vmNameOf(capture.target ?? ''),
    region: capture.region,
    status,
    statusSource: live === undefined ? undefined : 'live',
    stopReason: liveStatus?.stopReason,
    errors: liveStatus?.packetCaptureError?.length ? liveStatus.packetCaptureError : undefined,
    startedAt: liveStatus?.captureStartTime,
    durationSeconds: durationOf(
      liveStatus?.captureStartTime,
      undefined,
      status === 'Running' ? nowMs : undefined,
    ),
    file: capture.storagePath,
  });
}

function durationOf(startedAt: string | undefined, endedAt: string | undefined, nowMs: number | undefined) {
  if (!startedAt) return undefined;
  const end = endedAt ? Date.parse(endedAt) : nowMs;
  if (end === undefined) return undefined;
  const seconds = Math.round((end - Date.parse(startedAt)) / 1000);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

function prune<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) {
    if (value[key] === undefined || value[key] === '') delete value[key];
  }
  return value;
}

/** The columns of `list`. */
export const LIST_COLUMNS: readonly Column<CaptureView>[] = [
  { heading: 'NAME', value: (v) => v.name },
  {
    heading: 'TARGET',
    value: (v) => (v.instanceId === undefined ? v.vmName : `${v.vmName}/${v.instanceId}`),
  },
  {
    heading: 'ALERT/RULE',
    value: (v) =>
      v.kind === 'foreign' ? '(not ours)' : v.kind === 'manual' ? '(manual)' : (v.ruleName ?? ''),
  },
  { heading: 'STATE', value: (v) => v.state ?? '' },
  { heading: 'STATUS', value: (v) => v.status ?? '' },
  { heading: 'STOP REASON', value: (v) => v.stopReason ?? '' },
  { heading: 'STARTED', value: (v) => formatTime(v.startedAt) },
  { heading: 'DURATION', value: (v) => formatDuration(v.durationSeconds) },
  { heading: 'FILE', value: (v) => fileName(v.file) },
];

/** The file's name within its VM's folder (`2026/12/01/packetcapture_…cap`): the whole URL is in `--json`. */
function fileName(url: string | undefined): string {
  if (!url) return '';
  const match = /\/(\d{4}\/\d{2}\/\d{2}\/[^/]+)$/.exec(url);
  return match?.[1] ?? url.split('/').pop() ?? url;
}
