import { internetChecksum } from './internetChecksum.js';

/** TCP flag bits as they sit in the header's flags byte. */
export const TCP_FLAGS = { FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10 } as const;

/** The transport part of a synthesized packet. */
export type TransportSpec =
  | {
      kind: 'TCP';
      srcPort: number;
      dstPort: number;
      seq: number;
      ack: number;
      /** OR of {@link TCP_FLAGS}. */
      flags: number;
      window: number;
      /** Raw option bytes, a multiple of 4 long. */
      options: Buffer;
      payload: Buffer;
    }
  | { kind: 'UDP'; srcPort: number; dstPort: number; payload: Buffer }
  | { kind: 'ICMP'; type: number; code: number; id: number; seq: number; payload: Buffer };

/** One packet as the generator plans it, before it is encoded. */
export interface PacketSpec {
  /** Microseconds from the start of the capture window. */
  timeUs: number;
  /** True when the VM sent it. */
  outbound: boolean;
  srcIp: number;
  dstIp: number;
  ttl: number;
  ipId: number;
  dontFragment: boolean;
  transport: TransportSpec;
}

/** The link-layer addresses of the captured interface. */
export interface FrameMacs {
  vm: Buffer;
  gateway: Buffer;
}

const IPPROTO = { TCP: 6, UDP: 17, ICMP: 1 } as const;

/** The length in bytes of the Ethernet frame that {@link buildFrame} makes for `spec`, without building it. */
export function frameLength(spec: PacketSpec): number {
  return 14 + 20 + transportLength(spec.transport);
}

function transportLength(t: TransportSpec): number {
  switch (t.kind) {
    case 'TCP':
      return 20 + t.options.length + t.payload.length;
    case 'UDP':
      return 8 + t.payload.length;
    case 'ICMP':
      return 8 + t.payload.length;
  }
}

/**
 * Encodes `spec` as an Ethernet II / IPv4 frame with every checksum correct (IPv4 header, TCP and UDP over the
 * pseudo-header, ICMP). Outbound frames go from the VM's MAC to the gateway's, inbound ones the other way round,
 * as on an Azure NIC where every peer, even in the same subnet, is reached through the virtual gateway.
 */
export function buildFrame(spec: PacketSpec, macs: FrameMacs): Buffer {
  const l4 = encodeTransport(spec);
  const frame = Buffer.alloc(14 + 20 + l4.length);
  (spec.outbound ? macs.gateway : macs.vm).copy(frame, 0);
  (spec.outbound ? macs.vm : macs.gateway).copy(frame, 6);
  frame.writeUInt16BE(0x0800, 12);
  const ip = frame.subarray(14, 34);
  ip[0] = 0x45;
  ip[1] = 0;
  ip.writeUInt16BE(20 + l4.length, 2);
  ip.writeUInt16BE(spec.ipId & 0xffff, 4);
  ip.writeUInt16BE(spec.dontFragment ? 0x4000 : 0, 6);
  ip[8] = spec.ttl;
  ip[9] = IPPROTO[spec.transport.kind];
  ip.writeUInt32BE(spec.srcIp >>> 0, 12);
  ip.writeUInt32BE(spec.dstIp >>> 0, 16);
  ip.writeUInt16BE(internetChecksum(ip), 10);
  l4.copy(frame, 34);
  return frame;
}

function encodeTransport(spec: PacketSpec): Buffer {
  const t = spec.transport;
  const pseudo = (length: number): Buffer => {
    const p = Buffer.alloc(12);
    p.writeUInt32BE(spec.srcIp >>> 0, 0);
    p.writeUInt32BE(spec.dstIp >>> 0, 4);
    p[9] = IPPROTO[t.kind];
    p.writeUInt16BE(length, 10);
    return p;
  };
  switch (t.kind) {
    case 'TCP': {
      const header = Buffer.alloc(20 + t.options.length);
      header.writeUInt16BE(t.srcPort, 0);
      header.writeUInt16BE(t.dstPort, 2);
      header.writeUInt32BE(t.seq >>> 0, 4);
      header.writeUInt32BE(t.ack >>> 0, 8);
      header[12] = (header.length / 4) << 4;
      header[13] = t.flags;
      header.writeUInt16BE(t.window, 14);
      t.options.copy(header, 20);
      const segment = Buffer.concat([header, t.payload]);
      segment.writeUInt16BE(internetChecksum(pseudo(segment.length), segment), 16);
      return segment;
    }
    case 'UDP': {
      const datagram = Buffer.alloc(8 + t.payload.length);
      datagram.writeUInt16BE(t.srcPort, 0);
      datagram.writeUInt16BE(t.dstPort, 2);
      datagram.writeUInt16BE(datagram.length, 4);
      t.payload.copy(datagram, 8);
      // RFC 768: a computed zero is sent as all ones, because zero means "no checksum".
      datagram.writeUInt16BE(internetChecksum(pseudo(datagram.length), datagram) || 0xffff, 6);
      return datagram;
    }
    case 'ICMP': {
      const message = Buffer.alloc(8 + t.payload.length);
      message[0] = t.type;
      message[1] = t.code;
      message.writeUInt16BE(t.id, 4);
      message.writeUInt16BE(t.seq, 6);
      t.payload.copy(message, 8);
      message.writeUInt16BE(internetChecksum(message), 2);
      return message;
    }
  }
}
