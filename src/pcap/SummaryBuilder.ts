import type { RawPacket } from './CaptureReader.js';
import { formatIPv4, formatIPv6 } from './formatAddress.js';
import { PacketDecoder, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from './PacketDecoder.js';
import type { CaptureSummary, ConversationStat, ProtocolStat, Signal, TalkerStat } from './types.js';

/** An RST storm is at least this many resets within {@link RST_WINDOW_TENTHS} tenths of a second. */
const RST_STORM_THRESHOLD = 20;
const RST_WINDOW_TENTHS = 10;
const MAX_TOP_TALKERS = 10;
/** How many examples a signal's message names. */
const SIGNAL_EXAMPLES = 3;

const OTHER_PROTOCOL_NAMES = new Map<number, string>([
  [2, 'igmp'],
  [4, 'ipip'],
  [41, 'ipv6-in-ipv4'],
  [47, 'gre'],
  [50, 'esp'],
  [51, 'ah'],
  [89, 'ospf'],
  [103, 'pim'],
  [112, 'vrrp'],
  [132, 'sctp'],
]);

function conversationProtocol(ipVersion: number, proto: number): string {
  if (proto === 6) return 'tcp';
  if (proto === 17) return 'udp';
  if (proto === 1 && ipVersion === 4) return 'icmp';
  if (proto === 58 && ipVersion === 6) return 'icmpv6';
  return OTHER_PROTOCOL_NAMES.get(proto) ?? `ip-proto-${proto}`;
}

/** Per-conversation state; a class so that the hot path keeps one object shape. */
class Conversation {
  aIsLow = true;
  packetsAtoB = 0;
  bytesAtoB = 0;
  packetsBtoA = 0;
  bytesBtoA = 0;
  firstSeconds = 0;
  firstNanoseconds = 0;
  firstTime = Infinity;
  lastSeconds = 0;
  lastNanoseconds = 0;
  lastTime = -Infinity;
  syn = 0;
  fin = 0;
  rst = 0;
  pureSynFromA = 0;
  retransmissions = 0;
  /** TCP base sequence numbers per direction (0: low to high endpoint), as tshark keeps them. */
  baseSeqLow = 0;
  baseSeqHigh = 0;
  baseSeqSet = 0;
  nextSeqLow = 0;
  nextSeqHigh = 0;
  nextSeqSet = 0;

  constructor(
    readonly protocol: string,
    readonly lowAddress: number | string,
    readonly lowPort: number,
    readonly highAddress: number | string,
    readonly highPort: number,
    readonly hasPorts: boolean,
  ) {}

  get packets(): number {
    return this.packetsAtoB + this.packetsBtoA;
  }

  get bytes(): number {
    return this.bytesAtoB + this.bytesBtoA;
  }
}

interface Talker {
  packets: number;
  bytes: number;
}

function formatAddress(address: number | string): string {
  return typeof address === 'number' ? formatIPv4(address) : formatIPv6(address);
}

function formatEndpoint(address: number | string, port: number, hasPort: boolean): string {
  if (!hasPort) return formatAddress(address);
  return typeof address === 'number' ? `${formatIPv4(address)}:${port}` : `[${formatIPv6(address)}]:${port}`;
}

/** ISO 8601 with microseconds, which is what capture timestamps usually carry. */
export function isoTime(seconds: number, nanoseconds: number): string {
  const base = new Date(seconds * 1000).toISOString();
  const micros = Math.floor(nanoseconds / 1000)
    .toString()
    .padStart(6, '0');
  return `${base.slice(0, 19)}.${micros}Z`;
}

/**
 * Accumulates the {@link CaptureSummary} of a capture, one packet at a time, in bounded memory per conversation.
 * Conversation keying and byte counting follow tshark's `-z conv,tcp`, `conv,udp` and `conv,ip`: bytes are
 * `frame.len`; a TCP conversation is split when a SYN with a new initial sequence number reuses a port pair (a new
 * `tcp.stream`); ICMP and other IP protocols are keyed by address pair.
 */
export class SummaryBuilder {
  private readonly decoder = new PacketDecoder();
  private packets = 0;
  private bytes = 0;
  private startSeconds = 0;
  private startNanoseconds = 0;
  private startTime = Infinity;
  private endSeconds = 0;
  private endNanoseconds = 0;
  private endTime = -Infinity;
  private readonly protocols = new Map<string, ProtocolStat>();
  private readonly current = new Map<string, Conversation>();
  private readonly all: Conversation[] = [];
  private readonly talkers = new Map<number | string, Talker>();
  private readonly rstBySender = new Map<string, number>();
  private readonly rstBucketIds = new Array<number>(RST_WINDOW_TENTHS).fill(-Infinity);
  private readonly rstBucketCounts = new Array<number>(RST_WINDOW_TENTHS).fill(0);
  private rstPeak = 0;
  private rstPeakSeconds = 0;
  private rstTotal = 0;

  /** Number of packets added so far. */
  get packetCount(): number {
    return this.packets;
  }

  /** Adds one packet record. */
  add(packet: RawPacket): void {
    const length = packet.originalLength;
    const seconds = packet.seconds;
    const nanoseconds = packet.nanoseconds;
    const time = seconds + nanoseconds / 1e9;
    this.packets++;
    this.bytes += length;
    if (time < this.startTime) {
      this.startTime = time;
      this.startSeconds = seconds;
      this.startNanoseconds = nanoseconds;
    }
    if (time > this.endTime) {
      this.endTime = time;
      this.endSeconds = seconds;
      this.endNanoseconds = nanoseconds;
    }
    const d = this.decoder.decode(packet.linkType, packet.data, packet.offset, packet.capturedLength, length);
    let stat = this.protocols.get(d.protocolClass);
    if (stat === undefined) {
      stat = { protocol: d.protocolClass, packets: 0, bytes: 0 };
      this.protocols.set(d.protocolClass, stat);
    }
    stat.packets++;
    stat.bytes += length;
    if (d.ipVersion === 0) return;

    this.talk(d.source, length);
    if (d.destination !== d.source) this.talk(d.destination, length);
    if (d.transport === 0) return;

    const proto = d.transport;
    const hasPorts = proto === 6 || proto === 17;
    const sourcePort = hasPorts ? d.sourcePort : 0;
    const destinationPort = hasPorts ? d.destinationPort : 0;
    const sourceIsLow =
      d.source < d.destination || (d.source === d.destination && sourcePort <= destinationPort);
    const key = sourceIsLow
      ? `${proto}|${d.source}|${sourcePort}|${d.destination}|${destinationPort}`
      : `${proto}|${d.destination}|${destinationPort}|${d.source}|${sourcePort}`;
    let conv = this.current.get(key);
    if (conv === undefined) {
      conv = this.open(
        key,
        d.ipVersion,
        proto,
        sourceIsLow,
        d.source,
        sourcePort,
        d.destination,
        destinationPort,
      );
    }

    if (proto === 6) {
      const flags = d.tcpFlags;
      const bit = sourceIsLow ? 1 : 2;
      const seq = d.tcpSeq;
      // A SYN with a new initial sequence number on a known port pair starts a new tcp.stream in tshark.
      if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && conv.baseSeqSet & bit) {
        const base = sourceIsLow ? conv.baseSeqLow : conv.baseSeqHigh;
        if (seq !== base) {
          conv = this.open(
            key,
            d.ipVersion,
            proto,
            sourceIsLow,
            d.source,
            sourcePort,
            d.destination,
            destinationPort,
          );
        }
      }
      if (d.tcpPayloadLength >= 0)
        this.analyzeSequence(conv, sourceIsLow, flags, seq, d.tcpAck, d.tcpPayloadLength);
      if (!d.transportCounted) return;
      this.count(conv, sourceIsLow, length, seconds, nanoseconds, time);
      if (flags & TCP_SYN) {
        conv.syn++;
        if (!(flags & TCP_ACK) && sourceIsLow === conv.aIsLow) conv.pureSynFromA++;
      }
      if (flags & TCP_FIN) conv.fin++;
      if (flags & TCP_RST) this.reset(conv, sourceIsLow, time);
      return;
    }
    if (!d.transportCounted) return;
    this.count(conv, sourceIsLow, length, seconds, nanoseconds, time);
  }

  /** The summary of everything added so far. */
  finish(format: CaptureSummary['format'], partialReason?: string): CaptureSummary {
    const conversations = this.all.filter((c) => c.packets > 0);
    conversations.sort((x, y) => y.bytes - x.bytes || y.packets - x.packets || x.firstTime - y.firstTime);
    const stats = conversations.map((c) => this.toStat(c));
    const protocols = [...this.protocols.values()].sort((x, y) => y.bytes - x.bytes || y.packets - x.packets);
    const topTalkers: TalkerStat[] = [...this.talkers.entries()]
      .sort((x, y) => y[1].bytes - x[1].bytes || y[1].packets - x[1].packets)
      .slice(0, MAX_TOP_TALKERS)
      .map(([address, t]) => ({ address: formatAddress(address), packets: t.packets, bytes: t.bytes }));
    const hasPackets = this.packets > 0;
    const durationSeconds = hasPackets
      ? Math.round(
          ((this.endSeconds - this.startSeconds) * 1e9 + (this.endNanoseconds - this.startNanoseconds)) / 1e3,
        ) / 1e6
      : 0;
    const summary: CaptureSummary = {
      format,
      partial: partialReason !== undefined,
      ...(partialReason !== undefined ? { partialReason } : {}),
      ...(hasPackets
        ? {
            startTime: isoTime(this.startSeconds, this.startNanoseconds),
            endTime: isoTime(this.endSeconds, this.endNanoseconds),
          }
        : {}),
      durationSeconds,
      packets: this.packets,
      bytes: this.bytes,
      protocols,
      conversations: stats,
      conversationsTotal: stats.length,
      conversationsTotalEstimated: false,
      conversationsTruncated: false,
      connStates: {},
      topTalkers,
      signals: this.signals(conversations, stats, partialReason),
    };
    return summary;
  }

  private open(
    key: string,
    ipVersion: number,
    proto: number,
    sourceIsLow: boolean,
    source: number | string,
    sourcePort: number,
    destination: number | string,
    destinationPort: number,
  ): Conversation {
    const hasPorts = proto === 6 || proto === 17;
    const conv = sourceIsLow
      ? new Conversation(
          conversationProtocol(ipVersion, proto),
          source,
          sourcePort,
          destination,
          destinationPort,
          hasPorts,
        )
      : new Conversation(
          conversationProtocol(ipVersion, proto),
          destination,
          destinationPort,
          source,
          sourcePort,
          hasPorts,
        );
    this.current.set(key, conv);
    this.all.push(conv);
    return conv;
  }

  private count(
    conv: Conversation,
    sourceIsLow: boolean,
    length: number,
    seconds: number,
    nanoseconds: number,
    time: number,
  ): void {
    if (conv.packetsAtoB + conv.packetsBtoA === 0) conv.aIsLow = sourceIsLow;
    if (sourceIsLow === conv.aIsLow) {
      conv.packetsAtoB++;
      conv.bytesAtoB += length;
    } else {
      conv.packetsBtoA++;
      conv.bytesBtoA += length;
    }
    if (time < conv.firstTime) {
      conv.firstTime = time;
      conv.firstSeconds = seconds;
      conv.firstNanoseconds = nanoseconds;
    }
    if (time > conv.lastTime) {
      conv.lastTime = time;
      conv.lastSeconds = seconds;
      conv.lastNanoseconds = nanoseconds;
    }
  }

  /** tshark's base-sequence bookkeeping (for stream splitting) plus a cheap retransmission estimate. */
  private analyzeSequence(
    conv: Conversation,
    sourceIsLow: boolean,
    flags: number,
    seq: number,
    ack: number,
    payloadLength: number,
  ): void {
    const bit = sourceIsLow ? 1 : 2;
    const reverseBit = sourceIsLow ? 2 : 1;
    if (!(conv.baseSeqSet & bit)) {
      const base = flags & TCP_SYN ? seq : (seq - 1) >>> 0;
      if (sourceIsLow) conv.baseSeqLow = base;
      else conv.baseSeqHigh = base;
      conv.baseSeqSet |= bit;
    }
    if (!(conv.baseSeqSet & reverseBit) && flags & TCP_ACK) {
      if (sourceIsLow) conv.baseSeqHigh = (ack - 1) >>> 0;
      else conv.baseSeqLow = (ack - 1) >>> 0;
      conv.baseSeqSet |= reverseBit;
    }
    if (payloadLength === 0 || flags & TCP_SYN) return;
    const segmentEnd = (seq + payloadLength) >>> 0;
    const next = sourceIsLow ? conv.nextSeqLow : conv.nextSeqHigh;
    if (conv.nextSeqSet & bit && ((next - segmentEnd) | 0) >= 0) {
      conv.retransmissions++;
      return;
    }
    if (!(conv.nextSeqSet & bit) || ((segmentEnd - next) | 0) > 0) {
      if (sourceIsLow) conv.nextSeqLow = segmentEnd;
      else conv.nextSeqHigh = segmentEnd;
      conv.nextSeqSet |= bit;
    }
  }

  private reset(conv: Conversation, sourceIsLow: boolean, time: number): void {
    conv.rst++;
    this.rstTotal++;
    const sender = sourceIsLow
      ? formatEndpoint(conv.lowAddress, conv.lowPort, true)
      : formatEndpoint(conv.highAddress, conv.highPort, true);
    this.rstBySender.set(sender, (this.rstBySender.get(sender) ?? 0) + 1);
    const tenth = Math.floor(time * 10);
    const slot = ((tenth % RST_WINDOW_TENTHS) + RST_WINDOW_TENTHS) % RST_WINDOW_TENTHS;
    if (this.rstBucketIds[slot] !== tenth) {
      this.rstBucketIds[slot] = tenth;
      this.rstBucketCounts[slot] = 0;
    }
    this.rstBucketCounts[slot]!++;
    let inWindow = 0;
    for (let i = 0; i < RST_WINDOW_TENTHS; i++) {
      const id = this.rstBucketIds[i]!;
      if (id > tenth - RST_WINDOW_TENTHS && id <= tenth) inWindow += this.rstBucketCounts[i]!;
    }
    if (inWindow > this.rstPeak) {
      this.rstPeak = inWindow;
      this.rstPeakSeconds = Math.floor(time);
    }
  }

  private talk(address: number | string, length: number): void {
    const t = this.talkers.get(address);
    if (t === undefined) this.talkers.set(address, { packets: 1, bytes: length });
    else {
      t.packets++;
      t.bytes += length;
    }
  }

  private toStat(c: Conversation): ConversationStat {
    const low = formatEndpoint(c.lowAddress, c.lowPort, c.hasPorts);
    const high = formatEndpoint(c.highAddress, c.highPort, c.hasPorts);
    const stat: ConversationStat = {
      protocol: c.protocol,
      a: c.aIsLow ? low : high,
      b: c.aIsLow ? high : low,
      packets: c.packets,
      bytes: c.bytes,
      packetsAtoB: c.packetsAtoB,
      bytesAtoB: c.bytesAtoB,
      packetsBtoA: c.packetsBtoA,
      bytesBtoA: c.bytesBtoA,
      firstSeen: isoTime(c.firstSeconds, c.firstNanoseconds),
      lastSeen: isoTime(c.lastSeconds, c.lastNanoseconds),
    };
    if (c.protocol === 'tcp') stat.tcp = { syn: c.syn, fin: c.fin, rst: c.rst };
    return stat;
  }

  private signals(
    conversations: Conversation[],
    stats: ConversationStat[],
    partialReason?: string,
  ): Signal[] {
    const signals: Signal[] = [];
    if (partialReason !== undefined) {
      signals.push({
        kind: 'partial',
        severity: 'warning',
        message: `Only part of the capture was read (${this.packets} packets): ${partialReason}.`,
        count: 1,
        conversations: [],
      });
    }
    if (this.rstPeak >= RST_STORM_THRESHOLD) {
      const [sender, fromSender] = [...this.rstBySender.entries()].sort((x, y) => y[1] - x[1])[0] ?? ['?', 0];
      signals.push({
        kind: 'rst-storm',
        severity: 'warning',
        message:
          `${this.rstPeak} TCP resets within 1 s around ${isoTime(this.rstPeakSeconds, 0)} ` +
          `(${this.rstTotal} in all; most from ${sender}: ${fromSender})`,
        count: this.rstPeak,
        conversations: [],
      });
    }
    const unanswered: string[] = [];
    let retransmissions = 0;
    let worst: { index: number; count: number } | undefined;
    conversations.forEach((c, index) => {
      if (c.pureSynFromA > 0 && c.packetsBtoA === 0) unanswered.push(stats[index]!.b);
      retransmissions += c.retransmissions;
      if (c.retransmissions > (worst?.count ?? 0)) worst = { index, count: c.retransmissions };
    });
    if (unanswered.length > 0) {
      const examples = [...new Set(unanswered)].slice(0, SIGNAL_EXAMPLES).join(', ');
      signals.push({
        kind: 'unanswered-syn',
        severity: 'warning',
        message:
          `${unanswered.length} TCP connection attempt${unanswered.length === 1 ? '' : 's'} got no answer ` +
          `(SYN never answered), e.g. to ${examples}`,
        count: unanswered.length,
        conversations: [],
      });
    }
    if (retransmissions > 0 && worst !== undefined) {
      const w = stats[worst.index]!;
      signals.push({
        kind: 'retransmissions',
        severity: retransmissions >= 10 ? 'warning' : 'info',
        message:
          `About ${retransmissions} TCP retransmission${retransmissions === 1 ? '' : 's'} ` +
          `(data sent again); most in ${w.a} <-> ${w.b}: ${worst.count}`,
        count: retransmissions,
        conversations: [],
      });
    }
    return signals;
  }
}
