import { describe, expect, it } from 'vitest';
import { summarizeBuffer, summarizeStream } from '../../../src/pcap/summarizeStream.js';
import {
  ACK,
  FIN,
  PSH,
  RST,
  SYN,
  ipv4Packet,
  ipv6Packet,
  udpDatagram,
  writePcap,
  writePcapng,
  type TestPacket,
  tcpPacket,
} from './captureWriter.js';

const T0 = 1_700_000_000; // 2023-11-14T22:13:20Z

const tcp = tcpPacket;

function udp(src: string, sport: number, dst: string, dport: number, payload: number): Buffer {
  return ipv4Packet({ src, dst, protocol: 17, payload: udpDatagram(sport, dport, Buffer.alloc(payload)) });
}

/** A small handshake, data both ways and a clean close between 10.0.0.1:40000 and 10.0.0.2:443. */
function session(start = T0): TestPacket[] {
  const c = '10.0.0.1';
  const s = '10.0.0.2';
  return [
    { time: start, data: tcp(c, 40000, s, 443, 100, 0, SYN) },
    { time: start + 0.001, data: tcp(s, 443, c, 40000, 900, 101, SYN | ACK) },
    { time: start + 0.002, data: tcp(c, 40000, s, 443, 101, 901, ACK) },
    { time: start + 0.003, data: tcp(c, 40000, s, 443, 101, 901, PSH | ACK, 50) },
    { time: start + 0.004, data: tcp(s, 443, c, 40000, 901, 151, PSH | ACK, 500) },
    { time: start + 0.005, data: tcp(c, 40000, s, 443, 151, 1401, FIN | ACK) },
    { time: start + 0.006, data: tcp(s, 443, c, 40000, 1401, 152, FIN | ACK) },
  ];
}

async function* chunks(buffer: Buffer, size: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < buffer.length; i += size) {
    await Promise.resolve(); // an asynchronous source, like a socket
    yield buffer.subarray(i, i + size);
  }
}

describe('summarizeBuffer', () => {
  it('summarizes a TCP session with totals, directions, flags and times', () => {
    const packets = session();
    const summary = summarizeBuffer(writePcap(packets));
    expect(summary).toMatchObject({
      format: 'pcap',
      partial: false,
      packets: 7,
      bytes: packets.reduce((n, p) => n + p.data.length, 0),
      startTime: '2023-11-14T22:13:20.000000Z',
      endTime: '2023-11-14T22:13:20.006000Z',
      durationSeconds: 0.006,
    });
    expect(summary.partialReason).toBeUndefined();
    expect(summary.conversations).toHaveLength(1);
    expect(summary.conversations[0]).toMatchObject({
      protocol: 'tcp',
      a: '10.0.0.1:40000',
      b: '10.0.0.2:443',
      packets: 7,
      packetsAtoB: 4,
      packetsBtoA: 3,
      firstSeen: '2023-11-14T22:13:20.000000Z',
      lastSeen: '2023-11-14T22:13:20.006000Z',
      tcp: { syn: 2, fin: 2, rst: 0 },
    });
    expect(summary.protocols).toEqual([{ protocol: 'tcp', packets: 7, bytes: summary.bytes }]);
    expect(summary.topTalkers.map((t) => t.address)).toEqual(['10.0.0.1', '10.0.0.2']);
    expect(summary.signals).toEqual([]);
  });

  it('names as side a the endpoint seen first, even when it is the higher address', () => {
    const summary = summarizeBuffer(
      writePcap([{ time: T0, data: udp('10.0.0.9', 53, '10.0.0.1', 5000, 20) }]),
    );
    expect(summary.conversations[0]).toMatchObject({ a: '10.0.0.9:53', b: '10.0.0.1:5000', packetsAtoB: 1 });
  });

  it('counts original lengths, not captured lengths, for packets cut by the snap length', () => {
    const full = udp('10.0.0.1', 1000, '10.0.0.2', 2000, 1000);
    const summary = summarizeBuffer(
      writePcap([{ time: T0, data: full.subarray(0, 60), originalLength: full.length }]),
    );
    expect(summary.bytes).toBe(full.length);
    expect(summary.conversations[0]!.bytes).toBe(full.length);
  });

  it('reads big-endian microsecond pcap', () => {
    const summary = summarizeBuffer(writePcap(session(), { littleEndian: false }));
    expect(summary.packets).toBe(7);
    expect(summary.startTime).toBe('2023-11-14T22:13:20.000000Z');
  });

  it('reads nanosecond pcap timestamps', () => {
    const summary = summarizeBuffer(
      writePcap([{ time: T0 + 0.123456789, data: udp('10.0.0.1', 1, '10.0.0.2', 2, 1) }], {
        nanoseconds: true,
      }),
    );
    expect(summary.startTime).toBe('2023-11-14T22:13:20.123456Z');
  });

  it('reads a big-endian pcapng section with nanosecond if_tsresol', () => {
    const summary = summarizeBuffer(
      writePcapng(session(T0 + 0.5), { littleEndian: false, nanoseconds: true }),
    );
    expect(summary).toMatchObject({ format: 'pcapng', partial: false, packets: 7 });
    expect(summary.startTime).toBe('2023-11-14T22:13:20.500000Z');
  });

  it('reads several pcapng sections of different byte orders and skips unknown blocks', () => {
    const file = Buffer.concat([
      writePcapng(session(), { extraBlock: true }),
      writePcapng([{ time: T0 + 20, data: udp('10.0.0.3', 9, '10.0.0.4', 9, 10), interfaceId: 1 }], {
        littleEndian: false,
        linkTypes: [101, 1],
      }),
    ]);
    const summary = summarizeBuffer(file);
    expect(summary.partial).toBe(false);
    expect(summary.packets).toBe(8);
    expect(summary.conversations.map((c) => c.protocol).sort()).toEqual(['tcp', 'udp']);
  });

  it('reads raw IP (LINKTYPE_RAW) packets', () => {
    const ethernetFrame = udp('192.0.2.1', 5353, '192.0.2.2', 5353, 10);
    const summary = summarizeBuffer(
      writePcap([{ time: T0, data: ethernetFrame.subarray(14) }], { linkType: 101 }),
    );
    expect(summary.conversations[0]).toMatchObject({
      protocol: 'udp',
      a: '192.0.2.1:5353',
      b: '192.0.2.2:5353',
    });
  });

  it('looks through 802.1Q and 802.1ad VLAN tags', () => {
    const frame = udp('10.1.0.1', 1111, '10.1.0.2', 2222, 10);
    const tagged = Buffer.concat([
      frame.subarray(0, 12),
      Buffer.from([0x88, 0xa8, 0, 5, 0x81, 0x00, 0, 7]),
      frame.subarray(12),
    ]);
    const summary = summarizeBuffer(writePcap([{ time: T0, data: tagged }]));
    expect(summary.conversations[0]).toMatchObject({ a: '10.1.0.1:1111', b: '10.1.0.2:2222' });
  });

  it('skips IPv6 extension headers and writes IPv6 endpoints in brackets, compressed', () => {
    const src = Buffer.from('20010db8000000000000000000000001', 'hex');
    const dst = Buffer.from('20010db8000000010000000000000000', 'hex');
    const packet = ipv6Packet(src, dst, 17, udpDatagram(5000, 53, Buffer.alloc(12)), true);
    const summary = summarizeBuffer(writePcap([{ time: T0, data: packet }]));
    expect(summary.conversations[0]).toMatchObject({
      protocol: 'udp',
      a: '[2001:db8::1]:5000',
      b: '[2001:db8:0:1::]:53',
    });
    expect(summary.topTalkers[0]!.address).toBe('2001:db8::1');
  });

  it('keys ICMP conversations by address pair, without ports', () => {
    const echo = (src: string, dst: string, type: number): Buffer =>
      ipv4Packet({ src, dst, protocol: 1, payload: Buffer.from([type, 0, 0, 0, 0, 1, 0, 1]) });
    const summary = summarizeBuffer(
      writePcap([
        { time: T0, data: echo('10.0.0.1', '10.0.0.2', 8) },
        { time: T0 + 0.001, data: echo('10.0.0.2', '10.0.0.1', 0) },
      ]),
    );
    expect(summary.conversations).toHaveLength(1);
    expect(summary.conversations[0]).toMatchObject({
      protocol: 'icmp',
      a: '10.0.0.1',
      b: '10.0.0.2',
      packetsAtoB: 1,
      packetsBtoA: 1,
    });
  });

  it('counts non-IP frames (ARP) in totals and the protocol mix but in no conversation', () => {
    const arp = Buffer.concat([
      Buffer.from([255, 255, 255, 255, 255, 255, 2, 0, 0, 0, 0, 1, 0x08, 0x06]),
      Buffer.alloc(28),
    ]);
    const summary = summarizeBuffer(writePcap([{ time: T0, data: arp }]));
    expect(summary.packets).toBe(1);
    expect(summary.protocols).toEqual([{ protocol: 'arp', packets: 1, bytes: 42 }]);
    expect(summary.conversations).toEqual([]);
  });

  it('starts a new TCP conversation when a SYN with a new sequence number reuses the port pair', () => {
    const summary = summarizeBuffer(
      writePcap([
        ...session(),
        ...session(T0 + 1).map((p, i) =>
          i === 0 ? { ...p, data: tcp('10.0.0.1', 40000, '10.0.0.2', 443, 5000, 0, SYN) } : p,
        ),
      ]),
    );
    expect(summary.conversations.filter((c) => c.protocol === 'tcp')).toHaveLength(2);
  });

  it('keeps a retransmitted SYN in the same conversation', () => {
    const syn = tcp('10.0.0.1', 40000, '10.0.0.2', 443, 100, 0, SYN);
    const summary = summarizeBuffer(
      writePcap([
        { time: T0, data: syn },
        { time: T0 + 1, data: syn },
      ]),
    );
    expect(summary.conversations).toHaveLength(1);
    // Wireshark marks the second SYN a retransmission (it repeats sequence number 100); Zeek writes "S" once.
    expect(summary.conversations[0]!.tcp).toEqual({
      syn: 2,
      fin: 0,
      rst: 0,
      history: 'ST',
      retransmissions: 1,
      zeroWindows: 0,
    });
    expect(summary.conversations[0]!.connState).toBe('S0');
  });

  it('returns an empty, complete summary for a file with a header and no packets', () => {
    const summary = summarizeBuffer(writePcap([]));
    expect(summary).toMatchObject({
      partial: false,
      packets: 0,
      bytes: 0,
      durationSeconds: 0,
      conversations: [],
    });
    expect(summary.startTime).toBeUndefined();
  });
});

describe('signals', () => {
  it('reports an RST storm with the endpoint sending most resets', () => {
    const packets: TestPacket[] = [];
    for (let i = 0; i < 30; i++) {
      packets.push({
        time: T0 + i * 0.01,
        data: tcp('10.0.0.5', 443, '10.0.0.1', 30000 + i, 1, 1, RST | ACK),
      });
    }
    const summary = summarizeBuffer(writePcap(packets));
    const storm = summary.signals.find((s) => s.kind === 'rst-storm');
    expect(storm).toMatchObject({ severity: 'warning', count: 30 });
    expect(storm!.message).toContain('10.0.0.5:443');
  });

  it('does not call a few scattered resets a storm', () => {
    const packets: TestPacket[] = [];
    for (let i = 0; i < 30; i++) {
      packets.push({ time: T0 + i * 2, data: tcp('10.0.0.5', 443, '10.0.0.1', 30000 + i, 1, 1, RST | ACK) });
    }
    expect(summarizeBuffer(writePcap(packets)).signals.some((s) => s.kind === 'rst-storm')).toBe(false);
  });

  it('reports SYNs that were never answered, naming the target', () => {
    const packets: TestPacket[] = [0, 1, 3].map((k) => ({
      time: T0 + k,
      data: tcp('10.0.0.1', 50000, '10.0.0.7', 5432, 77, 0, SYN),
    }));
    const signal = summarizeBuffer(writePcap(packets)).signals.find((s) => s.kind === 'unanswered-syn');
    expect(signal).toMatchObject({ count: 1, severity: 'warning' });
    expect(signal!.message).toContain('10.0.0.7:5432');
  });

  it('estimates retransmissions from data sent again with the same sequence number', () => {
    const packets = session();
    const data = packets[3]!;
    const summary = summarizeBuffer(
      writePcap([...packets.slice(0, 4), { ...data, time: T0 + 0.0035 }, ...packets.slice(4)]),
    );
    expect(summary.signals.find((s) => s.kind === 'retransmissions')).toMatchObject({
      count: 1,
      severity: 'info',
    });
  });
});

describe('corrupt and cut input', () => {
  it('flags a file that is not a capture, naming offset 0', () => {
    const summary = summarizeBuffer(Buffer.from('<html>this is not a capture</html>'));
    expect(summary).toMatchObject({ partial: true, packets: 0 });
    expect(summary.partialReason).toMatch(/not a pcap or pcapng file.*byte offset 0/);
    expect(summary.signals[0]).toMatchObject({ kind: 'partial', severity: 'warning' });
  });

  it('flags an empty input', () => {
    expect(summarizeBuffer(new Uint8Array(0)).partialReason).toMatch(/empty input.*byte offset 0/);
  });

  it('stops at a record with an absurd length and keeps the packets before it', () => {
    const file = writePcap(session());
    const third = 24 + (16 + session()[0]!.data.length) + (16 + session()[1]!.data.length);
    file.writeUInt32LE(50_000_000, third + 8);
    const summary = summarizeBuffer(file);
    expect(summary.packets).toBe(2);
    expect(summary.partial).toBe(true);
    expect(summary.partialReason).toContain(`byte offset ${third}`);
    expect(summary.partialReason).toContain('50000000');
  });

  it('flags a pcap cut in the middle of a record with the record’s offset', () => {
    const file = writePcap(session());
    const cut = file.subarray(0, file.length - 10);
    const last = file.length - (16 + session()[6]!.data.length);
    const summary = summarizeBuffer(cut);
    expect(summary.packets).toBe(6);
    expect(summary.partialReason).toMatch(
      new RegExp(`file ends inside a packet record .* byte offset ${last}$`),
    );
  });

  it('flags a pcapng cut in the middle of a block', () => {
    const file = writePcapng(session());
    const summary = summarizeBuffer(file.subarray(0, file.length - 5));
    expect(summary).toMatchObject({ format: 'pcapng', partial: true, packets: 6 });
    expect(summary.partialReason).toMatch(/file ends inside a pcapng block.*byte offset \d+/);
  });

  it('flags a pcapng block whose trailing length disagrees', () => {
    const file = writePcapng(session());
    file.writeUInt32LE(12345, file.length - 4);
    const summary = summarizeBuffer(file);
    expect(summary.packets).toBe(6);
    expect(summary.partialReason).toMatch(/trailing length.*byte offset \d+/);
  });

  it('flags a pcapng unknown block that claims to run past the end', async () => {
    const file = writePcapng(session(), { extraBlock: true });
    const extraAt = file.indexOf(Buffer.from([0xad, 0x0b, 0, 0]));
    file.writeUInt32LE(4_000_000_000, extraAt + 4);
    const summary = await summarizeStream(chunks(file, 1000));
    expect(summary.partial).toBe(true);
    expect(summary.partialReason).toContain(`byte offset ${extraAt}`);
  });

  it('turns a failing source into a partial summary instead of throwing', async () => {
    const file = writePcap(session());
    async function* failing(): AsyncGenerator<Uint8Array> {
      yield file.subarray(0, 200);
      await Promise.resolve();
      throw new Error('connection reset by peer');
    }
    const summary = await summarizeStream(failing());
    expect(summary.partial).toBe(true);
    expect(summary.packets).toBeGreaterThan(0);
    expect(summary.partialReason).toMatch(/connection reset by peer/);
  });
});

describe('summarizeStream', () => {
  it('gives the same summary whatever the chunk boundaries', async () => {
    const file = Buffer.concat([
      writePcapng(session(), { extraBlock: true }),
      writePcapng(session(T0 + 5), { littleEndian: false }),
    ]);
    const whole = summarizeBuffer(file);
    for (const size of [1, 3, 7, 13, 64, 4096]) {
      expect(await summarizeStream(chunks(file, size))).toEqual(whole);
    }
  });

  it('stops at the time limit and says so, using the injected clock', async () => {
    const file = writePcap(session());
    let now = 0;
    async function* slow(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < file.length; i += 100) {
        now += 40;
        await Promise.resolve();
        yield file.subarray(i, i + 100);
      }
    }
    const summary = await summarizeStream(slow(), { timeLimitInMs: 100, now: () => now });
    expect(summary.partial).toBe(true);
    expect(summary.partialReason).toMatch(/time limit of 100 ms reached at byte offset \d+/);
    expect(summary.packets).toBeLessThan(7);
  });

  it('stops when aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    const summary = await summarizeStream(chunks(writePcap(session()), 50), {
      abortSignal: controller.signal,
    });
    expect(summary).toMatchObject({ partial: true, packets: 0 });
    expect(summary.partialReason).toMatch(/aborted/);
  });
});
