import { createPrng, hashSeed } from './createPrng.js';
import { parseIpv4 } from './ipv4.js';

/** Another host the VM talks to. */
export interface Peer {
  ip: number;
  /** DNS name the VM resolves before connecting, when it has one. */
  name?: string;
  /** TTL of the peer's packets as they reach the VM. */
  ttl: number;
  /** Round trip time seen from the VM, in microseconds. */
  rttUs: number;
  /** MSS the peer announces. */
  mss: number;
}

/** What a VM's traffic looks like: who it talks to and what it serves. Derived from the VM's id alone. */
export interface TrafficProfile {
  localIp: number;
  /** Microsoft OUI 00:0d:3a, as Azure gives its NICs. */
  vmMac: Buffer;
  /** Azure's virtual gateway MAC, the next hop of every packet a VM sends. */
  gatewayMac: Buffer;
  /** 168.63.129.16: DNS resolver and WireServer. */
  azurePlatform: Peer;
  /** 169.254.169.254: Instance Metadata Service. */
  imds: Peer;
  ntpServer: Peer;
  /** Public services the VM calls over HTTPS. */
  webServices: Peer[];
  /** Public clients browsing the VM's web server. */
  webClients: Peer[];
  /** Hosts in the VM's own virtual network. */
  vnetPeers: Peer[];
  /** Public host that never answers the VM's SYNs (a blackholed or NSG-dropped destination). */
  blackhole: Peer;
  /** Port of the VM's web server (80) and of its internal API (8080 or 8088). */
  webPort: number;
  apiPort: number;
  /** TCP port on a VNet peer where nothing listens (connection refused). */
  closedPort: number;
  /** Port on `blackhole` the VM keeps trying. */
  blackholePort: number;
}

const AZURE_GATEWAY_MAC = Buffer.from([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc]);
const SERVICE_NAMES = [
  'management.azure.com',
  'login.microsoftonline.com',
  'packages.microsoft.com',
  'azure.archive.ubuntu.com',
  'api.github.com',
  'global.handler.control.monitor.azure.com',
];
// First octets of public address space (Azure, Microsoft, CDNs and ISPs); never private, reserved or documentation.
const SERVICE_FIRST_OCTETS = [13, 20, 23, 40, 51, 52, 104, 137, 138, 191];
const CLIENT_FIRST_OCTETS = [31, 62, 81, 88, 92, 145, 176, 185, 213, 217];

/**
 * Builds the deterministic traffic profile of the VM `vmId` (ARM ids are case-insensitive, so is the seed) whose
 * private address is `localIp`.
 * @throws RangeError when `localIp` is not an IPv4 address.
 */
export function createTrafficProfile(vmId: string, localIp: string): TrafficProfile {
  const local = parseIpv4(localIp);
  if (local === undefined) throw new RangeError(`localIp: expected an IPv4 address, found "${localIp}"`);
  const prng = createPrng(hashSeed(`profile:${vmId.toLowerCase()}`));
  const publicIp = (firstOctets: readonly number[]): number =>
    ((prng.pick(firstOctets) << 24) |
      (prng.int(0, 255) << 16) |
      (prng.int(0, 255) << 8) |
      prng.int(1, 254)) >>>
    0;
  const publicPeer = (firstOctets: readonly number[], name?: string): Peer => ({
    ip: publicIp(firstOctets),
    ...(name === undefined ? {} : { name }),
    ttl: prng.pick([64, 128, 255]) - prng.int(8, 22),
    rttUs: prng.int(4_000, 80_000),
    mss: prng.pick([1460, 1440, 1400]),
  });
  const vnetIps = new Set<number>([local]);
  const vnetPeer = (): Peer => {
    let ip = local;
    while (vnetIps.has(ip)) ip = ((local & 0xffff0000) | (prng.int(0, 3) << 8) | prng.int(4, 254)) >>> 0;
    // Keep the VM's own third octet most of the time: peers usually share its subnet.
    if (prng.chance(0.6)) ip = ((ip & 0xffff00ff) | (local & 0x0000ff00)) >>> 0;
    while (vnetIps.has(ip)) ip = ((ip & 0xffffff00) | prng.int(4, 254)) >>> 0;
    vnetIps.add(ip);
    return { ip, ttl: prng.pick([64, 128]), rttUs: prng.int(300, 1_500), mss: 1460 };
  };
  const names = prng.shuffle(SERVICE_NAMES);
  const serviceCount = prng.int(3, 4);
  return {
    localIp: local,
    vmMac: Buffer.from([0x00, 0x0d, 0x3a, prng.int(0, 255), prng.int(0, 255), prng.int(0, 255)]),
    gatewayMac: AZURE_GATEWAY_MAC,
    azurePlatform: {
      ip: parseIpv4('168.63.129.16') as number,
      ttl: 128,
      rttUs: prng.int(400, 1_200),
      mss: 1460,
    },
    imds: { ip: parseIpv4('169.254.169.254') as number, ttl: 128, rttUs: prng.int(300, 900), mss: 1460 },
    ntpServer: publicPeer(SERVICE_FIRST_OCTETS, 'time.windows.com'),
    webServices: names.slice(0, serviceCount).map((name) => publicPeer(SERVICE_FIRST_OCTETS, name)),
    webClients: Array.from({ length: prng.int(2, 3) }, () => publicPeer(CLIENT_FIRST_OCTETS)),
    vnetPeers: Array.from({ length: prng.int(2, 3) }, vnetPeer),
    blackhole: publicPeer(CLIENT_FIRST_OCTETS),
    webPort: 80,
    apiPort: prng.pick([8080, 8088]),
    closedPort: prng.pick([9200, 9300, 7001, 8983]),
    blackholePort: prng.pick([8443, 5671, 9093]),
  };
}
