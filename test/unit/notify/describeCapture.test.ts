import { describe, expect, it } from 'vitest';
import {
  describeCapture,
  describeCaptureError,
  describeStatus,
  describeStopReason,
  formatBytes,
  formatDurationSeconds,
  vmNameOf,
} from '../../../src/notify/describeCapture.js';
import { completed, failed, summary } from './sampleNotification.js';

describe('describeStopReason', () => {
  it('says "time limit reached" for TimeExceeded', () => {
    expect(describeStopReason('TimeExceeded')).toBe('time limit reached');
  });

  it('says "size limit reached" for a bytes limit', () => {
    expect(describeStopReason('BytesExceeded')).toBe('size limit reached');
  });

  it('shows an unknown reason as given', () => {
    expect(describeStopReason('CosmicRay')).toBe('CosmicRay');
  });
});

describe('describeStatus', () => {
  it('puts NotStarted in words', () => {
    expect(describeStatus('NotStarted')).toBe('not started');
  });

  it('shows an unknown status as given', () => {
    expect(describeStatus('Paused')).toBe('Paused');
  });
});

describe('describeCaptureError', () => {
  it('explains StorageFailed', () => {
    expect(describeCaptureError('StorageFailed')).toBe('the capture file could not be written to storage');
  });

  it('shows an unknown error as given, with secrets redacted', () => {
    expect(describeCaptureError('Oops at https://x/y?sig=abc')).toBe('Oops at https://x/y?sig=***');
  });
});

describe('formatBytes', () => {
  it.each([
    [0, '0 B'],
    [999, '999 B'],
    [1500, '1.50 kB'],
    [4_500_000, '4.50 MB'],
    [12_345_678, '12.3 MB'],
    [123_456_789, '123 MB'],
    [2_000_000_000, '2.00 GB'],
  ])('%d bytes → %s', (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  it('shows a nonsense value as given', () => {
    expect(formatBytes(-1)).toBe('-1 B');
  });
});

describe('formatDurationSeconds', () => {
  it.each([
    [0, '0 s'],
    [45, '45 s'],
    [60, '1 min'],
    [252, '4 min 12 s'],
    [3600, '1 h'],
    [7500, '2 h 5 min'],
  ])('%d s → %s', (seconds, text) => {
    expect(formatDurationSeconds(seconds)).toBe(text);
  });
});

describe('vmNameOf', () => {
  it('names a VM', () => {
    expect(
      vmNameOf('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/web-01'),
    ).toBe('web-01');
  });

  it('names a scale set instance', () => {
    expect(
      vmNameOf(
        '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/ss1/virtualMachines/3',
      ),
    ).toBe('ss1 instance 3');
  });

  it('falls back to the id when it names no VM', () => {
    expect(vmNameOf('something-else')).toBe('something-else');
  });
});

describe('describeCapture', () => {
  it('leaves out facts that are absent', () => {
    const n = failed();
    delete n.alert.severity;
    const labels = describeCapture(n).facts.map((f) => f.label);
    expect(labels).not.toContain('Severity');
    expect(labels).not.toContain('Size');
    expect(labels).not.toContain('Duration');
  });

  it('omits the duration when the end precedes the start', () => {
    const n = completed();
    n.capture.endedAt = '2025-01-02T09:00:00Z';
    expect(describeCapture(n).facts.map((f) => f.label)).not.toContain('Duration');
  });

  it('lists at most 10 capture errors and says how many more', () => {
    const n = failed();
    n.capture.errors = Array.from({ length: 25 }, (_, i) => `E${i}`);
    const errors = describeCapture(n).errors;
    expect(errors).toHaveLength(11);
    expect(errors[10]).toBe('and 15 more');
  });

  it('marks a partial summary with its reason', () => {
    const n = completed({
      summary: { ...summary(), partial: true, partialReason: 'truncated packet record at byte 81234' },
    });
    expect(describeCapture(n).traffic?.partial).toBe(
      'partial summary: truncated packet record at byte 81234',
    );
  });

  it('writes a protocol share under one percent as <1%', () => {
    const s = summary();
    s.protocols.push({ protocol: 'arp', packets: 1, bytes: 60 });
    expect(describeCapture(completed({ summary: s })).traffic?.protocolMix).toContain('arp <1%');
  });

  it('keeps a storage path that is not a URL as text only', () => {
    const n = completed();
    n.capture.storagePath = 'network-watcher-logs/x.cap?sv=1&sig=2';
    const d = describeCapture(n);
    expect(d.storagePath).toBe('network-watcher-logs/x.cap');
    expect(d.storageUrl).toBeUndefined();
  });
});

describe('describeCapture conversation count', () => {
  it('counts conversations over the whole capture, not the ten the message lists', () => {
    const s = { ...summary(10), conversationsTotal: 996_109, conversationsTotalEstimated: true };
    const d = describeCapture(completed({ summary: s }));
    expect(d.traffic?.conversations).toHaveLength(10);
    expect(d.traffic?.conversationCount).toBe(996_109);
    expect(d.traffic?.conversationCountText).toBe('about 996,109');
  });

  it('says the exact count without "about" when the capture fitted the table', () => {
    const s = { ...summary(12), conversationsTotal: 1_204, conversationsTotalEstimated: false };
    const d = describeCapture(completed({ summary: s }));
    expect(d.traffic?.conversations).toHaveLength(10);
    expect(d.traffic?.conversationCountText).toBe('1,204');
  });

  it('falls back to the listed conversations for a summary stored before the count existed', () => {
    const d = describeCapture(completed({ summary: summary(3) }));
    expect(d.traffic?.conversationCountText).toBe('3');
  });

  it('marks a critical signal with a siren', () => {
    const s = {
      ...summary(1),
      signals: [
        {
          kind: 'syn-flood' as const,
          severity: 'critical' as const,
          message: '1,000,000 attempts',
          count: 1e6,
        },
      ],
    };
    expect(describeCapture(completed({ summary: s })).traffic?.signals).toEqual(['🚨 1,000,000 attempts']);
  });
});
