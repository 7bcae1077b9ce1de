/** What the decoder found in a packet. The object is reused from one packet to the next. */
export interface DecodedPacket {
  /** Network layer: 4 or 6 for IP with a complete header, 0 otherwise. */
  ipVersion: 0 | 4 | 6;
  /** Protocol class for the protocol mix: `tcp`, `udp`, `icmp`, `icmpv6`, `ipv4-other`, `ipv6-other`, `arp`, `other`. */
  protocolClass: string;
  /** IP protocol number after IPv6 extension headers; -1 when not IP. */
  ipProtocol: number;
  /** Addresses: IPv4 as an unsigned 32-bit number, IPv6 as 32 hex digits. */
  source: number | string;
  destination: number | string;
  /**
   * Which transport header this packet contributes to a conversation, following tshark's taps: 0 none, else the IP
   * protocol (6, 17, 1, 58, or another number for a conversation keyed by address pair only).
   */
  transport: number;
  /** True when the transport header is complete enough for tshark to count the packet in `conv,tcp`/`conv,udp`. */
  transportCounted: boolean;
  sourcePort: number;
  destinationPort: number;
  /** TCP only. */
  tcpFlags: number;
  tcpSeq: number;
  tcpAck: number;
  /** TCP payload length, when known (not a fragment, header within the reported length); -1 otherwise. */
  tcpPayloadLength: number;
}

/** TCP flag bits as in the header's flags byte. */
export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_ACK = 0x10;

/** Pending fragmented datagrams kept for reassembly; beyond it the oldest is dropped. */
const MAX_PENDING_DATAGRAMS = 4096;
/** Fragments of one datagram kept; a datagram in more pieces is dropped (no real stack sends that many). */
const MAX_FRAGMENTS_PER_DATAGRAM = 512;
/** Bytes of the first fragment kept: enough for any transport header we read. */
const FIRST_FRAGMENT_BYTES = 64;

interface PendingDatagram {
  /** Total payload length, known once the last fragment arrived; -1 before. */
  total: number;
  ranges: number[];
  first: Uint8Array | undefined;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function hex16(b: Uint8Array, i: number): string {
  let s = '';
  for (let k = i; k < i + 16; k++) s += HEX[b[k]!]!;
  return s;
}

/**
 * Decodes link, network and transport headers the way tshark's conversation taps see them. It keeps state for IP
 * reassembly because tshark (by default) reassembles IPv4 and IPv6 fragments and dissects the transport header only
 * in the frame that completes a datagram; a fragment that was cut by the snap length is never reassembled, and only
 * a first fragment is then dissected.
 */
export class PacketDecoder {
  private readonly out: DecodedPacket = {
    ipVersion: 0,
    protocolClass: 'other',
    ipProtocol: -1,
    source: 0,
    destination: 0,
    transport: 0,
    transportCounted: false,
    sourcePort: 0,
    destinationPort: 0,
    tcpFlags: 0,
    tcpSeq: 0,
    tcpAck: 0,
    tcpPayloadLength: -1,
  };
  private readonly pending = new Map<string, PendingDatagram>();

  /**
   * Decodes one packet.
   * @param linkType - LINKTYPE_* of the interface.
   * @param b - Buffer holding the packet bytes from `start` for `capturedLength` bytes.
   * @param originalLength - Length on the wire, which bounds the "reported" length of every layer.
   */
  decode(
    linkType: number,
    b: Uint8Array,
    start: number,
    capturedLength: number,
    originalLength: number,
  ): DecodedPacket {
    const d = this.out;
    d.ipVersion = 0;
    d.protocolClass = 'other';
    d.ipProtocol = -1;
    d.transport = 0;
    d.transportCounted = false;
    d.sourcePort = 0;
    d.destinationPort = 0;
    d.tcpFlags = 0;
    d.tcpPayloadLength = -1;
    const end = start + capturedLength;
    let p: number;
    let etherType: number;
    switch (linkType) {
      case 1: // Ethernet
        if (capturedLength < 14) return d;
        etherType = (b[start + 12]! << 8) | b[start + 13]!;
        p = start + 14;
        // 802.1Q, 802.1ad and the pre-standard QinQ tag, stacked any number of times.
        while (etherType === 0x8100 || etherType === 0x88a8 || etherType === 0x9100) {
          if (p + 4 > end) return d;
          etherType = (b[p + 2]! << 8) | b[p + 3]!;
          p += 4;
        }
        break;
      case 113: // Linux cooked (SLL)
        if (capturedLength < 16) return d;
        etherType = (b[start + 14]! << 8) | b[start + 15]!;
        p = start + 16;
        break;
      case 276: // Linux cooked v2 (SLL2)
        if (capturedLength < 20) return d;
        etherType = (b[start]! << 8) | b[start + 1]!;
        p = start + 20;
        break;
      case 101: // LINKTYPE_RAW
      case 12: // DLT_RAW as most systems number it
      case 14: // DLT_RAW on OpenBSD
      case 228: // LINKTYPE_IPV4
      case 229: // LINKTYPE_IPV6
        if (capturedLength < 1) return d;
        p = start;
        etherType = b[p]! >> 4 === 6 ? 0x86dd : b[p]! >> 4 === 4 ? 0x0800 : 0;
        break;
      case 0: // BSD loopback: address family in the capturing host's byte order
      case 108: {
        // OpenBSD loopback: the same, always big-endian
        if (capturedLength < 4) return d;
        const family =
          linkType === 108 || b[start] === 0
            ? ((b[start]! << 24) | (b[start + 1]! << 16) | (b[start + 2]! << 8) | b[start + 3]!) >>> 0
            : (b[start]! | (b[start + 1]! << 8) | (b[start + 2]! << 16) | (b[start + 3]! << 24)) >>> 0;
        p = start + 4;
        etherType =
          family === 2
            ? 0x0800
            : family === 10 || family === 24 || family === 28 || family === 30
              ? 0x86dd
              : 0;
        break;
      }
      default:
        return d;
    }
    if (etherType === 0x0800) this.ipv4(b, p, end, originalLength - (p - start));
    else if (etherType === 0x86dd) this.ipv6(b, p, end, originalLength - (p - start));
    else if (etherType === 0x0806) d.protocolClass = 'arp';
    return d;
  }

  private ipv4(b: Uint8Array, p: number, end: number, reported: number): void {
    const d = this.out;
    d.protocolClass = 'ipv4-other';
    if (p + 20 > end) return;
    const vhl = b[p]!;
    const headerLength = (vhl & 15) * 4;
    if (vhl >> 4 !== 4 || headerLength < 20 || p + headerLength > end) return;
    let totalLength = (b[p + 2]! << 8) | b[p + 3]!;
    // A total length of 0 comes from TCP segmentation offload: the frame holds the real length.
    if (totalLength === 0) totalLength = reported;
    if (totalLength < headerLength) return;
    const proto = b[p + 9]!;
    d.ipVersion = 4;
    d.ipProtocol = proto;
    d.protocolClass = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 1 ? 'icmp' : 'ipv4-other';
    d.source = ((b[p + 12]! << 24) | (b[p + 13]! << 16) | (b[p + 14]! << 8) | b[p + 15]!) >>> 0;
    d.destination = ((b[p + 16]! << 24) | (b[p + 17]! << 16) | (b[p + 18]! << 8) | b[p + 19]!) >>> 0;
    const flagsOffset = (b[p + 6]! << 8) | b[p + 7]!;
    const moreFragments = (flagsOffset & 0x2000) !== 0;
    const fragmentOffset = (flagsOffset & 0x1fff) * 8;
    const payload = p + headerLength;
    const payloadReported = Math.min(totalLength, reported) - headerLength;
    const payloadEnd = Math.min(end, p + totalLength);
    if (moreFragments || fragmentOffset > 0) {
      const id = (b[p + 4]! << 8) | b[p + 5]!;
      this.fragment(
        `4/${proto}/${id}/${d.source}/${d.destination}`,
        b,
        payload,
        payloadEnd,
        totalLength - headerLength,
        p + totalLength <= end,
        fragmentOffset,
        moreFragments,
      );
    } else {
      this.transport(b, payload, payloadEnd, payloadReported, false);
    }
  }

  private ipv6(b: Uint8Array, p: number, end: number, reported: number): void {
    const d = this.out;
    d.protocolClass = 'ipv6-other';
    if (p + 40 > end || b[p]! >> 4 !== 6) return;
    let payloadLength = (b[p + 4]! << 8) | b[p + 5]!;
    if (payloadLength === 0) payloadLength = reported - 40; // jumbogram or offload
    let next = b[p + 6]!;
    d.ipVersion = 6;
    d.source = hex16(b, p + 8);
    d.destination = hex16(b, p + 24);
    const datagramEnd = p + 40 + payloadLength;
    const reportedEnd = p + Math.min(40 + payloadLength, reported);
    let q = p + 40;
    let fragment = false;
    let fragmentOffset = 0;
    let moreFragments = false;
    let id = 0;
    for (;;) {
      if (next === 0 || next === 43 || next === 60) {
        if (q + 2 > end) return this.ipv6Unknown(next);
        next = b[q]!;
        q += (b[q + 1]! + 1) * 8;
      } else if (next === 51) {
        if (q + 2 > end) return this.ipv6Unknown(next);
        next = b[q]!;
        q += (b[q + 1]! + 2) * 4;
      } else if (next === 44) {
        if (q + 8 > end) return this.ipv6Unknown(next);
        next = b[q]!;
        const field = (b[q + 2]! << 8) | b[q + 3]!;
        fragmentOffset = field & 0xfff8;
        moreFragments = (field & 1) !== 0;
        fragment = fragmentOffset > 0 || moreFragments;
        id = ((b[q + 4]! << 24) | (b[q + 5]! << 16) | (b[q + 6]! << 8) | b[q + 7]!) >>> 0;
        q += 8;
      } else break;
    }
    d.ipProtocol = next;
    d.protocolClass = next === 6 ? 'tcp' : next === 17 ? 'udp' : next === 58 ? 'icmpv6' : 'ipv6-other';
    const payloadEnd = Math.min(end, datagramEnd);
    if (q > payloadEnd) return;
    if (fragment) {
      this.fragment(
        `6/${next}/${id}/${d.source}/${d.destination}`,
        b,
        q,
        payloadEnd,
        datagramEnd - q,
        datagramEnd <= end,
        fragmentOffset,
        moreFragments,
      );
    } else {
      this.transport(b, q, payloadEnd, reportedEnd - q, false);
    }
  }

  private ipv6Unknown(next: number): void {
    this.out.ipProtocol = next;
  }

  /**
   * Handles one IP fragment like tshark's default reassembly: a fragment whose bytes were all captured joins its
   * datagram, and the transport header is read only in the frame that completes it; otherwise only a first
   * fragment's header is read.
   */
  private fragment(
    key: string,
    b: Uint8Array,
    payload: number,
    payloadEnd: number,
    payloadLength: number,
    complete: boolean,
    fragmentOffset: number,
    moreFragments: boolean,
  ): void {
    if (!(complete && payloadLength > 0)) {
      if (fragmentOffset === 0) this.transport(b, payload, payloadEnd, payloadLength, true);
      return;
    }
    let datagram = this.pending.get(key);
    if (datagram === undefined) {
      if (this.pending.size >= MAX_PENDING_DATAGRAMS) {
        const oldest = this.pending.keys().next();
        if (oldest.done !== true) this.pending.delete(oldest.value);
      }
      datagram = { total: -1, ranges: [], first: undefined };
      this.pending.set(key, datagram);
    }
    if (datagram.ranges.length >= MAX_FRAGMENTS_PER_DATAGRAM * 2) {
      this.pending.delete(key);
      return;
    }
    datagram.ranges.push(fragmentOffset, fragmentOffset + payloadLength);
    if (!moreFragments) datagram.total = fragmentOffset + payloadLength;
    if (fragmentOffset === 0) {
      datagram.first = b.slice(payload, Math.min(payloadEnd, payload + FIRST_FRAGMENT_BYTES));
    }
    if (datagram.total < 0 || datagram.first === undefined || !covers(datagram.ranges, datagram.total))
      return;
    this.pending.delete(key);
    // The reassembled datagram is complete in the capture, so its header is fully "captured".
    this.transport(datagram.first, 0, datagram.first.length, datagram.total, false);
  }

  private transport(
    b: Uint8Array,
    q: number,
    capturedEnd: number,
    reported: number,
    fragmented: boolean,
  ): void {
    const d = this.out;
    const proto = d.ipProtocol;
    if (proto === 6) {
      if (q + 20 > capturedEnd) return;
      d.transport = 6;
      d.sourcePort = (b[q]! << 8) | b[q + 1]!;
      d.destinationPort = (b[q + 2]! << 8) | b[q + 3]!;
      d.tcpSeq = ((b[q + 4]! << 24) | (b[q + 5]! << 16) | (b[q + 6]! << 8) | b[q + 7]!) >>> 0;
      d.tcpAck = ((b[q + 8]! << 24) | (b[q + 9]! << 16) | (b[q + 10]! << 8) | b[q + 11]!) >>> 0;
      const headerLength = (b[q + 12]! >> 4) * 4;
      d.tcpFlags = b[q + 13]!;
      if (!fragmented && reported >= headerLength) d.tcpPayloadLength = reported - headerLength;
      // tshark gives up on a bogus header length, and dissecting options cut by the snap length throws before
      // the conversation tap is queued: such segments are not in `conv,tcp`.
      d.transportCounted = headerLength >= 20 && q + headerLength <= capturedEnd;
    } else if (proto === 17) {
      if (q + 8 > capturedEnd) return;
      d.transport = 17;
      d.sourcePort = (b[q]! << 8) | b[q + 1]!;
      d.destinationPort = (b[q + 2]! << 8) | b[q + 3]!;
      const udpLength = (b[q + 4]! << 8) | b[q + 5]!;
      d.transportCounted = udpLength >= 8 || (udpLength === 0 && d.ipVersion === 6);
    } else {
      d.transport = proto;
      d.transportCounted = true;
    }
  }
}

/** True when the [start, end) pairs in `ranges` cover [0, total) without a gap. */
function covers(ranges: number[], total: number): boolean {
  const pairs: [number, number][] = [];
  for (let i = 0; i < ranges.length; i += 2) pairs.push([ranges[i]!, ranges[i + 1]!]);
  pairs.sort((x, y) => x[0] - y[0]);
  let reached = 0;
  for (const [s, e] of pairs) {
    if (s > reached) return false;
    if (e > reached) reached = e;
    if (reached >= total) return true;
  }
  return reached >= total;
}
