/** An IP address parsed for range checks: IPv4 as a 32-bit number, IPv6 as a 128-bit bigint. */
export type ParsedAddress = { version: 4; value: number } | { version: 6; value: bigint };

/** Parses dotted IPv4 or (possibly compressed) IPv6 text; undefined for anything else. */
export function parseAddress(text: string): ParsedAddress | undefined {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(text)) {
    const parts = text.split('.').map(Number);
    if (parts.some((p) => p > 255)) return undefined;
    return {
      version: 4,
      value: ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0,
    };
  }
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(':')) return undefined;
  let hex = text;
  // An embedded IPv4 tail (`::ffff:10.0.0.4`) becomes its two 16-bit groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const tail = parseAddress(v4[1]!);
    if (tail?.version !== 4) return undefined;
    hex = `${text.slice(0, v4.index)}${(tail.value >>> 16).toString(16)}:${(tail.value & 0xffff).toString(16)}`;
  }
  const halves = hex.split('::');
  if (halves.length > 2) return undefined;
  const groups = (s: string): string[] => (s === '' ? [] : s.split(':'));
  const left = groups(halves[0]!);
  const right = halves.length === 2 ? groups(halves[1]!) : [];
  const missing = 8 - left.length - right.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const words = [...left, ...new Array<string>(missing).fill('0'), ...right];
  let value = 0n;
  for (const w of words) {
    if (!/^[0-9a-fA-F]{1,4}$/.test(w)) return undefined;
    value = (value << 16n) | BigInt(parseInt(w, 16));
  }
  return { version: 6, value };
}

/**
 * The address of a summary endpoint: `10.0.0.4:443` → `10.0.0.4`, `[2001:db8::1]:443` → `2001:db8::1`, an ICMP
 * endpoint (no port) as it is.
 */
export function endpointAddress(endpoint: string): string {
  if (endpoint.startsWith('[')) return endpoint.slice(1, endpoint.indexOf(']'));
  const colon = endpoint.indexOf(':');
  if (colon < 0) return endpoint;
  return endpoint.indexOf(':', colon + 1) < 0 ? endpoint.slice(0, colon) : endpoint;
}

/** The port of a summary endpoint, or undefined when it has none (ICMP and other protocols). */
export function endpointPort(endpoint: string): number | undefined {
  const m = endpoint.startsWith('[') ? /\]:(\d+)$/.exec(endpoint) : /^[^:]+:(\d+)$/.exec(endpoint);
  return m ? Number(m[1]) : undefined;
}
