/**
 * The summary of a capture file: what the on-call person reads instead of opening Wireshark.
 * Produced by the streaming reader in `src/pcap/`, carried in every completion notification and printed by
 * `alert-capture summarize`.
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
  /** Per protocol, most bytes first. */
  protocols: ProtocolStat[];
  /** Bidirectional conversations, most bytes first. */
  conversations: ConversationStat[];
  /** Addresses by bytes sent plus received, most first (at most 10). */
  topTalkers: TalkerStat[];
  /** Things worth a human's attention. */
  signals: Signal[];
  /** Size of the capture file in bytes, when the summary was read from storage. */
  fileBytes?: number;
}

/** Packets and bytes of one protocol. */
export interface ProtocolStat {
  /** Lower case: `tcp`, `udp`, `icmp`, `icmpv6`, `ipv4-other`, `ipv6-other`, `arp`, `other`. */
  protocol: string;
  packets: number;
  bytes: number;
}

/** One bidirectional conversation between two endpoints over one protocol. */
export interface ConversationStat {
  /** Lower case: `tcp`, `udp`, `icmp`, `icmpv6`, ... */
  protocol: string;
  /** Endpoint `ip:port` (IPv6 as `[ip]:port`; no port for ICMP): the side seen first. */
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
  /** TCP flag counts, for TCP conversations only. */
  tcp?: { syn: number; fin: number; rst: number };
}

/** One address's share of the traffic. */
export interface TalkerStat {
  address: string;
  packets: number;
  bytes: number;
}

/** Something in the capture a human should look at. */
export interface Signal {
  kind: 'rst-storm' | 'unanswered-syn' | 'retransmissions' | 'partial';
  severity: 'info' | 'warning';
  /** One plain-words sentence, e.g. "42 TCP resets from 10.0.0.4:443 in 3 s". */
  message: string;
  count: number;
}
