import type { CaptureNotification } from '../../../src/notify/captureNotification.js';
import type { CaptureSummary, ConversationStat } from '../../../src/pcap/types.js';

/** A SAS query string as Azure Storage writes one: must never reach a chat message. */
export const SAS = '?sv=2024-11-04&ss=b&srt=o&sp=r&se=2030-01-01T00%3A00%3A00Z&sig=SECRETsignature%3D';

export const VM_ID =
  '/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-prod/providers/Microsoft.Compute/virtualMachines/vm1';

export const BLOB_URL =
  'https://stcaptures.blob.core.windows.net/network-watcher-logs/subscriptions/00000000-0000-0000-0000-000000000000/resourcegroups/rg-prod/providers/microsoft.compute/virtualmachines/vm1/2025/01/02/packetcapture_10_00_00_000.cap';

/** `count` TCP conversations, the first one the biggest. */
export function conversations(count: number): ConversationStat[] {
  return Array.from({ length: count }, (_, i) => ({
    protocol: i % 3 === 0 ? 'udp' : 'tcp',
    a: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:${40000 + i}`,
    b: '[2001:db8:85a3:0000:0000:8a2e:0370:7334]:443',
    packets: 1000 - i,
    bytes: (count - i) * 1500,
    packetsAtoB: 500,
    bytesAtoB: 750_000,
    packetsBtoA: 500 - i,
    bytesBtoA: 750_000,
    firstSeen: '2025-01-02T10:00:00.000Z',
    lastSeen: '2025-01-02T10:01:00.000Z',
    tcp: { syn: 1, fin: 1, rst: 0 },
  }));
}

export function summary(conversationCount = 3): CaptureSummary {
  return {
    format: 'pcap',
    partial: false,
    startTime: '2025-01-02T10:00:00.000Z',
    endTime: '2025-01-02T10:01:00.000Z',
    durationSeconds: 60,
    packets: 12345,
    bytes: 4_500_000,
    protocols: [
      { protocol: 'tcp', packets: 10000, bytes: 3_600_000 },
      { protocol: 'udp', packets: 2000, bytes: 675_000 },
      { protocol: 'icmp', packets: 345, bytes: 225_000 },
    ],
    conversations: conversations(conversationCount),
    topTalkers: [{ address: '10.0.0.1', packets: 1000, bytes: 1_500_000 }],
    signals: [
      {
        kind: 'rst-storm',
        severity: 'warning',
        message: '42 TCP resets from 10.0.0.4:443 in 3 s',
        count: 42,
      },
    ],
  };
}

/** A finished capture whose storage path carries a SAS query string. */
export function completed(overrides: Partial<CaptureNotification> = {}): CaptureNotification {
  return {
    type: 'capture.completed',
    idempotencyKey: 'alert-123:ac-vm1',
    capture: {
      name: 'ac-vm1',
      target: VM_ID,
      region: 'westeurope',
      status: 'Stopped',
      stopReason: 'TimeExceeded',
      errors: [],
      startedAt: '2025-01-02T10:00:00Z',
      endedAt: '2025-01-02T10:04:12Z',
      storagePath: `${BLOB_URL}${SAS}`,
      sizeBytes: 4_500_000,
    },
    alert: {
      id: 'alert-123',
      rule: 'High CPU on web tier',
      severity: 'Sev2',
      firedAt: '2025-01-02T09:59:50Z',
    },
    summary: summary(),
    ...overrides,
  };
}

/** A capture that could not be made. */
export function failed(overrides: Partial<CaptureNotification> = {}): CaptureNotification {
  return {
    type: 'capture.failed',
    idempotencyKey: 'alert-456:ac-vm1',
    capture: {
      name: 'ac-vm1',
      target: VM_ID,
      region: 'westeurope',
      status: 'Error',
      errors: ['AgentStopped'],
    },
    alert: { id: 'alert-456', rule: 'Packet loss', severity: 'Sev1', firedAt: '2025-01-02T09:59:50Z' },
    reason: 'Network Watcher agent not installed on vm1',
    ...overrides,
  };
}
