import { describe, expect, it } from 'vitest';
import {
  PAST_TIME_LIMIT_SECONDS,
  alertStartsCapture,
  downloadCaptureFile,
  startPollerHarness,
  webhookMessages,
} from './pollerSupport.js';

describe('capture poller: download link (NOTIFY_INCLUDE_SAS_LINK)', () => {
  it('adds a short-lived read-only link that downloads the capture file, and only in the link field', async () => {
    const h = await startPollerHarness({ settings: { NOTIFY_INCLUDE_SAS_LINK: 'true' } });
    await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    await h.tick();

    const [message] = webhookMessages(h);
    const link = message?.capture.link ?? '';
    const url = new URL(link);
    expect(url.searchParams.get('sp')).toBe('r');
    expect(url.searchParams.get('sig')).toBeTruthy();
    const expiresInHours = (Date.parse(url.searchParams.get('se') ?? '') - Date.now()) / 3_600_000;
    expect(expiresInHours).toBeGreaterThan(7);
    expect(expiresInHours).toBeLessThanOrEqual(8);

    const response = await fetch(link);
    expect(response.status).toBe(200);
    const viaLink = Buffer.from(await response.arrayBuffer());
    expect(viaLink.equals(await downloadCaptureFile(message?.capture.storagePath ?? ''))).toBe(true);

    // `reportLink` is the other field allowed a SAS (test/integration/poller/captureReport.test.ts).
    const { link: _, reportLink: __, ...rest } = message!.capture;
    expect(JSON.stringify({ ...message, capture: rest })).not.toContain('sig=');
    // A write through the link is refused: it is read-only.
    expect(
      (await fetch(link, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: 'x' })).status,
    ).toBe(403);
  });

  it('sends no link by default', async () => {
    const h = await startPollerHarness();
    await alertStartsCapture(h);
    await h.tick();
    await h.emulator.advanceClock(PAST_TIME_LIMIT_SECONDS);
    await h.tick();
    expect(webhookMessages(h)[0]?.capture.link).toBeUndefined();
  });
});
