import { describeError, redact } from './redact.js';

/**
 * The narrow logger the core takes instead of an `InvocationContext`. Messages must never carry keys,
 * tokens, SAS query strings or whole payloads; the adapters ({@link loggerOf}, {@link redactingLogger}) redact
 * every line anyway.
 */
export interface Logger {
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

export { redact, stripQuery } from './redact.js';

/** Adapts anything with the host's `log`/`warn`/`error` (an `InvocationContext`) to the core's narrow logger. */
export function loggerOf(context: {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}): Logger {
  return redactingLogger({
    info: (m) => context.log(m),
    warn: (m) => context.warn(m),
    error: (m) => context.error(m),
  });
}

/**
 * Wraps a logger so that every line it writes, and every extra argument, goes through {@link redact} first:
 * the sink redacts, so no call site can forget.
 */
export function redactingLogger(logger: Logger): Logger {
  const clean = (args: unknown[]) => args.map((a) => (typeof a === 'string' ? redact(a) : describeError(a)));
  return {
    info: (m, ...args) => logger.info(redact(m), ...clean(args)),
    warn: (m, ...args) => logger.warn(redact(m), ...clean(args)),
    error: (m, ...args) => logger.error(redact(m), ...clean(args)),
  };
}
