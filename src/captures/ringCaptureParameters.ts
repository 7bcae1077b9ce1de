import type { PacketCapture } from '@azure/arm-network';
import type { CaptureFilter, RingConfig } from '../config.js';

/** `timeLimitInSeconds`'s maximum in the spec: sent with a ring, in case Azure ends a ring at the shorter limit. */
const MAX_TIME_LIMIT_SECONDS = 18_000;
/** `totalBytesPerSession`'s maximum in the spec (its default is 1073741824). */
const MAX_TOTAL_BYTES = 4_294_967_295;

/**
 * The PUT body of a VM's ring capture: a continuous capture (`continuousCapture: true`, api-version 2023-11-01 and
 * later) of `fileCount` files of `fileSizeInBytes` in the capture account, so storage never holds more than
 * count × size for the VM. Whether Azure ends it at `sessionTimeLimitInSeconds` or at `timeLimitInSeconds` is
 * undocumented; the poller re-arms before the shorter of the two.
 */
export function ringCaptureParameters(
  vmId: string,
  ring: RingConfig,
  filters: readonly CaptureFilter[],
  storageAccountId: string,
): PacketCapture {
  return {
    target: vmId,
    targetType: 'AzureVM',
    bytesToCapturePerPacket: ring.bytesToCapturePerPacket,
    timeLimitInSeconds: Math.min(ring.sessionTimeLimitInSeconds, MAX_TIME_LIMIT_SECONDS),
    // The spec's maximum: its default (1 GiB) would end a busy VM's ring within minutes, if Azure applies it to
    // continuous captures (undocumented).
    totalBytesPerSession: MAX_TOTAL_BYTES,
    storageLocation: { storageId: storageAccountId },
    filters: filters.map((f) => ({ ...f })),
    continuousCapture: true,
    captureSettings: {
      fileCount: ring.fileCount,
      fileSizeInBytes: ring.fileSizeInBytes,
      sessionTimeLimitInSeconds: ring.sessionTimeLimitInSeconds,
    },
  };
}

/** The seconds after which a ring's next generation is armed: its session less `RING_REARM_LEAD_SECONDS`. */
export function ringRearmAfterSeconds(
  ring: Pick<RingConfig, 'sessionTimeLimitInSeconds' | 'rearmLeadSeconds'>,
): number {
  return ringSessionSeconds(ring) - ring.rearmLeadSeconds;
}

/** The seconds after which a ring must be re-armed: the shorter of its two possible session limits. */
export function ringSessionSeconds(ring: Pick<RingConfig, 'sessionTimeLimitInSeconds'>): number {
  return Math.min(ring.sessionTimeLimitInSeconds, MAX_TIME_LIMIT_SECONDS);
}
