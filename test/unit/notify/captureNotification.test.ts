import { describe, expect, it } from 'vitest';
import { captureIdempotencyKey, toWebhookPayload } from '../../../src/notify/captureNotification.js';
import { BLOB_URL, completed, conversations, failed, SAS, summary } from './sampleNotification.js';

describe('toWebhookPayload', () => {
  it('is the notification itself', () => {
    const n = completed({ summary: summary(3) });
    n.capture.storagePath = BLOB_URL;
    expect(toWebhookPayload(n)).toEqual(n);
  });

  it('strips the query string from the storage path', () => {
    expect(toWebhookPayload(completed()).capture.storagePath).toBe(BLOB_URL);
  });

  it('keeps the explicit link as given', () => {
    const n = completed();
    n.capture.link = `${BLOB_URL}${SAS}`;
    expect(toWebhookPayload(n).capture.link).toBe(`${BLOB_URL}${SAS}`);
  });

  it('trims conversations to the top 10 by bytes', () => {
    const n = completed({ summary: summary(500) });
    n.summary!.conversations.reverse(); // smallest first: the payload must still carry the biggest
    const out = toWebhookPayload(n).summary!.conversations;
    expect(out).toEqual(conversations(500).slice(0, 10));
  });

  it('does not modify the notification it is given', () => {
    const n = completed({ summary: summary(500) });
    toWebhookPayload(n);
    expect(n.summary!.conversations).toHaveLength(500);
    expect(n.capture.storagePath).toContain('sig=');
  });

  it('redacts a SAS signature quoted in the reason or the capture errors', () => {
    const n = failed({ reason: `upload to ${BLOB_URL}${SAS} failed` });
    n.capture.errors = [`StorageFailed ${BLOB_URL}${SAS}`];
    const text = JSON.stringify(toWebhookPayload(n));
    expect(text).not.toContain('SECRETsignature');
    expect(text).toContain('upload to');
  });
});

describe('captureIdempotencyKey', () => {
  it('joins the alert id and the capture name', () => {
    expect(captureIdempotencyKey('alert-1', 'ac-vm1')).toBe('alert-1:ac-vm1');
  });
});
