import { redact } from '../logger.js';

/** Options for {@link LedgerUnavailableError}. */
export interface LedgerUnavailableErrorOptions {
  /** The error the Table SDK threw. */
  cause?: unknown;
  /** HTTP status the service answered, if it answered at all. */
  statusCode?: number;
  /** Service or network error code, e.g. `ECONNREFUSED`, `AuthorizationFailure`, `TableNotFound`. */
  code?: string;
}

/**
 * The capture ledger could not be read or written (network error, timeout, 5xx, throttling, missing table,
 * refused credentials...). The webhook answers 503 with `Retry-After`, so Azure Monitor delivers the alert
 * again; the poller skips its tick. Conflicts the ledger expects (409 on insert, 412 on a conditional write)
 * are never reported this way.
 */
export class LedgerUnavailableError extends Error {
  override readonly name = 'LedgerUnavailableError';
  /** HTTP status the service answered, if it answered at all. */
  readonly statusCode?: number;
  /** Service or network error code, when known. */
  readonly code?: string;

  constructor(operation: string, options: LedgerUnavailableErrorOptions = {}) {
    const detail = describe(options);
    super(redact(`Capture ledger unavailable: ${operation} failed${detail ? `: ${detail}` : ''}`), {
      cause: options.cause,
    });
    this.statusCode = options.statusCode;
    this.code = options.code;
  }
}

function describe(options: LedgerUnavailableErrorOptions): string {
  const parts: string[] = [];
  if (options.statusCode !== undefined) parts.push(`HTTP ${options.statusCode}`);
  if (options.code) parts.push(options.code);
  const cause = options.cause;
  if (cause instanceof Error && cause.message) {
    // Service messages carry a RequestId/Time tail over several lines: the first line says it all.
    parts.push(cause.message.split('\n')[0]!.trim());
  } else if (typeof cause === 'string') {
    parts.push(cause);
  }
  return parts.join(' ');
}
