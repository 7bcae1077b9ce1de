import { CardinalitySketch } from './CardinalitySketch.js';
import type { RawPacket } from './CaptureReader.js';
import {
  CLOSED,
  Conversation,
  ESTABLISHED,
  H_ACK,
  H_DATA,
  H_FIN,
  H_RETRANSMIT,
  H_RST,
  H_SYN,
  H_SYNACK,
  H_ZERO_WINDOW,
  INACTIVE,
  PARTIAL,
  RESET,
  SYN_ACK_SENT,
  SYN_SENT,
} from './Conversation.js';
import { formatIPv4, formatIPv6 } from './formatAddress.js';
import { HeavyHitterTable } from './HeavyHitterTable.js';
import { PacketDecoder, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type DecodedPacket } from './PacketDecoder.js';
import { readDnsMessage, type DnsMessage } from './readDnsMessage.js';
import { buildSignals } from './buildSignals.js';
import { Tally } from './Tally.js';
import type { CaptureSummary, ConnState, ConversationStat, ProtocolStat, TalkerStat } from './types.js';

/** Default size of the conversation table: the heavy hitters kept exactly (about 6 MiB of state). */
export const DEFAULT_CONVERSATION_TABLE_SIZE = 16_384;
/** Addresses kept for the top talkers. */
const TALKER_TABLE_SIZE = 4096;
/** Keys kept by each per-signal tally (RST senders, SYN targets, DNS names, ICMP tuples...). */
export const TALLY_SIZE = 1024;
/** DNS queries awaiting their response; past it the oldest-looking are counted as unanswered. */
const DNS_PENDING_SIZE = 4096;
/** Bits of the filter of evicted conversation keys (2 MiB), made on the first eviction only. */
const EVICTED_FILTER_BITS = 1 << 24;
/** An RST storm is at least this many resets within {@link RST_WINDOW_TENTHS} tenths of a second. */
export const RST_STORM_THRESHOLD = 20;
const RST_WINDOW_TENTHS = 10;
const MAX_TOP_TALKERS = 10;
/** Distinct frag-needed MTUs remembered for the message. */
const MAX_MTUS = 16;

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

/** The protocol name of a conversation. */
export function conversationProtocol(ipVersion: number, proto: number): string {
  if (proto === 6) return 'tcp';
  if (proto === 17) return 'udp';
  if (proto === 1 && ipVersion === 4) return 'icmp';
  if (proto === 58 && ipVersion === 6) return 'icmpv6';
  return OTHER_PROTOCOL_NAMES.get(proto) ?? `ip-proto-${proto}`;
}

/** An address given as words (IPv4 in word 0) in text form. */
export function formatAddressWords(ipVersion: number, w: ArrayLike<number>): string {
  if (ipVersion === 4) return formatIPv4(w[0]!);
  let hex = '';
  for (let i = 0; i < 4; i++) hex += (w[i]! >>> 0).toString(16).padStart(8, '0');
  return formatIPv6(hex);
}

/** `ip:port`, `[ip]:port` for IPv6, or the bare address when there is no port. */
export function formatEndpointWords(
  ipVersion: number,
  w: ArrayLike<number>,
  port: number,
  hasPort: boolean,
): string {
  const address = formatAddressWords(ipVersion, w);
  if (!hasPort) return address;
  return ipVersion === 4 ? `${address}:${port}` : `[${address}]:${port}`;
}

/** Whole seconds already formatted: a capture spans few of them, and finish() formats two times per conversation. */
const SECOND_TEXTS = new Map<number, string>();
const MAX_SECOND_TEXTS = 4096;

/** ISO 8601 with microseconds, which is what capture timestamps usually carry. */
export function isoTime(seconds: number, nanoseconds: number): string {
  let base = SECOND_TEXTS.get(seconds);
  if (base === undefined) {
    if (SECOND_TEXTS.size >= MAX_SECOND_TEXTS) SECOND_TEXTS.clear();
    base = new Date(seconds * 1000).toISOString().slice(0, 19);
    SECOND_TEXTS.set(seconds, base);
  }
  const micros = Math.floor(nanoseconds / 1000)
    .toString()
    .padStart(6, '0');
  return `${base}.${micros}Z`;
}

/** Options for {@link SummaryBuilder}. */
export interface SummaryBuilderOptions {
  /**
   * Most conversations kept, the heavy hitters by bytes (default {@link DEFAULT_CONVERSATION_TABLE_SIZE}); the
   * rest are rolled into `otherConversations`. `Infinity` keeps every conversation exactly, in memory that grows
   * with them (offline use only: `alert-capture summarize --all-conversations`).
   */
  conversationTableSize?: number;
  /** How many conversations the summary lists, most bytes first (default: every one kept). */
  listConversations?: number;
}

/** Aggregates of the conversations that left tracking (and, at the end, of every one), by what they did. */
export interface SettledConversations {
  states: Map<ConnState, number>;
  unansweredSyn: number;
  synTargets: Tally;
  synSources: Tally;
  synSourceCount: CardinalitySketch;
  rejected: number;
  rejectedTargets: Tally;
}

/** ICMP errors of one kind. */
export interface IcmpTally {
  count: number;
  codes: Map<number, number>;
  mtus: Map<number, number>;
  reporters: Tally;
  tuples: Tally;
}

/** DNS failures. */
export interface DnsTally {
  queries: number;
  responses: number;
  nxdomain: number;
  servfail: number;
  noAnswer: number;
  /** Names by outcome: key word 0 is 3 (NXDOMAIN), 2 (SERVFAIL) or 255 (no answer). */
  names: Tally;
  /** Servers by failure: `[version, address words, port, rcode]`. */
  servers: Tally;
  /** Client-server pairs by failure: `[version << 8 | outcome, client, server, client port << 16 | server port]`. */
  pairs: Tally;
}

/** Everything {@link buildSignals} reads. */
export interface SignalInputs {
  packets: number;
  partialReason: string | undefined;
  kept: Conversation[];
  settled: SettledConversations;
  rstPeak: number;
  rstPeakSeconds: number;
  rstTotal: number;
  rstSenders: Tally;
  retransmissions: number;
  tcpSegments: number;
  zeroWindows: number;
  headersCut: number;
  headersCutNoPorts: number;
  unreachable: IcmpTally;
  fragNeeded: IcmpTally;
  dns: DnsTally;
}

/**
 * A Bloom filter of the conversation keys pushed out of the table (three probes, double hashing): a key that comes
 * back and is not in it was never counted before, so its counts are exact. False positives only mark a
 * conversation "estimated" that was in fact exact.
 */
class EvictedFilter {
  private readonly bits = new Uint32Array(EVICTED_FILTER_BITS / 32);

  private static step(hash: number): number {
    const h = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
    return (Math.imul(h ^ (h >>> 16), 0x45d9f3b) ^ (h >>> 16)) | 1;
  }

  add(hash: number): void {
    const step = EvictedFilter.step(hash);
    const mask = EVICTED_FILTER_BITS - 1;
    for (let i = 0, p = hash & mask; i < 3; i++, p = (p + step) & mask) this.bits[p >>> 5]! |= 1 << (p & 31);
  }

  mayHave(hash: number): boolean {
    const step = EvictedFilter.step(hash);
    const mask = EVICTED_FILTER_BITS - 1;
    for (let i = 0, p = hash & mask; i < 3; i++, p = (p + step) & mask) {
      if ((this.bits[p >>> 5]! & (1 << (p & 31))) === 0) return false;
    }
    return true;
  }
}

function icmpTally(): IcmpTally {
  return {
    count: 0,
    codes: new Map(),
    mtus: new Map(),
    reporters: new Tally(5, TALLY_SIZE),
    tuples: new Tally(10, TALLY_SIZE),
  };
}

function stringHash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * Accumulates the {@link CaptureSummary} of a capture, one packet at a time, in memory bounded by its options
 * (not by the traffic). Conversation keying and byte counting follow tshark's `-z conv,tcp`, `conv,udp` and
 * `conv,ip`: bytes are `frame.len`; a TCP conversation is split when a SYN with a new initial sequence number
 * reuses a port pair (a new `tcp.stream`); ICMP and other IP protocols are keyed by address pair. Unlike tshark,
 * a TCP segment whose options were cut by the snap length still counts, by its ports.
 * Keys are numeric (ten 32-bit words); nothing is formatted until {@link finish}, and then only what is listed.
 */
export class SummaryBuilder {
  private readonly decoder = new PacketDecoder();
  private readonly listLimit: number;
  private packets = 0;
  private bytes = 0;
  private startSeconds = 0;
  private startNanoseconds = 0;
  private startTime = Infinity;
  private endSeconds = 0;
  private endNanoseconds = 0;
  private endTime = -Infinity;
  private readonly protocols = new Map<string, ProtocolStat>();
  private readonly table: HeavyHitterTable;
  private readonly convs: Conversation[] = [];
  /** Conversations ended by a new stream on the same port pair; bounded like the table. */
  private retired: Conversation[] = [];
  private readonly retiredLimit: number;
  private opened = 0;
  private splits = 0;
  private readonly distinct = new CardinalitySketch();
  private evictedFilter: EvictedFilter | undefined;
  private otherPackets = 0;
  private otherBytes = 0;
  private readonly talkers: HeavyHitterTable;
  private readonly talkerPackets = new Float64Array(TALKER_TABLE_SIZE);
  private readonly talkerBytes = new Float64Array(TALKER_TABLE_SIZE);
  private readonly settled: SettledConversations = {
    states: new Map(),
    unansweredSyn: 0,
    synTargets: new Tally(6, TALLY_SIZE),
    synSources: new Tally(5, TALLY_SIZE),
    synSourceCount: new CardinalitySketch(),
    rejected: 0,
    rejectedTargets: new Tally(6, TALLY_SIZE),
  };
  private readonly rstSenders = new Tally(6, TALLY_SIZE);
  private readonly rstBucketIds = new Array<number>(RST_WINDOW_TENTHS).fill(-Infinity);
  private readonly rstBucketCounts = new Array<number>(RST_WINDOW_TENTHS).fill(0);
  private rstPeak = 0;
  private rstPeakSeconds = 0;
  private rstTotal = 0;
  private retransmissions = 0;
  private tcpSegments = 0;
  private zeroWindows = 0;
  private headersCut = 0;
  private headersCutNoPorts = 0;
  private readonly unreachable = icmpTally();
  private readonly fragNeeded = icmpTally();
  private readonly dnsMessage: DnsMessage = {
    id: 0,
    isResponse: false,
    rcode: 0,
    answers: 0,
    name: undefined,
  };
  private readonly dnsPending: HeavyHitterTable;
  private readonly dnsPendingNames: (string | undefined)[] = [];
  private readonly dnsAnswered: Uint8Array = new Uint8Array(DNS_PENDING_SIZE);
  private readonly dns: DnsTally = {
    queries: 0,
    responses: 0,
    nxdomain: 0,
    servfail: 0,
    noAnswer: 0,
    names: new Tally(2, TALLY_SIZE),
    servers: new Tally(7, TALLY_SIZE),
    pairs: new Tally(10, TALLY_SIZE),
  };
  private result: CaptureSummary | undefined;
  /** The current packet's time in seconds, for the TCP bookkeeping. */
  private packetTime = 0.5;

  constructor(options: SummaryBuilderOptions = {}) {
    const size = options.conversationTableSize ?? DEFAULT_CONVERSATION_TABLE_SIZE;
    if (!(size >= 1)) throw new RangeError(`conversationTableSize must be at least 1, found ${size}`);
    this.table = new HeavyHitterTable(10, Number.isFinite(size) ? Math.floor(size) : Infinity, (slot) =>
      this.evict(slot),
    );
    this.retiredLimit = this.table.limit;
    this.listLimit = options.listConversations ?? Infinity;
    this.talkers = new HeavyHitterTable(5, TALKER_TABLE_SIZE, (slot) => {
      this.talkerPackets[slot] = 0;
      this.talkerBytes[slot] = 0;
    });
    this.dnsPending = new HeavyHitterTable(11, DNS_PENDING_SIZE, (slot) => {
      if (this.dnsAnswered[slot] === 0) this.noDnsAnswer(slot);
      this.dnsPendingNames[slot] = undefined;
    });
  }

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
    if (d.headerCut) {
      this.headersCut++;
      if (d.transport === 0 && (d.ipProtocol === 6 || d.ipProtocol === 17 || d.ipVersion === 0))
        this.headersCutNoPorts++;
    }
    if (d.ipVersion === 0) return;
    const version = d.ipVersion;
    const src = d.source;
    const dst = d.destination;
    this.talk(version, src, length);
    if (src[0] !== dst[0] || src[1] !== dst[1] || src[2] !== dst[2] || src[3] !== dst[3])
      this.talk(version, dst, length);
    const proto = d.transport;
    if (proto === 0) return;
    if (d.icmpType >= 0) this.icmp(d, version, src);
    const hasPorts = proto === 6 || proto === 17;
    const sourcePort = hasPorts ? d.sourcePort : 0;
    const destinationPort = hasPorts ? d.destinationPort : 0;
    if (proto === 17 && (sourcePort === 53 || destinationPort === 53) && d.payloadEnd > d.payloadStart)
      this.dnsPacket(
        version,
        src,
        sourcePort,
        dst,
        destinationPort,
        d.payloadBuffer,
        d.payloadStart,
        d.payloadEnd,
      );

    let sourceIsLow = true;
    for (let i = 0; i < 4; i++) {
      if (src[i] !== dst[i]) {
        sourceIsLow = src[i]! < dst[i]!;
        break;
      }
      if (i === 3) sourceIsLow = sourcePort <= destinationPort;
    }
    const key = this.table.key;
    key[0] = (version << 8) | proto;
    const low = sourceIsLow ? src : dst;
    const high = sourceIsLow ? dst : src;
    key[1] = low[0]!;
    key[2] = low[1]!;
    key[3] = low[2]!;
    key[4] = low[3]!;
    key[5] = high[0]!;
    key[6] = high[1]!;
    key[7] = high[2]!;
    key[8] = high[3]!;
    key[9] = sourceIsLow
      ? ((sourcePort << 16) | destinationPort) >>> 0
      : ((destinationPort << 16) | sourcePort) >>> 0;
    const hash = this.table.hashKey();
    let slot = this.table.find(hash);
    let conv: Conversation;
    if (slot < 0) {
      slot = this.table.insert(hash);
      // Zeek's originator is the side that sent the first packet, unless that packet is a SYN-ACK: then the
      // originator is its receiver (Zeek's "^" flip).
      const flipped =
        proto === 6 && d.tcpCaptured >= 14 && (d.tcpFlags & (TCP_SYN | TCP_ACK)) === (TCP_SYN | TCP_ACK);
      conv = flipped
        ? this.open(slot, version, proto, !sourceIsLow, dst, destinationPort, src, sourcePort)
        : this.open(slot, version, proto, sourceIsLow, src, sourcePort, dst, destinationPort);
      if (flipped) conv.history = '^';
      this.opened++;
      const stable = this.table.stableHash();
      this.distinct.add(stable);
      if (this.evictedFilter?.mayHave(stable) === true) conv.exact = false;
    } else conv = this.convs[slot]!;
    let fromA = sourceIsLow === conv.aIsLow;

    if (proto === 6) {
      const captured = d.tcpCaptured;
      const flags = d.tcpFlags;
      if (captured >= 14) {
        const seq = d.tcpSeq;
        // A SYN with a new initial sequence number on a known port pair starts a new tcp.stream in tshark.
        if ((flags & (TCP_SYN | TCP_ACK)) === TCP_SYN && conv.baseSeqSet & (fromA ? 1 : 2)) {
          const base = fromA ? conv.baseSeqA : conv.baseSeqB;
          if (seq !== base) {
            conv = this.split(slot, version, proto, sourceIsLow, src, sourcePort, dst, destinationPort);
            fromA = true;
          }
        }
        this.packetTime = time;
        this.tcpPacket(conv, fromA, d);
      }
    }
    this.count(conv, fromA, length, seconds, nanoseconds, time);
    this.table.add(slot, length);
  }

  /** The summary of everything added so far; call once (later calls return the same summary). */
  finish(format: CaptureSummary['format'], partialReason?: string): CaptureSummary {
    if (this.result !== undefined) return this.result;
    const kept: Conversation[] = [...this.convs.slice(0, this.table.size), ...this.retired];
    for (const c of kept) this.settle(c);
    for (let slot = 0; slot < this.dnsPending.size; slot++) {
      if (this.dnsAnswered[slot] === 0) this.noDnsAnswer(slot);
    }
    kept.sort((x, y) => y.bytes - x.bytes || y.packets - x.packets || x.firstTime - y.firstTime);
    const listed = kept.length > this.listLimit ? kept.slice(0, this.listLimit) : kept;
    const stats = listed.map((c) => toStat(c));
    let unlistedPackets = this.otherPackets;
    let unlistedBytes = this.otherBytes;
    for (let i = listed.length; i < kept.length; i++) {
      unlistedPackets += kept[i]!.packets;
      unlistedBytes += kept[i]!.bytes;
    }
    const estimated = this.table.truncated;
    const total = estimated ? Math.max(kept.length, this.distinct.estimate() + this.splits) : this.opened;
    const truncated = listed.length < total;
    const protocols = [...this.protocols.values()].sort((x, y) => y.bytes - x.bytes || y.packets - x.packets);
    const hasPackets = this.packets > 0;
    const durationSeconds = hasPackets
      ? Math.round(
          ((this.endSeconds - this.startSeconds) * 1e9 + (this.endNanoseconds - this.startNanoseconds)) / 1e3,
        ) / 1e6
      : 0;
    const connStates: Partial<Record<ConnState, number>> = {};
    for (const [state, n] of [...this.settled.states.entries()].sort()) connStates[state] = n;
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
      conversationsTotal: total,
      conversationsTotalEstimated: estimated,
      conversationsTruncated: truncated,
      ...(truncated
        ? {
            otherConversations: {
              conversations: Math.max(0, total - listed.length),
              packets: unlistedPackets,
              bytes: unlistedBytes,
            },
          }
        : {}),
      connStates,
      topTalkers: this.topTalkers(),
      signals: buildSignals({
        packets: this.packets,
        partialReason,
        kept,
        settled: this.settled,
        rstPeak: this.rstPeak,
        rstPeakSeconds: this.rstPeakSeconds,
        rstTotal: this.rstTotal,
        rstSenders: this.rstSenders,
        retransmissions: this.retransmissions,
        tcpSegments: this.tcpSegments,
        zeroWindows: this.zeroWindows,
        headersCut: this.headersCut,
        headersCutNoPorts: this.headersCutNoPorts,
        unreachable: this.unreachable,
        fragNeeded: this.fragNeeded,
        dns: this.dns,
      }),
    };
    this.result = summary;
    return summary;
  }

  private open(
    slot: number,
    version: number,
    proto: number,
    sourceIsLow: boolean,
    src: Uint32Array,
    sourcePort: number,
    dst: Uint32Array,
    destinationPort: number,
  ): Conversation {
    let conv = this.convs[slot];
    if (conv === undefined) {
      conv = new Conversation();
      this.convs[slot] = conv;
    }
    // Side A is the sender of this first packet.
    conv.reset(version, proto, sourceIsLow);
    const a = conv.aAddress;
    const b = conv.bAddress;
    a[0] = src[0]!;
    a[1] = src[1]!;
    a[2] = src[2]!;
    a[3] = src[3]!;
    b[0] = dst[0]!;
    b[1] = dst[1]!;
    b[2] = dst[2]!;
    b[3] = dst[3]!;
    conv.aPort = sourcePort;
    conv.bPort = destinationPort;
    return conv;
  }

  /** Ends the conversation in `slot` (kept among the retired) and starts a new one there for the same key. */
  private split(
    slot: number,
    version: number,
    proto: number,
    sourceIsLow: boolean,
    src: Uint32Array,
    sourcePort: number,
    dst: Uint32Array,
    destinationPort: number,
  ): Conversation {
    this.retired.push(this.convs[slot]!);
    if (this.retired.length >= 2 * this.retiredLimit) {
      this.retired.sort((x, y) => y.bytes - x.bytes);
      for (const c of this.retired.splice(this.retiredLimit)) this.drop(c);
    }
    this.convs[slot] = new Conversation();
    this.opened++;
    this.splits++;
    return this.open(slot, version, proto, sourceIsLow, src, sourcePort, dst, destinationPort);
  }

  private evict(slot: number): void {
    const conv = this.convs[slot]!;
    this.evictedFilter ??= new EvictedFilter();
    this.evictedFilter.add(this.table.stableHashOf(slot));
    this.drop(conv);
  }

  /** A conversation leaves tracking: its counts go to "other", its outcome to the settled aggregates. */
  private drop(conv: Conversation): void {
    this.otherPackets += conv.packets;
    this.otherBytes += conv.bytes;
    this.settle(conv);
  }

  private settle(conv: Conversation): void {
    const state = conv.connState();
    conv.settledState = state;
    if (state === undefined) return;
    const s = this.settled;
    s.states.set(state, (s.states.get(state) ?? 0) + 1);
    if (conv.proto !== 6) return;
    if (state === 'S0') {
      s.unansweredSyn++;
      endpointKey(s.synTargets.key, conv.ipVersion, conv.bAddress, conv.bPort);
      s.synTargets.add();
      addressKey(s.synSources.key, conv.ipVersion, conv.aAddress);
      s.synSources.add();
      s.synSourceCount.add(s.synSources.table.stableHash());
    } else if (state === 'REJ') {
      s.rejected++;
      endpointKey(s.rejectedTargets.key, conv.ipVersion, conv.bAddress, conv.bPort);
      s.rejectedTargets.add();
    }
  }

  private count(
    conv: Conversation,
    fromA: boolean,
    length: number,
    seconds: number,
    nanoseconds: number,
    time: number,
  ): void {
    if (fromA) {
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

  /**
   * TCP bookkeeping for one segment: flags, Zeek's per-side states and history, tshark's base sequence numbers
   * (for stream splitting), retransmissions and zero windows by Wireshark's rules (packet-tcp.c,
   * `tcp_analyze_sequence_number`), and the handshake time.
   */
  private tcpPacket(conv: Conversation, fromA: boolean, d: DecodedPacket): void {
    // Sequence numbers and the time are read from fields, not passed: doubles passed to a call that is not
    // inlined are boxed, one allocation each per packet.
    const flags = d.tcpFlags;
    const seq = d.tcpSeq;
    const ack = d.tcpAck;
    const window = d.tcpWindow;
    const captured = d.tcpCaptured;
    const payloadLength = d.tcpPayloadLength;
    const time = this.packetTime;
    const syn = (flags & TCP_SYN) !== 0;
    const fin = (flags & TCP_FIN) !== 0;
    const rst = (flags & TCP_RST) !== 0;
    const hasAck = (flags & TCP_ACK) !== 0;
    if (syn) conv.syn++;
    if (fin) conv.fin++;
    if (rst) this.reset(conv, fromA, time);
    const payload = payloadLength > 0 ? payloadLength : 0;
    if (fromA) conv.payloadA += payload;
    else conv.payloadB += payload;

    // Zeek's endpoint states.
    const mine = fromA ? conv.stateA : conv.stateB;
    let next = mine;
    if (rst) next = RESET;
    else if (fin) next = mine === RESET ? RESET : CLOSED;
    else if (syn) {
      if (mine === INACTIVE) next = hasAck ? SYN_ACK_SENT : SYN_SENT;
    } else if (mine === INACTIVE) next = PARTIAL;
    else if ((mine === SYN_SENT || mine === SYN_ACK_SENT) && hasAck) {
      next = ESTABLISHED;
      const other = fromA ? conv.stateB : conv.stateA;
      if (other === SYN_ACK_SENT || other === SYN_SENT) {
        if (fromA) conv.stateB = ESTABLISHED;
        else conv.stateA = ESTABLISHED;
      }
    }
    if (fromA) conv.stateA = next;
    else conv.stateB = next;

    // History.
    if (syn) conv.mark(hasAck ? H_SYNACK : H_SYN, fromA);
    if (fin) conv.mark(H_FIN, fromA);
    if (rst) conv.mark(H_RST, fromA);
    if (payload > 0) conv.mark(H_DATA, fromA);
    else if (hasAck && !syn && !fin && !rst) conv.mark(H_ACK, fromA);

    // Handshake time: first SYN from A to first SYN-ACK from B.
    if (syn && !hasAck && fromA && conv.synTime < 0) conv.synTime = time;
    if (syn && hasAck && !fromA && conv.synTime >= 0 && conv.rttMs < 0)
      conv.rttMs = Math.round((time - conv.synTime) * 1e6) / 1e3;

    // tshark's base sequence numbers, for stream splitting.
    const bit = fromA ? 1 : 2;
    const reverseBit = fromA ? 2 : 1;
    if (!(conv.baseSeqSet & bit)) {
      const base = syn ? seq : (seq - 1) >>> 0;
      if (fromA) conv.baseSeqA = base;
      else conv.baseSeqB = base;
      conv.baseSeqSet |= bit;
    }
    if (!(conv.baseSeqSet & reverseBit) && hasAck) {
      if (fromA) conv.baseSeqB = (ack - 1) >>> 0;
      else conv.baseSeqA = (ack - 1) >>> 0;
      conv.baseSeqSet |= reverseBit;
    }

    // Zero window (Wireshark: window 0 on a segment without SYN, FIN or RST).
    if (captured >= 16 && window === 0 && !syn && !fin && !rst) {
      conv.zeroWindows++;
      this.zeroWindows++;
      conv.mark(H_ZERO_WINDOW, fromA);
    }

    // Retransmissions: data, SYN or FIN starting below the next expected sequence number, not a keep-alive, not
    // data the other side had already acknowledged (Wireshark calls that spurious, not a retransmission).
    if (payloadLength < 0) return;
    const segment = payload + (syn ? 1 : 0) + (fin ? 1 : 0);
    if (segment === 0) {
      if (hasAck) this.noteAck(conv, fromA, ack);
      return;
    }
    this.tcpSegments++;
    const expected = fromA ? conv.nextSeqA : conv.nextSeqB;
    const end = (seq + segment) >>> 0;
    if (conv.nextSeqSet & bit && ((seq - expected) | 0) < 0) {
      const keepAlive = payload <= 1 && !syn && !fin && ((expected - seq) | 0) === 1;
      const reverseAck = fromA ? conv.lastAckB : conv.lastAckA;
      const spurious = payload > 0 && conv.lastAckSet & reverseBit && ((end - reverseAck) | 0) <= 0;
      if (!keepAlive && !spurious) {
        conv.retransmissions++;
        this.retransmissions++;
        conv.mark(H_RETRANSMIT, fromA);
      }
    }
    if (!(conv.nextSeqSet & bit) || ((end - expected) | 0) > 0) {
      if (fromA) conv.nextSeqA = end;
      else conv.nextSeqB = end;
      conv.nextSeqSet |= bit;
    }
    if (hasAck) this.noteAck(conv, fromA, ack);
  }

  private noteAck(conv: Conversation, fromA: boolean, ack: number): void {
    const bit = fromA ? 1 : 2;
    const last = fromA ? conv.lastAckA : conv.lastAckB;
    if (conv.lastAckSet & bit && ((ack - last) | 0) <= 0) return;
    if (fromA) conv.lastAckA = ack;
    else conv.lastAckB = ack;
    conv.lastAckSet |= bit;
  }

  private reset(conv: Conversation, fromA: boolean, time: number): void {
    conv.rst++;
    this.rstTotal++;
    endpointKey(
      this.rstSenders.key,
      conv.ipVersion,
      fromA ? conv.aAddress : conv.bAddress,
      fromA ? conv.aPort : conv.bPort,
    );
    this.rstSenders.add();
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

  private talk(version: number, address: Uint32Array, length: number): void {
    const t = this.talkers;
    addressKey(t.key, version, address);
    const hash = t.hashKey();
    let slot = t.find(hash);
    if (slot < 0) slot = t.insert(hash);
    this.talkerPackets[slot]!++;
    this.talkerBytes[slot]! += length;
    t.add(slot, length);
  }

  private topTalkers(): TalkerStat[] {
    const t = this.talkers;
    const slots = Array.from({ length: t.size }, (_, i) => i);
    slots.sort(
      (x, y) =>
        this.talkerBytes[y]! - this.talkerBytes[x]! || this.talkerPackets[y]! - this.talkerPackets[x]!,
    );
    return slots.slice(0, MAX_TOP_TALKERS).map((slot) => {
      const key = t.keys.subarray(slot * 5, slot * 5 + 5);
      const stat: TalkerStat = {
        address: formatAddressWords(key[0]!, key.subarray(1)),
        packets: this.talkerPackets[slot]!,
        bytes: this.talkerBytes[slot]!,
      };
      if (t.inherited[slot]! > 0) stat.estimated = true;
      return stat;
    });
  }

  private icmp(d: DecodedPacket, version: number, reporter: Uint32Array): void {
    const v4 = version === 4;
    let tally: IcmpTally;
    if (v4 ? d.icmpType === 3 && d.icmpCode === 4 : d.icmpType === 2) tally = this.fragNeeded;
    else if (v4 ? d.icmpType === 3 : d.icmpType === 1) tally = this.unreachable;
    else return;
    tally.count++;
    const code = version * 256 + d.icmpCode;
    tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
    if (d.icmpMtu > 0 && (tally.mtus.has(d.icmpMtu) || tally.mtus.size < MAX_MTUS))
      tally.mtus.set(d.icmpMtu, (tally.mtus.get(d.icmpMtu) ?? 0) + 1);
    addressKey(tally.reporters.key, version, reporter);
    tally.reporters.add();
    if (d.innerVersion === 0) return;
    const k = tally.tuples.key;
    k[0] = (d.innerVersion << 8) | (d.innerProtocol & 255);
    k.set(d.innerSource, 1);
    k.set(d.innerDestination, 5);
    k[9] = ((d.innerSourcePort << 16) | d.innerDestinationPort) >>> 0;
    tally.tuples.add();
  }

  private dnsPacket(
    version: number,
    src: Uint32Array,
    sourcePort: number,
    dst: Uint32Array,
    destinationPort: number,
    b: Uint8Array,
    start: number,
    end: number,
  ): void {
    const m = this.dnsMessage;
    if (!readDnsMessage(b, start, end, m)) return;
    const client = m.isResponse ? dst : src;
    const clientPort = m.isResponse ? destinationPort : sourcePort;
    const server = m.isResponse ? src : dst;
    const serverPort = m.isResponse ? sourcePort : destinationPort;
    const pending = this.dnsPending;
    // [version, client, server, client port and query id, server port]: the pair's 5-tuple plus the id.
    const k = pending.key;
    addressKey(k, version, client);
    for (let i = 0; i < 4; i++) k[5 + i] = server[i]!;
    k[9] = ((clientPort << 16) | m.id) >>> 0;
    k[10] = serverPort;
    const hash = pending.hashKey();
    let slot = pending.find(hash);
    if (!m.isResponse) {
      this.dns.queries++;
      if (slot < 0) {
        slot = pending.insert(hash);
        this.dnsAnswered[slot] = 0;
        this.dnsPendingNames[slot] = m.name;
        pending.add(slot, 1);
      }
      return;
    }
    this.dns.responses++;
    if (slot >= 0 && this.dnsAnswered[slot] === 0) {
      this.dnsAnswered[slot] = 1;
      pending.demote(slot);
    }
    if (m.rcode !== 3 && m.rcode !== 2) return;
    if (m.rcode === 3) this.dns.nxdomain++;
    else this.dns.servfail++;
    this.dnsName(m.rcode, m.name);
    endpointKey(this.dns.servers.key, version, src, sourcePort);
    this.dns.servers.key[6] = m.rcode;
    this.dns.servers.add();
    this.dnsPair(m.rcode, k);
  }

  /** A query in `slot` of the pending table got no response. */
  private noDnsAnswer(slot: number): void {
    this.dns.noAnswer++;
    this.dnsName(255, this.dnsPendingNames[slot]);
    this.dnsPair(255, this.dnsPending.keys.subarray(slot * 11, slot * 11 + 11));
  }

  /** Tallies a failure by client-server pair: `[version << 8 | outcome, client, server, ports]`. */
  private dnsPair(outcome: number, pendingKey: Uint32Array): void {
    const k = this.dns.pairs.key;
    k[0] = (pendingKey[0]! << 8) | outcome;
    for (let i = 1; i < 9; i++) k[i] = pendingKey[i]!;
    k[9] = ((pendingKey[9]! & 0xffff0000) | pendingKey[10]!) >>> 0;
    this.dns.pairs.add();
  }

  private dnsName(outcome: number, name: string | undefined): void {
    const text = name ?? '(no name)';
    const k = this.dns.names.key;
    k[0] = outcome;
    k[1] = stringHash(text);
    this.dns.names.add(1, text);
  }
}

/** Fills a tally key with an address: `[version, w0..w3]`. */
export function addressKey(key: Uint32Array, version: number, address: Uint32Array): void {
  // Word by word: TypedArray.set costs more than the copy for four words.
  key[0] = version;
  key[1] = address[0]!;
  key[2] = address[1]!;
  key[3] = address[2]!;
  key[4] = address[3]!;
}

/** Fills a tally key with an endpoint: `[version, w0..w3, port]`. */
export function endpointKey(key: Uint32Array, version: number, address: Uint32Array, port: number): void {
  addressKey(key, version, address);
  key[5] = port;
}

/** The conversation as the summary lists it. */
export function toStat(c: Conversation): ConversationStat {
  const stat: ConversationStat = {
    protocol: conversationProtocol(c.ipVersion, c.proto),
    a: formatEndpointWords(c.ipVersion, c.aAddress, c.aPort, c.hasPorts),
    b: formatEndpointWords(c.ipVersion, c.bAddress, c.bPort, c.hasPorts),
    packets: c.packets,
    bytes: c.bytes,
    packetsAtoB: c.packetsAtoB,
    bytesAtoB: c.bytesAtoB,
    packetsBtoA: c.packetsBtoA,
    bytesBtoA: c.bytesBtoA,
    firstSeen: isoTime(c.firstSeconds, c.firstNanoseconds),
    lastSeen: isoTime(c.lastSeconds, c.lastNanoseconds),
  };
  if (!c.exact) stat.estimated = true;
  const state = c.settledState ?? c.connState();
  if (state !== undefined) stat.connState = state;
  if (c.proto === 6) {
    stat.tcp = {
      syn: c.syn,
      fin: c.fin,
      rst: c.rst,
      history: c.history,
      retransmissions: c.retransmissions,
      zeroWindows: c.zeroWindows,
      ...(c.rttMs >= 0 ? { handshakeRttMs: c.rttMs } : {}),
    };
  }
  return stat;
}
