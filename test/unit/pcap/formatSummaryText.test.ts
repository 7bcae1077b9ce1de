import { describe, expect, it } from 'vitest';
import { formatSummaryText } from '../../../src/pcap/formatSummaryText.js';
import type { CaptureSummary } from '../../../src/pcap/types.js';

const base: CaptureSummary = {
  format: 'pcap',
  partial: false,
  durationSeconds: 1,
  packets: 1_000_010,
  bytes: 54_000_540,
  protocols: [{ protocol: 'tcp', packets: 1_000_010, bytes: 54_000_540 }],
  conversations: [
    {
      protocol: 'tcp',
      a: '11.0.0.1:1000',
      b: '10.0.0.5:80',
      packets: 7,
      bytes: 378,
      packetsAtoB: 7,
      bytesAtoB: 378,
      packetsBtoA: 0,
      bytesBtoA: 0,
      firstSeen: '2023-11-14T22:13:20.000000Z',
      lastSeen: '2023-11-14T22:13:21.000000Z',
      estimated: true,
      connState: 'S0',
    },
  ],
  conversationsTotal: 996_109,
  conversationsTotalEstimated: true,
  conversationsTruncated: true,
  otherConversations: { conversations: 996_108, packets: 1_000_003, bytes: 54_000_162 },
  connStates: { S0: 1_000_000 },
  topTalkers: [],
  signals: [],
};

describe('formatSummaryText', () => {
  it('says the count is an estimate, marks lower-bound counts and shows what the list leaves out', () => {
    const text = formatSummaryText(base);
    expect(text).toContain('Top conversations (1 of about 996109, by bytes):');
    expect(text).toMatch(/tcp\s+11\.0\.0\.1:1000\s+10\.0\.0\.5:80\s+S0\s+>=7\s/);
    expect(text).toContain('  and about 996108 more: 1000003 pkts, 51.5 MiB');
    expect(text).toContain('Connection states (Zeek conn_state): S0 1000000');
  });

  it('reads a summary stored before v2 (no total, no states)', () => {
    const { conversationsTotal, conversationsTotalEstimated, otherConversations, connStates, ...old } = base;
    void [conversationsTotal, conversationsTotalEstimated, otherConversations, connStates];
    const text = formatSummaryText(old);
    expect(text).toContain('Top conversations (1 of 1, by bytes):');
    expect(text).not.toContain('Connection states');
  });
});
