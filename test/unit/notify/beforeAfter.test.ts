import { describe, expect, it } from 'vitest';
import {
  toWebhookPayload,
  type CaptureNotification,
  type PreAlertEvidence,
} from '../../../src/notify/captureNotification.js';
import { describeCapture } from '../../../src/notify/describeCapture.js';
import { TEAMS_MAX_PAYLOAD_BYTES, toTeamsPayload } from '../../../src/notify/toTeamsPayload.js';
import { SLACK_LIMITS, toSlackPayload } from '../../../src/notify/toSlackPayload.js';
import { compareSummaries } from '../../../src/pcap/compareSummaries.js';
import { completed, conversations, failed, SAS, summary } from './sampleNotification.js';

/** The before of a ring VM's alert: 2 of the 3 conversations the capture after shows. */
function evidence(overrides: Partial<PreAlertEvidence> = {}): PreAlertEvidence {
  const before = { ...summary(3), conversations: conversations(3).slice(1) };
  return {
    windowStart: '2025-01-02T09:54:00.000Z',
    windowEnd: '2025-01-02T10:00:00.000Z',
    keptFrom: '2025-01-02T09:52:00.000Z',
    startsBeforeWindowSeconds: 120,
    coversStart: true,
    complete: true,
    keptFiles: ['kept/a-1/0a1b2c-1.cap', 'kept/a-1/0a1b2c-2.cap'],
    keptFileCount: 2,
    summary: before,
    ...overrides,
  };
}

function withBefore(n: CaptureNotification, before = evidence()): CaptureNotification {
  return {
    ...n,
    before,
    ...(n.summary && before.summary ? { change: compareSummaries(before.summary, n.summary) } : {}),
  };
}

const newConversation = conversations(3)[0]!;

describe('before and after in a message', () => {
  it('says from when the kept files are, against the alert window, and names what is new after', () => {
    const d = describeCapture(withBefore(completed()));
    expect(d.before?.heading).toBe(
      'Before the alert: 2 kept files from 09:52:00 UTC, 2 min before the start of the alert window (window 09:54:00 UTC – 10:00:00 UTC)',
    );
    expect(d.before?.changes).toContain(
      `New after the alert: ${newConversation.protocol} ${newConversation.a} ↔ ${newConversation.b} (4.50 kB)`,
    );
    expect(d.before?.warnings).toEqual([]);
  });

  it("warns when the window's start was already rotated away, and says why the keeping stopped", () => {
    const d = describeCapture(
      withBefore(
        completed(),
        evidence({
          coversStart: false,
          startsBeforeWindowSeconds: -30,
          note: 'the last file was still being written',
        }),
      ),
    );
    expect(d.before?.heading).toContain('30 s after the start of the alert window');
    expect(d.before?.warnings).toEqual([
      "the window's start was already rotated out of the ring: the kept files start later",
      'the last file was still being written',
    ]);
  });

  it('sends the before of a capture that never started in Teams and Slack, within their limits', () => {
    const n = withBefore(failed({ summary: undefined }));
    const teams = JSON.stringify(toTeamsPayload(n));
    expect(teams).toContain('Before the alert: 2 kept files');
    expect(teams).toContain('kept/a-1/0a1b2c-1.cap');
    const slack = toSlackPayload(n);
    expect(JSON.stringify(slack)).toContain('Before the alert: 2 kept files');
    expect(slack.blocks.length).toBeLessThanOrEqual(SLACK_LIMITS.blocks);
  });

  it('keeps Teams under its size limit, the before kept over the traffic, when everything is at its largest', () => {
    const huge = evidence({
      note: 'n'.repeat(50_000),
      keptFiles: Array.from({ length: 20 }, (_, i) => `kept/a-1/${'x'.repeat(900)}-${i}.cap`),
      keptFileCount: 5000,
    });
    const n = withBefore(completed({ summary: summary(500) }), huge);
    const payload = toTeamsPayload(n);
    const text = JSON.stringify(payload);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(TEAMS_MAX_PAYLOAD_BYTES);
    expect(text).toContain('Before the alert: 5,000 kept files');
  });

  it('keeps every Slack text within Block Kit limits with a huge before', () => {
    const n = withBefore(
      completed({ summary: summary(500) }),
      evidence({ note: 'n'.repeat(50_000), keptFiles: Array.from({ length: 20 }, () => 'k'.repeat(5000)) }),
    );
    for (const block of toSlackPayload(n).blocks) {
      if (block.type === 'section' && block.text) expect(block.text.text.length).toBeLessThanOrEqual(3000);
      if (block.type === 'context')
        for (const e of block.elements) expect(e.text.length).toBeLessThanOrEqual(3000);
    }
  });

  it('carries the before in the webhook JSON without secrets, its conversations trimmed', () => {
    const before = evidence({
      note: `copy failed: https://x.blob.core.windows.net/c/b${SAS}`,
      summary: { ...summary(3), conversations: conversations(50) },
    });
    const payload = toWebhookPayload(withBefore(completed(), before));
    expect(JSON.stringify(payload)).not.toContain('SECRETsignature');
    expect(payload.before?.summary?.conversations).toHaveLength(10);
    expect(payload.before?.keptFiles).toEqual(before.keptFiles);
  });
});
