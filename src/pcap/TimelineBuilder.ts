import type { RawPacket } from './CaptureReader.js';
import { PacketDecoder, TCP_ACK, TCP_RST, TCP_SYN } from './PacketDecoder.js';

/** At most this many buckets: a long capture gets wider buckets, never more memory. */
export const MAX_TIMELINE_BUCKETS = 720;
/** Flow slots for the retransmission marks; a fixed table, so a flood cannot grow it. */
const FLOW_SLOTS = 1 << 14;

/**
 * Traffic over time, for the report's timeline: bytes per protocol class per bucket, and TCP SYN, RST and
 * retransmission counts per bucket. Memory is bounded ({@link MAX_TIMELINE_BUCKETS} buckets whatever the capture).
 */
export interface CaptureTimeline {
  /** ISO time the first bucket starts (the first packet's whole second). */
  startTime: string;
  /** Width of one bucket in seconds: 1, doubled as often as needed to fit the capture. */
  bucketSeconds: number;
  /** Number of buckets. */
  buckets: number;
  /** Bytes on the wire per protocol class (as in `CaptureSummary.protocols`), one number per bucket. */
  bytes: Record<string, number[]>;
  /** TCP segments with SYN set (SYN and SYN/ACK) per bucket. */
  syn: number[];
  /** TCP segments with RST set per bucket. */
  rst: number[];
  /**
   * TCP data segments that repeat sequence space already seen in their direction, per bucket. An estimate kept in
   * a fixed flow table (a hash collision can hide or add a mark), meant for marks on a chart, not for counting.
   */
  retransmissions: number[];
}

function emptySeries(n: number): number[] {
  return new Array<number>(n).fill(0);
}

/** Sums pairs so that a series of `n` buckets becomes one of `ceil(n / 2)` twice as wide. */
function halve(series: number[]): number[] {
  const out = emptySeries(Math.ceil(series.length / 2));
  series.forEach((v, i) => (out[i >> 1]! += v));
  return out;
}

function flowHash(source: Uint32Array, sport: number, destination: Uint32Array, dport: number): number {
  let h = 0x811c9dc5;
  const mix = (v: number): void => {
    h = Math.imul(h ^ v, 0x01000193);
  };
  for (let i = 0; i < 4; i++) mix(source[i] ?? 0);
  mix(sport);
  for (let i = 0; i < 4; i++) mix(destination[i] ?? 0);
  mix(dport);
  return h >>> 0;
}

/**
 * Accumulates a {@link CaptureTimeline} one packet at a time. Fed the same packets as the summary (see
 * `SummarizeOptions.onPacket`); it decodes them itself so the summary's builder stays as it is.
 */
export class TimelineBuilder {
  private readonly decoder = new PacketDecoder();
  private startSecond = NaN;
  private bucketSeconds = 1;
  private bytes = new Map<string, number[]>();
  private syn = emptySeries(MAX_TIMELINE_BUCKETS);
  private rst = emptySeries(MAX_TIMELINE_BUCKETS);
  private retransmissions = emptySeries(MAX_TIMELINE_BUCKETS);
  private used = 0;
  private readonly flowKeys = new Uint32Array(FLOW_SLOTS);
  private readonly flowNext = new Uint32Array(FLOW_SLOTS);

  /** Adds one packet record. */
  add(packet: RawPacket): void {
    if (Number.isNaN(this.startSecond)) this.startSecond = packet.seconds;
    // Out-of-order records before the first one land in the first bucket.
    let index = Math.max(0, Math.floor((packet.seconds - this.startSecond) / this.bucketSeconds));
    while (index >= MAX_TIMELINE_BUCKETS) {
      this.coarsen();
      index = Math.floor((packet.seconds - this.startSecond) / this.bucketSeconds);
    }
    if (index >= this.used) this.used = index + 1;
    const length = packet.originalLength;
    const d = this.decoder.decode(packet.linkType, packet.data, packet.offset, packet.capturedLength, length);
    let series = this.bytes.get(d.protocolClass);
    if (series === undefined) {
      series = emptySeries(MAX_TIMELINE_BUCKETS);
      this.bytes.set(d.protocolClass, series);
    }
    series[index]! += length;
    if (d.ipProtocol !== 6 || d.transport !== 6) return;
    if (d.tcpFlags & TCP_SYN) this.syn[index]!++;
    if (d.tcpFlags & TCP_RST) this.rst[index]!++;
    if (d.tcpPayloadLength <= 0 || d.tcpFlags & TCP_SYN) return;
    const hash = flowHash(d.source, d.sourcePort, d.destination, d.destinationPort) | 1;
    const slot = hash & (FLOW_SLOTS - 1);
    const end = (d.tcpSeq + d.tcpPayloadLength) >>> 0;
    if (this.flowKeys[slot] === hash >>> 0) {
      const next = this.flowNext[slot]!;
      if (((next - end) | 0) >= 0 && d.tcpFlags & TCP_ACK) {
        this.retransmissions[index]!++;
        return;
      }
      if (((end - next) | 0) > 0) this.flowNext[slot] = end;
      return;
    }
    this.flowKeys[slot] = hash >>> 0;
    this.flowNext[slot] = end;
  }

  /** The timeline of everything added so far; undefined for a capture without packets. */
  finish(): CaptureTimeline | undefined {
    if (Number.isNaN(this.startSecond)) return undefined;
    const n = this.used;
    const bytes: Record<string, number[]> = {};
    for (const [protocol, series] of this.bytes) bytes[protocol] = series.slice(0, n);
    return {
      startTime: new Date(this.startSecond * 1000).toISOString(),
      bucketSeconds: this.bucketSeconds,
      buckets: n,
      bytes,
      syn: this.syn.slice(0, n),
      rst: this.rst.slice(0, n),
      retransmissions: this.retransmissions.slice(0, n),
    };
  }

  private coarsen(): void {
    this.bucketSeconds *= 2;
    const widen = (s: number[]): number[] => {
      const h = halve(s);
      return h.concat(emptySeries(MAX_TIMELINE_BUCKETS - h.length));
    };
    for (const [protocol, series] of this.bytes) this.bytes.set(protocol, widen(series));
    this.syn = widen(this.syn);
    this.rst = widen(this.rst);
    this.retransmissions = widen(this.retransmissions);
    this.used = Math.ceil(this.used / 2);
  }
}
