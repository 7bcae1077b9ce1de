import { describeError } from './redact.js';

/**
 * The few error classes of alert-capture. Each has a reason to exist: the HTTP adapter maps
 * {@link RequestError} to its status, {@link ConfigError} stops the app with every bad setting named,
 * (ARM failures are read in one place: `src/azure/armErrors.ts`).
 */

/** A problem with what a caller sent: mapped to an HTTP status and an ARM-style error body. */
export class RequestError extends Error {
  override readonly name = 'RequestError';
  constructor(
    /** HTTP status to answer with (4xx, or 503 for a ledger outage). */
    readonly status: number,
    /** ARM-style error code, e.g. `UnsupportedMediaType`. */
    readonly code: string,
    message: string,
    /** Optional ARM-style details (e.g. zod issues). */
    readonly details?: ReadonlyArray<{ code: string; message: string; target?: string }>,
    /** Extra response headers, e.g. `Retry-After`. */
    readonly headers?: Readonly<Record<string, string>>,
  ) {
    super(message);
  }
}

/** One or more app settings are missing or invalid. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid app settings:\n- ${problems.join('\n- ')}`);
  }
}

/** Normalises anything caught into a message that is safe to log or store (redacted, see `src/redact.ts`). */
export function errorMessage(e: unknown): string {
  return describeError(e);
}
