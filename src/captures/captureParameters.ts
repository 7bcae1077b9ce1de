import type { PacketCapture } from '@azure/arm-network';
import type { CaptureOverrides } from '../alerts/classifyAlert.js';
import type { CaptureFilter, Config } from '../config.js';
import type { CaptureTarget } from './captureTarget.js';

/** The capture settings after clamping, and what was clamped (said in the response and the ledger). */
export interface EffectiveCaptureSettings {
  timeLimitInSeconds: number;
  bytesToCapturePerPacket: number;
  totalBytesPerSession: number;
  filters: CaptureFilter[];
  /** Plain-words notes on overrides that were lowered or refused. */
  notes: string[];
}

/**
 * Applies an alert's overrides to the configured settings, never above the server-side maxima:
 * duration ≤ `CAPTURE_MAX_TIME_LIMIT_SECONDS`, bytes per packet ≤ `CAPTURE_BYTES_PER_PACKET` (0 = whole packets
 * is the largest), total bytes ≤ `CAPTURE_TOTAL_BYTES`. Override filters are taken only when the operator set
 * none: configured filters are a restriction an alert payload must not widen.
 */
export function effectiveCaptureSettings(
  config: Config,
  overrides: CaptureOverrides = {},
): EffectiveCaptureSettings {
  const notes: string[] = [];

  let timeLimitInSeconds = config.captureTimeLimitSeconds;
  if (overrides.captureDurationSeconds !== undefined) {
    timeLimitInSeconds = Math.min(overrides.captureDurationSeconds, config.captureMaxTimeLimitSeconds);
    if (timeLimitInSeconds < overrides.captureDurationSeconds) {
      notes.push(`captureDurationSeconds lowered to the maximum ${config.captureMaxTimeLimitSeconds}`);
    }
  }

  let bytesToCapturePerPacket = config.captureBytesPerPacket;
  const perPacket = overrides.captureBytesPerPacket;
  if (perPacket !== undefined) {
    // 0 means "whole packets", the largest possible: allowed only when the operator allows whole packets.
    const widerThanAllowed =
      config.captureBytesPerPacket !== 0 && (perPacket === 0 || perPacket > config.captureBytesPerPacket);
    if (widerThanAllowed)
      notes.push(`captureBytesPerPacket lowered to the maximum ${config.captureBytesPerPacket}`);
    else bytesToCapturePerPacket = perPacket;
  }

  let totalBytesPerSession = config.captureTotalBytes;
  if (overrides.captureTotalBytes !== undefined) {
    totalBytesPerSession = Math.min(overrides.captureTotalBytes, config.captureTotalBytes);
    if (totalBytesPerSession < overrides.captureTotalBytes) {
      notes.push(`captureTotalBytes lowered to the maximum ${config.captureTotalBytes}`);
    }
  }

  let filters = config.captureFilters;
  if (overrides.captureFilters !== undefined) {
    if (config.captureFilters.length === 0) filters = overrides.captureFilters;
    else notes.push('captureFilters ignored: CAPTURE_FILTERS is set and an alert may not widen it');
  }

  return { timeLimitInSeconds, bytesToCapturePerPacket, totalBytesPerSession, filters, notes };
}

/** The ids of a {@link CaptureTarget} the PUT body needs (a whole `CaptureTarget` is one). */
export type CaptureTargetSpec =
  | Pick<Extract<CaptureTarget, { kind: 'vm' }>, 'kind' | 'vmId'>
  | Pick<Extract<CaptureTarget, { kind: 'vmssInstance' }>, 'kind' | 'scaleSetId' | 'instanceId'>;

/** The PUT body of a packet capture for a target, written to the capture storage account. */
export function packetCaptureParameters(
  target: CaptureTargetSpec,
  settings: EffectiveCaptureSettings,
  storageAccountId: string,
): PacketCapture {
  const base: PacketCapture = {
    target: target.kind === 'vm' ? target.vmId : target.scaleSetId,
    targetType: target.kind === 'vm' ? 'AzureVM' : 'AzureVMSS',
    bytesToCapturePerPacket: settings.bytesToCapturePerPacket,
    totalBytesPerSession: settings.totalBytesPerSession,
    timeLimitInSeconds: settings.timeLimitInSeconds,
    storageLocation: { storageId: storageAccountId },
    filters: settings.filters.map((f) => ({ ...f })),
  };
  if (target.kind === 'vmssInstance') base.scope = { include: [target.instanceId] };
  return base;
}
