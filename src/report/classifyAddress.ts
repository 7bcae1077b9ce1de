import { parseAddress } from './parseAddress.js';

/**
 * What an address is known to be before any geo lookup: geo databases place private, platform and anycast
 * Microsoft addresses in arbitrary countries (DB-IP puts 168.63.129.16 in Hong Kong), so these labels win.
 */
export type AddressKind = 'private' | 'azure-platform' | 'special';

/** A known label for an address, with the words shown on the page. */
export interface AddressLabel {
  kind: AddressKind;
  /** E.g. "Azure platform (WireServer: DHCP, DNS, health probes)". */
  description: string;
}

/** Azure's fixed platform addresses. https://learn.microsoft.com/azure/virtual-network/what-is-ip-address-168-63-129-16 */
const AZURE_PLATFORM = new Map<string, string>([
  ['168.63.129.16', 'Azure platform (WireServer: DHCP, DNS, health probes, VM agent)'],
  ['169.254.169.254', 'Azure platform (Instance Metadata Service)'],
]);

type Range4 = [base: number, bits: number, kind: AddressKind, description: string];
type Range6 = [base: bigint, bits: number, kind: AddressKind, description: string];

const ip4 = (a: number, b: number, c: number, d: number): number =>
  ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;

/** RFC 6890 special-purpose ranges that matter on a VM. */
const RANGES4: Range4[] = [
  [ip4(10, 0, 0, 0), 8, 'private', 'private (RFC 1918)'],
  [ip4(172, 16, 0, 0), 12, 'private', 'private (RFC 1918)'],
  [ip4(192, 168, 0, 0), 16, 'private', 'private (RFC 1918)'],
  [ip4(100, 64, 0, 0), 10, 'private', 'shared address space (RFC 6598)'],
  [ip4(127, 0, 0, 0), 8, 'special', 'loopback'],
  [ip4(169, 254, 0, 0), 16, 'special', 'link-local'],
  [ip4(0, 0, 0, 0), 8, 'special', '"this network"'],
  [ip4(224, 0, 0, 0), 4, 'special', 'multicast'],
  [ip4(240, 0, 0, 0), 4, 'special', 'reserved or broadcast'],
];

const RANGES6: Range6[] = [
  [0xfc00n << 112n, 7, 'private', 'unique local (RFC 4193)'],
  [0xfe80n << 112n, 10, 'special', 'link-local'],
  [0xff00n << 112n, 8, 'special', 'multicast'],
  [1n, 128, 'special', 'loopback'],
  [0n, 128, 'special', 'unspecified'],
];

/** The known label of an IP address (text as in a summary), or undefined for an ordinary public address. */
export function classifyAddress(address: string): AddressLabel | undefined {
  const platform = AZURE_PLATFORM.get(address);
  if (platform !== undefined) return { kind: 'azure-platform', description: platform };
  const parsed = parseAddress(address);
  if (parsed === undefined) return undefined;
  if (parsed.version === 4) {
    for (const [base, bits, kind, description] of RANGES4) {
      const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
      if ((parsed.value & mask) >>> 0 === base) return { kind, description };
    }
    return undefined;
  }
  for (const [base, bits, kind, description] of RANGES6) {
    const shift = BigInt(128 - bits);
    if (parsed.value >> shift === base >> shift) return { kind, description };
  }
  return undefined;
}
