import { buildFrame, frameLength } from './buildFrame.js';
import type { PacketSpec } from './buildFrame.js';
import { createTrafficProfile } from './createTrafficProfile.js';
import { generateTraffic } from './generateTraffic.js';
import type { CaptureFilterSpec, FilterablePacket } from './matchesFilters.js';
import { compileFilters } from './matchesFilters.js';
import { parseIpv4 } from './ipv4.js';

/** What the emulator knows about a capture when it stops. */
export interface SynthesizeCaptureOptions {
  /** ARM id of the VM: seeds a deterministic per-VM traffic profile. */
  vmId: string;
  /** The VM's private IPv4 address (e.g. 10.1.2.3). */
  localIp: string;
  startTime: Date;
  /** The capture window. */
  durationSeconds: number;
  filters: CaptureFilterSpec[];
  /** Snap length; 0 = whole packet. */
  bytesToCapturePerPacket: number;
  /** Stop writing when the file would exceed this many bytes. */
  totalBytesPerSession: number;
  /** Known traffic changes on this VM (a test's "t0"), merged into the generated traffic. */
  events?: readonly TrafficEvent[];
}

/**
 * A known traffic change: from `atMs` (for `durationSeconds`, default to the end of any capture) a remote host
 * sends `packetsPerSecond` UDP datagrams of `payloadBytes` to the VM's `localPort`. Lets a test put a conversation
 * that exists only after a known time into every capture and ring file that spans it.
 */
export interface TrafficEvent {
  atMs: number;
  durationSeconds?: number;
  remoteIp: string;
  remotePort: number;
  localPort: number;
  packetsPerSecond: number;
  payloadBytes: number;
}

/** The event's packets inside `[startMs, startMs + durationSeconds)`, as times from `startMs`. */
function eventPackets(
  event: TrafficEvent,
  localIp: number,
  startMs: number,
  durationSeconds: number,
): PacketSpec[] {
  const remote = parseIpv4(event.remoteIp);
  if (remote === undefined) throw new RangeError(`not an IPv4 address: ${event.remoteIp}`);
  const endMs = Math.min(
    startMs + durationSeconds * 1000,
    event.durationSeconds === undefined
      ? Number.POSITIVE_INFINITY
      : event.atMs + event.durationSeconds * 1000,
  );
  const stepUs = Math.max(1, Math.round(1e6 / event.packetsPerSecond));
  const out: PacketSpec[] = [];
  // Packets on a fixed grid from atMs, so every capture of the VM sees the same ones.
  const firstIndex = Math.max(0, Math.ceil(((startMs - event.atMs) * 1000) / stepUs));
  for (let i = firstIndex; ; i++) {
    const atUs = event.atMs * 1000 + i * stepUs;
    if (atUs >= endMs * 1000) break;
    out.push({
      timeUs: atUs - startMs * 1000,
      outbound: false,
      srcIp: remote,
      dstIp: localIp,
      ttl: 51,
      ipId: i & 0xffff,
      dontFragment: false,
      transport: {
        kind: 'UDP',
        srcPort: event.remotePort,
        dstPort: event.localPort,
        payload: Buffer.alloc(event.payloadBytes, 0x5a),
      },
    });
  }
  return out;
}

/** A capture file and what went into it. */
export interface SynthesizedCapture {
  /** A classic libpcap file. */
  file: Buffer;
  packets: number;
  /** True when a packet was left out because the file would have grown past `totalBytesPerSession`. */
  bytesLimitReached: boolean;
  /** Time of the last packet written, or `startTime` when none was. */
  lastPacketTime: Date;
}

/** Bytes of the libpcap global header. */
export const PCAP_GLOBAL_HEADER_BYTES = 24;
/** Bytes of each libpcap record header. */
export const PCAP_RECORD_HEADER_BYTES = 16;
/** Snap length written in the header when the capture keeps whole packets (tcpdump's default). */
export const PCAP_WHOLE_PACKET_SNAPLEN = 262_144;
const LINKTYPE_ETHERNET = 1;

/** The VM-side view of a planned packet, which is what Network Watcher filters look at. */
export function filterView(packet: PacketSpec): FilterablePacket {
  const t = packet.transport;
  const localIp = packet.outbound ? packet.srcIp : packet.dstIp;
  const remoteIp = packet.outbound ? packet.dstIp : packet.srcIp;
  if (t.kind === 'ICMP') return { protocol: 'ICMP', localIp, remoteIp };
  return {
    protocol: t.kind,
    localIp,
    remoteIp,
    localPort: packet.outbound ? t.srcPort : t.dstPort,
    remotePort: packet.outbound ? t.dstPort : t.srcPort,
  };
}

/**
 * Synthesizes the capture file a Network Watcher packet capture of the VM would have written: a classic libpcap
 * file (microsecond timestamps, Ethernet) of deterministic traffic (same options, same bytes), filtered,
 * snapped to `bytesToCapturePerPacket` and cut before it would exceed `totalBytesPerSession` (the global header
 * is always written, so even a tiny limit gives a readable, empty file).
 * @throws CaptureFilterError when a filter is not in Network Watcher's notation.
 * @throws RangeError when `localIp` is not an IPv4 address.
 */
export function synthesizeCapture(options: SynthesizeCaptureOptions): SynthesizedCapture {
  const keep = compileFilters(options.filters);
  const profile = createTrafficProfile(options.vmId, options.localIp);
  const snap = Math.max(0, Math.floor(options.bytesToCapturePerPacket));
  let planned = generateTraffic(profile, {
    seed: options.vmId.toLowerCase(),
    startTime: options.startTime,
    durationSeconds: options.durationSeconds,
  });
  if (options.events && options.events.length > 0) {
    const startMs = options.startTime.getTime();
    planned = [
      ...planned,
      ...options.events.flatMap((e) => eventPackets(e, profile.localIp, startMs, options.durationSeconds)),
    ].sort((a, b) => a.timeUs - b.timeUs);
  }
  const header = Buffer.alloc(PCAP_GLOBAL_HEADER_BYTES);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(snap === 0 ? PCAP_WHOLE_PACKET_SNAPLEN : Math.min(snap, 0xffffffff), 16);
  header.writeUInt32LE(LINKTYPE_ETHERNET, 20);
  const parts: Buffer[] = [header];
  let size = PCAP_GLOBAL_HEADER_BYTES;
  let packets = 0;
  let bytesLimitReached = false;
  let lastPacketTime = options.startTime;
  const macs = { vm: profile.vmMac, gateway: profile.gatewayMac };
  const startUs = options.startTime.getTime() * 1000;
  for (const spec of planned) {
    if (!keep(filterView(spec))) continue;
    const length = frameLength(spec);
    const captured = snap === 0 ? length : Math.min(length, snap);
    if (size + PCAP_RECORD_HEADER_BYTES + captured > options.totalBytesPerSession) {
      bytesLimitReached = true;
      break;
    }
    const frame = buildFrame(spec, macs);
    const record = Buffer.alloc(PCAP_RECORD_HEADER_BYTES);
    const timeUs = startUs + spec.timeUs;
    record.writeUInt32LE(Math.floor(timeUs / 1e6) >>> 0, 0);
    record.writeUInt32LE(timeUs % 1e6, 4);
    record.writeUInt32LE(captured, 8);
    record.writeUInt32LE(length, 12);
    parts.push(record, captured === length ? frame : frame.subarray(0, captured));
    size += PCAP_RECORD_HEADER_BYTES + captured;
    packets++;
    lastPacketTime = new Date(Math.floor(timeUs / 1000));
  }
  return { file: Buffer.concat(parts, size), packets, bytesLimitReached, lastPacketTime };
}
