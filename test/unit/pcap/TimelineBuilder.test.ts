import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { summarizeStream } from '../../../src/pcap/summarizeStream.js';
import {
  MAX_TIMELINE_BUCKETS,
  TimelineBuilder,
  type CaptureTimeline,
} from '../../../src/pcap/TimelineBuilder.js';
import {
  ACK,
  PSH,
  RST,
  SYN,
  ipv4Packet,
  tcpPacket,
  udpDatagram,
  writePcap,
  type TestPacket,
} from './captureWriter.js';

const T0 = 1_780_000_000;

async function timelineOf(
  packets: TestPacket[],
): Promise<{ timeline: CaptureTimeline | undefined; bytes: number }> {
  const builder = new TimelineBuilder();
  const summary = await summarizeStream(Readable.from([writePcap(packets)]), {
    onPacket: (p) => builder.add(p),
  });
  return { timeline: builder.finish(), bytes: summary.bytes };
}

const sum = (series: number[]): number => series.reduce((a, b) => a + b, 0);

describe('TimelineBuilder', () => {
  it('puts bytes per protocol and SYN/RST counts into one-second buckets from the first packet', async () => {
    const { timeline, bytes } = await timelineOf([
      { time: T0 + 0.2, data: tcpPacket('10.0.0.4', 5000, '8.8.8.8', 443, 1, 0, SYN) },
      { time: T0 + 0.3, data: tcpPacket('8.8.8.8', 443, '10.0.0.4', 5000, 9, 2, SYN | ACK) },
      {
        time: T0 + 2.5,
        data: ipv4Packet({
          src: '10.0.0.4',
          dst: '8.8.8.8',
          protocol: 17,
          payload: udpDatagram(4000, 53, Buffer.alloc(30)),
        }),
      },
      { time: T0 + 3.9, data: tcpPacket('8.8.8.8', 443, '10.0.0.4', 5000, 10, 2, RST) },
    ]);
    expect(timeline).toMatchObject({
      startTime: new Date(T0 * 1000).toISOString(),
      bucketSeconds: 1,
      buckets: 4,
    });
    expect(timeline!.syn).toEqual([2, 0, 0, 0]);
    expect(timeline!.rst).toEqual([0, 0, 0, 1]);
    expect(timeline!.bytes['udp']).toEqual([0, 0, 72, 0]);
    expect(sum(timeline!.bytes['tcp']!) + sum(timeline!.bytes['udp']!)).toBe(bytes);
  });

  it('marks a data segment sent again in its direction, not new data', async () => {
    const data = (seq: number, t: number): TestPacket => ({
      time: T0 + t,
      data: tcpPacket('10.0.0.4', 5000, '8.8.8.8', 443, seq, 1, PSH | ACK, 100),
    });
    const { timeline } = await timelineOf([data(1, 0), data(101, 0.1), data(1, 1.5), data(201, 2.1)]);
    expect(timeline!.retransmissions).toEqual([0, 1, 0]);
  });

  it('stays within its bucket limit for a long capture, widening buckets and keeping every byte', async () => {
    const packets: TestPacket[] = [];
    for (let t = 0; t < 3000; t += 7)
      packets.push({ time: T0 + t, data: tcpPacket('10.0.0.4', 5000, '8.8.8.8', 443, t, 0, SYN) });
    const { timeline, bytes } = await timelineOf(packets);
    expect(timeline!.buckets).toBeLessThanOrEqual(MAX_TIMELINE_BUCKETS);
    expect(timeline!.bucketSeconds).toBe(8); // 3000 s needs 1 → 2 → 4 → 8 s buckets to fit 720
    expect(timeline!.bytes['tcp']).toHaveLength(timeline!.buckets);
    expect(sum(timeline!.bytes['tcp']!)).toBe(bytes);
    expect(sum(timeline!.syn)).toBe(packets.length);
  });

  it('counts an out-of-order packet from before the first one in the first bucket, and has no timeline without packets', async () => {
    const { timeline } = await timelineOf([
      { time: T0 + 5, data: tcpPacket('10.0.0.4', 5000, '8.8.8.8', 443, 1, 0, SYN) },
      { time: T0 + 1, data: tcpPacket('10.0.0.4', 5001, '8.8.8.8', 443, 1, 0, SYN) },
    ]);
    expect(timeline!.syn).toEqual([2]);
    expect(new TimelineBuilder().finish()).toBeUndefined();
  });
});
