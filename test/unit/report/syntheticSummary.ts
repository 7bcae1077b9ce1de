/**
 * A summary of a busy capture made directly (no packets), for the size budget and the render benchmark: one VM
 * talking to `conversations` distinct public peers over TCP and UDP, with a few private and Azure platform peers.
 */
import type { CaptureSummary, ConversationStat } from '../../../src/pcap/types.js';
import { random } from '../pcap/floodCapture.js';

/** A summary with `conversations` conversations, most bytes first, as `summarize --json` would print it. */
export function syntheticSummary(conversations: number, t0 = Date.UTC(2026, 0, 1)): CaptureSummary {
  const rand = random(7);
  const list: ConversationStat[] = [];
  for (let i = 0; i < conversations; i++) {
    const udp = i % 5 === 0;
    const peer =
      i % 97 === 0
        ? '168.63.129.16'
        : i % 89 === 0
          ? `10.0.${(i >> 8) & 255}.${i & 255}`
          : `${1 + Math.floor(rand() * 222)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${1 + Math.floor(rand() * 254)}`;
    const packets = 2 + Math.floor(rand() * 400);
    const bytes = packets * (60 + Math.floor(rand() * 1400));
    const first = t0 + Math.floor(rand() * 600_000);
    const atob = Math.floor(packets / 2);
    const c: ConversationStat = {
      protocol: udp ? 'udp' : 'tcp',
      a: `10.0.0.4:${1024 + (i % 60000)}`,
      b: `${peer}:${udp ? 53 : [443, 80, 22, 8443][i % 4]}`,
      packets,
      bytes,
      packetsAtoB: atob,
      bytesAtoB: Math.floor(bytes / 3),
      packetsBtoA: packets - atob,
      bytesBtoA: bytes - Math.floor(bytes / 3),
      firstSeen: new Date(first).toISOString().replace('Z', '123Z'),
      lastSeen: new Date(first + Math.floor(rand() * 30_000)).toISOString().replace('Z', '456Z'),
      connState: udp ? 'SF' : i % 13 === 0 ? 'S0' : i % 17 === 0 ? 'RSTR' : 'SF',
    };
    if (!udp) c.tcp = { syn: 2, fin: i % 13 === 0 ? 0 : 2, rst: i % 17 === 0 ? 1 : 0, history: 'ShADadFf' };
    list.push(c);
  }
  list.sort((x, y) => y.bytes - x.bytes);
  const bytes = list.reduce((n, c) => n + c.bytes, 0);
  const packets = list.reduce((n, c) => n + c.packets, 0);
  return {
    format: 'pcap',
    partial: false,
    startTime: new Date(t0).toISOString().replace('Z', '000Z'),
    endTime: new Date(t0 + 630_000).toISOString().replace('Z', '000Z'),
    durationSeconds: 630,
    packets,
    bytes,
    protocols: [
      { protocol: 'tcp', packets: Math.floor(packets * 0.8), bytes: Math.floor(bytes * 0.8) },
      {
        protocol: 'udp',
        packets: packets - Math.floor(packets * 0.8),
        bytes: bytes - Math.floor(bytes * 0.8),
      },
    ],
    conversations: list,
    conversationsTotal: list.length,
    conversationsTotalEstimated: false,
    conversationsTruncated: false,
    topTalkers: [{ address: '10.0.0.4', packets, bytes }],
    signals: [
      {
        kind: 'unanswered-syn',
        severity: 'warning',
        message: `${Math.ceil(conversations / 13)} TCP connection attempts got no answer`,
        count: Math.ceil(conversations / 13),
        conversations: list.slice(0, 10).map((c) => ({ protocol: c.protocol, a: c.a, b: c.b, count: 1 })),
      },
    ],
  };
}
