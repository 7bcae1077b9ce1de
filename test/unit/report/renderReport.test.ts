import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { CaptureSummary } from '../../../src/pcap/types.js';
import {
  buildReportContext,
  describeAddress,
  localAddress,
  signalConversations,
} from '../../../src/report/buildReportContext.js';
import { defaultRenderOptions, toolVersion } from '../../../src/report/makeReport.js';
import { MAX_REPORT_CONVERSATIONS, renderReport, targetName } from '../../../src/report/renderReport.js';
import { REPORT_SCRIPT } from '../../../src/report/reportScript.js';
import { REPORT_STYLE } from '../../../src/report/reportStyle.js';
import { syntheticSummary } from './syntheticSummary.js';

const options = { ...defaultRenderOptions(), generatedAt: new Date('2026-12-01T00:00:00Z') };

function embedded(html: string, id: string): unknown {
  const m = new RegExp(`<script type="application/json" id="${id}">([^<]*)</script>`).exec(html);
  if (!m) throw new Error(`no ${id} block`);
  return JSON.parse(m[1]!);
}

const b64 = (text: string): string => createHash('sha256').update(text).digest('base64');

describe('renderReport', () => {
  it('allows exactly its own script and style by hash, and nothing else', () => {
    const html = renderReport({ summary: syntheticSummary(5), capture: { fileName: 'c.pcap' } }, options);
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1]!;
    expect(csp).toBe(
      `default-src 'none'; script-src 'sha256-${b64(REPORT_SCRIPT)}'; style-src 'sha256-${b64(REPORT_STYLE)}'; img-src data:; base-uri 'none'; form-action 'none'`,
    );
    expect(html).toContain(`<script>${REPORT_SCRIPT}</script>`);
    expect(html).toContain(`<style>${REPORT_STYLE}</style>`);
    // No other executable script, no external reference, no inline style attribute (the CSP would block it).
    expect(html.match(/<script(?! type="application\/json")/g)).toHaveLength(1);
    expect(html).not.toMatch(/\s(src|style)=|<link rel="stylesheet"|https?:\/\/[^"<]*\.(js|css|png)/);
  });

  it('stays within 1.5 MB for 20,000 conversations, listing the largest and rolling up the rest', () => {
    const summary = syntheticSummary(20_000);
    const last = summary.conversations[19_999]!;
    summary.signals.push({
      kind: 'dns-nxdomain',
      severity: 'info',
      message: 'a query to a small peer failed',
      count: 1,
      conversations: [{ protocol: last.protocol, a: last.a, b: last.b, count: 1 }],
    });
    const html = renderReport({ summary, capture: { fileName: 'busy.pcap' } }, options);
    expect(html).toContain('Its conversations are not among those listed here.');
    expect(Buffer.byteLength(html)).toBeLessThanOrEqual(1_500_000);
    const inPage = embedded(html, 'capture-summary') as CaptureSummary;
    expect(inPage.conversations).toEqual(summary.conversations.slice(0, MAX_REPORT_CONVERSATIONS));
    const rest = summary.conversations.slice(MAX_REPORT_CONVERSATIONS);
    const context = embedded(html, 'report-context') as { omitted: unknown; total: number };
    expect(context.total).toBe(20_000);
    expect(context.omitted).toEqual({
      conversations: 20_000 - MAX_REPORT_CONVERSATIONS,
      packets: rest.reduce((n, c) => n + c.packets, 0),
      bytes: rest.reduce((n, c) => n + c.bytes, 0),
    });
    expect(html).toContain(`${20_000 - MAX_REPORT_CONVERSATIONS} more`);
  });

  it('says what it lacks: no packets, no timeline, no settings, and flags a partial read', () => {
    const summary: CaptureSummary = {
      format: 'pcapng',
      partial: true,
      partialReason: 'truncated packet record at byte offset 81234',
      durationSeconds: 0,
      packets: 0,
      bytes: 0,
      protocols: [],
      conversations: [],
      topTalkers: [],
      signals: [],
    };
    const html = renderReport({ summary, capture: { fileName: 'cut.pcapng' } }, options);
    expect(html).toContain('only part of the file was read: truncated packet record at byte offset 81234');
    expect(html).toContain('No timeline');
    expect(html).toContain('no packets');
    expect(html).toContain('Capture settings: not known');
    expect(html).toContain('No signals');
  });

  it('shows the capture metadata and the data sources with their attribution', () => {
    const html = renderReport(
      {
        summary: syntheticSummary(3),
        capture: {
          fileName: 'ac-vm1.cap',
          sha256: 'ab'.repeat(32),
          fileBytes: 2048,
          target:
            '/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachineScaleSets/web/virtualMachines/3',
          captureName: 'ac-web-3',
          region: 'westeurope',
          status: 'Stopped',
          stopReason: 'TimeExceeded',
          errors: ['StorageFailed'],
          startedAt: '2026-01-01T00:00:00Z',
          endedAt: '2026-01-01T00:10:00Z',
          alert: { rule: 'cpu-high', severity: 'Sev2', firedAt: '2026-01-01T00:00:30Z' },
          settings: { bytesToCapturePerPacket: 0, timeLimitInSeconds: 600 },
        },
      },
      options,
    );
    for (const text of [
      'web instance 3',
      'cpu-high (Sev2)',
      'Stopped, stop reason TimeExceeded',
      'ac-web-3 in westeurope',
      'StorageFailed',
      'ab'.repeat(32),
      'ac-vm1.cap (2.0 KiB)',
      'Capture settings: bytesToCapturePerPacket <code>0</code>, timeLimitInSeconds <code>600</code>',
      'IP Geolocation by DB-IP',
      'Made with Natural Earth',
      `alert-capture ${toolVersion()}`,
    ])
      expect(html).toContain(text);
    expect(toolVersion()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('names the VM from its ARM id', () => {
    expect(
      targetName('/subscriptions/s/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1'),
    ).toBe('vm1');
    expect(targetName('something-else')).toBe('something-else');
    expect(targetName(undefined)).toBeUndefined();
  });
});

describe('the report context', () => {
  const geo = defaultRenderOptions().geo;

  it('labels platform, private and Microsoft addresses before, or over, the geo answer', () => {
    expect(describeAddress('168.63.129.16', geo)).toEqual({
      k: 'azure-platform',
      l: 'Azure platform (WireServer: DHCP, DNS, health probes, VM agent)',
    });
    expect(describeAddress('10.0.0.4', geo)).toEqual({ k: 'private', l: 'private (RFC 1918)' });
    const storage = describeAddress('52.239.160.36', geo);
    expect(storage).toMatchObject({ k: 'microsoft', a: 8075, o: 'Microsoft Corporation' });
    expect(storage.l).toBe(`Microsoft (geo data says ${storage.c})`);
    expect(describeAddress('8.8.8.8', geo)).toEqual({ c: 'US', a: 15169, o: 'Google LLC' });
    expect(describeAddress('2001:db8::1', geo)).toEqual({});
  });

  it("takes the capture's own address to be the one in most conversations", () => {
    expect(localAddress(syntheticSummary(50).conversations)).toBe('10.0.0.4');
    expect(localAddress([])).toBe('');
  });

  it("finds a signal's conversations from its references and from what each conversation shows", () => {
    const s = syntheticSummary(40);
    const c = s.conversations;
    const ref = { protocol: c[3]!.protocol, a: c[3]!.b, b: c[3]!.a, count: 1 }; // either direction
    expect(
      signalConversations(
        { kind: 'dns-nxdomain', severity: 'warning', message: '', count: 1, conversations: [ref] },
        c,
      ),
    ).toEqual([3]);
    const s0 = c.flatMap((x, i) => (x.connState === 'S0' ? [i] : []));
    expect(s0.length).toBeGreaterThan(0);
    expect(
      signalConversations({ kind: 'syn-flood', severity: 'critical', message: '', count: 1 }, c),
    ).toEqual(s0);
    const rst = c.flatMap((x, i) => ((x.tcp?.rst ?? 0) > 0 ? [i] : []));
    expect(signalConversations({ kind: 'resets', severity: 'info', message: '', count: 1 }, c)).toEqual(rst);
    expect(signalConversations({ kind: 'rejected', severity: 'info', message: '', count: 1 }, c)).toEqual([]);
    expect(signalConversations({ kind: 'zero-window', severity: 'info', message: '', count: 1 }, c)).toEqual(
      [],
    );
    const named = `About 3 TCP retransmissions (data sent again); most in ${c[5]!.a} <-> ${c[5]!.b}: 3`;
    expect(
      signalConversations({ kind: 'retransmissions', severity: 'info', message: named, count: 3 }, c),
    ).toEqual([5]);
    expect(
      signalConversations(
        { kind: 'partial', severity: 'warning', message: '', count: 1, conversations: [] },
        c,
      ),
    ).toEqual([]);
  });

  it('ignores a fired time it cannot read', () => {
    const s = syntheticSummary(2);
    expect(buildReportContext(s, s.conversations, geo, 'not a time').firedAt).toBeUndefined();
    expect(buildReportContext(s, s.conversations, geo, '2026-01-01T00:00:00Z').firedAt).toBe(
      Date.UTC(2026, 0, 1),
    );
  });
});
