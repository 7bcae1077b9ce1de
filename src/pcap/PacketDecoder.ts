/** What the decoder found in a packet. The object is reused from one packet to the next. */
export interface DecodedPacket {
  /** Network layer: 4 or 6 for IP with a complete header, 0 otherwise. */
  ipVersion: 0 | 4 | 6;
  /** Protocol class for the protocol mix: `tcp`, `udp`, `icmp`, `icmpv6`, `ipv4-other`, `ipv6-other`, `arp`, `other`. */
  protocolClass: string;
  /** IP protocol number after IPv6 extension headers; -1 when not IP. */
  ipProtocol: number;
  /** Addresses as big-endian 32-bit words: IPv4 in word 0 (the others 0), IPv6 in all four. */
  source: Uint32Array;
  destination: Uint32Array;
  /**
   * Which transport header this packet contributes to a conversation: 0 none, else the IP protocol (6 and 17
   * whenever their ports were captured; 1, 58 or another number for a conversation keyed by address pair only).
   */
  transport: number;
  sourcePort: number;
  destinationPort: number;
  /** True when a header (IP or transport) was cut by the snap length before its end. */
  headerCut: boolean;
  /** TCP only: how many bytes of the TCP header were captured (fields past that are unknown). */
  tcpCaptured: number;
  tcpFlags: number;
  tcpSeq: number;
  tcpAck: number;
  tcpWindow: number;
  /** TCP payload length, when known (not a fragment, header within the reported length); -1 otherwise. */
  tcpPayloadLength: number;
  /** ICMP/ICMPv6 type and code; -1 when not ICMP or not captured. */
  icmpType: number;
  icmpCode: number;
  /** For ICMP errors: the next-hop MTU (fragmentation needed, packet too big), else 0. */
  icmpMtu: number;
  /** For ICMP errors quoting a datagram: its IP version (0 when not captured), protocol, addresses and ports. */
  innerVersion: 0 | 4 | 6;
  innerProtocol: number;
  innerSource: Uint32Array;
  innerDestination: Uint32Array;
  innerSourcePort: number;
  innerDestinationPort: number;
  /** UDP only: where the captured payload is (in `payloadBuffer`), for the DNS reader. */
  payloadBuffer: Uint8Array;
  payloadStart: number;
  payloadEnd: number;
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

function word(b: Uint8Array, i: number): number {
  return ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0;
}

/** Reads an IPv6 address at `i` into `out` as four words. */
function words16(b: Uint8Array, i: number, out: Uint32Array): void {
  out[0] = word(b, i);
  out[1] = word(b, i + 4);
  out[2] = word(b, i + 8);
  out[3] = word(b, i + 12);
}

const EMPTY = new Uint8Array(0);

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
    source: new Uint32Array(4),
    destination: new Uint32Array(4),
    transport: 0,
    sourcePort: 0,
    destinationPort: 0,
    headerCut: false,
    tcpCaptured: 0,
    tcpFlags: 0,
    tcpSeq: 0,
    tcpAck: 0,
    tcpWindow: 0,
    tcpPayloadLength: -1,
    icmpType: -1,
    icmpCode: -1,
    icmpMtu: 0,
    innerVersion: 0,
    innerProtocol: -1,
    innerSource: new Uint32Array(4),
    innerDestination: new Uint32Array(4),
    innerSourcePort: 0,
    innerDestinationPort: 0,
    payloadBuffer: EMPTY,
    payloadStart: 0,
    payloadEnd: 0,
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
    d.sourcePort = 0;
    d.destinationPort = 0;
    d.headerCut = false;
    d.tcpCaptured = 0;
    d.tcpFlags = 0;
    d.tcpPayloadLength = -1;
    d.icmpType = -1;
    d.innerVersion = 0;
    d.payloadBuffer = EMPTY;
    d.payloadStart = 0;
    d.payloadEnd = 0;
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
    const vhl = b[p]!;
    const headerLength = (vhl & 15) * 4;
    if (p + 20 > end || p + headerLength > end) {
      d.headerCut = end - p < reported;
      return;
    }
    if (vhl >> 4 !== 4 || headerLength < 20) return;
    let totalLength = (b[p + 2]! << 8) | b[p + 3]!;
    // A total length of 0 comes from TCP segmentation offload: the frame holds the real length.
    if (totalLength === 0) totalLength = reported;
    if (totalLength < headerLength) return;
    const proto = b[p + 9]!;
    d.ipVersion = 4;
    d.ipProtocol = proto;
    d.protocolClass = proto === 6 ? 'tcp' : proto === 17 ? 'udp' : proto === 1 ? 'icmp' : 'ipv4-other';
    d.source.fill(0);
    d.destination.fill(0);
    d.source[0] = word(b, p + 12);
    d.destination[0] = word(b, p + 16);
    const flagsOffset = (b[p + 6]! << 8) | b[p + 7]!;
    const moreFragments = (flagsOffset & 0x2000) !== 0;
    const fragmentOffset = (flagsOffset & 0x1fff) * 8;
    const payload = p + headerLength;
    const payloadReported = Math.min(totalLength, reported) - headerLength;
    const payloadEnd = Math.min(end, p + totalLength);
    if (moreFragments || fragmentOffset > 0) {
      const id = (b[p + 4]! << 8) | b[p + 5]!;
      this.fragment(
        `4/${proto}/${id}/${d.source[0]}/${d.destination[0]}`,
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
    if (p + 40 > end) {
      d.headerCut = end - p < reported;
      return;
    }
    if (b[p]! >> 4 !== 6) return;
    let payloadLength = (b[p + 4]! << 8) | b[p + 5]!;
    if (payloadLength === 0) payloadLength = reported - 40; // jumbogram or offload
    let next = b[p + 6]!;
    d.ipVersion = 6;
    words16(b, p + 8, d.source);
    words16(b, p + 24, d.destination);
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
        `6/${next}/${id}/${d.source.join('.')}/${d.destination.join('.')}`,
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

  /** An extension header cut by the snap length: the transport is unknown. */
  private ipv6Unknown(next: number): void {
    this.out.ipProtocol = next;
    this.out.headerCut = true;
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

  /**
   * Reads the transport header. Unlike tshark's conversation taps (which drop a TCP segment whose options were cut
   * by the snap length), a TCP or UDP packet counts in its conversation whenever its ports were captured: with a
   * 60-byte snap length most TCP segments would otherwise vanish from the conversations.
   */
  private transport(
    b: Uint8Array,
    q: number,
    capturedEnd: number,
    reported: number,
    fragmented: boolean,
  ): void {
    const d = this.out;
    const proto = d.ipProtocol;
    const captured = capturedEnd - q;
    const snapped = captured < reported;
    if (proto === 6) {
      const headerLength = captured >= 13 ? (b[q + 12]! >> 4) * 4 : 20;
      if (captured < Math.max(20, headerLength)) d.headerCut = snapped;
      if (captured < 4) return;
      d.transport = 6;
      d.tcpCaptured = captured;
      d.sourcePort = (b[q]! << 8) | b[q + 1]!;
      d.destinationPort = (b[q + 2]! << 8) | b[q + 3]!;
      if (captured >= 8) d.tcpSeq = word(b, q + 4);
      if (captured >= 12) d.tcpAck = word(b, q + 8);
      if (captured >= 14) d.tcpFlags = b[q + 13]!;
      if (captured >= 16) d.tcpWindow = (b[q + 14]! << 8) | b[q + 15]!;
      if (captured >= 13 && !fragmented && headerLength >= 20 && reported >= headerLength)
        d.tcpPayloadLength = reported - headerLength;
    } else if (proto === 17) {
      if (captured < 8) d.headerCut = snapped;
      if (captured < 4) return;
      d.transport = 17;
      d.sourcePort = (b[q]! << 8) | b[q + 1]!;
      d.destinationPort = (b[q + 2]! << 8) | b[q + 3]!;
      if (captured > 8 && !fragmented) {
        d.payloadBuffer = b;
        d.payloadStart = q + 8;
        d.payloadEnd = capturedEnd;
      }
    } else {
      d.transport = proto;
      if ((proto === 1 && d.ipVersion === 4) || (proto === 58 && d.ipVersion === 6))
        this.icmp(b, q, capturedEnd);
    }
  }

  /** ICMP type and code, and for destination unreachable / packet too big the quoted datagram's 5-tuple. */
  private icmp(b: Uint8Array, q: number, capturedEnd: number): void {
    const d = this.out;
    if (q + 2 > capturedEnd) return;
    d.icmpType = b[q]!;
    d.icmpCode = b[q + 1]!;
    d.icmpMtu = 0;
    const v4 = d.ipVersion === 4;
    const isError = v4 ? d.icmpType === 3 : d.icmpType === 1 || d.icmpType === 2;
    if (!isError || q + 8 > capturedEnd) return;
    if (v4 && d.icmpCode === 4) d.icmpMtu = (b[q + 6]! << 8) | b[q + 7]!;
    if (!v4 && d.icmpType === 2) d.icmpMtu = word(b, q + 4);
    const p = q + 8;
    let ports: number;
    if (v4) {
      if (p + 20 > capturedEnd || b[p]! >> 4 !== 4) return;
      d.innerVersion = 4;
      d.innerProtocol = b[p + 9]!;
      d.innerSource.fill(0);
      d.innerDestination.fill(0);
      d.innerSource[0] = word(b, p + 12);
      d.innerDestination[0] = word(b, p + 16);
      ports = p + (b[p]! & 15) * 4;
    } else {
      if (p + 40 > capturedEnd || b[p]! >> 4 !== 6) return;
      d.innerVersion = 6;
      d.innerProtocol = b[p + 6]!;
      words16(b, p + 8, d.innerSource);
      words16(b, p + 24, d.innerDestination);
      ports = p + 40;
    }
    const hasPorts = (d.innerProtocol === 6 || d.innerProtocol === 17) && ports + 4 <= capturedEnd;
    d.innerSourcePort = hasPorts ? (b[ports]! << 8) | b[ports + 1]! : 0;
    d.innerDestinationPort = hasPorts ? (b[ports + 2]! << 8) | b[ports + 3]! : 0;
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
