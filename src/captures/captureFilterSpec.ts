import { isIP } from 'node:net';
import { captureFilterSchema, type CaptureFilter } from '../config.js';

/**
 * Network Watcher packet capture filters, written and checked the way Network Watcher reads them.
 *
 * The rules are the `PacketCaptureFilter` contract
 * (https://learn.microsoft.com/javascript/api/@azure/arm-network/packetcapturefilter): each address or port
 * field holds one value (`127.0.0.1`, `80`), one range (`127.0.0.1-127.0.0.255`, `80-85`) or a `;` list
 * (`127.0.0.1;127.0.0.5;`, `80;443;`, a trailing `;` allowed); "multiple ranges not currently supported" and
 * "mixing ranges with multiple entries not currently supported". `protocol` is `TCP`, `UDP` or `Any`.
 * Network Watcher itself accepts a malformed value and then captures nothing (the `az` docs' own example
 * `1.1.1.1-255.255.255` is one), so everything is checked before a request is sent.
 */

/** The fields of a filter, in the order people write them. */
export const FILTER_FIELDS = [
  'protocol',
  'localIPAddress',
  'remoteIPAddress',
  'localPort',
  'remotePort',
] as const;

/** One field of a filter. */
export type FilterField = (typeof FILTER_FIELDS)[number];

/** A filter that breaks Network Watcher's rules; the message names the field and the value. */
export class FilterSpecError extends Error {
  override readonly name = 'FilterSpecError';
  constructor(
    message: string,
    /** The field at fault, when one is. */
    readonly field?: string,
    /** The value at fault, when one is. */
    readonly value?: string,
  ) {
    super(message);
  }
}

const PROTOCOLS = ['TCP', 'UDP', 'Any'] as const;

/**
 * Parses one `--filter` spec, `field=value,field=value` with Network Watcher's own field names (case-insensitive
 * on input, canonical on output), e.g. `protocol=TCP,remoteIPAddress=10.0.0.0-10.0.0.255,remotePort=443;8443`.
 * @throws FilterSpecError naming the field and value that break the rules.
 */
export function parseFilterSpec(spec: string): CaptureFilter {
  const filter: Record<string, string> = {};
  const parts = spec.split(',').map((p) => p.trim());
  if (spec.trim() === '' || parts.some((p) => p === '')) {
    throw new FilterSpecError(
      `filter "${spec}": expected field=value pairs separated by ",", e.g. protocol=TCP,remotePort=443`,
    );
  }
  for (const part of parts) {
    const eq = part.indexOf('=');
    const rawField = eq < 0 ? part : part.slice(0, eq).trim();
    const field = FILTER_FIELDS.find((f) => f.toLowerCase() === rawField.toLowerCase());
    if (!field) {
      throw new FilterSpecError(
        `filter "${spec}": unknown field "${rawField}" (expected one of ${FILTER_FIELDS.join(', ')})`,
        rawField,
      );
    }
    if (eq < 0)
      throw new FilterSpecError(`filter "${spec}": ${field} has no value (expected ${field}=...)`, field);
    if (field in filter) throw new FilterSpecError(`filter "${spec}": ${field} is given twice`, field);
    filter[field] = part.slice(eq + 1).trim();
  }
  return validateCaptureFilter(filter);
}

/**
 * Parses `--filters-json`: a JSON array of filter objects (`[{"protocol":"TCP","remotePort":"443"}]`), each
 * checked by {@link validateCaptureFilter}.
 * @throws FilterSpecError naming the filter, field and value at fault.
 */
export function parseFiltersJson(json: string): CaptureFilter[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new FilterSpecError('--filters-json: expected a JSON array of filter objects');
  }
  if (!Array.isArray(value))
    throw new FilterSpecError('--filters-json: expected a JSON array of filter objects');
  return value.map((item: unknown, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) {
      throw new FilterSpecError(`--filters-json[${i}]: expected an object`);
    }
    try {
      return validateCaptureFilter(item as Record<string, unknown>);
    } catch (e) {
      if (e instanceof FilterSpecError) {
        throw new FilterSpecError(`--filters-json[${i}]: ${e.message}`, e.field, e.value);
      }
      throw e;
    }
  });
}

/**
 * Checks one filter object against Network Watcher's rules and returns it with canonical field names and
 * protocol casing. Unknown fields, non-string values and malformed addresses, ports or ranges are refused.
 * @throws FilterSpecError naming the field and value.
 */
export function validateCaptureFilter(input: Record<string, unknown>): CaptureFilter {
  const out: Record<string, string> = {};
  for (const [key, raw] of Object.entries(input)) {
    const field = FILTER_FIELDS.find((f) => f === key);
    if (!field) {
      throw new FilterSpecError(`unknown field "${key}" (expected one of ${FILTER_FIELDS.join(', ')})`, key);
    }
    if (typeof raw !== 'string') throw new FilterSpecError(`${field}: expected a string`, field);
    const value = raw.trim();
    if (field === 'protocol') {
      const protocol = PROTOCOLS.find((p) => p.toLowerCase() === value.toLowerCase());
      if (!protocol) {
        throw new FilterSpecError(`protocol "${value}": expected TCP, UDP or Any`, field, value);
      }
      out[field] = protocol;
    } else {
      checkValueList(field, value, field.endsWith('Port') ? checkPort : checkAddress);
      out[field] = value;
    }
  }
  // The one schema of the app (CAPTURE_FILTERS, alert overrides) has the last word on the shape.
  const parsed = captureFilterSchema.safeParse(out);
  if (!parsed.success) throw new FilterSpecError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}

type ItemCheck = (item: string) => number | bigint | undefined;

/** One value, one range or a `;` list; no ranges in a list, no second range. */
function checkValueList(field: FilterField, value: string, check: ItemCheck): void {
  const what = field.endsWith('Port') ? 'port' : 'IP address';
  const example = field.endsWith('Port')
    ? '80, 80-85 or 80;443'
    : '10.0.0.1, 10.0.0.0-10.0.0.255 or 10.0.0.1;10.0.0.5';
  const bad = (why: string) =>
    new FilterSpecError(
      `${field} "${value}": ${why} (expected one ${what}, one range or a ";" list, e.g. ${example})`,
      field,
      value,
    );
  if (value === '') throw bad(`empty`);
  const items = value.replace(/;$/, '').split(';');
  const ranges = items.filter((i) => i.includes('-'));
  if (ranges.length > 0 && items.length > 1) {
    throw bad('Network Watcher does not support a range inside a ";" list or more than one range');
  }
  for (const item of items) {
    if (item.includes('-')) {
      const ends = item.split('-');
      if (ends.length !== 2) throw bad(`"${item}" is not a range`);
      const [from, to] = ends.map((e) => e.trim()) as [string, string];
      const a = check(from);
      if (a === undefined) throw bad(`"${from}" is not a valid ${what}`);
      const b = check(to);
      if (b === undefined) throw bad(`"${to}" is not a valid ${what}`);
      if (what === 'IP address' && isIP(from) !== isIP(to)) throw bad('the range mixes IPv4 and IPv6');
      if (a > b) throw bad(`the range starts after it ends`);
    } else if (check(item.trim()) === undefined) {
      throw bad(`"${item}" is not a valid ${what}`);
    }
  }
}

function checkPort(item: string): number | undefined {
  if (!/^\d{1,5}$/.test(item)) return undefined;
  const n = Number(item);
  return n <= 65_535 ? n : undefined;
}

/** The address as a number (for range order), or `undefined` when it is not a plain IPv4 or IPv6 address. */
function checkAddress(item: string): bigint | undefined {
  const family = isIP(item);
  if (family === 4) {
    return item.split('.').reduce((n, octet) => (n << 8n) + BigInt(Number(octet)), 0n);
  }
  if (family === 6 && !item.includes('.') && !item.includes('%')) {
    const [head = '', tail = ''] = item.split('::');
    const groups = (s: string) => (s === '' ? [] : s.split(':'));
    const h = groups(head);
    const t = groups(tail);
    const all = item.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    return all.reduce((n, g) => (n << 16n) + BigInt(parseInt(g, 16)), 0n);
  }
  return undefined;
}
