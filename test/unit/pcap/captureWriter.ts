/**
 * Test helpers that write small pcap/pcapng files and packets byte by byte, so tests can make exactly the edge
 * case they need (byte orders, resolutions, corrupt lengths, fragments, port reuse).
 */

/** One packet to write. */
export interface TestPacket {
  /** Seconds since the epoch (fractional allowed). */
  time: number;
  data: Uint8Array;
  /** Length on the wire; defaults to data.length. */
  originalLength?: number;
  /** pcapng interface index; default 0. */
  interfaceId?: number;
}

/** Options for the writers. */
export interface WriteCaptureOptions {
  littleEndian?: boolean;
  nanoseconds?: boolean;
  linkType?: number;
}

/** Classic pcap file. */
export function writePcap(packets: TestPacket[], options: WriteCaptureOptions = {}): Buffer {
  const le = options.littleEndian ?? true;
  const nano = options.nanoseconds ?? false;
  const header = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number): number =>
    le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o);
  const w16 = (b: Buffer, v: number, o: number): number =>
    le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o);
  w32(header, nano ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(header, 2, 4);
  w16(header, 4, 6);
  w32(header, 262144, 16);
  w32(header, options.linkType ?? 1, 20);
  const parts: Buffer[] = [header];
  for (const p of packets) {
    const rec = Buffer.alloc(16);
    const seconds = Math.floor(p.time);
    const fraction = Math.round((p.time - seconds) * (nano ? 1e9 : 1e6));
    w32(rec, seconds, 0);
    w32(rec, fraction, 4);
    w32(rec, p.data.length, 8);
    w32(rec, p.originalLength ?? p.data.length, 12);
    parts.push(rec, Buffer.from(p.data));
  }
  return Buffer.concat(parts);
}

function pad4(n: number): number {
  return (n + 3) & ~3;
}

/** One pcapng section (SHB, one IDB per link type given, EPBs). Concatenate sections for a multi-section file. */
export function writePcapng(
  packets: TestPacket[],
  options: WriteCaptureOptions & { linkTypes?: number[]; extraBlock?: boolean } = {},
): Buffer {
  const le = options.littleEndian ?? true;
  const nano = options.nanoseconds ?? false;
  const w32 = (b: Buffer, v: number, o: number): number =>
    le ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o);
  const w16 = (b: Buffer, v: number, o: number): number =>
    le ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o);
  const block = (type: number, body: Buffer): Buffer => {
    const length = 12 + body.length;
    const b = Buffer.alloc(length);
    w32(b, type, 0);
    w32(b, length, 4);
    body.copy(b, 8);
    w32(b, length, length - 4);
    return b;
  };
  const shb = Buffer.alloc(16);
  w32(shb, 0x1a2b3c4d, 0);
  w16(shb, 1, 4);
  w16(shb, 0, 6);
  shb.writeInt32LE(-1, 8);
  shb.writeInt32LE(-1, 12);
  const parts: Buffer[] = [block(0x0a0d0d0a, shb)];
  for (const linkType of options.linkTypes ?? [options.linkType ?? 1]) {
    const idb = Buffer.alloc(nano ? 8 + 8 + 4 : 8);
    w16(idb, linkType, 0);
    w32(idb, 262144, 4);
    if (nano) {
      w16(idb, 9, 8); // if_tsresol
      w16(idb, 1, 10);
      idb[12] = 9;
      // opt_endofopt follows (zeros)
    }
    parts.push(block(1, idb));
  }
  if (options.extraBlock === true) parts.push(block(0x0bad, Buffer.alloc(20, 7)));
  for (const p of packets) {
    const units = nano ? 1e9 : 1e6;
    const ticks = BigInt(Math.floor(p.time)) * BigInt(units) + BigInt(Math.round((p.time % 1) * units));
    const body = Buffer.alloc(20 + pad4(p.data.length));
    w32(body, p.interfaceId ?? 0, 0);
    w32(body, Number(ticks >> 32n), 4);
    w32(body, Number(ticks & 0xffffffffn), 8);
    w32(body, p.data.length, 12);
    w32(body, p.originalLength ?? p.data.length, 16);
    Buffer.from(p.data).copy(body, 20);
    parts.push(block(6, body));
  }
  return Buffer.concat(parts);
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += b[b.length - 1]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

/** Options for {@link ipv4Packet}. */
export interface Ipv4PacketOptions {
  src: string;
  dst: string;
  protocol: number;
  payload: Buffer;
  id?: number;
  moreFragments?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragmentOffset?: number;
  /** Total length to write in the header when it must differ from the real one. */
  totalLength?: number;
}

/** Ethernet + IPv4 packet around an already built transport payload. */
export function ipv4Packet(o: Ipv4PacketOptions): Buffer {
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(o.totalLength ?? 20 + o.payload.length, 2);
  ip.writeUInt16BE(o.id ?? 1, 4);
  ip.writeUInt16BE(((o.moreFragments ?? false) ? 0x2000 : 0) | ((o.fragmentOffset ?? 0) / 8), 6);
  ip[8] = 64;
  ip[9] = o.protocol;
  Buffer.from(ipv4Bytes(o.src)).copy(ip, 12);
  Buffer.from(ipv4Bytes(o.dst)).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
  return Buffer.concat([eth, ip, o.payload]);
}

/** TCP header (20 bytes, no options) plus payload; the checksum is left zero (tshark does not check it). */
export function tcpSegment(
  sport: number,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const h = Buffer.alloc(20);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt32BE(seq >>> 0, 4);
  h.writeUInt32BE(ack >>> 0, 8);
  h[12] = 5 << 4;
  h[13] = flags;
  h.writeUInt16BE(65535, 14);
  return Buffer.concat([h, payload]);
}

/** UDP header plus payload, checksum zero (none). */
/** An IPv4 TCP packet with `payload` bytes of 'a', for the summary tests. */
export function tcpPacket(
  src: string,
  sport: number,
  dst: string,
  dport: number,
  seq: number,
  ack: number,
  flags: number,
  payload = 0,
): Buffer {
  return ipv4Packet({
    src,
    dst,
    protocol: 6,
    payload: tcpSegment(sport, dport, seq, ack, flags, Buffer.alloc(payload, 0x61)),
  });
}

export function udpDatagram(sport: number, dport: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(8 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** Ethernet + IPv6 packet; `extension` is inserted as a hop-by-hop header when true. */
export function ipv6Packet(
  src: Buffer,
  dst: Buffer,
  next: number,
  payload: Buffer,
  hopByHop = false,
): Buffer {
  const ext = hopByHop ? Buffer.from([next, 0, 1, 4, 0, 0, 0, 0]) : Buffer.alloc(0);
  const ip = Buffer.alloc(40);
  ip[0] = 0x60;
  ip.writeUInt16BE(ext.length + payload.length, 4);
  ip[6] = hopByHop ? 0 : next;
  ip[7] = 64;
  src.copy(ip, 8);
  dst.copy(ip, 24);
  const eth = Buffer.from([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x86, 0xdd]);
  return Buffer.concat([eth, ip, ext, payload]);
}

/** TCP flag bits. */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;
