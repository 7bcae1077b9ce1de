import type { AlertEvent } from '../alerts/parseAlert.js';
import type { RingConfig } from '../config.js';
import type { KeepWindow } from './chooseRingFiles.js';

/**
 * The stretch of a ring to keep for a Fired alert: from the alert's evaluation window start (common schema
 * `alertContext.condition.windowStartTime`), else `firedDateTime` − `RING_DEFAULT_LOOKBACK_SECONDS`, minus
 * `RING_WINDOW_MARGIN_SECONDS`, up to the fired time. A window start after the fired time (a malformed payload) is
 * ignored for the lookback, so the window is never empty or reversed.
 */
export function alertKeepWindow(
  event: Pick<AlertEvent, 'firedAt' | 'windowStartAt'>,
  ring: Pick<RingConfig, 'windowMarginSeconds' | 'defaultLookbackSeconds'>,
): KeepWindow {
  const endMs = Date.parse(event.firedAt);
  const given = event.windowStartAt === undefined ? Number.NaN : Date.parse(event.windowStartAt);
  const windowStartMs = given <= endMs ? given : endMs - ring.defaultLookbackSeconds * 1000;
  return { startMs: windowStartMs - ring.windowMarginSeconds * 1000, endMs };
}
