import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { summarizeBuffer } from '../../../src/pcap/summarizeStream.js';
import {
  ACK,
  FIN,
  PSH,
  SYN,
  ipv4Packet,
  ipv6Packet,
  tcpSegment,
  udpDatagram,
  writePcap,
  type TestPacket,
  tcpPacket,
} from '../../unit/pcap/captureWriter.js';
import {
  conversationKey,
  hasTshark,
  ourPortView,
  portKey,
  tsharkPortView,
  tsharkView,
} from '../../unit/pcap/tsharkOracle.js';

const available = await hasTshark();
if (!available) console.warn('skipping synthetic pcap-vs-tshark tests: tshark is not installed');

const T0 = 1_700_000_000;

const tcp = tcpPacket;

/** A UDP datagram of `size` payload bytes split in IPv4 fragments of `fragment` bytes. */
function fragmentedUdp(id: number, size: number, fragment: number): Buffer[] {
  const datagram = udpDatagram(7000, 7001, Buffer.alloc(size, 0x42));
  const out: Buffer[] = [];
  for (let offset = 0; offset < datagram.length; offset += fragment) {
    const piece = datagram.subarray(offset, offset + fragment);
    out.push(
      ipv4Packet({
        src: '10.9.0.1',
        dst: '10.9.0.2',
        protocol: 17,
        id,
        payload: piece,
        fragmentOffset: offset,
        moreFragments: offset + fragment < datagram.length,
      }),
    );
  }
  return out;
}

const CASES: Record<string, () => TestPacket[]> = {
  'port reuse with a new initial sequence number': () => {
    const one = (base: number, isn: number): TestPacket[] => [
      { time: base, data: tcp('10.0.0.1', 40000, '10.0.0.2', 80, isn, 0, SYN) },
      { time: base + 0.001, data: tcp('10.0.0.2', 80, '10.0.0.1', 40000, 7000, isn + 1, SYN | ACK) },
      { time: base + 0.002, data: tcp('10.0.0.1', 40000, '10.0.0.2', 80, isn + 1, 7001, PSH | ACK, 30) },
      { time: base + 0.003, data: tcp('10.0.0.1', 40000, '10.0.0.2', 80, isn + 31, 7001, FIN | ACK) },
      { time: base + 0.004, data: tcp('10.0.0.2', 80, '10.0.0.1', 40000, 7001, isn + 32, FIN | ACK) },
    ];
    return [...one(T0, 1000), ...one(T0 + 1, 1000), ...one(T0 + 2, 99999)];
  },
  'reassembled IPv4 fragments': () =>
    [...fragmentedUdp(1, 3000, 1480), ...fragmentedUdp(2, 100, 64)].map((data, i) => ({
      time: T0 + i / 1000,
      data,
    })),
  'fragments out of order and an incomplete datagram': () => {
    const f = fragmentedUdp(3, 2000, 800);
    const lonely = fragmentedUdp(4, 2000, 800).slice(0, 2);
    return [f[2]!, f[0]!, ...lonely, f[1]!].map((data, i) => ({ time: T0 + i / 1000, data }));
  },
  'fragments cut by the snap length': () =>
    fragmentedUdp(5, 3000, 1480).map((data, i) => ({
      time: T0 + i / 1000,
      data: data.subarray(0, 96),
      originalLength: data.length,
    })),
  'IPv6 with a hop-by-hop header, TCP and UDP': () => {
    const a = Buffer.from('fd000000000000000000000000000001', 'hex');
    const b = Buffer.from('fd000000000000000000000000000002', 'hex');
    return [
      { time: T0, data: ipv6Packet(a, b, 6, tcpSegment(1234, 443, 1, 0, SYN)) },
      { time: T0 + 0.1, data: ipv6Packet(b, a, 6, tcpSegment(443, 1234, 5, 2, SYN | ACK), true) },
      { time: T0 + 0.2, data: ipv6Packet(a, b, 17, udpDatagram(53, 53, Buffer.alloc(40)), true) },
    ];
  },
  'TCP segments with options cut by the snap length': () =>
    [tcp('10.0.0.1', 1, '10.0.0.2', 2, 1, 0, SYN), tcp('10.0.0.2', 2, '10.0.0.1', 1, 1, 2, SYN | ACK)].map(
      (data, i) => {
        // Declare 8 bytes of options (data offset 7) and cut the capture inside them.
        const withOptions = Buffer.concat([data.subarray(0, 54), Buffer.from([1, 1, 1, 1, 1, 1, 1, 0])]);
        withOptions[46] = 7 << 4;
        withOptions.writeUInt16BE(48, 16);
        return { time: T0 + i, data: withOptions.subarray(0, 58), originalLength: withOptions.length };
      },
    ),
};

describe.runIf(available)('synthetic edge cases, compared with tshark', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pcap-synth-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const [name, make] of Object.entries(CASES)) {
    it(`${name}: same conversations and totals as tshark`, async () => {
      const file = writePcap(make());
      const path = join(dir, `${name.replace(/\W+/g, '-')}.pcap`);
      await writeFile(path, file);
      const view = await tsharkView(path);
      const summary = summarizeBuffer(file);
      expect(summary.partial).toBe(false);
      expect([summary.packets, summary.bytes]).toEqual([view.frames, view.bytes]);
      if (name.includes('cut by the snap length')) {
        // tshark's conv,tcp drops segments with cut options; their own ports (-T fields) are the oracle here.
        const ports = await tsharkPortView(path);
        expect(ourPortView(summary.conversations).map(portKey).sort()).toEqual(
          ports.conversations.map(portKey).sort(),
        );
        return;
      }
      expect(summary.conversations.map(conversationKey).sort()).toEqual(
        view.conversations.map(conversationKey).sort(),
      );
    });
  }
});
