import { RestError } from '@azure/core-rest-pipeline';
import { errorMessage } from '../errors.js';
import { redact } from '../logger.js';

/**
 * The one place that reads ARM failures: whether to try again later, and what to tell a person. Every caller
 * (the webhook's fast path, the poller, the gateway) goes through these, so a 409 or a timeout means the same
 * everywhere.
 */

/** The ARM status code of a failure, if any. */
export function armStatus(e: unknown): number | undefined {
  return e instanceof RestError ? e.statusCode : undefined;
}

/** The ARM error code of a failure, if any. */
export function armCode(e: unknown): string | undefined {
  return e instanceof RestError ? e.code : undefined;
}

/** True when an ARM failure is worth retrying later (throttling, 5xx, network, timeout, abort). */
export function isTransient(e: unknown): boolean {
  if (e instanceof RestError) {
    if (e.statusCode === undefined) return true;
    return e.statusCode === 408 || e.statusCode === 429 || e.statusCode >= 500;
  }
  if (e instanceof Error) {
    return (
      e.name === 'AbortError' ||
      e.name === 'TimeoutError' ||
      /ECONNRESET|ECONNREFUSED|socket hang up|ETIMEDOUT|aborted/i.test(e.message)
    );
  }
  return false;
}

/**
 * True when ARM refused because of something else going on, not because of this request: 409
 * `AnotherOperationInProgress` (a delete or stop still running), `PacketCaptureSessionLimitReached` (the
 * platform's session limit), `PacketCaptureAlreadyExists` (another instance's PUT landed first). Such a refusal
 * leaves the work pending; it never fails an alert.
 */
export function isConflict(e: unknown): boolean {
  return armStatus(e) === 409;
}

/** True when a failure is one to retry later: transient, or a {@link isConflict} refusal. */
export function isRetryable(e: unknown): boolean {
  return isTransient(e) || isConflict(e);
}

/** An ARM failure in plain words, safe to store and notify (no tokens or query strings), at most 500 chars. */
export function describeArmError(e: unknown): string {
  const status = armStatus(e);
  const code = armCode(e);
  const prefix = status !== undefined ? `ARM ${status}${code ? ` ${code}` : ''}: ` : '';
  return redact(`${prefix}${errorMessage(e)}`).slice(0, 500);
}
