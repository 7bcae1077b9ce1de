/**
 * The summary of a capture file: what the on-call person reads instead of opening Wireshark.
 * Produced by the streaming reader in `src/pcap/`, carried in every completion notification and printed by
 * `alert-capture summarize`.
 *
 * Memory is bounded whatever the traffic: conversations, talkers and the per-signal tallies live in fixed-size
 * heavy-hitter tables (Space-Saving). Totals, the protocol mix and every signal's `count` are exact; the
 * conversations that did not fit are rolled into {@link CaptureSummary.otherConversations}.
 *
 * The fields marked "v2" are always set by this version; they are optional in the type because summaries stored by
 * the first version (in the ledger) lack them.
 */
export interface CaptureSummary {
  /** Container format of the file. */
  format: 'pcap' | 'pcapng';
  /** True when the file could not be read to its end (corrupt, cut, or the time bound was reached). */
  partial: boolean;
  /** Why the summary is partial, e.g. "truncated packet record at byte offset 81234". */
  partialReason?: string;
  /** ISO time of the first and last packet; absent for a file with no packets. */
  startTime?: string;
  endTime?: string;
  durationSeconds: number;
  /** Packets read. */
  packets: number;
  /** Bytes on the wire (original lengths, not the snapped lengths). */
  bytes: number;
  /** Per protocol, most bytes first. Exact. */
  protocols: ProtocolStat[];
  /**
   * Bidirectional conversations, most bytes first: every one the table kept (or the top N the caller asked for).
   * With `conversationsTruncated` the list holds the heavy hitters and the rest is in `otherConversations`.
   */
  conversations: ConversationStat[];
  /**
   * How many conversations the capture holds: exact while they fit the conversation table
   * (`conversationsTotalEstimated` false), past it an estimate (HyperLogLog, typically within 1 %). v2.
   */
  conversationsTotal?: number;
  /** True when `conversationsTotal` is an estimate (v2). */
  conversationsTotalEstimated?: boolean;
  /** True when `conversations` does not list every conversation of the capture (v2). */
  conversationsTruncated?: boolean;
  /** What the listed conversations leave out; absent when nothing was left out. Packets and bytes are exact. */
  otherConversations?: OtherConversations;
  /** Conversations per Zeek `conn_state` (TCP and UDP), over the whole capture, listed or not (v2). */
  connStates?: Partial<Record<ConnState, number>>;
  /** Addresses by bytes sent plus received, most first (at most 10). */
  topTalkers: TalkerStat[];
  /** Things worth a human's attention, most severe first. */
  signals: Signal[];
  /** Size of the capture file in bytes, when the summary was read from storage. */
  fileBytes?: number;
}

/** The conversations of a capture that are not listed, rolled into one bucket. */
export interface OtherConversations {
  /** How many (estimated when `conversationsTotalEstimated`). */
  conversations: number;
  packets: number;
  bytes: number;
}

/** Packets and bytes of one protocol. */
export interface ProtocolStat {
  /** Lower case: `tcp`, `udp`, `icmp`, `icmpv6`, `ipv4-other`, `ipv6-other`, `arp`, `other`. */
  protocol: string;
  packets: number;
  bytes: number;
}

/**
 * Zeek's connection states (`conn_state` in Zeek's conn.log), with Zeek's meanings
 * (https://docs.zeek.org/en/current/scripts/base/protocols/conn/main.zeek.html, `Conn::Info$conn_state`):
 * - `S0` connection attempt seen, no reply; `S1` established, not terminated; `SF` normal establishment and
 *   termination; `REJ` connection attempt rejected;
 * - `S2` established and close attempt by the originator seen (no reply from the responder); `S3` established and
 *   close attempt by the responder seen (no reply from the originator);
 * - `RSTO` established, the originator aborted (sent a RST); `RSTR` the responder sent a RST;
 * - `RSTOS0` the originator sent a SYN followed by a RST, no SYN-ACK seen from the responder; `RSTRH` the responder
 *   sent a SYN-ACK followed by a RST, no SYN seen from the (purported) originator;
 * - `SH` the originator sent a SYN followed by a FIN, no SYN-ACK seen ("half" open); `SHR` the responder sent a
 *   SYN-ACK followed by a FIN, no SYN seen from the originator;
 * - `OTH` no SYN seen, just midstream traffic.
 * For UDP Zeek uses `S0` (only the originator sent), `SF` (both sent), `SHR` (only the responder), `OTH`.
 */
export type ConnState =
  'S0' | 'S1' | 'SF' | 'REJ' | 'S2' | 'S3' | 'RSTO' | 'RSTR' | 'RSTOS0' | 'RSTRH' | 'SH' | 'SHR' | 'OTH';

/** One bidirectional conversation between two endpoints over one protocol. */
export interface ConversationStat {
  /** Lower case: `tcp`, `udp`, `icmp`, `icmpv6`, ... */
  protocol: string;
  /**
   * Endpoint `ip:port` (IPv6 as `[ip]:port`; no port for ICMP): Zeek's originator, the side seen first (or, when
   * the first packet is a SYN-ACK, the side it was sent to).
   */
  a: string;
  /** The other endpoint, written like `a`. */
  b: string;
  /** Both directions. */
  packets: number;
  bytes: number;
  packetsAtoB: number;
  bytesAtoB: number;
  packetsBtoA: number;
  bytesBtoA: number;
  /** ISO times. */
  firstSeen: string;
  lastSeen: string;
  /**
   * True when the counts may miss packets: the conversation was pushed out of the full table earlier and came
   * back, so what is shown counts from its return. Absent when the counts are exact.
   */
  estimated?: true;
  /** Zeek `conn_state`, for TCP and UDP. */
  connState?: ConnState;
  /** TCP only. */
  tcp?: TcpDetails;
}

/** What a TCP conversation did. */
export interface TcpDetails {
  /** Segments carrying each flag. */
  syn: number;
  fin: number;
  rst: number;
  /**
   * Zeek-style history: each event once per side, in the order first seen; upper case from `a` (originator),
   * lower case from `b`; a leading `^` when the originator was flipped (first packet a SYN-ACK). `S` SYN, `H` SYN-ACK, `A` pure ACK, `D` data, `F` FIN, `R` RST, `T` retransmitted
   * segment, `W` zero window.
   */
  history?: string;
  /** Segments sent again (Wireshark's `tcp.analysis.retransmission` rule: data, SYN or FIN below the next sequence number). */
  retransmissions?: number;
  /** Segments advertising a zero receive window (Wireshark's `tcp.analysis.zero_window`). */
  zeroWindows?: number;
  /** First SYN to first SYN-ACK, in milliseconds, when both were seen. */
  handshakeRttMs?: number;
}

/** One address's share of the traffic. */
export interface TalkerStat {
  address: string;
  packets: number;
  bytes: number;
  /** True when the counts may miss packets (the address came back into the full talkers table). */
  estimated?: true;
}

/** The kinds of {@link Signal}. */
export type SignalKind =
  | 'partial'
  | 'headers-cut'
  | 'syn-flood'
  | 'unanswered-syn'
  | 'rejected'
  | 'rst-storm'
  | 'resets'
  | 'retransmissions'
  | 'zero-window'
  | 'icmp-unreachable'
  | 'icmp-frag-needed'
  | 'dns-nxdomain'
  | 'dns-servfail'
  | 'dns-no-answer';

/** Something in the capture a human should look at. */
export interface Signal {
  kind: SignalKind;
  /** `critical`: likely the cause of the alert (SYN flood); `warning`: worth a look; `info`: context. */
  severity: 'info' | 'warning' | 'critical';
  /** One plain-words sentence, e.g. "42 TCP resets from 10.0.0.4:443 in 3 s". Names in it are escaped. */
  message: string;
  /** How many events (packets, connections or queries, as the message says). Exact. */
  count: number;
  /** The conversations concerned, most affected first, at most 10 (for ICMP: the original datagram's 5-tuple). */
  conversations?: ConversationRef[];
  /** Who caused it, most first, at most 10 (senders of SYNs, RSTs, ICMP errors; DNS clients). */
  sources?: CountedName[];
  /** What it hit, most first, at most 10 (SYN targets, refused services, DNS names). */
  targets?: CountedName[];
  /** A rate in [0, 1] where the kind has one: retransmitted share of TCP data segments. */
  rate?: number;
}

/** A conversation named by protocol and endpoints, as in {@link ConversationStat}. */
export interface ConversationRef {
  protocol: string;
  a: string;
  b: string;
  /** How many of the signal's events concern it. */
  count: number;
}

/** A name (endpoint, address, DNS name in escaped presentation form) with a count. */
export interface CountedName {
  name: string;
  count: number;
  /** True when the count is a lower bound (the name came back into a full table). */
  estimated?: true;
}
