import { describe, expect, it } from 'vitest';
import { defaultRenderOptions } from '../../../src/report/makeReport.js';
import { renderReport } from '../../../src/report/renderReport.js';
import type { ReportBefore } from '../../../src/report/types.js';
import { syntheticSummary } from './syntheticSummary.js';

const options = { ...defaultRenderOptions(), generatedAt: new Date('2026-12-01T00:00:00Z') };
const HOSTILE = '<img src=x onerror=alert(1)>';

function before(overrides: Partial<ReportBefore> = {}): ReportBefore {
  const summary = { ...syntheticSummary(4), conversations: syntheticSummary(4).conversations.slice(1) };
  return {
    windowStart: '2026-01-01T00:00:00.000Z',
    windowEnd: '2026-01-01T00:05:00.000Z',
    keptFrom: '2025-12-31T23:58:00.000Z',
    startsBeforeWindowSeconds: 120,
    coversStart: true,
    complete: true,
    keptFiles: ['kept/a-1/0a1b2c-1.cap'],
    keptFileCount: 1,
    summary,
    ...overrides,
  };
}

describe('the report of a ring VM alert', () => {
  it('names the conversation only after, and embeds the before once', () => {
    const after = syntheticSummary(4);
    const html = renderReport({ summary: after, capture: { fileName: 'c.pcap' }, before: before() }, options);
    const section = /<section id="before-after"[\s\S]*?<\/section>/.exec(html)![0];
    const fresh = after.conversations[0]!;
    expect(section).toContain('Conversations only after the alert');
    expect(section).toContain(`${fresh.a} ↔ ${fresh.b}`);
    expect(section).toContain('2 min before the alert window');
    expect(html.match(/id="capture-before"/g)).toHaveLength(1);
    expect(html).toContain('<a href="#before-after">');
  });

  it('without a capture after, says why and compares nothing', () => {
    const b = before({ afterMissing: 'no capture could be started within 900 s' });
    const html = renderReport(
      { summary: b.summary!, capture: { fileName: '1 kept ring file' }, before: b },
      options,
    );
    expect(html).toContain('no capture after the alert: no capture could be started within 900 s');
    expect(html).not.toContain('Conversations only after the alert');
  });

  it('warns when the window start had rotated away, and escapes every stored string', () => {
    const html = renderReport(
      {
        summary: syntheticSummary(2),
        capture: { fileName: 'c.pcap' },
        before: before({ coversStart: false, note: HOSTILE, keptFiles: [`kept/${HOSTILE}.cap`] }),
      },
      options,
    );
    expect(html).toContain('The window&#39;s start was already rotated out of the ring');
    expect(html).not.toContain(HOSTILE);
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
  });

  it('has no section for an alert that kept nothing', () => {
    const html = renderReport({ summary: syntheticSummary(2), capture: { fileName: 'c.pcap' } }, options);
    expect(html).not.toContain('id="before-after"');
    expect(html).not.toContain('id="capture-before"');
  });
});
