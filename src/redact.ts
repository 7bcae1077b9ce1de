/**
 * The one place secrets are taken out of text before it is logged, stored or sent. The sinks call it (every line
 * the {@link Logger} adapters write, every ledger record written, every notification), so no call site can forget.
 *
 * What it removes: SAS query parameters (`sig`, `se`, `skoid`...), function keys (`code=`), `Bearer` tokens,
 * `AccountKey=` / `SharedAccessSignature=` in connection strings, the managed-identity header
 * (`X-IDENTITY-HEADER`, the older `secret` header), bare JWTs, and any value registered with
 * {@link registerSecret} (the identity header's value itself, which an SDK may quote anywhere).
 *
 * @see https://github.com/Azure/azure-functions-nodejs-library — `ensureErrorType`, the model followed here.
 */

const SECRET_QUERY =
  /([?&](?:sig|code|se|sp|sv|skoid|sktid|skt|ske|sks|skv|st|spr|srt|ss|sr|token|access_token|api-key|key|client_secret)=)[^&#\s"']+/gi;
const BEARER = /(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/gi;
const CONNECTION_STRING_SECRET = /((?:AccountKey|SharedAccessSignature|SharedAccessKey)=)[^;"'\s]+/gi;
const IDENTITY_HEADER = /((?:x-identity-header|x-functions-key|secret)["']?\s*[:=]\s*["']?)[^\s"',;}]+/gi;
// Three base64url parts, the first an encoded JSON object ("eyJ"): a JWT, wherever it appears.
const JWT = /\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

const knownSecrets = new Set<string>();

/**
 * Registers a secret value (e.g. the identity endpoint's header) so that {@link redact} removes it wherever it
 * appears. Values shorter than 8 characters are ignored: they would redact ordinary words.
 */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 8) knownSecrets.add(value);
}

/** Replaces every secret in `text` with `***` (see the module comment for what counts as one). */
export function redact(text: string): string {
  let out = text;
  for (const secret of knownSecrets) out = out.split(secret).join('***');
  return out
    .replace(SECRET_QUERY, '$1***')
    .replace(BEARER, '$1***')
    .replace(CONNECTION_STRING_SECRET, '$1***')
    .replace(IDENTITY_HEADER, '$1***')
    .replace(JWT, '***');
}

/** Returns `url` with its query string and fragment removed: safe to log or to notify. */
export function stripQuery(url: string): string {
  const i = url.search(/[?#]/);
  return i === -1 ? url : url.slice(0, i);
}

/** Normalises anything caught into a message that is safe to log or store: its message, redacted. */
export function describeError(e: unknown): string {
  return redact(e instanceof Error ? e.message : String(e));
}
