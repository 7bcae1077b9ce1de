import { BlobServiceClient } from '@azure/storage-blob';
import { inject } from 'vitest';
import { describe, expect, it } from 'vitest';
import type { CaptureSummary } from '../../../src/pcap/types.js';
import { REPORT_CONTAINER } from '../../../src/report/CaptureReports.js';
import {
  PAST_TIME_LIMIT_SECONDS,
  alertStartsCapture,
  downloadCaptureFile,
  pcapTotals,
  startPollerHarness,
  webhookMessages,
} from './pollerSupport.js';

/** The report blob behind a report URL, read from the run's Azurite. */
async function downloadReport(reportUrl: string): Promise<string> {
  const service = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
  const container = service.getContainerClient(REPORT_CONTAINER);
  expect(reportUrl.startsWith(`${container.url}/`), reportUrl).toBe(true);
  const blob = container.getBlobClient(decodeURIComponent(reportUrl.slice(container.url.length + 1)));
  const properties = await blob.getProperties();
  expect(properties.contentType).toBe('text/html; charset=utf-8');
  return (await blob.downloadToBuffer()).toString('utf8');
}

function embeddedSummary(html: string): CaptureSummary {
  const m = /<script type="application\/json" id="capture-summary">([^<]*)<\/script>/.exec(html);
  return JSON.parse(m![1]!) as CaptureSummary;
}

describe('capture poller: the capture report', () => {
  it('writes the report next to the capture, once, and links it from the message', async () => {
    const h = await startPollerHarness();
    const started = await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    await h.tick();

    const [message] = webhookMessages(h);
    const reportUrl = message?.capture.reportUrl ?? '';
    expect(reportUrl).toMatch(/\/capture-reports\/.+\.html$/);
    expect(reportUrl).not.toContain('?');
    expect(message?.capture.reportLink).toBeUndefined();
    const storagePath = message?.capture.storagePath ?? '';
    // Same name as the capture, in its own container.
    const captureName = storagePath.split('/network-watcher-logs/')[1]!.replace(/\.[^./]*$/, '');
    expect(reportUrl.endsWith(`/capture-reports/${captureName}.html`)).toBe(true);

    const html = await downloadReport(reportUrl);
    const file = await downloadCaptureFile(storagePath);
    const summary = embeddedSummary(html);
    expect({ packets: summary.packets, bytes: summary.bytes }).toEqual(pcapTotals(file));
    expect(summary.packets).toBe(message?.summary?.packets);
    expect(html).toContain(started.vmId.split('/').pop()!);
    expect(html).toContain(message!.alert.rule);

    // The report is written once: a later attempt finds it and does not rewrite it.
    const service = BlobServiceClient.fromConnectionString(inject('azuriteConnectionString'));
    const blob = service.getContainerClient(REPORT_CONTAINER).getBlobClient(`${captureName}.html`);
    const etag = (await blob.getProperties()).etag;
    await expect(h.ctx.reports!.ensure((await h.ctx.ledger.get(started.alertId))!)).resolves.toBe(reportUrl);
    expect((await blob.getProperties()).etag).toBe(etag);

    // Two instances racing on a missing report both answer with it; one write wins, the other is not an error.
    await blob.delete();
    const record = (await h.ctx.ledger.get(started.alertId))!;
    await expect(
      Promise.all([h.ctx.reports!.ensure(record), h.ctx.reports!.ensure(record)]),
    ).resolves.toEqual([reportUrl, reportUrl]);
    expect(await downloadReport(reportUrl)).toContain('<!doctype html>');

    // A storage path outside the capture container is never read, written next to, or signed.
    const foreign = { ...record, storagePath: reportUrl.replace('/capture-reports/', '/other/') };
    await expect(h.ctx.reports!.ensure(foreign)).resolves.toBeUndefined();
    await expect(h.ctx.reports!.link(foreign)).resolves.toBeUndefined();
    await expect(h.ctx.reports!.ensure({ ...record, storagePath: 'not a url' })).resolves.toBeUndefined();
  });

  it('adds a short-lived read-only report link with NOTIFY_INCLUDE_SAS_LINK', async () => {
    const h = await startPollerHarness({ settings: { NOTIFY_INCLUDE_SAS_LINK: 'true' } });
    await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    await h.tick();
    const [message] = webhookMessages(h);
    const link = new URL(message?.capture.reportLink ?? '');
    expect(link.searchParams.get('sp')).toBe('r');
    const response = await fetch(link);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await response.text()).toBe(await downloadReport(message!.capture.reportUrl!));
    expect(message?.capture.reportUrl).not.toContain('sig=');
  });
});
