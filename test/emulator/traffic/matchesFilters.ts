import { parseIpv4 } from './ipv4.js';

/** One Network Watcher `PacketCaptureFilter`, as the create request carries it. */
export interface CaptureFilterSpec {
  /** `TCP`, `UDP` or `Any` (the default). */
  protocol?: string;
  /** `"10.0.0.4"`, `"10.0.0.4-10.0.0.9"` or `"10.0.0.4;10.0.0.7"`. */
  localIPAddress?: string;
  remoteIPAddress?: string;
  /** `"80"`, `"80-90"` or `"80;443"`. */
  localPort?: string;
  remotePort?: string;
}

/** A packet seen from the VM: local is the VM's side, remote the other, whichever way the packet goes. */
export interface FilterablePacket {
  protocol: 'TCP' | 'UDP' | 'ICMP';
  /** Unsigned 32-bit IPv4 addresses (see `parseIpv4`). */
  localIp: number;
  remoteIp: number;
  /** Absent for ICMP. */
  localPort?: number;
  remotePort?: number;
}

/** A filter value that Network Watcher's notation does not allow. */
export class CaptureFilterError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CaptureFilterError';
  }
}

type ValueSet = (value: number) => boolean;

/**
 * Parses one address or port field: a single value, an inclusive range `a-b`, or a list `a;b;c` (a trailing `;` is
 * allowed, as in the spec's own examples). Empty or blank means "no constraint" and gives `undefined`.
 * Lenient where the service is silent: a list entry may itself be a range.
 */
function parseValueSet(
  field: string,
  text: string | undefined,
  parse: (s: string) => number | undefined,
  what: string,
): ValueSet | undefined {
  if (text === undefined || text.trim() === '') return undefined;
  const entries = text
    .split(';')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const ranges: Array<[number, number]> = entries.map((entry) => {
    const bounds = entry.split('-');
    const values = bounds.map((b) => parse(b));
    if (bounds.length > 2 || values.some((v) => v === undefined)) {
      throw new CaptureFilterError(
        `${field}: expected ${what}, a range "a-b" or a list "a;b", found "${text}"`,
      );
    }
    const low = values[0] as number;
    const high = values[1] ?? low;
    if (high < low) {
      throw new CaptureFilterError(
        `${field}: expected a range whose start is not after its end, found "${entry}"`,
      );
    }
    return [low, high];
  });
  return (value) => ranges.some(([low, high]) => value >= low && value <= high);
}

function parsePort(text: string): number | undefined {
  if (!/^\d{1,5}$/.test(text.trim())) return undefined;
  const port = Number(text);
  return port <= 65535 ? port : undefined;
}

/** A compiled filter list: call it with a packet to learn whether the capture keeps it. */
export type PacketPredicate = (packet: FilterablePacket) => boolean;

/**
 * Compiles Network Watcher filters into one predicate, validating every field first.
 * Semantics: filters are OR-ed, the fields of one filter AND-ed, no filter keeps everything. `protocol` `TCP`/`UDP`
 * keeps only that protocol (ICMP passes only `Any` or no protocol); a port field keeps only TCP/UDP packets.
 * @throws CaptureFilterError naming the field and the value when a field is not in Network Watcher's notation.
 */
export function compileFilters(filters: readonly CaptureFilterSpec[]): PacketPredicate {
  const compiled = filters.map((filter, index) => {
    const at = `filters[${index}]`;
    const protocol = filter.protocol?.trim().toUpperCase();
    if (protocol !== undefined && protocol !== '' && !['TCP', 'UDP', 'ANY', 'ICMP'].includes(protocol)) {
      throw new CaptureFilterError(
        `${at}.protocol: expected "TCP", "UDP" or "Any", found "${filter.protocol}"`,
      );
    }
    return {
      protocol: protocol === undefined || protocol === '' || protocol === 'ANY' ? undefined : protocol,
      localIp: parseValueSet(`${at}.localIPAddress`, filter.localIPAddress, parseIpv4, 'an IPv4 address'),
      remoteIp: parseValueSet(`${at}.remoteIPAddress`, filter.remoteIPAddress, parseIpv4, 'an IPv4 address'),
      localPort: parseValueSet(`${at}.localPort`, filter.localPort, parsePort, 'a port 0-65535'),
      remotePort: parseValueSet(`${at}.remotePort`, filter.remotePort, parsePort, 'a port 0-65535'),
    };
  });
  if (compiled.length === 0) return () => true;
  const portMatches = (set: ValueSet | undefined, port: number | undefined): boolean =>
    set === undefined || (port !== undefined && set(port));
  return (packet) =>
    compiled.some(
      (f) =>
        (f.protocol === undefined || f.protocol === packet.protocol) &&
        (f.localIp === undefined || f.localIp(packet.localIp)) &&
        (f.remoteIp === undefined || f.remoteIp(packet.remoteIp)) &&
        portMatches(f.localPort, packet.protocol === 'ICMP' ? undefined : packet.localPort) &&
        portMatches(f.remotePort, packet.protocol === 'ICMP' ? undefined : packet.remotePort),
    );
}

/**
 * Whether Network Watcher would keep `packet` under `filters` (see {@link compileFilters} for the semantics).
 * Compiles the filters on every call: for many packets, compile once with {@link compileFilters}.
 * @throws CaptureFilterError when a filter field is not in Network Watcher's notation.
 */
export function matchesFilters(packet: FilterablePacket, filters: readonly CaptureFilterSpec[]): boolean {
  return compileFilters(filters)(packet);
}
