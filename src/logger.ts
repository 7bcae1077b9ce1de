/**
 * The narrow logger the core takes instead of an `InvocationContext`. Messages must never carry keys,
 * tokens, SAS query strings or whole payloads: use {@link redact} on anything that may hold a URL.
 */
export interface Logger {
  info(message: string, ...args: unknown[]): void;
  warn(message: string, ...args: unknown[]): void;
  error(message: string, ...args: unknown[]): void;
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

const SECRET_QUERY =
  /([?&](?:sig|code|se|sp|sv|skoid|sktid|skt|ske|sks|skv|st|spr|srt|ss|sr|token|access_token|api-key|key)=)[^&#\s"']+/gi;
const BEARER = /(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/g;
const ACCOUNT_KEY = /(AccountKey=)[^;"'\s]+/gi;

/** Replaces secrets in a string (SAS signatures, function keys, bearer tokens, account keys) with `***`. */
export function redact(text: string): string {
  return text.replace(SECRET_QUERY, '$1***').replace(BEARER, '$1***').replace(ACCOUNT_KEY, '$1***');
}

/** Returns `url` with its query string and fragment removed: safe to log or to notify. */
export function stripQuery(url: string): string {
  const i = url.search(/[?#]/);
  return i === -1 ? url : url.slice(0, i);
}

/** Adapts anything with the host's `log`/`warn`/`error` (an `InvocationContext`) to the core's narrow logger. */
export function loggerOf(context: {
  log(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}): Logger {
  return { info: (m) => context.log(m), warn: (m) => context.warn(m), error: (m) => context.error(m) };
}
