import { describe, expect, it } from 'vitest';
import { toWebhookPayload } from '../../../src/notify/captureNotification.js';
import { toSlackPayload } from '../../../src/notify/toSlackPayload.js';
import { toTeamsPayload } from '../../../src/notify/toTeamsPayload.js';
import { BLOB_URL, SAS, completed } from './sampleNotification.js';

const REPORT_URL = BLOB_URL.replace('/network-watcher-logs/', '/capture-reports/').replace(/\.cap$/, '.html');

function withReport(reportLink?: string): ReturnType<typeof completed> {
  const n = completed();
  n.capture.reportUrl = `${REPORT_URL}${SAS}`; // a URL that (wrongly) carries a query must lose it
  if (reportLink !== undefined) n.capture.reportLink = reportLink;
  return n;
}

function teamsActions(n: ReturnType<typeof completed>): { title: string; url: string }[] {
  return toTeamsPayload(n).attachments[0]!.content.actions ?? [];
}

function slackButtons(n: ReturnType<typeof completed>): { text: string; url: string }[] {
  return toSlackPayload(n).blocks.flatMap((b) =>
    b.type === 'actions' ? b.elements.map((e) => ({ text: e.text.text, url: e.url })) : [],
  );
}

describe('"Open report" in every message', () => {
  it('opens the report URL, without its query, when no short-lived link was made', () => {
    const n = withReport();
    expect(teamsActions(n)).toContainEqual(
      expect.objectContaining({ title: 'Open report', url: REPORT_URL }),
    );
    expect(slackButtons(n)).toContainEqual({ text: 'Open report', url: REPORT_URL });
    expect(toWebhookPayload(n).capture.reportUrl).toBe(REPORT_URL);
  });

  it('opens the short-lived link when there is one, next to the capture download', () => {
    const n = withReport(`${REPORT_URL}${SAS}`);
    n.capture.link = `${BLOB_URL}${SAS}`;
    expect(teamsActions(n).map((a) => a.title)).toEqual([
      'Open report',
      'Download capture (short-lived link)',
    ]);
    expect(teamsActions(n)[0]!.url).toBe(`${REPORT_URL}${SAS}`);
    expect(slackButtons(n).map((b) => b.text)).toEqual([
      'Open report',
      'Download capture (short-lived link)',
    ]);
    expect(toWebhookPayload(n).capture.reportLink).toBe(`${REPORT_URL}${SAS}`);
  });

  it('shows no button for a report URL that is not http(s), nor without a report', () => {
    const n = completed();
    n.capture.reportUrl = 'javascript:alert(1)';
    expect(teamsActions(n)).toEqual([]);
    expect(slackButtons(n)).toEqual([]);
  });
});
