/**
 * Zeek's conn_state for each documented case (https://docs.zeek.org/en/current/scripts/base/protocols/conn/main.zeek.html),
 * the TCP history, handshake time and the v2 signals, on hand-made packets.
 */
import { describe, expect, it } from 'vitest';
import { summarizeBuffer } from '../../../src/pcap/summarizeStream.js';
import type { CaptureSummary, ConnState } from '../../../src/pcap/types.js';
import {
  ACK,
  FIN,
  PSH,
  RST,
  SYN,
  ipv4Packet,
  ipv6Packet,
  tcpPacket,
  udpDatagram,
  writePcap,
  type TestPacket,
} from './captureWriter.js';

const T0 = 1_700_000_000;
const C = '10.0.0.1';
const S = '10.0.0.2';
type Step = [from: 'c' | 's', flags: number, payload?: number];

/** One TCP conversation from steps, with plausible sequence numbers. */
function conversation(steps: Step[], clientPort = 40000): TestPacket[] {
  let cs = 1000;
  let ss = 5000;
  return steps.map(([from, flags, payload = 0], i) => {
    const fromC = from === 'c';
    const data = fromC
      ? tcpPacket(C, clientPort, S, 443, cs, ss, flags, payload)
      : tcpPacket(S, 443, C, clientPort, ss, cs, flags, payload);
    const advance = payload + (flags & SYN ? 1 : 0) + (flags & FIN ? 1 : 0);
    if (fromC) cs += advance;
    else ss += advance;
    return { time: T0 + i * 0.01, data };
  });
}

const only = (s: CaptureSummary) => s.conversations[0]!;
const stateOf = (steps: Step[]): ConnState | undefined =>
  only(summarizeBuffer(writePcap(conversation(steps)))).connState;

describe('conn_state', () => {
  const cases: [ConnState, Step[]][] = [
    ['S0', [['c', SYN]]],
    [
      'S1',
      [
        ['c', SYN],
        ['s', SYN | ACK],
        ['c', ACK],
        ['c', PSH | ACK, 10],
      ],
    ],
    [
      'SF',
      [
        ['c', SYN],
        ['s', SYN | ACK],
        ['c', ACK],
        ['c', FIN | ACK],
        ['s', FIN | ACK],
        ['c', ACK],
      ],
    ],
    [
      'REJ',
      [
        ['c', SYN],
        ['s', RST | ACK],
      ],
    ],
    [
      'S2',
      [
        ['c', SYN],
        ['s', SYN | ACK],
        ['c', ACK],
        ['c', FIN | ACK],
      ],
    ],
    [
      'S3',
      [
        ['c', SYN],
        ['s', SYN | ACK],
        ['c', ACK],
        ['s', FIN | ACK],
      ],
    ],
    [
      'RSTO',
      [
        ['c', SYN],
        ['s', SYN | ACK],
        ['c', ACK],
        ['c', RST | ACK],
      ],
    ],
    [
      'RSTR',
      [
        ['c', SYN],
        ['s', SYN | ACK],
        ['c', ACK],
        ['c', PSH | ACK, 5],
        ['s', RST],
      ],
    ],
    [
      'RSTOS0',
      [
        ['c', SYN],
        ['c', RST],
      ],
    ],
    [
      'RSTRH',
      [
        ['c', ACK, 5],
        ['s', SYN | ACK],
        ['s', RST],
      ],
    ],
    [
      'SH',
      [
        ['c', SYN],
        ['c', FIN],
      ],
    ],
    [
      'SHR',
      [
        ['s', SYN | ACK],
        ['s', FIN],
      ],
    ],
    [
      'OTH',
      [
        ['c', PSH | ACK, 10],
        ['s', ACK],
      ],
    ],
  ];
  it.each(cases)('%s', (state, steps) => {
    expect(stateOf(steps)).toBe(state);
  });

  it('gives UDP Zeek’s S0 (one way) and SF (both ways)', () => {
    const one = {
      time: T0,
      data: ipv4Packet({ src: C, dst: S, protocol: 17, payload: udpDatagram(1, 2, Buffer.alloc(4)) }),
    };
    const back = {
      time: T0 + 1,
      data: ipv4Packet({ src: S, dst: C, protocol: 17, payload: udpDatagram(2, 1, Buffer.alloc(4)) }),
    };
    expect(only(summarizeBuffer(writePcap([one]))).connState).toBe('S0');
    expect(only(summarizeBuffer(writePcap([one, back]))).connState).toBe('SF');
  });

  it('counts states over every conversation and writes a Zeek-style history with the handshake time', () => {
    const s = summarizeBuffer(
      writePcap(
        conversation([
          ['c', SYN],
          ['s', SYN | ACK],
          ['c', ACK],
          ['c', PSH | ACK, 10],
          ['c', FIN | ACK],
          ['s', FIN | ACK],
        ]),
      ),
    );
    expect(s.connStates).toEqual({ SF: 1 });
    expect(only(s).tcp).toMatchObject({ history: 'ShADFf', handshakeRttMs: 10 });
  });
});

describe('signals v2', () => {
  it('calls 1000 unanswered connection attempts a SYN flood, critical, with sources, targets and conversations', () => {
    const packets: TestPacket[] = [];
    for (let i = 0; i < 1000; i++) {
      packets.push({
        time: T0 + i / 1000,
        data: tcpPacket(`11.0.${i >> 8}.${i & 255}`, 1000 + i, '10.0.0.5', 80, i, 0, SYN),
      });
    }
    const s = summarizeBuffer(writePcap(packets));
    const flood = s.signals[0]!;
    expect(flood).toMatchObject({ kind: 'syn-flood', severity: 'critical', count: 1000 });
    expect(flood.targets).toEqual([{ name: '10.0.0.5:80', count: 1000 }]);
    expect(flood.sources).toHaveLength(10);
    expect(flood.conversations).toHaveLength(10);
    expect(flood.message).toMatch(/^1,000 TCP connection attempts got no answer/);
  });

  it('reports resets by side and the refused attempts', () => {
    const packets = [
      ...conversation([
        ['c', SYN],
        ['s', RST | ACK],
      ]),
      ...conversation(
        [
          ['c', SYN],
          ['s', SYN | ACK],
          ['c', ACK],
          ['c', RST | ACK],
        ],
        40001,
      ),
    ];
    const s = summarizeBuffer(writePcap(packets));
    expect(s.connStates).toEqual({ REJ: 1, RSTO: 1 });
    const resets = s.signals.find((x) => x.kind === 'resets')!;
    expect(resets.count).toBe(2);
    expect(resets.message).toContain(
      '1 connection aborted by the originator (RSTO), 0 by the responder (RSTR), 1 refused (REJ)',
    );
    expect(s.signals.find((x) => x.kind === 'rejected')!.targets).toEqual([
      { name: '10.0.0.2:443', count: 1 },
    ]);
  });

  it('counts zero-window segments, not a SYN or RST with window 0', () => {
    const packets = conversation([
      ['c', SYN],
      ['s', SYN | ACK],
      ['c', ACK],
      ['c', PSH | ACK, 100],
      ['s', ACK],
      ['s', RST],
    ]);
    // The TCP window field sits at byte 14 + 20 + 14 of these frames.
    for (const i of [4, 5]) packets[i]!.data.set([0, 0], 48);
    const s = summarizeBuffer(writePcap(packets));
    expect(only(s).tcp!.zeroWindows).toBe(1);
    expect(s.signals.find((x) => x.kind === 'zero-window')).toMatchObject({ count: 1, severity: 'warning' });
  });

  it('reads ICMPv6 destination unreachable and packet too big with the quoted 5-tuple and MTU', () => {
    const a = Buffer.from('fd000000000000000000000000000001', 'hex');
    const b = Buffer.from('fd000000000000000000000000000002', 'hex');
    const router = Buffer.from('fd0000000000000000000000000000fe', 'hex');
    const inner = ipv6Packet(a, b, 17, udpDatagram(5000, 6000, Buffer.alloc(20))).subarray(14);
    const icmp = (type: number, code: number, word: number): Buffer => {
      const h = Buffer.alloc(8);
      h[0] = type;
      h[1] = code;
      h.writeUInt32BE(word, 4);
      return Buffer.concat([h, inner]);
    };
    const s = summarizeBuffer(
      writePcap([
        { time: T0, data: ipv6Packet(b, a, 58, icmp(1, 4, 0)) },
        { time: T0 + 1, data: ipv6Packet(router, a, 58, icmp(2, 0, 1280)) },
      ]),
    );
    const unreachable = s.signals.find((x) => x.kind === 'icmp-unreachable')!;
    expect(unreachable.conversations).toEqual([
      { protocol: 'udp', a: '[fd00::1]:5000', b: '[fd00::2]:6000', count: 1 },
    ]);
    expect(unreachable.message).toContain('port unreachable ×1');
    const tooBig = s.signals.find((x) => x.kind === 'icmp-frag-needed')!;
    expect(tooBig.message).toContain('next-hop MTU 1280');
    expect(tooBig.sources).toEqual([{ name: 'fd00::fe', count: 1 }]);
  });

  it('counts headers cut by the snap length, and says when even the ports were lost', () => {
    const full = tcpPacket(C, 1, S, 2, 1, 0, SYN);
    const s = summarizeBuffer(
      writePcap([
        { time: T0, data: full.subarray(0, 40), originalLength: full.length },
        { time: T0 + 1, data: full.subarray(0, 30), originalLength: full.length },
      ]),
    );
    const cut = s.signals.find((x) => x.kind === 'headers-cut')!;
    expect(cut).toMatchObject({ count: 2, severity: 'warning' });
    expect(cut.message).toContain('1 lost even their ports');
    expect(s.conversations).toHaveLength(1);
    expect(only(s).packets).toBe(1);
  });

  it('orders signals most severe first', () => {
    const packets: TestPacket[] = [];
    for (let i = 0; i < 1000; i++)
      packets.push({ time: T0 + i / 1000, data: tcpPacket(C, 1000 + i, S, 80, i, 0, SYN) });
    packets.push({ time: T0 + 2, data: tcpPacket(S, 80, C, 999, 1, 1, RST) });
    const kinds = summarizeBuffer(writePcap(packets)).signals.map((x) => x.severity);
    expect(kinds).toEqual(
      [...kinds].sort(
        (x, y) => ['critical', 'warning', 'info'].indexOf(x) - ['critical', 'warning', 'info'].indexOf(y),
      ),
    );
  });
});
