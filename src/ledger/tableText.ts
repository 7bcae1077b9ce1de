import { createHash } from 'node:crypto';

/**
 * Azure Table storage limits on strings, and helpers that keep our values inside them without ever
 * producing a broken UTF-16 string.
 *
 * @see https://learn.microsoft.com/rest/api/storageservices/understanding-the-table-service-data-model
 */

/**
 * Most UTF-16 code units one string property may hold: the service limit is 64 KiB of UTF-16 (32 768 code
 * units); we stay a little below it.
 */
export const TABLE_STRING_MAX_CHARS = 32_000;

// A PartitionKey/RowKey may hold neither / \ # ? nor control characters, and at most 1 KiB.
// eslint-disable-next-line no-control-regex
const FORBIDDEN_KEY_CHARS = /[/\\#?\u0000-\u001f\u007f-\u009f]/;
const MAX_PLAIN_KEY_CHARS = 256;

/**
 * Returns `value` cut to at most `maxChars` UTF-16 code units, ending in `…` when cut. Never splits a
 * surrogate pair, so the result is always a well-formed string the service accepts.
 */
export function truncateText(value: string, maxChars: number): string {
  if (value.length <= maxChars) return value;
  let end = Math.max(0, maxChars - 1);
  if (end > 0 && isHighSurrogate(value.charCodeAt(end - 1))) end -= 1;
  return `${value.slice(0, end)}…`;
}

/**
 * Splits `value` into pieces of at most `chunkChars` code units (never inside a surrogate pair), or returns
 * `undefined` when more than `maxChunks` pieces would be needed. The empty string is one empty piece.
 */
export function splitText(value: string, chunkChars: number, maxChunks: number): string[] | undefined {
  if (chunkChars < 2) throw new RangeError(`chunkChars must be at least 2, found ${chunkChars}`);
  const chunks: string[] = [];
  let start = 0;
  do {
    let end = Math.min(value.length, start + chunkChars);
    if (end < value.length && isHighSurrogate(value.charCodeAt(end - 1))) end -= 1;
    chunks.push(value.slice(start, end));
    if (chunks.length > maxChunks) return undefined;
    start = end;
  } while (start < value.length);
  return chunks;
}

/**
 * Turns an arbitrary identifier into a PartitionKey/RowKey: kept as is when it is short and holds no
 * character the service forbids, otherwise replaced by its SHA-256 (hex). Keys are compared exactly, so
 * callers lower-case first when their identifier is case-insensitive.
 */
export function tableSafeKey(value: string): string {
  if (value.length > 0 && value.length <= MAX_PLAIN_KEY_CHARS && !FORBIDDEN_KEY_CHARS.test(value))
    return value;
  return sha256Hex(value);
}

/** SHA-256 of the UTF-8 bytes of `value`, as 64 lower-case hex digits. */
export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
